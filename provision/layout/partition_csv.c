/*
 * ESP-IDF partition table CSV, read the way gen_esp32part.py reads it, with
 * errors that name the line. Differences, all on the strict side: names over
 * 16 bytes are refused (the generator cuts them silently, and the device then
 * cannot find them by name), non-empty fields after Flags are refused
 * (ignored there), and $VARIABLES are refused (expanded from the environment
 * there; a profile's table must not depend on the shell it runs in).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "provision/core/core.h"
#include "provision/layout/layout.h"
#include "provision/layout/partition_priv.h"

#define FIELDS 6

struct span {
    const char *p;
    size_t n;
};

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static struct span trim(struct span s)
{
    while (s.n > 0 && is_space(s.p[0])) {
        s.p++;
        s.n--;
    }
    while (s.n > 0 && is_space(s.p[s.n - 1])) {
        s.n--;
    }
    return s;
}

/* Copies a field into `buf` as a C string; false if it does not fit. */
static bool span_str(struct span s, char *buf, size_t cap)
{
    if (s.n >= cap) {
        return false;
    }
    memcpy(buf, s.p, s.n);
    buf[s.n] = '\0';
    return true;
}

/* Decimal or 0x hex, optional K/M suffix, optional leading '-' when
 * `negative_ok`. The magnitude must fit 32 bits. */
static bool parse_number(const char *s, bool negative_ok, int64_t *out)
{
    bool negative = false;
    if (*s == '-' && negative_ok) {
        negative = true;
        s++;
    }
    size_t n = strlen(s);
    uint64_t scale = 1;
    if (n > 0 && (s[n - 1] == 'k' || s[n - 1] == 'K')) {
        scale = 1024;
        n--;
    } else if (n > 0 && (s[n - 1] == 'm' || s[n - 1] == 'M')) {
        scale = 1024 * 1024;
        n--;
    }
    unsigned base = 10;
    if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
        n -= 2;
    }
    if (n == 0) {
        return false;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned d;
        if (isdigit((unsigned char)s[i])) {
            d = (unsigned)(s[i] - '0');
        } else if (base == 16 && isxdigit((unsigned char)s[i])) {
            d = (unsigned)(tolower((unsigned char)s[i]) - 'a' + 10);
        } else {
            return false;
        }
        v = v * base + d;
        if (v > UINT32_MAX) {
            return false;
        }
    }
    if (v > UINT32_MAX / scale) {
        return false;
    }
    v *= scale;
    *out = negative ? -(int64_t)v : (int64_t)v;
    return true;
}

static int field_error(struct pv_error *err, int line, const char *hint, const char *what,
                       struct span s)
{
    return pv_error_set(err, PV_ERR_INVALID, hint, "line %d: %s '%.*s'", line, what,
                        (int)(s.n > 40 ? 40 : s.n), s.p);
}

static int parse_type(struct span s, int line, uint8_t *out, struct pv_error *err)
{
    char buf[48];
    int64_t v;
    if (s.n == 0) {
        return pv_error_set(err, PV_ERR_INVALID, "use app, data or a number",
                            "line %d: the type is empty", line);
    }
    if (span_str(s, buf, sizeof buf) && part_type_from_name(buf, out)) {
        return PV_OK;
    }
    if (span_str(s, buf, sizeof buf) && isdigit((unsigned char)buf[0]) &&
        parse_number(buf, false, &v)) {
        if (v > 0xFE) {
            return field_error(err, line, "types are 0x00 to 0xFE", "type out of range:", s);
        }
        *out = (uint8_t)v;
        return PV_OK;
    }
    return field_error(err, line, "types: app, data, bootloader, partition_table or 0x40-0xFE",
                       "unknown type", s);
}

static void subtype_names(uint8_t type, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (unsigned v = 0; v < 0xFF && used < cap; v++) {
        const char *name = pv_partition_subtype_name(type, (uint8_t)v);
        if (name != NULL && !(type == PV_PART_APP && v > 0x10 && v < 0x1F)) {
            int w = snprintf(buf + used, cap - used, "%s%s%s", used ? ", " : "", name,
                             type == PV_PART_APP && v == 0x10 ? "..ota_15" : "");
            used += w > 0 ? (size_t)w : 0;
        }
    }
}

static int parse_subtype(struct span s, uint8_t type, int line, uint8_t *out, struct pv_error *err)
{
    char buf[48];
    int64_t v;
    if (s.n == 0) {
        if (type == PV_PART_APP) {
            return pv_error_set(err, PV_ERR_INVALID, "use factory, ota_0..ota_15 or test",
                                "line %d: an app partition needs a subtype", line);
        }
        *out = 0x06; /* "undefined", as gen_esp32part.py fills in */
        return PV_OK;
    }
    if (span_str(s, buf, sizeof buf) && part_subtype_from_name(type, buf, out)) {
        return PV_OK;
    }
    if (span_str(s, buf, sizeof buf) && isdigit((unsigned char)buf[0]) &&
        parse_number(buf, false, &v)) {
        if (v > 0xFE) {
            return field_error(err, line, "subtypes are 0x00 to 0xFE", "subtype out of range:", s);
        }
        *out = (uint8_t)v;
        return PV_OK;
    }
    char names[200], hint[256];
    subtype_names(type, names, sizeof names);
    const char *tname = pv_partition_type_name(type);
    if (names[0] != '\0') {
        snprintf(hint, sizeof hint, "%s subtypes: %s, or a number", tname, names);
    } else {
        snprintf(hint, sizeof hint, "custom types take numeric subtypes");
    }
    return field_error(err, line, hint, "unknown subtype", s);
}

static int parse_flags(struct span s, int line, uint32_t *out, struct pv_error *err)
{
    *out = 0;
    while (s.n > 0) {
        const char *colon = memchr(s.p, ':', s.n);
        struct span one = {s.p, colon ? (size_t)(colon - s.p) : s.n};
        s.n -= one.n + (colon ? 1 : 0);
        s.p += one.n + (colon ? 1 : 0);
        one = trim(one);
        if (one.n == 9 && memcmp(one.p, "encrypted", 9) == 0) {
            *out |= PV_PART_ENCRYPTED;
        } else if (one.n == 8 && memcmp(one.p, "readonly", 8) == 0) {
            *out |= PV_PART_READONLY;
        } else if (one.n > 0) {
            return field_error(err, line, "flags: encrypted, readonly (separated by ':')",
                               "unknown flag", one);
        }
    }
    return PV_OK;
}

/* Splits a line into fields; fills missing ones with empty spans. */
static int split_fields(struct span line, int line_no, struct span f[FIELDS], struct pv_error *err)
{
    size_t k = 0;
    const char *p = line.p, *end = line.p + line.n;
    for (;;) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        struct span s = trim((struct span){p, comma ? (size_t)(comma - p) : (size_t)(end - p)});
        if (k < FIELDS) {
            f[k] = s;
        } else if (s.n > 0) {
            return pv_error_set(err, PV_ERR_INVALID,
                                "fields: Name, Type, SubType, Offset, "
                                "Size, Flags",
                                "line %d: unexpected field %zu '%.*s'", line_no, k + 1,
                                (int)(s.n > 40 ? 40 : s.n), s.p);
        }
        k++;
        if (comma == NULL) {
            break;
        }
        p = comma + 1;
    }
    for (; k < FIELDS; k++) {
        f[k] = (struct span){end, 0};
    }
    return PV_OK;
}

static int check_chars(struct span line, int line_no, struct pv_error *err)
{
    for (size_t i = 0; i < line.n; i++) {
        unsigned char c = (unsigned char)line.p[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            return pv_error_set(err, PV_ERR_INVALID, "is this a text file?",
                                "line %d: control character 0x%02x", line_no, c);
        }
        if (c == '$') {
            return pv_error_set(err, PV_ERR_INVALID, "write the value itself",
                                "line %d: variables ($NAME) are not expanded here", line_no);
        }
    }
    return PV_OK;
}

struct pending {
    bool has_offset;
    int64_t size; /* negative: "ends at -size" */
};

static int parse_line(struct span line, int line_no, struct pv_partition *p, struct pending *pend,
                      struct pv_error *err)
{
    struct span f[FIELDS];
    if (check_chars(line, line_no, err) != PV_OK || split_fields(line, line_no, f, err) != PV_OK) {
        return PV_ERR_INVALID;
    }
    memset(p, 0, sizeof *p);
    p->line = line_no;
    if (f[0].n == 0) {
        return pv_error_set(err, PV_ERR_INVALID, "give every partition a name",
                            "line %d: the name is empty", line_no);
    }
    if (!span_str(f[0], p->label, sizeof p->label)) {
        return pv_error_set(err, PV_ERR_INVALID, "partition names hold at most 16 bytes",
                            "line %d: name '%.*s' is %zu bytes long", line_no,
                            (int)(f[0].n > 40 ? 40 : f[0].n), f[0].p, f[0].n);
    }
    if (parse_type(f[1], line_no, &p->type, err) != PV_OK ||
        parse_subtype(f[2], p->type, line_no, &p->subtype, err) != PV_OK) {
        return PV_ERR_INVALID;
    }
    char buf[48];
    int64_t v = 0;
    pend->has_offset = f[3].n > 0;
    if (pend->has_offset) {
        if (!span_str(f[3], buf, sizeof buf) || !parse_number(buf, false, &v)) {
            return field_error(err, line_no, "use decimal or 0x hex, optionally with K or M",
                               "bad offset", f[3]);
        }
        p->offset = (uint32_t)v;
    }
    if (f[4].n == 0) {
        return pv_error_set(err, PV_ERR_INVALID, "e.g. 0x6000, 24K or 1M",
                            "line %d: the size is empty", line_no);
    }
    if (!span_str(f[4], buf, sizeof buf) || !parse_number(buf, true, &v)) {
        return field_error(err, line_no, "use decimal or 0x hex, optionally with K or M",
                           "bad size", f[4]);
    }
    pend->size = v;
    return parse_flags(f[5], line_no, &p->flags, err);
}

/* Fills in empty offsets and negative sizes in file order, as the generator
 * does: each partition goes after the previous one's end, aligned for its
 * type; explicit offsets may not go backwards. */
static int place(struct pv_partition_table *t, const struct pending *pend, struct pv_error *err)
{
    uint64_t last_end = (uint64_t)t->table_offset + PV_PARTITION_SECTOR;
    const struct pv_partition *prev = NULL;
    for (size_t i = 0; i < t->count; i++) {
        struct pv_partition *p = &t->entries[i];
        if (part_is_fixed_region(p)) {
            if (!pend[i].has_offset && p->type == PV_PART_PARTITION_TABLE) {
                p->offset = t->table_offset;
            } else if (!pend[i].has_offset) {
                return pv_error_set(err, PV_ERR_INVALID,
                                    "0x1000 on ESP32 and ESP32-S2, 0x0 on newer chips",
                                    "line %d: give the bootloader partition its offset", p->line);
            }
        } else if (pend[i].has_offset) {
            if (p->offset < last_end && prev != NULL) {
                return pv_error_set(err, PV_ERR_INVALID,
                                    "list partitions in flash order, or leave the offset "
                                    "empty to place it",
                                    "line %d: partition '%s' at 0x%x overlaps '%s', which ends "
                                    "at 0x%llx",
                                    p->line, p->label, p->offset, prev->label,
                                    (unsigned long long)last_end);
            }
        } else {
            uint32_t align = part_alignment(p->type);
            last_end = (last_end + align - 1) / align * align;
            if (last_end > UINT32_MAX) {
                return pv_error_set(err, PV_ERR_INVALID, NULL,
                                    "line %d: partition '%s' does not fit below 4 GB", p->line,
                                    p->label);
            }
            p->offset = (uint32_t)last_end;
        }
        int64_t size = pend[i].size;
        if (size < 0) {
            if (-size <= (int64_t)p->offset) {
                return pv_error_set(err, PV_ERR_INVALID, NULL,
                                    "line %d: size %lld means 'up to 0x%llx', which is not "
                                    "after the offset 0x%x",
                                    p->line, (long long)size, (unsigned long long)-size, p->offset);
            }
            size = -size - (int64_t)p->offset;
        }
        p->size = (uint32_t)size;
        if (!part_is_fixed_region(p)) {
            last_end = (uint64_t)p->offset + p->size;
            prev = p;
        }
    }
    return PV_OK;
}

int pv_partitions_parse_csv(const char *text, size_t len, uint32_t table_offset,
                            struct pv_partition_table *out, struct pv_error *err)
{
    struct pending pend[PV_PARTITION_MAX];
    memset(out, 0, sizeof *out);
    out->table_offset = table_offset ? table_offset : PV_PARTITION_TABLE_OFFSET;
    const char *p = text, *end = text + len;
    int line_no = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        struct span line = {p, nl ? (size_t)(nl - p) : (size_t)(end - p)};
        p = nl ? nl + 1 : end;
        line_no++;
        line = trim(line);
        if (line.n == 0 || line.p[0] == '#') {
            continue;
        }
        if (out->count == PV_PARTITION_MAX) {
            return pv_error_set(err, PV_ERR_INVALID, "merge or drop partitions",
                                "line %d: too many partitions (at most %d fit the table)", line_no,
                                PV_PARTITION_MAX);
        }
        if (parse_line(line, line_no, &out->entries[out->count], &pend[out->count], err) != PV_OK) {
            return PV_ERR_INVALID;
        }
        out->count++;
    }
    if (out->count == 0) {
        return pv_error_set(err, PV_ERR_INVALID,
                            "one line per partition: Name, Type, SubType, "
                            "Offset, Size, Flags",
                            "the partition table CSV has no partitions");
    }
    if (place(out, pend, err) != PV_OK) {
        return PV_ERR_INVALID;
    }
    return pv_partitions_validate(out, 0, err);
}
