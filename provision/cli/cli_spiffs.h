/*
 * File-system side of `espprov spiffs` (private to provision/cli/cmd_spiffs.c and
 * provision/cli_spiffs_files.c): gathering input files, writing outputs
 * atomically, extracting into a directory without ever leaving it.
 */
#ifndef ESPPROV_CLI_SPIFFS_H
#define ESPPROV_CLI_SPIFFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spiffsgen/spiffsgen.h"
#include "provision/core/core.h"

struct pv_error;
struct sg_image;
struct sg_params;
struct cli_ctx;

struct cli_spiffs_input {
    char *name;   /* device name, "/..." */
    char *source; /* host path it came from */
    uint8_t *data;
    size_t size;
};

struct cli_spiffs_inputs {
    struct cli_spiffs_input *v;
    size_t n, cap;
    uint64_t total; /* bytes read so far; reading stops past the limit */
    uint64_t limit;
};

/*
 * Adds one command-line input: a directory (its regular files, recursively,
 * named "/" + relative path: core's pv_dir_walk, the rule a profile's
 * filesystem.dir follows too), a file ("/" + basename), or "SRC=/name" (file
 * SRC stored as /name). Every name must pass pv_devname_check, the rule
 * extraction applies: no name goes in that could not come out.
 */
int cli_spiffs_collect(const char *arg, struct cli_spiffs_inputs *in, struct pv_error *err);
void cli_spiffs_inputs_free(struct cli_spiffs_inputs *in);

/* Reads a whole regular file of at most `max` bytes into a malloc'd buffer. */
int cli_spiffs_read_file(const char *path, uint64_t max, uint8_t **data, size_t *len,
                         struct pv_error *err);

/* Opens (creating it if missing) the extraction directory. Returns an fd or -1. */
int cli_spiffs_open_dir(const char *dir, struct pv_error *err);

/*
 * Writes one file below dirfd. The device name must pass pv_devname_check
 * and loses its leading '/'; sub-folders are created, and no component may be
 * a symlink, so nothing is written outside the directory. An existing file is
 * replaced only with `force`. Atomic: a temporary file, then rename. The mode
 * is 0666 less the umask, like cp, except that a file holding a key or a
 * password (pv_image_file_is_secret) is 0600 whatever the umask.
 */
int cli_spiffs_extract(int dirfd, const char *name, const uint8_t *data, size_t len, bool force,
                       struct pv_error *err);

/* The options every subcommand shares (and build's own). */
struct cli_spiffs_opts {
    const char *preset;
    uint64_t num[4]; /* page, block, name-len, meta-len */
    bool num_set[4];
    int flag[3]; /* magic, magic-len, aligned: -1 not given, else 0/1 */
    uint64_t size;
    const char *output;
    const char *dir; /* mkspiffs' -c DIR (then the operand is the image) */
    bool fill, json, force;
};

/* True when any explicit parameter flag was given. */
bool cli_spiffs_explicit(const struct cli_spiffs_opts *o);
/* The preset (default esp-idf) for an FS of `size` bytes with the explicit
 * flags applied. Prints the error itself; returns CLI_OK or CLI_FAILED. */
int cli_spiffs_params(const struct cli_spiffs_opts *o, uint64_t size, struct sg_params *p);

/* An image read into memory and indexed. */
struct cli_spiffs_opened {
    uint8_t *buf;
    size_t len;
    struct sg_params p;
    char preset[32];
    struct sg_image *im;
};

/* Reads IMAGE, takes the parameters from the options or detects them (said
 * on stderr at -v), and indexes it; warns about a block the device would
 * erase. Prints every error itself; with `as_problem` a refusal to mount is
 * also printed on stdout (check's output). On failure x->buf may need free(). */
int cli_spiffs_open_image(const char *path, const struct cli_spiffs_opts *o,
                          const struct cli_ctx *ctx, struct cli_spiffs_opened *x, bool as_problem);
void cli_spiffs_close_image(struct cli_spiffs_opened *x);

/* "1 MiB", "64 KiB" or "123 456 bytes" (exact multiples get the unit). */
const char *cli_spiffs_human(uint64_t v, char *buf, size_t len);

/* `list` output on stdout: "size  name" lines and a usage line, or with
 * `json` one object {preset, page_size, block_size, files:[{name,size}],
 * stats:{...}}. */
void cli_spiffs_print_list(const struct sg_image *im, const struct sg_params *p, const char *preset,
                           bool json);

#endif
