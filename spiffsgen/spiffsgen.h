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

/* What failed and why, one line, lowercase, no secrets (names only). */
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

struct sg_file {
    const char *name; /* "/client.crt.der": starts with '/', flat namespace */
    const void *data; /* may be NULL when size is 0 */
    size_t size;
};

enum sg_build_flags {
    /* Use every page. By default two blocks stay free so the device's SPIFFS
     * can still create and rewrite files (it refuses writes into that reserve). */
    SG_BUILD_FILL = 1 << 0,
};

/*
 * Writes a complete image of image_size bytes into `image` (caller-owned,
 * exactly image_size bytes). Files are laid out in the order given; pass
 * them sorted (sg_files_sort) for reproducible output. The same inputs always
 * give the same bytes. On error the buffer content is unspecified and the
 * message names the file (too long a name, duplicate) or the shortfall in
 * bytes (SG_ERR_NO_SPACE).
 */
int sg_build(const struct sg_params *p, const struct sg_file *files, size_t nfiles,
             unsigned flags, uint8_t *image, size_t image_size, struct sg_error *err);

/* Sorts files bytewise by name (the order sg_build output is defined by). */
void sg_files_sort(struct sg_file *files, size_t nfiles);

/* Bytes of object pages the files need / the image offers (with the flags'
 * reserve). Lets a caller say "does not fit by N bytes" before building. */
struct sg_usage {
    uint64_t pages_needed;
    uint64_t pages_available;
    uint64_t bytes_over; /* 0 when it fits */
};
int sg_usage(const struct sg_params *p, const struct sg_file *files, size_t nfiles,
             unsigned flags, uint64_t image_size, struct sg_usage *out, struct sg_error *err);

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
 * lookup tables, live index headers. Tolerates what a device leaves behind
 * (deleted pages, files in any order or spread over several index pages).
 * The image buffer must outlive the handle. Returns SG_OK, SG_ERR_CORRUPT
 * (not a SPIFFS image for these parameters, with why), SG_ERR_GEOMETRY or
 * SG_ERR_NOMEM. Never reads outside [image, image + size).
 */
int sg_image_open(const struct sg_params *p, const uint8_t *image, size_t size,
                  struct sg_image **out, struct sg_error *err);
void sg_image_close(struct sg_image *img);

/* Live files, sorted bytewise by name. */
size_t sg_image_count(const struct sg_image *img);
const struct sg_entry *sg_image_entry(const struct sg_image *img, size_t i);
/* Index of the file with this name, or -1. */
long sg_image_find(const struct sg_image *img, const char *name);

/* Copies file i's bytes into a malloc'd buffer (*data, *len); the caller
 * frees it. SG_ERR_CORRUPT if a data page is missing or inconsistent. */
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
 * Checks structure and consistency (magics, lookup entries vs page headers,
 * index tables, spans, sizes, duplicate names, orphan pages) and calls
 * report() once per problem with a precise one-line description ("block 3:
 * magic 0x0431, expected 0x0429"). Returns the number of problems found.
 */
size_t sg_image_check(const struct sg_image *img,
                      void (*report)(void *user, const char *problem), void *user);

/*
 * Guesses the parameters of an unknown image from the presets (and their
 * magic-length / alignment variants): the candidate whose block magics all
 * match and whose index pages read consistently. SG_ERR_CORRUPT when none or
 * several fit equally well (the message lists them).
 */
int sg_detect(const uint8_t *image, size_t size, struct sg_params *out, char *preset_name,
              size_t preset_name_len, struct sg_error *err);

#endif
