/*
 * The binary ESP-IDF partition table (esp_partition_info_t entries), as the
 * bootloader reads it from flash: 32-byte entries, then the MD5 record, then
 * an end marker, 0xFF up to 0xC00 bytes.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "provision/core/core.h"
#include "provision/layout/layout.h"
#include "provision/layout/partition_priv.h"

static uint16_t get_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static int md5(const uint8_t *data, size_t len, uint8_t out[16], struct pv_error *err)
{
    unsigned int n = 0;
    if (EVP_Digest(data, len, out, &n, EVP_md5(), NULL) != 1 || n != 16) {
        return pv_error_set(err, PV_ERR_CRYPTO, NULL, "cannot compute the table's MD5");
    }
    return PV_OK;
}

static bool is_end_marker(const uint8_t *slot)
{
    /* What the bootloader checks: magic 0xFFFF, type and subtype 0xFF. */
    return get_le16(slot) == 0xFFFF && slot[2] == 0xFF && slot[3] == 0xFF;
}

static void hex(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        snprintf(out + 2 * i, 3, "%02x", b[i]);
    }
}

static int read_entry(const uint8_t *slot, size_t index, struct pv_partition *p,
                      struct pv_error *err)
{
    memset(p, 0, sizeof *p);
    p->type = slot[2];
    p->subtype = slot[3];
    p->offset = get_le32(slot + 4);
    p->size = get_le32(slot + 8);
    memcpy(p->label, slot + 12, PV_PARTITION_LABEL_MAX);
    p->label[PV_PARTITION_LABEL_MAX] = '\0';
    p->flags = get_le32(slot + 28);
    for (const char *c = p->label; *c; c++) {
        if ((unsigned char)*c < 0x20 || *c == 0x7f) {
            return pv_error_set(err, PV_ERR_INVALID, "the table is damaged; rewrite it",
                                "partition table entry %zu: the label holds byte 0x%02x", index + 1,
                                (unsigned)(unsigned char)*c);
        }
    }
    return PV_OK;
}

int pv_partitions_parse_binary(const uint8_t *data, size_t len, uint32_t table_offset,
                               struct pv_partition_table *out, struct pv_error *err)
{
    memset(out, 0, sizeof *out);
    out->table_offset = table_offset ? table_offset : PV_PARTITION_TABLE_OFFSET;
    size_t limit = len < PV_PARTITION_TABLE_SIZE ? len : PV_PARTITION_TABLE_SIZE;
    limit -= limit % PART_ENTRY_SIZE;
    if (limit == 0) {
        return pv_error_set(err, PV_ERR_INVALID, NULL,
                            "a partition table is at least 32 bytes; got %zu", len);
    }
    bool md5_seen = false;
    for (size_t at = 0; at < limit; at += PART_ENTRY_SIZE) {
        const uint8_t *slot = data + at;
        size_t index = at / PART_ENTRY_SIZE;
        if (is_end_marker(slot)) {
            if (at == 0) {
                return pv_error_set(err, PV_ERR_NOT_FOUND,
                                    "write a partition table first (ESP8266 boards have none)",
                                    "no partition table at 0x%x: the first entry is erased",
                                    out->table_offset);
            }
            return pv_partitions_validate(out, 0, err);
        }
        if (md5_seen) {
            return pv_error_set(err, PV_ERR_INVALID, "the table is damaged; rewrite it",
                                "partition table entry %zu follows the MD5 record", index + 1);
        }
        uint16_t magic = get_le16(slot);
        if (magic == PART_MAGIC_MD5) {
            uint8_t digest[16];
            if (md5(data, at, digest, err) != PV_OK) {
                return PV_ERR_CRYPTO;
            }
            if (memcmp(digest, slot + 16, 16) != 0) {
                char want[33], have[33];
                hex(slot + 16, 16, want);
                hex(digest, 16, have);
                return pv_error_set(err, PV_ERR_INVALID, "the table is damaged; rewrite it",
                                    "partition table MD5 mismatch: the record says %s, the "
                                    "entries hash to %s",
                                    want, have);
            }
            md5_seen = true;
            out->has_md5 = true;
            continue;
        }
        if (magic != PART_MAGIC) {
            return pv_error_set(err, PV_ERR_INVALID, "is there a partition table at this offset?",
                                "partition table entry %zu at 0x%zx: bad magic 0x%04x "
                                "(expected 0x50aa)",
                                index + 1, (size_t)out->table_offset + at, magic);
        }
        if (out->count == PV_PARTITION_MAX) {
            break; /* 96 entries leave no room for the end marker */
        }
        if (read_entry(slot, index, &out->entries[out->count], err) != PV_OK) {
            return PV_ERR_INVALID;
        }
        out->count++;
    }
    return pv_error_set(err, PV_ERR_INVALID, "the table is damaged or cut short; rewrite it",
                        "partition table has no end marker in its first %zu bytes", limit);
}

int pv_partitions_to_binary(const struct pv_partition_table *t, bool with_md5,
                            uint8_t out[PV_PARTITION_TABLE_SIZE], struct pv_error *err)
{
    if (pv_partitions_validate(t, 0, err) != PV_OK) {
        return PV_ERR_INVALID;
    }
    /* Entries, the MD5 record and the end marker must all fit in 0xC00. */
    size_t slots = t->count + (with_md5 ? 1 : 0);
    if ((slots + 1) * PART_ENTRY_SIZE > PV_PARTITION_TABLE_SIZE) {
        return pv_error_set(err, PV_ERR_INVALID, "merge or drop partitions",
                            "%zu partitions%s do not fit the 0x%x-byte table", t->count,
                            with_md5 ? " and the MD5 record" : "", PV_PARTITION_TABLE_SIZE);
    }
    memset(out, 0xFF, PV_PARTITION_TABLE_SIZE);
    uint8_t *p = out;
    for (size_t i = 0; i < t->count; i++, p += PART_ENTRY_SIZE) {
        const struct pv_partition *e = &t->entries[i];
        put_le16(p, PART_MAGIC);
        p[2] = e->type;
        p[3] = e->subtype;
        put_le32(p + 4, e->offset);
        put_le32(p + 8, e->size);
        memset(p + 12, 0, PV_PARTITION_LABEL_MAX);
        memcpy(p + 12, e->label, strnlen(e->label, PV_PARTITION_LABEL_MAX));
        put_le32(p + 28, e->flags);
    }
    if (with_md5) {
        put_le16(p, PART_MAGIC_MD5);
        if (md5(out, (size_t)(p - out), p + 16, err) != PV_OK) {
            return PV_ERR_CRYPTO;
        }
    }
    return PV_OK;
}
