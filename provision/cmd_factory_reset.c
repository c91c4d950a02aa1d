/* `espprov factory-reset`: erase a board's data (or everything), optionally restore and revoke. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "provision/cli_jobs.h"

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
    "      --no-stub        talk to the ROM loader only\n"
    "      --json           one JSON object per board (and a summary) per line on stdout\n";

struct opts {
    struct cli_job_args a;
    const char *ports[64];
    unsigned flags;
    uint64_t baud;
};

static int parse(int argc, char **argv, struct opts *o)
{
    enum { OPT_FULL = 256, OPT_RESTORE, OPT_REVOKE, OPT_BAUD, OPT_STUB, OPT_NO_STUB, OPT_JSON };
    static const struct option opts[] = {
        {"profile", required_argument, NULL, 'P'},
        {"port", required_argument, NULL, 'p'},
        {"full", no_argument, NULL, OPT_FULL},
        {"restore", no_argument, NULL, OPT_RESTORE},
        {"revoke", no_argument, NULL, OPT_REVOKE},
        {"baud", required_argument, NULL, OPT_BAUD},
        {"stub", required_argument, NULL, OPT_STUB},
        {"no-stub", no_argument, NULL, OPT_NO_STUB},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    o->a.usage = usage;
    o->a.ports = o->ports;
    int c;
    while ((c = getopt_long(argc, argv, "P:p:h", opts, NULL)) != -1) {
        switch (c) {
        case 'P':
            o->a.profile = optarg;
            break;
        case 'p': {
            bool dup = false;
            for (size_t i = 0; i < o->a.port_count; i++) {
                dup |= strcmp(o->ports[i], optarg) == 0;
            }
            if (o->a.port_count >= sizeof o->ports / sizeof o->ports[0]) {
                return cli_usage_error(usage, "too many ports");
            }
            if (!dup) {
                o->ports[o->a.port_count++] = optarg;
            }
            break;
        }
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
        case OPT_BAUD:
            if (!cli_parse_size_opt(usage, "--baud", optarg, &o->baud)) {
                return CLI_USAGE;
            }
            break;
        case OPT_STUB:
            o->a.stub = optarg;
            break;
        case OPT_NO_STUB:
            o->a.no_stub = true;
            break;
        case OPT_JSON:
            o->a.json = true;
            break;
        case 'h':
            return cli_help(usage);
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
    if (o->a.stub != NULL && o->a.no_stub) {
        return cli_usage_error(usage, "--stub and --no-stub contradict each other");
    }
    if (o->baud != 0 && (o->baud < 9600 || o->baud > 4000000)) {
        return cli_usage_error(usage, "--baud: expected 9600-4000000");
    }
    return -1;
}

int cmd_factory_reset(int argc, char **argv, struct cli_ctx *ctx)
{
    struct opts o;
    int status = parse(argc, argv, &o);
    if (status >= 0) {
        return status;
    }
    struct cli_job_env env;
    struct cli_run run;
    bool run_started = false;
    struct pv_jobs jobs = {0};
    status = cli_jobs_open(ctx, &o.a, &env);
    if (status == CLI_OK) {
        status = cli_run_start(&run, ctx, o.a.json, false, "reset");
        run_started = status == CLI_OK;
    }
    if (status == CLI_OK) {
        jobs = (struct pv_jobs){
            .mode = PV_JOB_RESET,
            .profile = env.profile,
            .ca = env.ca,
            .ledger = env.ledger,
            .stub = env.stub,
            .baud = (uint32_t)o.baud,
            .reset_flags = o.flags,
        };
        cli_run_hook(&run, &jobs);
        struct pv_error err;
        status = pv_jobs_prepare(&jobs, &err) == PV_OK ? CLI_OK : cli_fail_err(&err);
    }
    if (status == CLI_OK) {
        status = cli_jobs_execute(&run, &o.a, &env, &jobs);
    }
    if (run_started) {
        cli_run_stop(&run);
    }
    pv_jobs_release(&jobs);
    cli_jobs_close(&env);
    return cli_finish(status);
}
