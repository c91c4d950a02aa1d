/* `espprov cert export`: a certificate out of the CA's record, for a cloud registry or an allow
 * list. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provision/cli/cli_pki.h"
#include "provision/core/core.h"
#include "provision/pki/pki.h"

static const char usage[] =
    "usage: espprov cert export -P PROFILE --id ID|SERIAL [--pem | --der] [--chain] [-o FILE]\n"
    "Writes a certificate the CA issued (a device's or the broker's; the newest one of an id,\n"
    "or exactly the one with that serial) as recorded, for a cloud registry or a broker's\n"
    "allow list. Only certificates: the CA never keeps a device key.\n"
    "  -P, --profile FILE   the profile (default $ESPPROV_PROFILE)\n"
    "      --id ID|SERIAL   a device or server id, or a certificate serial (hex)\n"
    "      --pem            PEM (the default)\n"
    "      --der            DER (binary: needs -o or a pipe)\n"
    "      --chain          append the CA certificate (PEM only)\n"
    "  -o, --output FILE    write there (mode 0644, atomically) instead of to stdout\n";

static int write_out(const char *path, const uint8_t *data, size_t len)
{
    struct pv_error err;
    if (path != NULL) {
        return pv_file_write(path, data, len, 0644, 0, &err) == PV_OK ? CLI_OK : cli_fail_err(&err);
    }
    return fwrite(data, 1, len, stdout) == len ? CLI_OK : CLI_FAILED;
}

int cli_cert_export(int argc, char **argv, struct cli_ctx *ctx)
{
    enum { OPT_ID = 256, OPT_PEM, OPT_DER, OPT_CHAIN };
    static const struct option opts[] = {
        {"profile", required_argument, NULL, 'P'}, {"id", required_argument, NULL, OPT_ID},
        {"pem", no_argument, NULL, OPT_PEM},       {"der", no_argument, NULL, OPT_DER},
        {"chain", no_argument, NULL, OPT_CHAIN},   {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    const char *profile = NULL, *id = NULL, *output = NULL;
    bool pem = false, der = false, chain = false;
    int c;
    while ((c = getopt_long(argc, argv, "P:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'P':
            profile = optarg;
            break;
        case OPT_ID:
            id = optarg;
            break;
        case OPT_PEM:
            pem = true;
            break;
        case OPT_DER:
            der = true;
            break;
        case OPT_CHAIN:
            chain = true;
            break;
        case 'o':
            output = optarg;
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
    if (id == NULL) {
        return cli_usage_error(usage, "which certificate? give --id ID or --id SERIAL");
    }
    if (pem && der) {
        return cli_usage_error(usage, "--pem and --der exclude each other");
    }
    if (der && chain) {
        return cli_usage_error(usage, "--chain is for PEM (DER holds one certificate)");
    }
    if (der && output == NULL && ctx->stdout_tty) {
        return cli_usage_error(usage, "DER is binary: give -o FILE or pipe it");
    }
    struct pv_profile *p = NULL;
    int rc = cli_load_profile(usage, profile, PV_PROFILE_DEFER_ENV, &p);
    if (rc != CLI_OK) {
        return rc;
    }
    struct pv_error err;
    struct pv_issued row;
    uint8_t *cert = NULL, *enc = NULL, *ca = NULL, *ca_enc = NULL;
    size_t cert_len = 0, enc_len = 0, ca_len = 0, ca_enc_len = 0;
    enum pv_format f = der ? PV_FORMAT_DER : PV_FORMAT_PEM;
    if (pv_issued_cert(p, id, &cert, &cert_len, &row, &err) != PV_OK ||
        pv_encode_cert(cert, cert_len, f, &enc, &enc_len, &err) != PV_OK ||
        (chain && (pv_ca_cert_read(p, &ca, &ca_len, &err) != PV_OK ||
                   pv_encode_cert(ca, ca_len, f, &ca_enc, &ca_enc_len, &err) != PV_OK))) {
        rc = cli_fail_err(&err);
    }
    if (rc == CLI_OK && chain) {
        uint8_t *both = malloc(enc_len + ca_enc_len);
        if (both == NULL) {
            rc = cli_fail(NULL, "out of memory");
        } else {
            memcpy(both, enc, enc_len);
            memcpy(both + enc_len, ca_enc, ca_enc_len);
            free(enc);
            enc = both;
            enc_len += ca_enc_len;
        }
    }
    if (rc == CLI_OK) {
        rc = write_out(output, enc, enc_len);
    }
    if (rc == CLI_OK && row.revoked_at != 0) {
        cli_warn("certificate %s of %s is REVOKED", row.serial, row.id);
    }
    if (rc == CLI_OK && ctx->verbosity >= 0) {
        char until[32];
        cli_format_date(row.not_after, until, sizeof until);
        fprintf(stderr, "%s certificate of %s, serial %s, valid until %s%s%s\n", row.kind, row.id,
                row.serial, until, output ? ": " : "", output ? output : "");
    }
    free(cert);
    free(enc);
    free(ca);
    free(ca_enc);
    pv_profile_free(p);
    return cli_finish(rc);
}
