/* `espprov flash`: state shared by cmd_flash.c and cli_flash_*.c (CLI only). */
#ifndef ESPPROV_CLI_FLASH_H
#define ESPPROV_CLI_FLASH_H

#include <stdbool.h>
#include <stdint.h>

#include "flasher/flasher.h"
#include "provision/cli/cli.h"

extern const char cli_flash_usage[];

struct flash_cli {
    struct cli_ctx *ctx;
    const char *usage; /* the subcommand's synopsis first: usage errors print it */
    const char *port;
    char picked[64];       /* the board chosen when no port was given */
    const char *used_port; /* the port connected to (set by flash_connect) */
    uint32_t baud;
    bool baud_given;
    bool json;
    const char *stub_path;
    bool no_stub;
    enum fl_stub_family family; /* of the default stubs (--stub-family) */
    struct fl_options opt;
    struct fl_stub stub;
    bool stub_loaded;
    struct fl_stub_set stubs; /* the default stubs, when found */
    bool stubs_loaded;
    struct fl_session s;
    bool session_ready;
    /* progress */
    struct cli_progress prog;
    bool prog_active;
    size_t prog_region;
    char prog_verb[24];
    const uint32_t *prog_addrs; /* per region index, for labels; may be NULL */
    uint32_t prog_addr;
};

/* Opens the port, connects, raises the baud rate and detects the flash.
 * Prints the error itself; returns CLI_OK or CLI_FAILED/CLI_USAGE. */
int flash_connect(struct flash_cli *c);
/* Runs --after when status is CLI_OK, releases everything, returns status. */
int flash_done(struct flash_cli *c, int status);
/* Prints a library error once. */
int flash_fail(const struct fl_error *err);
/* Starts a progress label for what follows ("reading", address). */
void flash_progress_label(struct flash_cli *c, const char *verb, uint32_t addr);
void flash_progress_close(struct flash_cli *c, bool ok);
/* Reads a whole file (<= 256 MiB). Prints the error itself. */
int flash_load_file(const char *path, uint8_t **buf, size_t *len);
/* Parses an address/size argument (decimal, 0x hex, K/M); prints usage errors. */
bool flash_parse_u32(const char *usage, const char *what, const char *text, uint32_t *out);
void flash_hex(const uint8_t *p, size_t n, char *out);

int flash_cmd_info(struct flash_cli *c, int argc, char **argv);
int flash_cmd_write(struct flash_cli *c, int argc, char **argv);
int flash_cmd_read(struct flash_cli *c, int argc, char **argv);
int flash_cmd_erase(struct flash_cli *c, int argc, char **argv);
int flash_cmd_verify(struct flash_cli *c, int argc, char **argv);
int flash_cmd_image_info(struct flash_cli *c, int argc, char **argv);

#endif
