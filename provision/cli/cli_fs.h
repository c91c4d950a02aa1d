/*
 * LittleFS side of `espprov fs` (private to provision/cli/cmd_fs.c and
 * provision/cli/cli_fs_*.c). SPIFFS images go to `espprov spiffs` unchanged;
 * input gathering and confined extraction are cli_spiffs.h's, shared.
 */
#ifndef ESPPROV_CLI_FS_H
#define ESPPROV_CLI_FS_H

#include <stdbool.h>
#include <stdint.h>

#include "lfsgen/lfsgen.h"

struct cli_ctx;

/* Explicit LittleFS parameters, in this order in cli_fs_opts.num. */
enum cli_fs_num {
    CLI_FS_BLOCK,
    CLI_FS_READ,
    CLI_FS_PROG,
    CLI_FS_CACHE,
    CLI_FS_LOOKAHEAD,
    CLI_FS_NAME_MAX,
    CLI_FS_FILE_MAX,
    CLI_FS_ATTR_MAX,
    CLI_FS_INLINE_MAX,
    CLI_FS_NUMS
};

struct cli_fs_opts {
    const char *preset;
    uint64_t num[CLI_FS_NUMS];
    bool num_set[CLI_FS_NUMS];
    uint32_t disk_version; /* 0: the preset's */
    uint64_t size;
    const char *output;
    const char *dir; /* mklittlefs' -c DIR (then the operand is the image) */
    bool fill, json, force;
};

/* True when any explicit LittleFS parameter was given. */
bool cli_fs_explicit(const struct cli_fs_opts *o);
/* The preset (default esp-idf) for an FS of `size` bytes with the explicit
 * values applied. Prints the error itself; returns CLI_OK or CLI_FAILED. */
int cli_fs_params(const struct cli_fs_opts *o, uint64_t size, struct lg_params *p);

/* The four subcommands for LittleFS; argv/optind as getopt left them. */
int cli_fs_lfs_build(int argc, char **argv, struct cli_fs_opts *o);
int cli_fs_lfs_list(const char *path, const struct cli_fs_opts *o, const struct cli_ctx *ctx);
int cli_fs_lfs_extract(const char *path, const char *dir, const struct cli_fs_opts *o,
                       const struct cli_ctx *ctx);
int cli_fs_lfs_check(const char *path, const struct cli_fs_opts *o, const struct cli_ctx *ctx);

#endif
