/* Presets, parameter validation and the small format helpers every other file uses. */
#include <stdio.h>
#include <string.h>

#include "lfsgen/lfsgen_priv.h"

#define ESP8266_SMALL_FS (512u * 1024u) /* below this the core links 4 KiB blocks */
#define LFS_FILE_MAX_DEF 2147483647u
#define LFS_ATTR_MAX_DEF 1022u
#define LFS_NAME_MAX_LIM 1022u

struct preset {
    const char *name;
    struct lg_params params;
};

/* SPEC.md §1: what each platform compiles littlefs with (sources cited there). */
static const struct preset presets[] = {
    {"esp-idf",
     {4096, 0, 128, 128, 512, 128, 512, 255, LFS_FILE_MAX_DEF, LFS_ATTR_MAX_DEF, 0, LG_DISK_V2_1,
      0}},
    {"esp32-arduino",
     {4096, 0, 128, 128, 512, 128, 512, 255, LFS_FILE_MAX_DEF, LFS_ATTR_MAX_DEF, 0, LG_DISK_V2_1,
      0}},
    {"esp8266-arduino",
     {8192, 0, 64, 64, 64, 64, 16, 32, LFS_FILE_MAX_DEF, LFS_ATTR_MAX_DEF, 0, LG_DISK_V2_0, 31}},
};

int lg_fail(struct lg_error *err, int code, const char *fmt, ...)
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

uint32_t lg_crc(uint32_t crc, const void *buf, size_t len)
{
    /* Nibble table of the reflected polynomial, as lfs_util.c: small and
     * fast enough (the builder CRCs metadata only, never file data). */
    static const uint32_t table[16] = {
        0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4,
        0x4db26158, 0x5005713c, 0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
        0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
    };
    const uint8_t *p = buf;
    for (size_t i = 0; i < len; i++) {
        crc = (crc >> 4) ^ table[(crc ^ p[i]) & 0xFu];
        crc = (crc >> 4) ^ table[(crc ^ (uint32_t)(p[i] >> 4)) & 0xFu];
    }
    return crc;
}

const char *lg_preset_name(size_t i)
{
    return i < sizeof presets / sizeof presets[0] ? presets[i].name : NULL;
}

int lg_preset(const char *name, uint64_t fs_size, struct lg_params *out, struct lg_error *err)
{
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++) {
        if (name != NULL && strcmp(name, presets[i].name) == 0) {
            *out = presets[i].params;
            if (strcmp(name, "esp8266-arduino") == 0 && fs_size != 0) {
                if (fs_size < ESP8266_SMALL_FS) {
                    out->block_size = 4096;
                }
                /* The core passes block_count = size / block (LittleFS.h). */
                out->block_count = (uint32_t)(fs_size / out->block_size);
            }
            return LG_OK;
        }
    }
    return lg_fail(err, LG_ERR_GEOMETRY,
                   "unknown littlefs preset '%s' (known: esp-idf, esp32-arduino, esp8266-arduino)",
                   name ? name : "(null)");
}

const char *lg_preset_match(const struct lg_params *p, uint64_t fs_size)
{
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++) {
        struct lg_params q;
        if (lg_preset(presets[i].name, fs_size, &q, NULL) == LG_OK && lg_params_equal(p, &q)) {
            return presets[i].name;
        }
    }
    return NULL;
}

static bool is_pow2(uint64_t v)
{
    return v != 0 && (v & (v - 1)) == 0;
}

uint32_t lg_inline_max(const struct lg_params *p)
{
    if (p->inline_max != 0) {
        return p->inline_max;
    }
    uint32_t m = p->cache_size;
    uint32_t attr = p->attr_max ? p->attr_max : LFS_ATTR_MAX_DEF;
    m = attr < m ? attr : m;
    m = p->block_size / 8 < m ? p->block_size / 8 : m;
    /* littlefs < 2.6 caps at 0x3fe instead of attr_max: the same for attr_max 1022. */
    return m > 0x3FEu ? 0x3FEu : m;
}

uint32_t lg_name_limit(const struct lg_params *p)
{
    if (p->path_name_max != 0 && p->path_name_max < p->name_max) {
        return p->path_name_max;
    }
    return p->name_max;
}

int lg_check_params(const struct lg_params *p, uint64_t image_size, bool whole_blocks,
                    struct lg_error *err)
{
    uint32_t b = p->block_size;
    if (!is_pow2(b) || b < 128 || b > (1u << 20)) {
        return lg_fail(err, LG_ERR_GEOMETRY,
                       "block size %u is not a power of two from 128 to 1 MiB (ESP devices use "
                       "4096 or 8192)",
                       b);
    }
    if (p->read_size == 0 || p->prog_size == 0 || p->cache_size == 0 ||
        p->cache_size % p->read_size != 0 || p->cache_size % p->prog_size != 0 ||
        b % p->cache_size != 0) {
        return lg_fail(err, LG_ERR_GEOMETRY,
                       "read size %u, prog size %u, cache size %u, block size %u: the cache must "
                       "be a multiple of read and prog size and divide the block (lfs_init "
                       "asserts it)",
                       p->read_size, p->prog_size, p->cache_size, b);
    }
    if (p->block_cycles == 0) {
        return lg_fail(err, LG_ERR_GEOMETRY,
                       "block_cycles 0 is not supported by littlefs (use -1 to disable wear "
                       "levelling)");
    }
    if (p->name_max == 0 || p->name_max > LFS_NAME_MAX_LIM || p->attr_max > LFS_ATTR_MAX_DEF ||
        p->file_max == 0 || p->file_max > LFS_FILE_MAX_DEF) {
        return lg_fail(err, LG_ERR_GEOMETRY,
                       "name_max %u (1..1022), attr_max %u (<= 1022), file_max %u (1..2147483647) "
                       "out of littlefs's range",
                       p->name_max, p->attr_max, p->file_max);
    }
    if (p->disk_version != LG_DISK_V2_0 && p->disk_version != LG_DISK_V2_1) {
        return lg_fail(err, LG_ERR_GEOMETRY,
                       "disk version 0x%08x: only 2.0 (0x00020000) and 2.1 (0x00020001) exist",
                       p->disk_version);
    }
    if (p->inline_max != 0) {
        uint32_t lim = p->cache_size;
        uint32_t attr = p->attr_max ? p->attr_max : LFS_ATTR_MAX_DEF;
        lim = attr < lim ? attr : lim;
        lim = b / 8 < lim ? b / 8 : lim;
        if (p->inline_max > lim) {
            return lg_fail(err, LG_ERR_GEOMETRY,
                           "inline_max %u exceeds min(cache %u, attr_max %u, block/8 %u) = %u, "
                           "which littlefs asserts",
                           p->inline_max, p->cache_size, attr, b / 8, lim);
        }
    }
    if (image_size == 0) {
        return LG_OK;
    }
    uint64_t blocks = image_size / b;
    if (blocks < 2) {
        return lg_fail(err, LG_ERR_GEOMETRY,
                       "an image of %llu bytes has fewer than the two %u-byte blocks the "
                       "superblock pair needs",
                       (unsigned long long)image_size, b);
    }
    if (blocks > 0xFFFFFFF0u) {
        return lg_fail(err, LG_ERR_GEOMETRY, "an image of %llu bytes has too many blocks",
                       (unsigned long long)image_size);
    }
    if (whole_blocks && image_size % b != 0) {
        return lg_fail(err, LG_ERR_GEOMETRY,
                       "image size %llu is not a whole number of %u-byte blocks (use %llu or "
                       "%llu)",
                       (unsigned long long)image_size, b, (unsigned long long)(blocks * b),
                       (unsigned long long)((blocks + 1) * b));
    }
    if (whole_blocks && p->block_count != 0 && p->block_count != blocks) {
        return lg_fail(err, LG_ERR_GEOMETRY,
                       "the device expects %u blocks (partition size / block size) but the image "
                       "has %llu; lfs_mount would fail with 'Invalid block count'",
                       p->block_count, (unsigned long long)blocks);
    }
    return LG_OK;
}

int lg_params_check(const struct lg_params *p, uint64_t image_size, struct lg_error *err)
{
    return lg_check_params(p, image_size, true, err);
}

void lg_params_describe(const struct lg_params *p, char *buf, size_t len)
{
    char open_lim[32] = "";
    if (p->path_name_max != 0 && p->path_name_max < p->name_max) {
        snprintf(open_lim, sizeof open_lim, " (open() %u)", p->path_name_max);
    }
    snprintf(buf, len,
             "block %u, read/prog %u/%u, cache %u, name_max %u%s, inline <= %u, block_cycles "
             "%d, disk v2.%u",
             p->block_size, p->read_size, p->prog_size, p->cache_size, p->name_max, open_lim,
             lg_inline_max(p), (int)p->block_cycles, p->disk_version & 0xFFFFu);
}

bool lg_params_equal(const struct lg_params *a, const struct lg_params *b)
{
    return a->block_size == b->block_size && a->block_count == b->block_count &&
           a->read_size == b->read_size && a->prog_size == b->prog_size &&
           a->cache_size == b->cache_size && a->block_cycles == b->block_cycles &&
           a->name_max == b->name_max && a->file_max == b->file_max && a->attr_max == b->attr_max &&
           lg_inline_max(a) == lg_inline_max(b) && a->disk_version == b->disk_version &&
           lg_name_limit(a) == lg_name_limit(b);
}

uint64_t lg_ctz_capacity(uint32_t block_size, uint64_t n)
{
    if (n == 0) {
        return 0;
    }
    /* Blocks 1..n-1 carry ctz(i) + 1 pointers: 2(n-1) - popcount(n-1) in all. */
    uint64_t k = n - 1;
    uint64_t ptrs = 2 * k - (uint64_t)__builtin_popcountll(k);
    return n * block_size - 4 * ptrs;
}

uint64_t lg_ctz_blocks(uint32_t block_size, uint64_t size)
{
    if (size == 0) {
        return 0;
    }
    uint64_t n = size / (block_size - 8) + 1;
    while (n > 1 && lg_ctz_capacity(block_size, n - 1) >= size) {
        n--;
    }
    while (lg_ctz_capacity(block_size, n) < size) {
        n++;
    }
    return n;
}

int lg_name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c != 0) {
        return c < 0 ? -1 : 1;
    }
    if (alen == blen) {
        return 0;
    }
    return alen > blen ? -1 : 1;
}

uint32_t lg_pair_budget(uint32_t block_size, uint32_t prog_size)
{
    uint32_t half = (block_size / 2 + prog_size - 1) / prog_size * prog_size;
    uint32_t cap = block_size - 40;
    return half < cap ? half : cap;
}

const char *lg_path_problem(const char *path)
{
    if (path == NULL || path[0] != '/') {
        return "does not start with '/'";
    }
    const char *c = path + 1;
    if (*c == '\0') {
        return "is the root, not an entry";
    }
    for (;;) {
        const char *end = strchr(c, '/');
        size_t n = end ? (size_t)(end - c) : strlen(c);
        if (n == 0) {
            return "has an empty component";
        }
        if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.')) {
            return "has a '.' or '..' component, which would escape or alias the directory";
        }
        for (size_t i = 0; i < n; i++) {
            if (c[i] == '\\') {
                return "has a backslash, a separator on some hosts";
            }
        }
        if (end == NULL) {
            return NULL;
        }
        c = end + 1;
    }
}
