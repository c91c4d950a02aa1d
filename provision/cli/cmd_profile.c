/* `espprov profile check`: validate a profile and show it resolved, secrets redacted. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provision/cli/cli_pki.h"
#include "provision/image/image.h"

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

/* DER sizes at least those of a real identity of each key type (a P-256
 * PKCS#8 key is 138 bytes, an RSA-2048 one up to 1218, RSA-3072 up to 1794;
 * a certificate carries the public key, the signature and the names). */
static void trial_sizes(enum pv_key_type t, size_t names, size_t *cert, size_t *key)
{
    *cert = (t == PV_KEY_EC_P256 ? 700 : t == PV_KEY_RSA2048 ? 1100 : 1400) + names;
    *key = t == PV_KEY_EC_P256 ? 138 : t == PV_KEY_RSA2048 ? 1218 : 1794;
}

/* Builds the image a board would get, with placeholder certificates: a
 * filesystem.dir that does not fit shows here, before any certificate. */
static int trial_image(const struct pv_profile *p, size_t *used)
{
    struct pv_error err;
    struct pv_device dev;
    static const uint8_t mac[6] = {0xa4, 0xcf, 0x12, 0x34, 0x56, 0x78};
    if (pv_device_init(&dev, p, NULL, mac, 999999, NULL, &err) != PV_OK) {
        return cli_fail_err(&err);
    }
    size_t names = 0;
    for (size_t i = 0; i < p->device.subject_count; i++) {
        names += strlen(p->device.subject[i].value) + 16;
    }
    for (size_t i = 0; i < p->device.san_dns_count; i++) {
        names += strlen(p->device.san_dns[i]) + 8;
    }
    struct pv_identity id = {0};
    uint8_t *ca = NULL;
    size_t ca_len = 0;
    if (pv_ca_cert_read(p, &ca, &ca_len, &err) != PV_OK) {
        ca_len = 1400; /* no CA yet: a large one */
        ca = calloc(1, ca_len);
    }
    trial_sizes(p->device.key_type, names, &id.cert_der_len, &id.key_der_len);
    id.cert_der = calloc(1, id.cert_der_len);
    id.key_der = calloc(1, id.key_der_len);
    int rc = CLI_OK;
    uint8_t *img = NULL;
    size_t len = 0;
    if (ca == NULL || id.cert_der == NULL || id.key_der == NULL) {
        rc = cli_fail(NULL, "out of memory");
    } else if (pv_image_build(p, &dev, &id, ca, ca_len, &img, &len, &err) != PV_OK) {
        pv_error_prefix(&err, "a trial filesystem image for this profile");
        rc = cli_fail_err(&err);
    }
    *used = len;
    pv_secret_free(img, len);
    free(ca);
    pv_identity_release(&id);
    return rc;
}

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
    size_t trial = 0;
    if (p->fs.size != 0 && (rc = trial_image(p, &trial)) != CLI_OK) {
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
