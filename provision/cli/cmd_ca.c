/* `espprov ca init|crl`: the certificate authority. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "provision/cli/cli_pki.h"
#include "provision/pki/pki.h"

static const char usage_main[] = "usage: espprov ca init|crl -P PROFILE [OPTIONS]\n"
                                 "  init   create the root CA named by the profile's \"ca\"\n"
                                 "  crl    write the revocation list for the broker\n"
                                 "Run 'espprov ca SUBCOMMAND --help' for the details.\n";
static const char usage_init[] =
    "usage: espprov ca init -P PROFILE\n"
    "Creates the root CA: a key (.ca.key_type: ec-p256 by default, or rsa3072) encrypted\n"
    "with the CA passphrase (AES-256, PKCS#8 PEM, mode 0600), a self-signed certificate\n"
    "(CA:TRUE, keyCertSign, cRLSign; .ca.days, .ca.subject) and an empty issuance record\n"
    "(.ca.db). Never overwrites an existing CA.\n"
    "The passphrase comes from .ca.passphrase (e.g. \"${CA_PASS}\"), .ca.passphrase_file,\n"
    "or is asked for twice on the terminal.\n"
    "  -P, --profile FILE   the profile (default $ESPPROV_PROFILE)\n";
static const char usage_crl[] =
    "usage: espprov ca crl -P PROFILE [-o FILE]\n"
    "Writes a PEM CRL of every revoked certificate (see 'espprov cert revoke'), signed by\n"
    "the CA, valid for .ca.crl_days (365 by default). Point Mosquitto's crlfile at it and\n"
    "send the broker SIGHUP. An expired CRL makes the broker refuse every device: write\n"
    "a new one well before its next update (printed below).\n"
    "  -P, --profile FILE   the profile (default $ESPPROV_PROFILE)\n"
    "  -o, --output FILE    where to write it (default .ca.crl)\n";

static int parse_common(int argc, char **argv, const char *usage, const char **profile,
                        const char **output)
{
    static const struct option opts[] = {
        {"profile", required_argument, NULL, 'P'},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, output ? "P:o:h" : "P:h", opts, NULL)) != -1) {
        switch (c) {
        case 'P':
            *profile = optarg;
            break;
        case 'o':
            if (output == NULL) {
                return cli_usage_error(usage, "unknown option '-o'");
            }
            *output = optarg;
            break;
        case 'h':
            cli_help(usage);
            return -1;
        default:
            return cli_usage_error(usage, "unknown option");
        }
    }
    if (optind != argc) {
        return cli_usage_error(usage, "unexpected argument '%s'", argv[optind]);
    }
    return CLI_OK;
}

static int init(int argc, char **argv, struct cli_ctx *ctx)
{
    const char *profile = NULL;
    int rc = parse_common(argc, argv, usage_init, &profile, NULL);
    if (rc != CLI_OK) {
        return rc < 0 ? CLI_OK : rc;
    }
    struct pv_profile *p = NULL;
    if ((rc = cli_load_profile(usage_init, profile, PV_PROFILE_DEFER_ENV, &p)) != CLI_OK) {
        return rc;
    }
    char pass[CLI_PASSPHRASE_MAX];
    rc = cli_ca_passphrase(ctx, p, true, pass, sizeof pass);
    struct pv_error err;
    if (rc == CLI_OK) {
        cli_info(ctx, 0, "creating the CA (%s key) ...", pv_key_type_name(p->ca.key_type));
        if (pv_ca_create(p, pass, &err) != PV_OK) {
            rc = cli_fail_err(&err);
        }
    }
    OPENSSL_cleanse(pass, sizeof pass);
    uint8_t *der = NULL;
    size_t len = 0;
    struct pv_cert_info info;
    if (rc == CLI_OK && (pv_ca_cert_read(p, &der, &len, &err) != PV_OK ||
                         pv_cert_info(der, len, &info, &err) != PV_OK)) {
        rc = cli_fail_err(&err);
    }
    if (rc == CLI_OK) {
        char until[32];
        cli_format_date(info.not_after, until, sizeof until);
        printf("CA certificate: %s\n", p->ca.cert);
        printf("CA key:         %s (encrypted, mode 0600)\n", p->ca.key);
        printf("record:         %s\n", p->ca.db);
        printf("subject:        %s\n", info.subject);
        printf("sha256:         %s\n", info.sha256);
        printf("valid until:    %s\n", until);
        printf("next: espprov cert server -P %s --dns BROKER-NAME --ip BROKER-ADDRESS\n", p->file);
    }
    free(der);
    pv_profile_free(p);
    return cli_finish(rc);
}

static int crl(int argc, char **argv, struct cli_ctx *ctx)
{
    const char *profile = NULL, *output = NULL;
    int rc = parse_common(argc, argv, usage_crl, &profile, &output);
    if (rc != CLI_OK) {
        return rc < 0 ? CLI_OK : rc;
    }
    struct pv_profile *p = NULL;
    if ((rc = cli_load_profile(usage_crl, profile, PV_PROFILE_DEFER_ENV, &p)) != CLI_OK) {
        return rc;
    }
    struct pv_ca *ca = NULL;
    rc = cli_open_ca(ctx, p, &ca);
    size_t revoked = 0;
    int64_t until = 0;
    struct pv_error err;
    if (rc == CLI_OK && pv_ca_write_crl(ca, output, &revoked, &until, &err) != PV_OK) {
        rc = cli_fail_err(&err);
    }
    if (rc == CLI_OK) {
        char next[32];
        cli_format_date(until, next, sizeof next);
        printf("wrote %s: %zu revoked certificate%s, next update by %s\n",
               output ? output : p->ca.crl, revoked, revoked == 1 ? "" : "s", next);
        printf("reload the broker to apply it: kill -HUP $(pidof mosquitto)\n");
    }
    pv_ca_free(ca);
    pv_profile_free(p);
    return cli_finish(rc);
}

int cmd_ca(int argc, char **argv, struct cli_ctx *ctx)
{
    if (argc < 2) {
        return cli_usage_error(usage_main, "missing subcommand");
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        return cli_help(usage_main);
    }
    if (strcmp(argv[1], "init") == 0) {
        return init(argc - 1, argv + 1, ctx);
    }
    if (strcmp(argv[1], "crl") == 0) {
        return crl(argc - 1, argv + 1, ctx);
    }
    return cli_usage_error(usage_main, "unknown subcommand '%s'", argv[1]);
}
