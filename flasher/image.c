/* ESP firmware images (esp-protocol.md §5): parse, validate, patch flash settings. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "flasher/flasher_priv.h"

#define IMAGE_MAGIC    0xE9
#define IMAGE_V2_MAGIC 0xEA

static int parse_layout(const uint8_t *d, size_t len, bool ext, struct fl_image_info *o,
                        struct fl_error *err)
{
    memset(o, 0, sizeof *o);
    o->magic = d[0];
    o->flash_mode = d[2];
    o->size_freq = d[3];
    o->entry = fl_get_le32(d + 4);
    o->has_ext = ext;
    size_t nseg = d[1];
    if (nseg > FL_IMAGE_MAX_SEGMENTS) {
        return fl_error_set(err, FL_ERR_INVALID, NULL, "image claims %zu segments (max %d)", nseg,
                            FL_IMAGE_MAX_SEGMENTS);
    }
    size_t pos = 8;
    if (ext) {
        if (len < 24) {
            return fl_error_set(err, FL_ERR_INVALID, NULL, "image too short for its header");
        }
        o->wp_pin = d[8];
        o->chip_id = fl_get_le16(d + 12);
        o->min_rev_full = fl_get_le16(d + 15);
        o->max_rev_full = fl_get_le16(d + 17);
        o->hash_appended = d[23] == 1;
        pos = 24;
    }
    uint8_t x = 0xEF;
    for (size_t i = 0; i < nseg; i++) {
        if (len - pos < 8) {
            return fl_error_set(err, FL_ERR_INVALID, NULL, "segment %zu header is truncated", i);
        }
        uint32_t slen = fl_get_le32(d + pos + 4);
        if (slen > len - pos - 8) {
            return fl_error_set(err, FL_ERR_INVALID, NULL,
                                "segment %zu (%u bytes) runs past the end of the file", i,
                                (unsigned)slen);
        }
        o->seg[i] = (struct fl_image_segment){fl_get_le32(d + pos), slen, (uint32_t)(pos + 8)};
        for (size_t k = 0; k < slen; k++) {
            x ^= d[pos + 8 + k];
        }
        pos += 8 + slen;
    }
    o->nseg = nseg;
    /* Zero padding until (offset + 1) is a multiple of 16, then the checksum. */
    size_t cpos = pos + (15 - pos % 16);
    if (cpos >= len) {
        return fl_error_set(err, FL_ERR_INVALID, NULL, "image is truncated before its checksum");
    }
    o->checksum = d[cpos];
    o->checksum_calc = x;
    o->digest_offset = cpos + 1;
    o->image_len = cpos + 1;
    o->valid = o->checksum == o->checksum_calc;
    if (o->hash_appended) {
        if (len - o->digest_offset < 32) {
            return fl_error_set(err, FL_ERR_INVALID, NULL, "image is truncated in its SHA-256");
        }
        uint8_t sha[32];
        if (fl_sha256_local(d, o->digest_offset, sha) != FL_OK) {
            return fl_error_set(err, FL_ERR_NOMEM, NULL, "SHA-256 failed");
        }
        o->sha_ok = memcmp(sha, d + o->digest_offset, 32) == 0;
        o->image_len += 32;
        o->valid = o->valid && o->sha_ok;
    }
    return FL_OK;
}

static int parse_v2(const uint8_t *d, size_t len, struct fl_image_info *out, struct fl_error *err)
{
    /* ESP8266 "v2": a header, the irom segment, then a regular image. */
    if (len < 16) {
        return fl_error_set(err, FL_ERR_INVALID, NULL, "image too short for its header");
    }
    uint32_t irom = fl_get_le32(d + 12);
    if (irom > len - 16 || len - 16 - irom < 8 || d[16 + irom] != IMAGE_MAGIC) {
        return fl_error_set(err, FL_ERR_INVALID, NULL,
                            "ESP8266 v2 image: no regular image after the irom segment");
    }
    size_t base = 16 + irom;
    TRY(parse_layout(d + base, len - base, false, out, err));
    for (size_t i = 0; i < out->nseg; i++) {
        out->seg[i].file_offset += (uint32_t)base;
    }
    out->magic = IMAGE_V2_MAGIC;
    out->flash_mode = d[2];
    out->size_freq = d[3];
    out->entry = fl_get_le32(d + 4);
    out->v2_irom_len = irom;
    out->digest_offset += base;
    out->image_len += base;
    out->chip = FL_CHIP_ESP8266;
    return FL_OK;
}

int fl_image_parse(const uint8_t *data, size_t len, enum fl_chip chip, struct fl_image_info *out,
                   struct fl_error *err)
{
    memset(out, 0, sizeof *out);
    if (len < 8) {
        return fl_error_set(err, FL_ERR_INVALID, NULL, "too short for an image header (%zu bytes)",
                            len);
    }
    if (data[0] == IMAGE_V2_MAGIC && (chip == FL_CHIP_AUTO || chip == FL_CHIP_ESP8266)) {
        return parse_v2(data, len, out, err);
    }
    if (data[0] != IMAGE_MAGIC) {
        return fl_error_set(err, FL_ERR_INVALID, NULL,
                            "not an ESP firmware image (first byte 0x%02x, expected 0xE9)",
                            data[0]);
    }
    if (chip != FL_CHIP_AUTO) {
        TRY(parse_layout(data, len, chip != FL_CHIP_ESP8266, out, err));
        out->chip = chip;
        return FL_OK;
    }
    /* Guess: an extended header naming a known chip that checks out, else
     * the ESP8266 layout, else whichever parsed. */
    struct fl_image_info a, b;
    struct fl_error ea, eb;
    int ra = parse_layout(data, len, true, &a, &ea);
    int rb = parse_layout(data, len, false, &b, &eb);
    const struct fl_target *t = ra == FL_OK ? fl_target_by_image_id(a.chip_id) : NULL;
    if (ra == FL_OK && a.valid && t != NULL) {
        *out = a;
        out->chip = t->chip;
    } else if (rb == FL_OK && b.valid) {
        *out = b;
        out->chip = FL_CHIP_ESP8266;
    } else if (ra == FL_OK) {
        *out = a;
        out->chip = t ? t->chip : FL_CHIP_AUTO;
    } else if (rb == FL_OK) {
        *out = b;
        out->chip = FL_CHIP_ESP8266;
    } else {
        if (err != NULL) {
            *err = ea;
        }
        return ra;
    }
    return FL_OK;
}

int fl_image_check_chip(const uint8_t *data, size_t len, enum fl_chip chip, uint32_t addr,
                        struct fl_error *err)
{
    if (len < 8 || (data[0] != IMAGE_MAGIC && data[0] != IMAGE_V2_MAGIC) || chip == FL_CHIP_AUTO) {
        return FL_OK;
    }
    struct fl_image_info info;
    struct fl_error e;
    if (fl_image_parse(data, len, FL_CHIP_AUTO, &info, &e) != FL_OK || info.chip == chip ||
        info.chip == FL_CHIP_AUTO) {
        return FL_OK;
    }
    if (info.chip == FL_CHIP_ESP8266) {
        return fl_error_set(err, FL_ERR_INVALID, "use --force to write it anyway",
                            "the image at 0x%08x is an ESP8266 image (%s, no extended header, "
                            "which every ESP32-family image has); this board is an %s",
                            (unsigned)addr, data[0] == IMAGE_V2_MAGIC ? "v2 format" : "magic 0xE9",
                            fl_chip_name(chip));
    }
    return fl_error_set(err, FL_ERR_INVALID, "use --force to write it anyway",
                        "the image at 0x%08x is built for %s (extended header chip id %u); this "
                        "board is an %s",
                        (unsigned)addr, fl_chip_name(info.chip), (unsigned)info.chip_id,
                        fl_chip_name(chip));
}

/* ----- Flash parameter encodings (§5.2) ----- */

struct size_code {
    uint32_t bytes;
    uint8_t code;
    const char *text;
};

static const struct size_code sizes_esp8266[] = {
    {512u << 10, 0, "512KB"}, {256u << 10, 1, "256KB"}, {1u << 20, 2, "1MB"},
    {2u << 20, 3, "2MB"},     {4u << 20, 4, "4MB"},     {2u << 20, 5, "2MB-c1"},
    {4u << 20, 6, "4MB-c1"},  {8u << 20, 8, "8MB"},     {16u << 20, 9, "16MB"},
};
static const struct size_code sizes_esp32[] = {
    {1u << 20, 0, "1MB"},   {2u << 20, 1, "2MB"},     {4u << 20, 2, "4MB"},
    {8u << 20, 3, "8MB"},   {16u << 20, 4, "16MB"},   {32u << 20, 5, "32MB"},
    {64u << 20, 6, "64MB"}, {128u << 20, 7, "128MB"},
};

static const struct size_code *size_table(enum fl_chip chip, size_t *n)
{
    const struct fl_target *t = fl_target_by_chip(chip);
    if (t != NULL && t->sizes == FL_SIZES_ESP8266) {
        *n = sizeof sizes_esp8266 / sizeof sizes_esp8266[0];
        return sizes_esp8266;
    }
    *n = sizeof sizes_esp32 / sizeof sizes_esp32[0];
    return sizes_esp32;
}

const char *fl_image_size_text(enum fl_chip chip, uint8_t size_freq)
{
    size_t n;
    const struct size_code *tab = size_table(chip, &n);
    for (size_t i = 0; i < n; i++) {
        if (tab[i].code == size_freq >> 4) {
            return tab[i].text;
        }
    }
    return "?";
}

const char *fl_image_freq_text(enum fl_chip chip, uint8_t size_freq)
{
    static const char *const names[] = {"80m", "60m", "48m", "40m", "30m", "26m",
                                        "24m", "20m", "16m", "15m", "12m"};
    static const int mhz[] = {80, 60, 48, 40, 30, 26, 24, 20, 16, 15, 12};
    const struct fl_target *t = fl_target_by_chip(chip == FL_CHIP_AUTO ? FL_CHIP_ESP32 : chip);
    for (const struct fl_freq_code *f = t->freqs; f->mhz != 0; f++) {
        if (f->code == (size_freq & 0xF)) {
            for (size_t i = 0; i < sizeof mhz / sizeof mhz[0]; i++) {
                if (mhz[i] == f->mhz) {
                    return names[i];
                }
            }
        }
    }
    return "?";
}

int fl_image_patch(uint8_t *data, size_t len, enum fl_chip chip, int mode, int freq_mhz,
                   uint32_t size_bytes, bool *changed, struct fl_error *err)
{
    *changed = false;
    const struct fl_target *t = fl_target_by_chip(chip);
    struct fl_image_info info;
    if (t == NULL) {
        return fl_error_set(err, FL_ERR_INVALID, NULL, "patching needs a known chip");
    }
    TRY(fl_image_parse(data, len, chip, &info, err));
    if (!info.valid || info.magic != IMAGE_MAGIC) {
        return fl_error_set(err, FL_ERR_INVALID, NULL,
                            "not a valid %s image: flash settings not changed", t->name);
    }
    uint8_t b2 = data[2], b3 = data[3];
    if (mode != FL_PARAM_KEEP) {
        if (mode < FL_MODE_QIO || mode > FL_MODE_DOUT) {
            return fl_error_set(err, FL_ERR_INVALID, NULL, "flash mode %d is not valid", mode);
        }
        b2 = (uint8_t)mode;
    }
    if (freq_mhz != FL_PARAM_KEEP) {
        const struct fl_freq_code *f = t->freqs;
        while (f->mhz != 0 && f->mhz != freq_mhz) {
            f++;
        }
        if (f->mhz == 0) {
            return fl_error_set(err, FL_ERR_INVALID, NULL, "the %s cannot run its flash at %d MHz",
                                t->name, freq_mhz);
        }
        b3 = (uint8_t)((b3 & 0xF0) | f->code);
    }
    if (size_bytes != 0) {
        size_t n;
        const struct size_code *tab = size_table(chip, &n);
        size_t i = 0;
        while (i < n && tab[i].bytes != size_bytes) {
            i++;
        }
        if (i == n) {
            return fl_error_set(err, FL_ERR_INVALID, NULL,
                                "a %u KiB flash cannot be described in a %s image header",
                                (unsigned)(size_bytes / 1024), t->name);
        }
        b3 = (uint8_t)((tab[i].code << 4) | (b3 & 0x0F));
    }
    if (b2 == data[2] && b3 == data[3]) {
        return FL_OK;
    }
    data[2] = b2;
    data[3] = b3;
    *changed = true;
    if (info.hash_appended) {
        /* The bootloader checks its own digest: it must cover the new bytes. */
        if (fl_sha256_local(data, info.digest_offset, data + info.digest_offset) != FL_OK) {
            return fl_error_set(err, FL_ERR_NOMEM, NULL, "SHA-256 failed");
        }
    }
    return FL_OK;
}

const char *fl_flash_mode_name(int mode)
{
    static const char *const names[] = {"qio", "qout", "dio", "dout"};
    return mode >= 0 && mode <= 3 ? names[mode] : NULL;
}

bool fl_flash_mode_parse(const char *text, int *mode)
{
    for (int i = 0; i <= 3; i++) {
        if (strcasecmp(text, fl_flash_mode_name(i)) == 0) {
            *mode = i;
            return true;
        }
    }
    return false;
}

bool fl_flash_freq_parse(const char *text, int *mhz)
{
    char *end;
    long v = strtol(text, &end, 10);
    if (end == text || v <= 0 || v > 200) {
        return false;
    }
    if (*end == 'm' || *end == 'M') {
        end++;
    }
    if (*end != '\0') {
        return false;
    }
    *mhz = (int)v;
    return true;
}

bool fl_flash_size_parse(const char *text, uint32_t *bytes)
{
    char *end;
    unsigned long v = strtoul(text, &end, 10);
    if (end == text || !isdigit((unsigned char)text[0])) {
        return false;
    }
    uint64_t b;
    if (strcasecmp(end, "MB") == 0 || strcasecmp(end, "M") == 0) {
        b = (uint64_t)v << 20;
    } else if (strcasecmp(end, "KB") == 0 || strcasecmp(end, "K") == 0) {
        b = (uint64_t)v << 10;
    } else {
        return false;
    }
    if (b < (256u << 10) || b > (128u << 20) || (b & (b - 1)) != 0) {
        return false;
    }
    *bytes = (uint32_t)b;
    return true;
}
