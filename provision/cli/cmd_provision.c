/* `espprov provision`: a batch of boards (or a station) from one profile. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provision/cli/cli_jobs.h"

static const char usage[] =
    "usage: espprov provision -P PROFILE (--port DEV... | --all-ports | --watch) [OPTIONS]\n"
    "Provisions boards: connects, checks chip and flash against the profile, mints a key and\n"
    "certificate per board (signed by the profile's CA), builds its filesystem (certificates,\n"
    "key, config file, extra files), writes firmware and filesystem (compressed, verified),\n"
    "resets it into the app and records every step in the ledger. Boards run in parallel.\n"
    "  -P, --profile FILE      the profile (default $ESPPROV_PROFILE)\n"
    "  -p, --port DEV          a board's serial port (repeat for more; rfc2217://HOST:PORT too)\n"
    "      --all-ports         every board 'espprov ports' finds\n"
    "      --watch             station mode: provision each board plugged in, until Ctrl-C\n"
    "      --dry-run           connect, check and build everything, write nothing: no\n"
    "                          certificate is issued and nothing is recorded\n"
    "      --reprovision MODE  a board provisioned before: renew (new identity, the old\n"
    "                          certificate revoked), keep (keep its key and certificate), or\n"
    "                          ask (default: asks on a terminal, refuses otherwise). A\n"
    "                          board an attempt stopped writing is renewed without asking\n"
    "      --only-fs           rewrite only the filesystem of a provisioned board, keeping its\n"
    "                          identity (read back from it), e.g. after a new MQTT host\n"
    "      --baud N            line rate while writing (default: the USB bridge's fastest\n"
    "                          where it is known, else .flash.baud, else 460800)\n"
    "      --stub FILE         use this flasher stub (esptool JSON) instead of .flash.stub\n"
    "      --stub-family F     default stubs without --stub/.flash.stub: legacy (default), new\n"
    "      --no-stub           talk to the ROM loader only\n"
    "      --before MODE       default-reset (DTR/RTS), usb-reset, no-reset (a board already\n"
    "                          in download mode), no-reset-no-sync\n"
    "      --json              one JSON object per board (and a summary) per line on stdout\n"
    "      --monitor           then open the serial console of the last board provisioned\n"
    "                          (as 'espprov monitor': Ctrl-] leaves)\n"
    "  -q, --quiet             no progress on stderr (also before the command)\n"
    "  -v, --verbose           more on stderr; -vv for the loader's messages\n"
    "Ctrl-C once: no new board starts, boards in flight finish; twice: they stop at the next\n"
    "safe point. Exit status 1 if any board failed.\n";

struct opts {
    struct cli_job_args a;
    enum pv_reprovision_policy policy;
    bool only_fs;
    bool monitor;
};

static int parse_policy(const char *text, enum pv_reprovision_policy *out)
{
    if (strcmp(text, "renew") == 0) {
        *out = PV_POLICY_RENEW;
    } else if (strcmp(text, "keep") == 0) {
        *out = PV_POLICY_KEEP;
    } else if (strcmp(text, "ask") == 0) {
        *out = PV_POLICY_ASK;
    } else {
        return cli_usage_error(usage, "--reprovision: expected renew, keep or ask, got '%s'", text);
    }
    return CLI_OK;
}

/* Returns -1 to go on, else the exit status. */
static int parse(int argc, char **argv, struct opts *o)
{
    enum { OPT_ALL = 256, OPT_WATCH, OPT_DRY, OPT_REPRO, OPT_ONLY_FS, OPT_MONITOR };
    static const struct option opts[] = {
        CLI_JOB_OPTIONS,
        {"all-ports", no_argument, NULL, OPT_ALL},
        {"watch", no_argument, NULL, OPT_WATCH},
        {"dry-run", no_argument, NULL, OPT_DRY},
        {"reprovision", required_argument, NULL, OPT_REPRO},
        {"only-fs", no_argument, NULL, OPT_ONLY_FS},
        {"monitor", no_argument, NULL, OPT_MONITOR},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    cli_job_args_init(&o->a, usage);
    o->a.need_ca = true;
    int c, status;
    while ((c = getopt_long(argc, argv, "P:p:h", opts, NULL)) != -1) {
        if (cli_job_option(&o->a, c, optarg, &status)) {
            if (status >= 0) {
                return status;
            }
            continue;
        }
        switch (c) {
        case OPT_ALL:
            o->a.all_ports = true;
            break;
        case OPT_WATCH:
            o->a.watch = true;
            break;
        case OPT_DRY:
            o->a.dry_run = true;
            break;
        case OPT_REPRO:
            if ((status = parse_policy(optarg, &o->policy)) != CLI_OK) {
                return status;
            }
            break;
        case OPT_ONLY_FS:
            o->only_fs = true;
            break;
        case OPT_MONITOR:
            o->monitor = true;
            break;
        default:
            return CLI_USAGE;
        }
    }
    if (optind < argc) {
        return cli_usage_error(usage, "unexpected argument '%s'", argv[optind]);
    }
    int sources = (o->a.port_count > 0) + o->a.all_ports + o->a.watch;
    if (sources != 1) {
        return cli_usage_error(usage, sources ? "--port, --all-ports and --watch exclude each other"
                                              : "which boards? give --port DEV, --all-ports or "
                                                "--watch");
    }
    if (o->monitor && (o->a.watch || o->a.json)) {
        return cli_usage_error(usage, "--monitor attaches to the last board: not with --watch or "
                                      "--json");
    }
    if (o->only_fs && o->policy == PV_POLICY_RENEW) {
        return cli_usage_error(usage, "--only-fs keeps the identity; it cannot renew it");
    }
    return cli_job_args_check(&o->a);
}

int cmd_provision(int argc, char **argv, struct cli_ctx *ctx)
{
    struct opts o;
    int status = parse(argc, argv, &o);
    if (status >= 0) {
        return status;
    }
    const struct pv_jobs spec = {
        .mode = o.only_fs ? PV_JOB_ONLY_FS : PV_JOB_PROVISION,
        .reprovision = o.only_fs ? PV_POLICY_KEEP : o.policy,
    };
    char last[256];
    status = cli_jobs_main_last(ctx, &o.a, &spec, "provisioned", true, last, sizeof last);
    if (o.monitor && last[0] != '\0') {
        int rc = cli_monitor(ctx, last, 115200, true, 0);
        status = status != CLI_OK ? status : rc;
    } else if (o.monitor) {
        cli_warn("--monitor: no board was provisioned, nothing to watch");
    }
    return cli_finish(status);
}
