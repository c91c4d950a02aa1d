/* `espprov monitor`: a board's serial console after a reset (as espflash monitor, pio device
 * monitor). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provision/cli/cli.h"

static const char usage[] =
    "usage: espprov monitor [-p PORT] [--baud N] [--no-reset] [--seconds N]\n"
    "Resets the board into its app (EN pulsed by RTS, IO0 left high) and shows its serial\n"
    "console: what it prints goes to stdout, what you type goes to the board. Ctrl-] leaves\n"
    "(Ctrl-C is passed to the board); without a terminal, Ctrl-C or SIGTERM ends it.\n"
    "  -p, --port DEV     serial port (default $ESPPROV_PORT, else the one USB board plugged\n"
    "                     in); rfc2217://HOST:PORT too (the reset travels over RFC 2217)\n"
    "  -b, --baud N       the app's rate (default 115200; an ESP8266 boot ROM talks 74880)\n"
    "      --no-reset     attach without resetting the board\n"
    "      --seconds N    leave after N seconds (for scripts)\n"
    "  -h, --help         this text\n";

int cmd_monitor(int argc, char **argv, struct cli_ctx *ctx)
{
    enum { OPT_NO_RESET = 256, OPT_SECONDS };
    static const struct option opts[] = {
        {"port", required_argument, NULL, 'p'},
        {"baud", required_argument, NULL, 'b'},
        {"no-reset", no_argument, NULL, OPT_NO_RESET},
        {"seconds", required_argument, NULL, OPT_SECONDS},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *port = NULL;
    uint64_t baud = 115200, seconds = 0;
    bool reset = true;
    int c;
    while ((c = getopt_long(argc, argv, "p:b:h", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            port = optarg;
            break;
        case 'b':
            if (!cli_parse_size_opt(usage, "--baud", optarg, &baud)) {
                return CLI_USAGE;
            }
            if (baud < 300 || baud > 5000000) {
                return cli_usage_error(usage, "--baud: '%s' is not a baud rate", optarg);
            }
            break;
        case OPT_NO_RESET:
            reset = false;
            break;
        case OPT_SECONDS:
            if (!cli_parse_size_opt(usage, "--seconds", optarg, &seconds) || seconds > 86400) {
                return CLI_USAGE;
            }
            break;
        case 'h':
            return cli_help(usage);
        default:
            return CLI_USAGE;
        }
    }
    if (optind != argc) {
        return cli_usage_error(usage, "unexpected argument '%s'", argv[optind]);
    }
    char picked[64];
    if (port == NULL) {
        const char *env = getenv("ESPPROV_PORT");
        port = env != NULL && env[0] != '\0' ? env : NULL;
    }
    if (port == NULL) {
        int rc = cli_pick_port(ctx, usage, picked, sizeof picked);
        if (rc != CLI_OK) {
            return rc;
        }
        port = picked;
    }
    return cli_finish(cli_monitor(ctx, port, (uint32_t)baud, reset, (int)seconds));
}
