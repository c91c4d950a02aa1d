/* `espprov ca init|passwd|crl`: the certificate authority. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "provision/cli/cli_pki.h"
#include "provision/pki/pki.h"

static const char usage_main[] = "usage: espprov ca init|passwd|crl -P PROFILE [OPTIONS]\n"
                                 "  init     create the root CA named by the profile's \"ca\"\n"
                                 "  passwd   re-encrypt the CA key with a new passphrase\n"
                                 "  crl      write the revocation list for the broker\n"
                                 "Run 'espprov ca SUBCOMMAND --help' for the details.\n";
static const char usage_init[] =
    "usage: espprov ca init -P PROFILE\n"
    "Creates the root CA: a key (.ca.key_type: ec-p256 by default, or rsa3072) encrypted\n"
    "with the CA passphrase (PKCS#8 PEM, scrypt and AES-256, mode 0600), a self-signed\n"
    "certificate (CA:TRUE, keyCertSign, cRLSign; .ca.days, .ca.subject) and an empty\n"
    "issuance record (.ca.db). All or nothing: on failure nothing is left behind. Never\n"
    "overwrites an existing CA.\n"
    "The passphrase (at least 12 characters, 6 different) comes from .ca.passphrase\n"
    "(e.g. \"${CA_PASS}\"), .ca.passphrase_file, or is asked for twice on the terminal.\n"
    "  -P, --profile FILE   the profile (default $ESPPROV_PROFILE)\n";
static const char usage_passwd[] =
    "usage: espprov ca passwd -P PROFILE [--new-passphrase-file FILE]\n"
    "Re-encrypts the CA key with a new passphrase and the KDF 'ca init' uses today\n"
    "(scrypt); also the way to upgrade a key made by an older espprov or by openssl.\n"
    "The current passphrase comes from the profile or the terminal as for any CA\n"
    "command; the new one from FILE's first line or is asked for twice. The new key\n"
    "file is read back and checked before it replaces the old one; on any failure\n"
    "the old file is unchanged. Then point the profile at the new passphrase.\n"
    "  -P, --profile FILE              the profile (default $ESPPROV_PROFILE)\n"
    "      --new-passphrase-file FILE  the new passphrase, first line\n";
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
        printf("CA key:         %s (scrypt + AES-256, mode 0600)\n", p->ca.key);
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

static int passwd(int argc, char **argv, struct cli_ctx *ctx)
{
    static const struct option opts[] = {
        {"profile", required_argument, NULL, 'P'},
        {"new-passphrase-file", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *profile = NULL, *new_file = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "P:h", opts, NULL)) != -1) {
        switch (c) {
        case 'P':
            profile = optarg;
            break;
        case 'n':
            new_file = optarg;
            break;
        case 'h':
            return cli_help(usage_passwd);
        default:
            return cli_usage_error(usage_passwd, "unknown option");
        }
    }
    if (optind != argc) {
        return cli_usage_error(usage_passwd, "unexpected argument '%s'", argv[optind]);
    }
    struct pv_profile *p = NULL;
    int rc = cli_load_profile(usage_passwd, profile, PV_PROFILE_DEFER_ENV, &p);
    if (rc != CLI_OK) {
        return rc;
    }
    char was[96];
    pv_ca_key_kdf(p, was, sizeof was);
    bool need = pv_ca_key_is_encrypted(p);
    char old_pass[CLI_PASSPHRASE_MAX] = "", new_pass[CLI_PASSPHRASE_MAX] = "";
    if (need) {
        rc = cli_ca_passphrase(ctx, p, false, old_pass, sizeof old_pass);
    }
    if (rc == CLI_OK) {
        rc = cli_new_passphrase(ctx, new_file, new_pass, sizeof new_pass);
    }
    struct pv_error err;
    if (rc == CLI_OK) {
        cli_info(ctx, 0, "re-encrypting the CA key ...");
        if (pv_ca_passwd(p, need ? old_pass : NULL, new_pass, &err) != PV_OK) {
            rc = cli_fail_err(&err);
        }
    }
    OPENSSL_cleanse(old_pass, sizeof old_pass);
    OPENSSL_cleanse(new_pass, sizeof new_pass);
    if (rc == CLI_OK) {
        char now[96];
        pv_ca_key_kdf(p, now, sizeof now);
        printf("CA key:   %s (mode 0600)\n", p->ca.key);
        printf("was:      %s\n", was);
        printf("now:      %s, AES-256-CBC, new passphrase\n", now);
        printf("next: give the profile the new passphrase (.ca.passphrase or "
               ".ca.passphrase_file)\n");
    }
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
    if (strcmp(argv[1], "passwd") == 0) {
        return passwd(argc - 1, argv + 1, ctx);
    }
    return cli_usage_error(usage_main, "unknown subcommand '%s'", argv[1]);
}
