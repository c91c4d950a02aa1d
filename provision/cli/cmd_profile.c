/* `espprov profile check`: validate a profile and show it resolved, secrets redacted. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provision/cli/cli_pki.h"

static const char usage_main[] = "usage: espprov profile check -P PROFILE\n"
                                 "Validate a device profile (profiles/README.md).\n";
static const char usage_check[] =
    "usage: espprov profile check [-P PROFILE] [--quiet-ok]\n"
    "Loads PROFILE (or $ESPPROV_PROFILE) with every check a provisioning run makes:\n"
    "types, ranges, templates, ${VAR} secrets, that files exist, flash regions, and\n"
    "the device config file's limits, no filesystem on the chip's reserved flash (the\n"
    "ESP8266 SDK's last sectors, an ESP32's bootloader and partition table), and a trial\n"
    "filesystem image (the files, a config, certificates and a key of the profile's\n"
    "type at full size) that must fit. Prints the resolved profile as JSON (absolute\n"
    "paths, defaults filled in, secrets shown as <redacted>); exit 0 when valid.\n"
    "  -P, --profile FILE   the profile\n"
    "  --quiet-ok           print nothing when the profile is valid\n";

static int check(int argc, char **argv)
{
    static const struct option opts[] = {
        {"profile", required_argument, NULL, 'P'},
        {"quiet-ok", no_argument, NULL, 'Q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *profile = NULL;
    bool quiet = false;
    int c;
    while ((c = getopt_long(argc, argv, "P:h", opts, NULL)) != -1) {
        switch (c) {
        case 'P':
            profile = optarg;
            break;
        case 'Q':
            quiet = true;
            break;
        case 'h':
            return cli_help(usage_check);
        default:
            return cli_usage_error(usage_check, "unknown option");
        }
    }
    if (optind != argc) {
        return cli_usage_error(usage_check, "unexpected argument '%s'", argv[optind]);
    }
    struct pv_profile *p = NULL;
    int rc = cli_load_profile(usage_check, profile, 0, &p);
    if (rc != CLI_OK) {
        return rc;
    }
    if (p->fs.size != 0 &&
        (rc = cli_trial_image(p, NULL, "a trial filesystem image for this profile")) != CLI_OK) {
        pv_profile_free(p);
        return rc;
    }
    if (!quiet) {
        char *dump = NULL;
        struct pv_error err;
        if (pv_profile_dump(p, &dump, &err) != PV_OK) {
            pv_profile_free(p);
            return cli_fail_err(&err);
        }
        puts(dump);
        free(dump);
        fprintf(stderr, "profile '%s' (%s) is valid\n", p->name, p->file);
    }
    pv_profile_free(p);
    return cli_finish(CLI_OK);
}

int cmd_profile(int argc, char **argv, struct cli_ctx *ctx)
{
    (void)ctx;
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        return argc < 2 ? cli_usage_error(usage_main, "missing subcommand") : cli_help(usage_main);
    }
    if (strcmp(argv[1], "check") == 0) {
        return check(argc - 1, argv + 1);
    }
    return cli_usage_error(usage_main, "unknown subcommand '%s'", argv[1]);
}
