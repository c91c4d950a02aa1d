/* `espprov image`: one device's complete filesystem image, without a board. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provision/cli/cli_pki.h"
#include "provision/image/image.h"
#include "provision/pki/pki.h"

static const char usage[] =
    "usage: espprov image -P PROFILE (--id ID | --mac MAC) -o IMAGE [OPTIONS]\n"
    "Builds the filesystem image a provisioning run would write for one device: CA\n"
    "certificate, device certificate and key, config file (paths per .paths, encoding per\n"
    ".device.format) and the profile's extra files, with .filesystem's parameters. Flash\n"
    "it at .filesystem.offset. By default a new identity is minted and recorded (CA\n"
    "passphrase needed); --from or --cert/--key keep an existing one instead.\n"
    "  -P, --profile FILE    the profile (default $ESPPROV_PROFILE)\n"
    "  -o, --output IMAGE    the image to write (mode 0600: it holds the device key)\n"
    "  --id ID               the device id (else made from .device.id with --mac/--seq)\n"
    "  --mac MAC             the board's MAC (for {mac} and {mac_suffix})\n"
    "  --seq N               the sequence number (for {seq})\n"
    "  --from IMAGE          keep the certificate and key inside this image (e.g. read\n"
    "                        back from the board) and rebuild everything else\n"
    "  --cert FILE --key FILE  keep this identity (DER or PEM)\n"
    "  --keep-keys DIR       also write ID.crt and ID.key (0600) of a new identity to DIR\n";

struct image_opts {
    const char *profile, *output, *id, *mac, *seq, *from, *cert, *key, *keep;
};

static int parse(int argc, char **argv, struct image_opts *o)
{
    enum { OPT_ID = 256, OPT_MAC, OPT_SEQ, OPT_FROM, OPT_CERT, OPT_KEY, OPT_KEEP };
    static const struct option opts[] = {
        {"profile", required_argument, NULL, 'P'},
        {"output", required_argument, NULL, 'o'},
        {"id", required_argument, NULL, OPT_ID},
        {"mac", required_argument, NULL, OPT_MAC},
        {"seq", required_argument, NULL, OPT_SEQ},
        {"from", required_argument, NULL, OPT_FROM},
        {"cert", required_argument, NULL, OPT_CERT},
        {"key", required_argument, NULL, OPT_KEY},
        {"keep-keys", required_argument, NULL, OPT_KEEP},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    int c;
    while ((c = getopt_long(argc, argv, "P:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'P':
            o->profile = optarg;
            break;
        case 'o':
            o->output = optarg;
            break;
        case OPT_ID:
            o->id = optarg;
            break;
        case OPT_MAC:
            o->mac = optarg;
            break;
        case OPT_SEQ:
            o->seq = optarg;
            break;
        case OPT_FROM:
            o->from = optarg;
            break;
        case OPT_CERT:
            o->cert = optarg;
            break;
        case OPT_KEY:
            o->key = optarg;
            break;
        case OPT_KEEP:
            o->keep = optarg;
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
    if (o->output == NULL) {
        return cli_usage_error(usage, "give the image file with -o IMAGE");
    }
    if ((o->cert == NULL) != (o->key == NULL)) {
        return cli_usage_error(usage, "--cert and --key go together");
    }
    if (o->from != NULL && o->cert != NULL) {
        return cli_usage_error(usage, "give --from or --cert/--key, not both");
    }
    bool existing = o->from != NULL || o->cert != NULL;
    if (existing && o->keep != NULL) {
        return cli_usage_error(usage, "--keep-keys only applies to a new identity");
    }
    if (!existing && o->id == NULL && o->mac == NULL && o->seq == NULL) {
        return cli_usage_error(usage, "give --id ID, or --mac/--seq for .device.id");
    }
    return CLI_OK;
}

/* The identity kept from an image or from files. */
static int load_identity(const struct pv_profile *p, const struct image_opts *o,
                         struct pv_identity *id, struct pv_error *err)
{
    uint8_t *a = NULL, *b = NULL;
    size_t an = 0, bn = 0;
    int rc;
    if (o->from != NULL) {
        rc = pv_file_read(o->from, 256u << 20, &a, &an, err);
        if (rc == PV_OK) {
            rc = pv_image_read_identity(p, a, an, id, err);
        }
        pv_secret_free(a, an);
        return rc == PV_OK ? rc : pv_error_prefix(err, "%s", o->from);
    }
    rc = pv_file_read(o->cert, 1u << 20, &a, &an, err);
    if (rc == PV_OK) {
        rc = pv_file_read(o->key, 1u << 20, &b, &bn, err);
    }
    if (rc == PV_OK) {
        rc = pv_identity_load(a, an, b, bn, id, err);
    }
    free(a);
    pv_secret_free(b, bn);
    return rc;
}

/* Where --keep-keys puts a new identity's files. */
struct keep_paths {
    char cert[4096], key[4096];
};

/* Names the --keep-keys files for device `id` and checks, before anything is
 * minted, that they can be written there. */
static int keep_check(const struct image_opts *o, const struct pv_profile *p, const char *id,
                      struct keep_paths *k)
{
    const char *ext = p->device.format == PV_FORMAT_PEM ? "pem" : "der";
    int a = snprintf(k->cert, sizeof k->cert, "%s/%s.crt.%s", o->keep, id, ext);
    int b = snprintf(k->key, sizeof k->key, "%s/%s.key.%s", o->keep, id, ext);
    if (a < 0 || b < 0 || (size_t)a >= sizeof k->cert || (size_t)b >= sizeof k->key) {
        return cli_fail("give a shorter folder", "--keep-keys '%s': path too long", o->keep);
    }
    static const char hint[] = "move the old files away, or give another --keep-keys folder";
    int rc = cli_out_folder("--keep-keys", o->keep);
    if (rc == CLI_OK) {
        rc = cli_out_absent(k->cert, hint);
    }
    if (rc == CLI_OK) {
        rc = cli_out_absent(k->key, hint);
    }
    return rc;
}

/* The key (0600) and certificate; on failure neither stays. */
static int keep_keys(const struct pv_profile *p, const struct pv_identity *id,
                     const struct keep_paths *k, struct pv_error *err)
{
    uint8_t *c = NULL, *key = NULL;
    size_t cn = 0, kn = 0;
    int rc = pv_encode_cert(id->cert_der, id->cert_der_len, p->device.format, &c, &cn, err);
    if (rc == PV_OK) {
        rc = pv_encode_key(id->key_der, id->key_der_len, p->device.format, &key, &kn, err);
    }
    if (rc == PV_OK) {
        rc = pv_file_write(k->key, key, kn, 0600, PV_WRITE_EXCL, err);
        if (rc == PV_OK &&
            (rc = pv_file_write(k->cert, c, cn, 0644, PV_WRITE_EXCL, err)) != PV_OK) {
            remove(k->key);
        }
    }
    free(c);
    pv_secret_free(key, kn);
    return rc;
}

/* Builds the image and writes it, the kept keys first: each file appears
 * whole or not at all (pv_file_write), and the image, last, only once the
 * others are there, so a failure leaves none of them. */
static int deliver(const struct image_opts *o, const struct pv_profile *p,
                   const struct pv_device *dev, const struct pv_identity *id,
                   const uint8_t *ca_cert, size_t ca_len, const struct keep_paths *k,
                   size_t *image_len, struct pv_error *err)
{
    uint8_t *image = NULL;
    int rc = pv_image_build(p, dev, id, ca_cert, ca_len, &image, image_len, err);
    bool kept = false;
    if (rc == PV_OK && o->keep != NULL) {
        rc = keep_keys(p, id, k, err);
        kept = rc == PV_OK;
    }
    if (rc == PV_OK) {
        rc = pv_file_write(o->output, image, *image_len, 0600, 0, err);
    }
    if (rc != PV_OK && kept) {
        remove(k->cert);
        remove(k->key);
    }
    pv_secret_free(image, *image_len);
    return rc;
}

int cmd_image(int argc, char **argv, struct cli_ctx *ctx)
{
    struct image_opts o;
    int rc = parse(argc, argv, &o);
    if (rc != CLI_OK) {
        return rc < 0 ? CLI_OK : rc;
    }
    uint8_t mac[6];
    if (o.mac != NULL && pv_parse_mac(o.mac, mac) != PV_OK) {
        return cli_usage_error(usage, "--mac: '%s' is not a MAC address", o.mac);
    }
    int64_t seq = -1;
    if (o.seq != NULL) {
        char *end = NULL;
        long long v = strtoll(o.seq, &end, 10);
        if (end == o.seq || *end != '\0' || v < 0 || v > UINT32_MAX) {
            return cli_usage_error(usage, "--seq: expected 0-4294967295, got '%s'", o.seq);
        }
        seq = v;
    }
    struct pv_profile *p = NULL;
    if ((rc = cli_load_profile(usage, o.profile, PV_PROFILE_DEFER_ENV, &p)) != CLI_OK) {
        return rc;
    }
    bool existing = o.from != NULL || o.cert != NULL;
    struct pv_identity id = {0};
    struct pv_device dev;
    struct pv_ca *ca = NULL;
    struct pv_error err;
    uint8_t *ca_der = NULL;
    const uint8_t *ca_cert = NULL;
    size_t ca_len = 0, image_len = 0;
    char *cfg = NULL;
    size_t cfg_len = 0;
    if (existing) {
        if (load_identity(p, &o, &id, &err) != PV_OK ||
            pv_ca_cert_read(p, &ca_der, &ca_len, &err) != PV_OK ||
            pv_identity_issued_by(&id, ca_der, ca_len, &err) != PV_OK) {
            rc = cli_fail_err(&err);
        } else if (o.id != NULL && strcmp(o.id, id.id) != 0) {
            rc = cli_fail("leave out --id, or mint a new identity",
                          "--id %s differs from the kept certificate's id %s", o.id, id.id);
        }
        ca_cert = ca_der;
    }
    if (rc == CLI_OK && (pv_device_init(&dev, p, existing ? id.id : o.id, o.mac ? mac : NULL, seq,
                                        NULL, &err) != PV_OK ||
                         pv_devconfig_build(p, &dev, &cfg, &cfg_len, &err) != PV_OK)) {
        /* The config is tried first so its errors cost no recorded certificate. */
        rc = cli_fail_err(&err);
    }
    /* Before minting, whatever can refuse: a refusal then costs no recorded
     * certificate. */
    struct keep_paths keep;
    if (rc == CLI_OK) {
        rc = cli_out_file("-o", o.output);
    }
    if (rc == CLI_OK && o.keep != NULL) {
        rc = keep_check(&o, p, dev.id, &keep);
    }
    if (rc == CLI_OK && !existing) {
        rc = cli_trial_image(p, &dev, "a trial filesystem image, before any certificate");
    }
    if (rc == CLI_OK && !existing) {
        rc = cli_open_ca(ctx, p, &ca);
        if (rc == CLI_OK && pv_mint_device(ca, p, &dev, NULL, &id, &err) != PV_OK) {
            rc = cli_fail_err(&err);
        }
        if (rc == CLI_OK) {
            pv_ca_cert_der(ca, &ca_cert, &ca_len);
        }
    }
    if (rc == CLI_OK &&
        deliver(&o, p, &dev, &id, ca_cert, ca_len, &keep, &image_len, &err) != PV_OK) {
        rc = existing ? cli_fail_err(&err) : cli_out_undelivered(p, &id, &err);
    }
    if (rc == CLI_OK) {
        printf("wrote %s: %zu bytes (%s, %s), flash at 0x%x\n", o.output, image_len,
               pv_fs_type_name(p->fs.type), p->fs.preset, p->fs.offset);
        printf("device %s, certificate serial %s (%s)\n", id.id, id.serial,
               existing ? "kept" : "new, recorded");
    }
    pv_secret_free(cfg, cfg_len);
    free(ca_der);
    pv_identity_release(&id);
    pv_ca_free(ca);
    pv_profile_free(p);
    return cli_finish(rc);
}
