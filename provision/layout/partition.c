/*
 * ESP-IDF partition tables: names, validation and the filesystem lookup.
 * The CSV and binary codecs are in partition_csv.c and partition_bin.c,
 * loading from a file in partition_file.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "provision/core/core.h"
#include "provision/layout/layout.h"
#include "provision/layout/partition_priv.h"

struct keyword {
    const char *name;
    uint8_t value;
};

static const struct keyword types[] = {
    {"app", PV_PART_APP},
    {"data", PV_PART_DATA},
    {"bootloader", PV_PART_BOOTLOADER},
    {"partition_table", PV_PART_PARTITION_TABLE},
};

/* ota_0..ota_15 (0x10..0x1F) are computed, not listed. */
static const struct keyword app_subtypes[] = {
    {"factory", 0x00},
    {"test", 0x20},
    {"tee_0", 0x30},
    {"tee_1", 0x31},
};

static const struct keyword data_subtypes[] = {
    {"ota", 0x00},      {"phy", 0x01},    {"nvs", 0x02},       {"coredump", 0x03},
    {"nvs_keys", 0x04}, {"efuse", 0x05},  {"undefined", 0x06}, {"esphttpd", 0x80},
    {"fat", 0x81},      {"spiffs", 0x82}, {"littlefs", 0x83},  {"tee_ota", 0x90},
};

static const struct keyword bootloader_subtypes[] = {
    {"primary", 0x00},
    {"ota", 0x01},
    {"recovery", 0x02},
};

static const struct keyword table_subtypes[] = {
    {"primary", 0x00},
    {"ota", 0x01},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const struct keyword *subtypes_of(uint8_t type, size_t *n)
{
    switch (type) {
    case PV_PART_APP:
        *n = COUNT(app_subtypes);
        return app_subtypes;
    case PV_PART_DATA:
        *n = COUNT(data_subtypes);
        return data_subtypes;
    case PV_PART_BOOTLOADER:
        *n = COUNT(bootloader_subtypes);
        return bootloader_subtypes;
    case PV_PART_PARTITION_TABLE:
        *n = COUNT(table_subtypes);
        return table_subtypes;
    default:
        *n = 0;
        return NULL;
    }
}

bool part_type_from_name(const char *name, uint8_t *out)
{
    for (size_t i = 0; i < COUNT(types); i++) {
        if (strcasecmp(name, types[i].name) == 0) {
            *out = types[i].value;
            return true;
        }
    }
    return false;
}

bool part_subtype_from_name(uint8_t type, const char *name, uint8_t *out)
{
    if (type == PV_PART_APP && strncasecmp(name, "ota_", 4) == 0) {
        char *end = NULL;
        const char *digits = name + 4;
        long slot = strtol(digits, &end, 10);
        if (digits[0] >= '0' && digits[0] <= '9' && *end == '\0' && slot >= 0 && slot < 16 &&
            (slot < 10 || digits[0] != '0')) {
            *out = (uint8_t)(0x10 + slot);
            return true;
        }
        return false;
    }
    size_t n = 0;
    const struct keyword *k = subtypes_of(type, &n);
    for (size_t i = 0; i < n; i++) {
        if (strcasecmp(name, k[i].name) == 0) {
            *out = k[i].value;
            return true;
        }
    }
    return false;
}

const char *pv_partition_type_name(uint8_t type)
{
    for (size_t i = 0; i < COUNT(types); i++) {
        if (types[i].value == type) {
            return types[i].name;
        }
    }
    return NULL;
}

const char *pv_partition_subtype_name(uint8_t type, uint8_t subtype)
{
    static const char *const ota_names[16] = {
        "ota_0", "ota_1", "ota_2",  "ota_3",  "ota_4",  "ota_5",  "ota_6",  "ota_7",
        "ota_8", "ota_9", "ota_10", "ota_11", "ota_12", "ota_13", "ota_14", "ota_15",
    };
    if (type == PV_PART_APP && subtype >= 0x10 && subtype < 0x20) {
        return ota_names[subtype - 0x10];
    }
    size_t n = 0;
    const struct keyword *k = subtypes_of(type, &n);
    for (size_t i = 0; i < n; i++) {
        if (k[i].value == subtype) {
            return k[i].name;
        }
    }
    return NULL;
}

bool part_is_fixed_region(const struct pv_partition *p)
{
    return (p->type == PV_PART_BOOTLOADER || p->type == PV_PART_PARTITION_TABLE) &&
           p->subtype == PART_SUBTYPE_PRIMARY;
}

uint32_t part_alignment(uint8_t type)
{
    return type == PV_PART_APP ? PART_APP_ALIGN : PART_DATA_ALIGN;
}

void part_where(const struct pv_partition *p, size_t index, char *buf, size_t cap)
{
    if (p->line > 0) {
        snprintf(buf, cap, "line %d: partition '%s'", p->line, p->label);
    } else {
        snprintf(buf, cap, "partition '%s' (entry %zu)", p->label, index + 1);
    }
}

/* ===== Validation ====================================================== */

static int check_entry(const struct pv_partition_table *t, size_t i, uint32_t flash_size,
                       struct pv_error *err)
{
    const struct pv_partition *p = &t->entries[i];
    char where[80];
    part_where(p, i, where, sizeof where);
    if (p->label[0] == '\0') {
        return pv_error_set(err, PV_ERR_INVALID, "give every partition a name",
                            "%s: the label is empty", where);
    }
    for (const char *c = p->label; *c; c++) {
        if ((unsigned char)*c < 0x20 || *c == 0x7f) {
            return pv_error_set(err, PV_ERR_INVALID, NULL,
                                "%s: the label holds control character 0x%02x", where,
                                (unsigned)(unsigned char)*c);
        }
    }
    if (p->type == 0xFF) {
        return pv_error_set(err, PV_ERR_INVALID, "custom types are 0x40 to 0xFE",
                            "%s: type 0xff is reserved (it marks the end of the table)", where);
    }
    if (p->size == 0) {
        return pv_error_set(err, PV_ERR_INVALID, NULL, "%s: the size is 0", where);
    }
    uint64_t end = (uint64_t)p->offset + p->size;
    if (end > 0x100000000ull) {
        return pv_error_set(err, PV_ERR_INVALID, NULL,
                            "%s: 0x%x + 0x%x runs past the 4 GB address space", where, p->offset,
                            p->size);
    }
    uint32_t align = part_alignment(p->type);
    if (p->offset % align != 0) {
        char hint[96];
        snprintf(hint, sizeof hint, "use 0x%llx, or leave the offset empty to place it",
                 (unsigned long long)((uint64_t)p->offset + align - p->offset % align));
        return pv_error_set(err, PV_ERR_INVALID, hint,
                            "%s: offset 0x%x is not aligned to 0x%x (%s partitions need %s)", where,
                            p->offset, align, p->type == PV_PART_APP ? "app" : "other",
                            p->type == PV_PART_APP ? "64 KB" : "4 KB");
    }
    if (p->type == PV_PART_APP && p->size % PART_DATA_ALIGN != 0) {
        return pv_error_set(err, PV_ERR_INVALID, "app sizes are whole 4 KB sectors",
                            "%s: app size 0x%x is not a multiple of 0x1000", where, p->size);
    }
    uint32_t table_end = t->table_offset + PV_PARTITION_SECTOR;
    if (!part_is_fixed_region(p) && p->offset < table_end) {
        char hint[96];
        snprintf(hint, sizeof hint, "partitions start at 0x%x or later", table_end);
        if (end > t->table_offset) {
            return pv_error_set(err, PV_ERR_INVALID, hint,
                                "%s: 0x%x-0x%llx overlaps the partition table sector "
                                "(0x%x-0x%x)",
                                where, p->offset, (unsigned long long)(end - 1), t->table_offset,
                                table_end - 1);
        }
        return pv_error_set(err, PV_ERR_INVALID, hint,
                            "%s: offset 0x%x is below the partition table (0x%x)", where, p->offset,
                            t->table_offset);
    }
    if (p->type == PV_PART_BOOTLOADER && part_is_fixed_region(p) && end > t->table_offset) {
        return pv_error_set(err, PV_ERR_INVALID, "the bootloader ends where the table begins",
                            "%s: 0x%x-0x%llx overlaps the partition table at 0x%x", where,
                            p->offset, (unsigned long long)(end - 1), t->table_offset);
    }
    if (flash_size != 0 && end > flash_size) {
        return pv_error_set(err, PV_ERR_INVALID, "shrink it, or check the flash size",
                            "%s: 0x%x-0x%llx ends beyond the %u KB flash", where, p->offset,
                            (unsigned long long)(end - 1), flash_size / 1024);
    }
    if (p->type == PV_PART_DATA && (p->flags & PV_PART_READONLY) &&
        (p->subtype == PV_PART_SUBTYPE_OTA || p->subtype == PART_SUBTYPE_COREDUMP)) {
        return pv_error_set(err, PV_ERR_INVALID, "drop the readonly flag",
                            "%s: %s partitions are always read-write", where,
                            pv_partition_subtype_name(p->type, p->subtype));
    }
    if (p->type == PV_PART_DATA && p->subtype == PART_SUBTYPE_NVS &&
        !(p->flags & PV_PART_READONLY) && p->size < PART_NVS_MIN_RW) {
        return pv_error_set(err, PV_ERR_INVALID, "make it at least 0x3000 bytes",
                            "%s: a read-write nvs partition of 0x%x bytes is too small", where,
                            p->size);
    }
    if (p->type == PV_PART_DATA && p->subtype == PV_PART_SUBTYPE_OTA &&
        p->size != PART_OTADATA_SIZE) {
        return pv_error_set(err, PV_ERR_INVALID, "otadata holds two 4 KB sectors",
                            "%s: otadata must be 0x2000 bytes, not 0x%x", where, p->size);
    }
    return PV_OK;
}

static int by_offset(const void *a, const void *b)
{
    const struct pv_partition *x = *(const struct pv_partition *const *)a;
    const struct pv_partition *y = *(const struct pv_partition *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

int pv_partitions_validate(const struct pv_partition_table *t, uint32_t flash_size,
                           struct pv_error *err)
{
    if (t->table_offset % PV_PARTITION_SECTOR != 0) {
        return pv_error_set(err, PV_ERR_INVALID, "the table offset is a whole 4 KB sector",
                            "partition table offset 0x%x is not 4 KB aligned", t->table_offset);
    }
    if (t->count == 0) {
        return pv_error_set(err, PV_ERR_INVALID, NULL, "the partition table has no partitions");
    }
    if (t->count > PV_PARTITION_MAX) {
        return pv_error_set(err, PV_ERR_INVALID, NULL,
                            "the partition table has %zu partitions; at most %d fit", t->count,
                            PV_PARTITION_MAX);
    }
    size_t otadata = 0;
    for (size_t i = 0; i < t->count; i++) {
        if (check_entry(t, i, flash_size, err) != PV_OK) {
            return err ? err->code : PV_ERR_INVALID;
        }
        const struct pv_partition *p = &t->entries[i];
        otadata += p->type == PV_PART_DATA && p->subtype == PV_PART_SUBTYPE_OTA;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(t->entries[j].label, p->label) == 0) {
                char where[80];
                part_where(p, i, where, sizeof where);
                return pv_error_set(err, PV_ERR_INVALID, "partition names must be unique",
                                    "%s: the name is already used by entry %zu", where, j + 1);
            }
        }
    }
    if (otadata > 1) {
        return pv_error_set(err, PV_ERR_INVALID, "keep one data/ota partition",
                            "the table has %zu otadata (data/ota) partitions", otadata);
    }
    const struct pv_partition *sorted[PV_PARTITION_MAX];
    for (size_t i = 0; i < t->count; i++) {
        sorted[i] = &t->entries[i];
    }
    qsort(sorted, t->count, sizeof sorted[0], by_offset);
    for (size_t i = 1; i < t->count; i++) {
        const struct pv_partition *a = sorted[i - 1], *b = sorted[i];
        if (b->offset < (uint64_t)a->offset + a->size) {
            char where[80];
            part_where(b, (size_t)(b - t->entries), where, sizeof where);
            return pv_error_set(
                err, PV_ERR_INVALID, "move one of them, or leave the offset empty to place it",
                "%s at 0x%x overlaps '%s' (0x%x-0x%llx)", where, b->offset, a->label, a->offset,
                (unsigned long long)((uint64_t)a->offset + a->size - 1));
        }
    }
    return PV_OK;
}

/* ===== Lookups ========================================================= */

static void list_data_partitions(const struct pv_partition_table *t, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < t->count && used < cap; i++) {
        const struct pv_partition *p = &t->entries[i];
        if (p->type != PV_PART_DATA) {
            continue;
        }
        const char *sub = pv_partition_subtype_name(p->type, p->subtype);
        int w = snprintf(buf + used, cap - used, "%s'%s' (%s)", used ? ", " : "", p->label,
                         sub ? sub : "custom");
        if (w < 0) {
            break;
        }
        used += (size_t)w;
    }
    if (used == 0) {
        snprintf(buf, cap, "none");
    }
}

int pv_partitions_find_fs(const struct pv_partition_table *t, const char *label,
                          const struct pv_partition **out, struct pv_error *err)
{
    const struct pv_partition *found = NULL;
    for (size_t i = 0; i < t->count && found == NULL; i++) {
        const struct pv_partition *p = &t->entries[i];
        if (label != NULL ? strcmp(p->label, label) == 0
                          : p->type == PV_PART_DATA && p->subtype == PV_PART_SUBTYPE_SPIFFS) {
            found = p;
        }
    }
    char hint[200], names[160];
    if (found == NULL) {
        list_data_partitions(t, names, sizeof names);
        snprintf(hint, sizeof hint, "data partitions in the table: %s", names);
        if (label != NULL) {
            return pv_error_set(err, PV_ERR_NOT_FOUND, hint,
                                "the partition table has no partition labelled '%s'", label);
        }
        return pv_error_set(err, PV_ERR_NOT_FOUND, hint,
                            "the partition table has no data/spiffs partition for the "
                            "filesystem");
    }
    if (found->type != PV_PART_DATA) {
        const char *type = pv_partition_type_name(found->type);
        return pv_error_set(err, PV_ERR_INVALID, "name a data partition",
                            "partition '%s' is of type %s, not a data partition", found->label,
                            type ? type : "custom");
    }
    if (found->flags & PV_PART_ENCRYPTED) {
        return pv_error_set(err, PV_ERR_INVALID,
                            "drop the encrypted flag: ESP-IDF refuses encrypted SPIFFS",
                            "partition '%s' is encrypted", found->label);
    }
    if (found->size < PART_DATA_ALIGN) {
        return pv_error_set(err, PV_ERR_INVALID, NULL,
                            "partition '%s' is smaller than one 4 KB sector", found->label);
    }
    *out = found;
    return PV_OK;
}
