/*
 * lfsgen — build and read LittleFS (v2) images in memory.
 *
 * The one public header of lfsgen/. Pure C11: no I/O, no dependencies, no
 * global state; the builder writes into a caller buffer, the reader indexes a
 * caller buffer (it allocates its index and file copies with malloc, freed by
 * the matching *_close / free). Images mount on littlefs as the ESP8266
 * Arduino core, the ESP32 Arduino core and ESP-IDF's esp_littlefs compile it;
 * lfsgen/SPEC.md lists the format, the parameters of each preset (with the
 * source lines they come from) and which lfs.c rules the reader follows.
 *
 * Example:
 *     struct lg_params p;
 *     struct lg_error err;
 *     if (lg_preset("esp8266-arduino", 0x1FA000, &p, &err) != LG_OK) ...
 *     struct lg_file files[] = {{"/certs/ca.der", ca, ca_len}, {"/config.json", cfg, cfg_len}};
 *     uint8_t *img = malloc(0x1FA000);
 *     if (lg_build(&p, files, 2, 0, img, 0x1FA000, &err) != LG_OK) puts(err.msg);
 *
 *     struct lg_image *rd;
 *     if (lg_image_open(&p, img, 0x1FA000, &rd, &err) == LG_OK) {
 *         for (size_t i = 0; i < lg_image_count(rd); i++) puts(lg_image_entry(rd, i)->path);
 *         lg_image_close(rd);
 *     }
 */
#ifndef ESPPROV_LFSGEN_H
#define ESPPROV_LFSGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum lg_err {
    LG_OK = 0,
    LG_ERR_GEOMETRY = -1,  /* impossible parameters or image size */
    LG_ERR_NAME = -2,      /* a path that cannot live on the device */
    LG_ERR_DUPLICATE = -3, /* two entries with one path (or a file that is also a directory) */
    LG_ERR_NO_SPACE = -4,  /* the files do not fit */
    LG_ERR_CORRUPT = -5,   /* an image the device would not mount (or a file it cannot read) */
    LG_ERR_NOT_FOUND = -6, /* no such entry in the image */
    LG_ERR_NOMEM = -7,
};

/* What failed and why, one line, lowercase, no secrets (names only).
 * Every function taking a `struct lg_error *` accepts NULL there. */
struct lg_error {
    int code; /* enum lg_err */
    char msg[256];
};

/* On-disk versions (superblock word: major << 16 | minor). */
#define LG_DISK_V2_0 0x00020000u /* littlefs < 2.6: ESP8266 Arduino core */
#define LG_DISK_V2_1 0x00020001u /* littlefs >= 2.6: FCRC tags after each commit */

/*
 * Every parameter that changes bytes on flash or what the device accepts
 * (SPEC.md §1). The superblock records block_size, the block count, name_max,
 * file_max, attr_max and the version; the rest is compiled into the device.
 */
struct lg_params {
    uint32_t block_size;     /* logical block (erase unit), bytes */
    uint32_t block_count;    /* blocks the device expects; 0 = taken from the superblock */
    uint32_t read_size;      /* device read unit (no effect on bytes; validated) */
    uint32_t prog_size;      /* device program unit: commits are padded to it */
    uint32_t cache_size;     /* device cache: bounds the inline size */
    uint32_t lookahead_size; /* device allocator window (no effect on bytes) */
    int32_t block_cycles;    /* device wear levelling (-1 off); revisions stay clear of it */
    uint32_t name_max;       /* longest name the device stores (superblock) */
    uint32_t file_max;       /* largest file (superblock) */
    uint32_t attr_max;       /* largest user attribute (superblock); bounds the inline size */
    uint32_t inline_max;     /* largest file kept in metadata; 0 = littlefs's default */
    uint32_t disk_version;   /* LG_DISK_V2_0 or LG_DISK_V2_1 */
    uint32_t path_name_max;  /* longest name component the platform's open() takes; 0 = name_max */
};

/*
 * The parameters a platform compiles littlefs with: "esp8266-arduino" (block
 * 8192, or 4096 when fs_size < 512 KiB; disk 2.0), "esp32-arduino",
 * "esp-idf" (esp_littlefs defaults; disk 2.1). fs_size (the partition size)
 * may be 0 when not known yet (ESP8266 then gets 8192 and block_count 0).
 * Returns LG_OK or LG_ERR_GEOMETRY for an unknown name.
 */
int lg_preset(const char *name, uint64_t fs_size, struct lg_params *out, struct lg_error *err);
/* Preset names for help texts and detection: i = 0, 1, ... until NULL. */
const char *lg_preset_name(size_t i);
/* The first preset whose parameters for fs_size equal *p, or NULL. */
const char *lg_preset_match(const struct lg_params *p, uint64_t fs_size);

/* Validates parameters against an image size (powers of two, the units
 * dividing each other as lfs_init asserts, the version, whole blocks when
 * building). Returns LG_OK or LG_ERR_GEOMETRY with the reason. */
int lg_params_check(const struct lg_params *p, uint64_t image_size, struct lg_error *err);

/* Largest file stored inline: inline_max, else min(cache_size, attr_max,
 * block_size / 8) as lfs_init computes it. */
uint32_t lg_inline_max(const struct lg_params *p);
/* Longest name component the builder accepts (min of name_max, path_name_max). */
uint32_t lg_name_limit(const struct lg_params *p);

/* One line for humans: "block 8192, read/prog 64/64, cache 64, name_max 32
 * (open() 31), inline <= 64, disk v2.0". */
void lg_params_describe(const struct lg_params *p, char *buf, size_t len);
/* True when both give the same bytes on flash and the same device checks. */
bool lg_params_equal(const struct lg_params *a, const struct lg_params *b);

/* One file (or directory) to store. Paths start with '/'; directories on the
 * way ("/certs" for "/certs/ca.der") are created. */
struct lg_file {
    const char *name; /* "/certs/ca.der" */
    const void *data; /* may be NULL when size is 0 */
    size_t size;
    bool is_dir; /* an (empty) directory: data and size ignored */
};

enum lg_build_flags {
    /* Use every block. By default 2 blocks stay free so the device can still
     * append to a file (one new block) or create a directory (a new pair). */
    LG_BUILD_FILL = 1 << 0,
};

/*
 * Writes a complete image of image_size bytes (a whole number of blocks; the
 * superblock's block count is image_size / block_size) into `image`. The same
 * inputs give the same bytes, whatever their order (SPEC.md §4): erased space
 * is 0xFF, metadata pairs are compacted logs with revision 1 and room to
 * append, entries sorted as littlefs sorts them, directories split over
 * several pairs as littlefs would split them. Errors: LG_ERR_GEOMETRY,
 * LG_ERR_NAME (names the path and the limit), LG_ERR_DUPLICATE,
 * LG_ERR_NO_SPACE (says the shortfall), LG_ERR_NOMEM. On error the buffer
 * content is unspecified.
 */
int lg_build(const struct lg_params *p, const struct lg_file *files, size_t nfiles, unsigned flags,
             uint8_t *image, size_t image_size, struct lg_error *err);

/* Blocks the files need / the image offers (with the flags' reserve), and the
 * shortfall in bytes (0 when it fits). Validates geometry and names. */
struct lg_usage {
    uint64_t blocks_needed;    /* metadata pairs x 2 + file blocks */
    uint64_t blocks_available; /* image blocks minus the reserve */
    uint64_t bytes_over;       /* missing blocks x block size */
};
int lg_usage(const struct lg_params *p, const struct lg_file *files, size_t nfiles, unsigned flags,
             uint64_t image_size, struct lg_usage *out, struct lg_error *err);

/* ===== Reading ======================================================== */

struct lg_image; /* opaque: an index over a caller-owned image buffer */

enum lg_type {
    LG_TYPE_FILE = 1,
    LG_TYPE_DIR = 2,
};

struct lg_entry {
    const char *path; /* "/certs/ca.der", NUL-terminated */
    const char *name; /* last component (inside path) */
    int type;         /* enum lg_type */
    uint32_t size;    /* bytes (0 for directories) */
    bool inlined;     /* file data lives in its metadata pair */
    /* The on-disk name would escape or alias when extracted ('.', '..',
     * empty, a '/' or NUL inside, a too-long path): extract must refuse it. */
    bool unsafe;
};

struct lg_superblock {
    uint32_t version; /* major << 16 | minor */
    uint32_t block_size;
    uint32_t block_count;
    uint32_t name_max;
    uint32_t file_max;
    uint32_t attr_max;
};

/*
 * Indexes an image as littlefs's lfs_mount and lfs_dir_read see it (SPEC.md
 * §5): the metadata list from blocks {0, 1} along every tail, each pair's
 * newest block with its last commit whose CRC holds, the superblock, the
 * global state, then the directory tree from the root. Tolerates what a
 * device leaves behind (many commits per pair, deletes, moves, relocated
 * pairs, a torn last commit). p may be NULL: block size and all limits then
 * come from the superblock. With p, the superblock must agree with it the
 * way lfs_mount demands (block size, block count when p->block_count is not
 * 0, name/file/attr max not above p's, a version the device reads).
 * Returns LG_OK, LG_ERR_CORRUPT (the device would not mount it; the message
 * says why), LG_ERR_GEOMETRY or LG_ERR_NOMEM. Never reads outside
 * [image, image + size) and always terminates. The buffer must outlive the
 * handle; *out is NULL on error.
 */
int lg_image_open(const struct lg_params *p, const uint8_t *image, size_t size,
                  struct lg_image **out, struct lg_error *err);
/* Frees the index (not the image buffer). NULL is fine. */
void lg_image_close(struct lg_image *img);

/* Entries as a recursive readdir lists them: each directory, then its
 * entries in littlefs order (depth first). Valid until lg_image_close. */
size_t lg_image_count(const struct lg_image *img);
const struct lg_entry *lg_image_entry(const struct lg_image *img, size_t i);
/* Index of the entry with this path, or -1. */
long lg_image_find(const struct lg_image *img, const char *path);

/* Copies file i's bytes into a malloc'd buffer (*data, *len; the caller
 * frees it; *data is NULL on error and may be NULL for an empty file).
 * LG_ERR_CORRUPT naming the file and the block where lfs_file_read would
 * fail; LG_ERR_NOT_FOUND for a directory. */
int lg_image_read(const struct lg_image *img, size_t i, uint8_t **data, size_t *len,
                  struct lg_error *err);

/* The superblock the mount found (the last one on the metadata list). */
void lg_image_superblock(const struct lg_image *img, struct lg_superblock *out);

struct lg_stats {
    uint32_t blocks;       /* superblock block count */
    uint32_t blocks_used;  /* metadata pairs x 2 + file blocks (lfs_fs_size) */
    uint32_t pairs;        /* metadata pairs on the list */
    uint32_t commits;      /* valid commits in the pairs' active blocks */
    uint32_t torn_commits; /* pairs whose log ends in a commit that fails its CRC */
    uint32_t appendable;   /* pairs the device can append a commit to without compacting
                            * (log ends on an erased program unit; with FCRC on v2.1) */
    uint32_t files;
    uint32_t dirs;
    uint64_t bytes; /* file bytes */
};
void lg_image_stats(const struct lg_image *img, struct lg_stats *out);

/*
 * Checks structure and consistency and calls report() (may be NULL) once per
 * problem with a precise one-line description: a commit failing its CRC
 * with valid commits after it, FCRC tags in a v2.0 image, tails looping or
 * leaving the list, directory pairs off the list, block numbers out of range,
 * CTZ skip pointers that disagree, blocks used twice, names too long or not
 * in littlefs order, superblock fields that disagree with the image, ... A
 * torn last commit (power loss) is not a problem: the device drops it. After
 * 1000 lines it reports one "... and N more" line. Returns the number of
 * problems (0 = clean).
 */
size_t lg_image_check(const struct lg_image *img, void (*report)(void *user, const char *problem),
                      void *user);

/*
 * Finds the parameters of an unknown image from its superblock (block size,
 * name/file/attr max, version; read/prog/cache sizes are not on disk and come
 * from the preset matching them, else from the preset with that block size).
 * preset_name (may be NULL) receives the preset or "custom".
 * LG_ERR_CORRUPT when no block size mounts.
 */
int lg_detect(const uint8_t *image, size_t size, struct lg_params *out, char *preset_name,
              size_t preset_name_len, struct lg_error *err);

/* NULL when `path` (as lg_entry.path) is safe to create below an extraction
 * directory, else why not ("component '..' escapes the directory"). */
const char *lg_path_problem(const char *path);

#endif
