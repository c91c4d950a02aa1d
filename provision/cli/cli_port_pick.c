/* No -p: the one board plugged in, or a choice among several (as espflash does). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flasher/flasher.h"
#include "provision/cli/cli.h"

static const char *describe(const struct fl_usb_port *p)
{
    if (p->model != NULL) {
        return p->model->name;
    }
    return p->product[0] ? p->product : "USB serial";
}

/* One line of the choice, "  1) /dev/ttyUSB0  Silicon Labs CP210x  serial 0001  USB 1-2". */
static void print_port(FILE *out, size_t n, const struct fl_usb_port *p)
{
    fprintf(out, "  %zu) %-14s %s", n, p->tty, describe(p));
    if (p->serial[0] != '\0') {
        fprintf(out, ", serial %s", p->serial);
    }
    fprintf(out, ", USB %s\n", p->usb_path);
}

static bool read_choice(size_t count, size_t *out)
{
    char line[32];
    size_t n = 0;
    for (;;) {
        char c;
        ssize_t got = read(STDIN_FILENO, &c, 1);
        if (got != 1) {
            return false;
        }
        if (c == '\n' || c == '\r') {
            break;
        }
        if (n + 1 < sizeof line) {
            line[n++] = c;
        }
    }
    line[n] = '\0';
    char *end = NULL;
    long v = strtol(line, &end, 10);
    if (end == line || *end != '\0' || v < 1 || (size_t)v > count) {
        return false;
    }
    *out = (size_t)v - 1;
    return true;
}

int cli_pick_port(const struct cli_ctx *ctx, const char *usage, char *out, size_t cap)
{
    struct fl_usb_list list;
    struct fl_error fe;
    if (fl_usb_list(0, &list, &fe) != FL_OK) {
        return cli_usage_error(usage, "no serial port: give -p/--port or set ESPPROV_PORT (%s)",
                               fe.msg);
    }
    size_t usable[64], count = 0;
    for (size_t i = 0; i < list.count && count < sizeof usable / sizeof usable[0]; i++) {
        if (list.ports[i].tty[0] != '\0' && list.ports[i].tty_accessible) {
            usable[count++] = i;
        }
    }
    int rc = CLI_OK;
    size_t pick = 0;
    if (count == 0) {
        rc = cli_usage_error(usage, "no serial port: give -p/--port or set ESPPROV_PORT (no "
                                    "board found over USB; see 'espprov ports')");
    } else if (count > 1 && !(ctx->stdin_tty && ctx->stderr_tty)) {
        fprintf(stderr, "espprov: error: %zu boards are plugged in; say which with -p/--port:\n",
                count);
        for (size_t i = 0; i < count; i++) {
            print_port(stderr, i + 1, &list.ports[usable[i]]);
        }
        rc = CLI_USAGE;
    } else if (count > 1) {
        fprintf(stderr, "%zu boards are plugged in:\n", count);
        for (size_t i = 0; i < count; i++) {
            print_port(stderr, i + 1, &list.ports[usable[i]]);
        }
        bool ok = false;
        for (int tries = 0; tries < 3 && !ok; tries++) {
            fprintf(stderr, "which one? [1-%zu] ", count);
            fflush(stderr);
            ok = read_choice(count, &pick);
        }
        if (!ok) {
            rc = cli_usage_error(usage, "no board chosen: give -p/--port");
        }
    }
    if (rc == CLI_OK) {
        const struct fl_usb_port *p = &list.ports[usable[pick]];
        snprintf(out, cap, "%s", p->tty);
        if (ctx->verbosity >= 0) {
            fprintf(stderr, "espprov: using %s (%s%s)\n", p->tty, describe(p),
                    count == 1 ? ", the only board plugged in" : "");
        }
    }
    fl_usb_list_free(&list);
    return rc;
}
