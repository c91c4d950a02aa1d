/*
 * spiffsgen — build and read SPIFFS images in memory.
 *
 * The one public header of spiffsgen/. Pure C11: no I/O, no dependencies, no
 * global state; everything works on caller buffers (the reader allocates its
 * index and file copies with malloc, freed by the matching *_free/close).
 * Images mount on the SPIFFS library as the ESP8266 Arduino core, the ESP32
 * Arduino core and ESP-IDF compile it; spiffsgen/SPEC.md lists the exact
 * format and the parameters each preset carries.
 *
 * Example:
 *     struct sg_params p;
 *     struct sg_error err;
 *     if (sg_preset("esp8266-arduino", 0x1FA000, &p, &err) != SG_OK) ...
 *     struct sg_file files[] = {{"/ca.der", ca, ca_len}, {"/config.json", cfg, cfg_len}};
 *     uint8_t *img = malloc(0x1FA000);
 *     if (sg_build(&p, files, 2, 0, img, 0x1FA000, &err) != SG_OK) puts(err.msg);
 *
 *     struct sg_image *rd;
 *     if (sg_image_open(&p, img, 0x1FA000, &rd, &err) == SG_OK) {
 *         for (size_t i = 0; i < sg_image_count(rd); i++) puts(sg_image_entry(rd, i)->name);
 *         sg_image_close(rd);
 *     }
 */
#ifndef ESPPROV_SPIFFSGEN_H
#define ESPPROV_SPIFFSGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum sg_err {
    SG_OK = 0,
    SG_ERR_GEOMETRY = -1,  /* impossible parameters or image size */
    SG_ERR_NAME = -2,      /* a file name that cannot live on the device */
    SG_ERR_DUPLICATE = -3, /* two files with one name */
    SG_ERR_NO_SPACE = -4,  /* the files do not fit */
    SG_ERR_CORRUPT = -5,   /* an image that does not read as SPIFFS */
    SG_ERR_NOT_FOUND = -6, /* no such file in the image */
    SG_ERR_NOMEM = -7,
};

/* What failed and why, one line, lowercase, no secrets (names only).
 * Every function taking a `struct sg_error *` accepts NULL there. */
struct sg_error {
    int code; /* enum sg_err */
    char msg[256];
};

/* Every parameter that changes bytes on flash (SPEC.md §1). */
struct sg_params {
    uint32_t page_size;         /* logical page, bytes (256 on every platform) */
    uint32_t block_size;        /* logical block, bytes; multiple of page and of 4096 */
    uint32_t obj_name_len;      /* SPIFFS_OBJ_NAME_LEN, includes the NUL (32) */
    uint32_t meta_len;          /* SPIFFS_OBJ_META_LEN (0 on ESP8266, 4 on ESP32) */
    bool use_magic;             /* SPIFFS_USE_MAGIC */
    bool use_magic_len;         /* SPIFFS_USE_MAGIC_LENGTH */
    bool aligned_obj_ix_tables; /* SPIFFS_ALIGNED_OBJECT_INDEX_TABLES */
};

/*
 * The parameters a platform compiles SPIFFS with: "esp8266-arduino" (block
 * 8192, or 4096 when fs_size < 512 KiB), "esp32-arduino", "esp-idf".
 * fs_size may be 0 when the caller does not know it yet (ESP8266 then gets
 * 8192). Returns SG_OK or SG_ERR_GEOMETRY for an unknown name.
 */
int sg_preset(const char *name, uint64_t fs_size, struct sg_params *out, struct sg_error *err);
/* Preset names for help texts and detection: i = 0, 1, ... until NULL. */
const char *sg_preset_name(size_t i);

/* Validates parameters against an image size (whole blocks, magic possible,
 * u16 page indices, ...). Returns SG_OK or SG_ERR_GEOMETRY with the reason. */
int sg_params_check(const struct sg_params *p, uint64_t image_size, struct sg_error *err);

/* Longest name (bytes, including the leading '/') the device can open. */
size_t sg_max_name_len(const struct sg_params *p);

/* One line for humans: "page 256, block 4096, name length 32, meta length 4,
 * magic with length, unaligned index tables". */
void sg_params_describe(const struct sg_params *p, char *buf, size_t len);
/* True when both give the same bytes on flash (magic length is ignored when
 * magic is off, as the library does). */
bool sg_params_equal(const struct sg_params *a, const struct sg_params *b);
/* The first preset whose parameters for fs_size equal *p, or NULL. */
const char *sg_preset_match(const struct sg_params *p, uint64_t fs_size);

struct sg_file {
    const char *name; /* "/client.crt.der": starts with '/', flat namespace */
    const void *data; /* may be NULL when size is 0 */
    size_t size;
};

enum sg_build_flags {
    /* Use every page. By default two blocks stay free so the device's SPIFFS
     * can still create and rewrite files (it refuses writes into that reserve). */
    SG_BUILD_FILL = 1 << 0,
    /* Leave every erase count 0xFFFF (never written) instead of 0, as
     * ESP-IDF's spiffsgen.py does: with the files in the same order the
     * output is then byte-identical to spiffsgen.py's. */
    SG_BUILD_ERASE_COUNT_FFFF = 1 << 1,
};

/*
 * Writes a complete image of image_size bytes into `image` (caller-owned,
 * exactly image_size bytes, a whole number of blocks). Files are laid out in
 * the order given, with object ids 1, 2, ...; pass them sorted
 * (sg_files_sort) for reproducible output. The same inputs always give the
 * same bytes: unused bytes are 0xFF, header pad 0xFF, name/meta padding 0,
 * erase counts 0 (see the flags). Names must start with '/', be at most
 * sg_max_name_len() bytes and be unique; `data` may be NULL only when size is
 * 0. Errors: SG_ERR_GEOMETRY, SG_ERR_NAME (names the file and its length),
 * SG_ERR_DUPLICATE, SG_ERR_NO_SPACE (says the shortfall), SG_ERR_NOMEM. On
 * error the buffer content is unspecified.
 */
int sg_build(const struct sg_params *p, const struct sg_file *files, size_t nfiles, unsigned flags,
             uint8_t *image, size_t image_size, struct sg_error *err);

/* Sorts files bytewise by name (the order sg_build output is defined by). */
void sg_files_sort(struct sg_file *files, size_t nfiles);

/* Object pages the files need / the image offers (with the flags' reserve).
 * Lets a caller say "does not fit by N bytes" before building. Only the
 * geometry is validated here (SG_ERR_GEOMETRY), not the names. */
struct sg_usage {
    uint64_t pages_needed;    /* headers + data pages + continuation index pages */
    uint64_t pages_available; /* object pages in the usable blocks */
    uint64_t bytes_over;      /* missing pages x payload per page (P - 5); 0 when it fits */
};
int sg_usage(const struct sg_params *p, const struct sg_file *files, size_t nfiles, unsigned flags,
             uint64_t image_size, struct sg_usage *out, struct sg_error *err);

/* ===== Reading ======================================================== */

struct sg_image; /* opaque: an index over a caller-owned image buffer */

struct sg_entry {
    const char *name;    /* NUL-terminated, at most obj_name_len - 1 bytes */
    uint32_t size;       /* bytes (0xFFFFFFFF on flash reads as 0) */
    uint16_t obj_id;     /* SPIFFS object id, without the index bit */
    const uint8_t *meta; /* meta_len bytes inside the image, or NULL */
};

/*
 * Indexes an image as the SPIFFS library's mount would see it: block magics,
 * lookup tables, live index headers (SPEC.md §5). Tolerates what a device
 * leaves behind (deleted and moved pages, files in any order or spread over
 * several index pages, any erase counts). Like the library it uses
 * floor(size / block) blocks and ignores a partial last block. The image
 * buffer must outlive the handle; *out is NULL on error. Returns SG_OK,
 * SG_ERR_CORRUPT (two or more wrong block magics: the device would not mount
 * it; the message says which), SG_ERR_GEOMETRY or SG_ERR_NOMEM. Never reads
 * outside [image, image + size) and always terminates. Memory: about
 * 50 + name length bytes per index page in the image (files + continuation
 * pages), nothing per data page.
 */
int sg_image_open(const struct sg_params *p, const uint8_t *image, size_t size,
                  struct sg_image **out, struct sg_error *err);
/* Frees the index (not the image buffer). NULL is fine. */
void sg_image_close(struct sg_image *img);

/* Live files as the device's readdir lists them, sorted bytewise by name
 * (a name present twice, which check reports, keeps lookup order). The
 * entry stays valid until sg_image_close. */
size_t sg_image_count(const struct sg_image *img);
const struct sg_entry *sg_image_entry(const struct sg_image *img, size_t i);
/* Index of the file with this name (the one the device opens when the name
 * is present twice), or -1. */
long sg_image_find(const struct sg_image *img, const char *name);

/* Copies file i's bytes into a malloc'd buffer (*data, *len); the caller
 * frees it (on error *data is NULL). SG_ERR_CORRUPT, naming the file and the
 * span, if its header, an index page or a data page is missing or
 * inconsistent, exactly where the library's read would fail. */
int sg_image_read(const struct sg_image *img, size_t i, uint8_t **data, size_t *len,
                  struct sg_error *err);

/* Usage statistics, in pages. */
struct sg_stats {
    uint32_t blocks;
    uint32_t pages_total;   /* object pages (lookup pages not counted) */
    uint32_t pages_used;    /* live */
    uint32_t pages_deleted; /* garbage awaiting GC */
    uint32_t pages_free;
};
void sg_image_stats(const struct sg_image *img, struct sg_stats *out);

/*
 * The one block whose magic is wrong, or -1. The library takes such a block
 * for an interrupted erase and erases it at mount, so the reader already
 * treats it as erased (its files are gone); callers should warn. found and
 * expected (may be NULL) receive the magic values.
 */
long sg_image_bad_block(const struct sg_image *img, uint16_t *found, uint16_t *expected);

/*
 * Checks structure and consistency (magics, lookup entries vs page headers,
 * free pages that are not erased, index tables, spans, sizes, duplicate
 * names and ids, cross-linked and orphan pages) and calls report() (may be
 * NULL) once per problem with a precise one-line description ("block 3:
 * magic 0x0431, expected 0x0429; ..."). After 1000 lines it reports one
 * "... and N more" line. Returns the number of problems found (0 = clean).
 */
size_t sg_image_check(const struct sg_image *img, void (*report)(void *user, const char *problem),
                      void *user);

/*
 * Guesses the parameters of an unknown image: page 256/512/1024, block
 * 4 KiB..64 KiB, magic with/without length or none, meta length 0/4,
 * aligned or not, name length 32. Block magics decide first, then how
 * consistently pages read. Candidates that read the image identically (e.g.
 * no file has data, so the meta length cannot show) resolve to the matching
 * preset. preset_name (may be NULL) receives the preset ("esp-idf", ...) or
 * "custom". SG_ERR_CORRUPT when nothing fits or several candidates read the
 * image differently (the message lists them).
 */
int sg_detect(const uint8_t *image, size_t size, struct sg_params *out, char *preset_name,
              size_t preset_name_len, struct sg_error *err);

#endif
