/* `espprov factory-reset`: erase a board's data (or everything), optionally restore and revoke. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "provision/cli/cli_jobs.h"

static const char usage[] =
    "usage: espprov factory-reset -P PROFILE --port DEV... [--full] [--restore] [--revoke]\n"
    "Erases the board's data regions: the filesystem and, on ESP32 chips, every data\n"
    "partition of the partition table (the profile's, else the board's) except phy and efuse\n"
    "(so nvs, otadata, coredump, spiffs ...); on the ESP8266 also the EEPROM, RF and WiFi\n"
    "settings sectors after the filesystem. The firmware stays unless --full. The ledger\n"
    "records the reset.\n"
    "  -P, --profile FILE   the profile (default $ESPPROV_PROFILE)\n"
    "  -p, --port DEV       the board's serial port (repeat for more boards)\n"
    "      --full           erase the whole chip (a chip erase with a flasher stub, else\n"
    "                       region by region)\n"
    "      --restore        then write the profile's firmware (and partition table) back\n"
    "      --revoke         revoke the board's certificates (found in the ledger by MAC)\n"
    "                       before erasing, and rewrite the CRL\n"
    "      --baud N         line rate (default: .flash.baud, else 460800)\n"
    "      --stub FILE      use this flasher stub instead of .flash.stub\n"
    "      --stub-family F  default stubs without --stub/.flash.stub: legacy (default), new\n"
    "      --no-stub        talk to the ROM loader only\n"
    "      --before MODE    default-reset, usb-reset, no-reset, no-reset-no-sync\n"
    "      --json           one JSON object per board (and a summary) per line on stdout\n";

struct opts {
    struct cli_job_args a;
    unsigned flags;
};

/* Returns -1 to go on, else the exit status. */
static int parse(int argc, char **argv, struct opts *o)
{
    enum { OPT_FULL = 256, OPT_RESTORE, OPT_REVOKE };
    static const struct option opts[] = {
        CLI_JOB_OPTIONS,
        {"full", no_argument, NULL, OPT_FULL},
        {"restore", no_argument, NULL, OPT_RESTORE},
        {"revoke", no_argument, NULL, OPT_REVOKE},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    cli_job_args_init(&o->a, usage);
    int c, status;
    while ((c = getopt_long(argc, argv, "P:p:h", opts, NULL)) != -1) {
        if (cli_job_option(&o->a, c, optarg, &status)) {
            if (status >= 0) {
                return status;
            }
            continue;
        }
        switch (c) {
        case OPT_FULL:
            o->flags |= PV_RESET_FULL;
            break;
        case OPT_RESTORE:
            o->flags |= PV_RESET_RESTORE;
            break;
        case OPT_REVOKE:
            o->flags |= PV_RESET_REVOKE;
            o->a.need_ca = true;
            break;
        default:
            return CLI_USAGE;
        }
    }
    if (optind < argc) {
        return cli_usage_error(usage, "unexpected argument '%s'", argv[optind]);
    }
    if (o->a.port_count == 0) {
        return cli_usage_error(usage, "which board? give --port DEV");
    }
    return cli_job_args_check(&o->a);
}

int cmd_factory_reset(int argc, char **argv, struct cli_ctx *ctx)
{
    struct opts o;
    int status = parse(argc, argv, &o);
    if (status >= 0) {
        return status;
    }
    const struct pv_jobs spec = {.mode = PV_JOB_RESET, .reset_flags = o.flags};
    return cli_jobs_main(ctx, &o.a, &spec, "reset", false);
}
