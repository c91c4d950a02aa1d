/* Presets, parameter validation and the geometry every other file works from. */
#include <stdio.h>
#include <string.h>

#include "spiffsgen/spiffsgen_priv.h"

#define ESP8266_SMALL_FS (512u * 1024u) /* below this the core uses 4 KiB blocks */
#define PHYS_ERASE       4096u

struct preset {
    const char *name;
    struct sg_params params;
};

/* SPEC.md §2: what each platform compiles SPIFFS with. */
static const struct preset presets[] = {
    {"esp-idf", {256, 4096, 32, 4, true, true, false}},
    {"esp32-arduino", {256, 4096, 32, 4, true, true, false}},
    {"esp8266-arduino", {256, 8192, 32, 0, true, false, true}},
};

int sg_fail(struct sg_error *err, int code, const char *fmt, ...)
{
    if (err != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

const char *sg_preset_name(size_t i)
{
    return i < sizeof presets / sizeof presets[0] ? presets[i].name : NULL;
}

int sg_preset(const char *name, uint64_t fs_size, struct sg_params *out, struct sg_error *err)
{
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++) {
        if (name != NULL && strcmp(name, presets[i].name) == 0) {
            *out = presets[i].params;
            if (strcmp(name, "esp8266-arduino") == 0 && fs_size != 0 &&
                fs_size < ESP8266_SMALL_FS) {
                out->block_size = 4096;
            }
            return SG_OK;
        }
    }
    return sg_fail(err, SG_ERR_GEOMETRY,
                   "unknown preset '%s' (known: esp-idf, esp32-arduino, esp8266-arduino)",
                   name ? name : "(null)");
}

static bool is_pow2(uint64_t v)
{
    return v != 0 && (v & (v - 1)) == 0;
}

static uint32_t header_len(const struct sg_params *p)
{
    uint32_t h = 13 + p->obj_name_len + p->meta_len;
    if (p->aligned_obj_ix_tables && (h & 1u)) {
        h++;
    }
    return h;
}

/* The library's own rule (checked at every mount): the last lookup page must
 * keep two u16 slots after the entries for the magic and the erase count. */
static bool magic_possible(uint32_t page, uint32_t e)
{
    return (e % (page / 2)) * 2 <= page - 4;
}

int sg_geom_init(struct sg_geom *g, const struct sg_params *p, uint64_t image_size,
                 bool whole_blocks, struct sg_error *err)
{
    memset(g, 0, sizeof *g);
    if (!is_pow2(p->page_size) || p->page_size < 64 || p->page_size > 65536) {
        return sg_fail(err, SG_ERR_GEOMETRY,
                       "page size %u is not a power of two from 64 to 65536 (devices use 256)",
                       p->page_size);
    }
    if (!is_pow2(p->block_size) || p->block_size < PHYS_ERASE || p->block_size < 2 * p->page_size) {
        return sg_fail(err, SG_ERR_GEOMETRY,
                       "block size %u must be a power of two, at least 4096 (the flash erase "
                       "size) and at least two pages of %u bytes",
                       p->block_size, p->page_size);
    }
    if (p->obj_name_len < 2 || p->obj_name_len > 1024 || p->meta_len > 1024 ||
        header_len(p) + 2 > p->page_size) {
        return sg_fail(err, SG_ERR_GEOMETRY,
                       "object name length %u and meta length %u do not fit a %u-byte page "
                       "(the file header needs %u bytes plus one index entry)",
                       p->obj_name_len, p->meta_len, p->page_size, header_len(p));
    }
    g->page = p->page_size;
    g->block = p->block_size;
    g->ppb = g->block / g->page;
    g->lup = (g->ppb * 2) / g->page;
    if (g->lup == 0) {
        g->lup = 1;
    }
    g->e = g->ppb - g->lup;
    g->data_len = g->page - SG_PAGE_HDR_LEN;
    g->name_len = p->obj_name_len;
    g->meta_len = p->meta_len;
    g->hdr_len = header_len(p);
    g->he = (g->page - g->hdr_len) / 2;
    g->ie = (g->page - SG_IX_HDR_LEN) / 2;
    g->magic_off = g->lup * g->page - 4;
    g->erase_off = g->lup * g->page - 2;
    g->magic = p->use_magic;
    g->magic_len = p->use_magic && p->use_magic_len;
    if (g->magic && (!magic_possible(g->page, g->e) || g->e > g->lup * g->page / 2 - 2)) {
        return sg_fail(err, SG_ERR_GEOMETRY,
                       "block magic is not possible with %u-byte pages and %u-byte blocks: the "
                       "lookup page has no room for it (the device refuses to mount, "
                       "SPIFFS_ERR_MAGIC_NOT_POSSIBLE); use another block size or no magic",
                       g->page, g->block);
    }
    uint64_t blocks = image_size / g->block;
    if (blocks == 0) {
        return sg_fail(err, SG_ERR_GEOMETRY,
                       "an image of %llu bytes is smaller than one %u-byte block",
                       (unsigned long long)image_size, g->block);
    }
    if (whole_blocks && image_size % g->block != 0) {
        return sg_fail(err, SG_ERR_GEOMETRY,
                       "image size %llu is not a whole number of %u-byte blocks (use %llu or "
                       "%llu)",
                       (unsigned long long)image_size, g->block,
                       (unsigned long long)(blocks * g->block),
                       (unsigned long long)((blocks + 1) * g->block));
    }
    if (blocks * g->ppb > 0xFFFFu) {
        return sg_fail(err, SG_ERR_GEOMETRY,
                       "an image of %llu bytes has %llu pages of %u bytes; SPIFFS page indices "
                       "are 16-bit, so at most %u bytes fit",
                       (unsigned long long)image_size, (unsigned long long)(blocks * g->ppb),
                       g->page, (0xFFFFu / g->ppb) * g->block);
    }
    g->blocks = (uint32_t)blocks;
    g->pages = g->blocks * g->ppb;
    return SG_OK;
}

uint16_t sg_geom_magic(const struct sg_geom *g, uint32_t bix)
{
    uint32_t m = 0x20140529u ^ g->page;
    if (g->magic_len) {
        m ^= g->blocks - bix;
    }
    return (uint16_t)m;
}

uint64_t sg_file_pages(const struct sg_geom *g, uint64_t size)
{
    uint64_t data = (size + g->data_len - 1) / g->data_len;
    uint64_t extra = data > g->he ? (data - g->he + g->ie - 1) / g->ie : 0;
    return 1 + data + extra;
}

int sg_params_check(const struct sg_params *p, uint64_t image_size, struct sg_error *err)
{
    struct sg_geom g;
    return sg_geom_init(&g, p, image_size, true, err);
}

size_t sg_max_name_len(const struct sg_params *p)
{
    return p->obj_name_len - 1;
}

void sg_params_describe(const struct sg_params *p, char *buf, size_t len)
{
    snprintf(buf, len, "page %u, block %u, name length %u, meta length %u, %s, %s index tables",
             p->page_size, p->block_size, p->obj_name_len, p->meta_len,
             !p->use_magic      ? "no magic"
             : p->use_magic_len ? "magic with length"
                                : "magic without length",
             p->aligned_obj_ix_tables ? "aligned" : "unaligned");
}

bool sg_params_equal(const struct sg_params *a, const struct sg_params *b)
{
    return a->page_size == b->page_size && a->block_size == b->block_size &&
           a->obj_name_len == b->obj_name_len && a->meta_len == b->meta_len &&
           a->use_magic == b->use_magic &&
           (a->use_magic && a->use_magic_len) == (b->use_magic && b->use_magic_len) &&
           a->aligned_obj_ix_tables == b->aligned_obj_ix_tables;
}

const char *sg_preset_match(const struct sg_params *p, uint64_t fs_size)
{
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++) {
        struct sg_params q;
        if (sg_preset(presets[i].name, fs_size, &q, NULL) == SG_OK && sg_params_equal(p, &q)) {
            return presets[i].name;
        }
    }
    return NULL;
}
