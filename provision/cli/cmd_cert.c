/* `espprov cert server|device|revoke|list`: certificates signed by the profile's CA. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "provision/cli/cli_pki.h"
#include "provision/pki/pki.h"

static const char usage_main[] =
    "usage: espprov cert server|device|revoke|list|export -P PROFILE [OPTIONS]\n"
    "  server   broker certificate + key and a Mosquitto listener snippet\n"
    "  device   one device identity without a board\n"
    "  revoke   mark certificates revoked (then 'espprov ca crl')\n"
    "  list     what the CA has issued\n"
    "  export   a certificate out of the CA's record (PEM or DER, with the chain)\n"
    "Run 'espprov cert SUBCOMMAND --help' for the details.\n";
static const char usage_server[] =
    "usage: espprov cert server -P PROFILE --dns NAME... [--ip ADDR...] [OPTIONS]\n"
    "Issues the broker's certificate (serverAuth; SAN: every --dns name, every --ip as an\n"
    "address and also as a DNS name for TLS stacks that only match names; CN = the first\n"
    "name) and its key, writes an empty CRL if there is none yet, and prints a Mosquitto\n"
    "listener for them.\n"
    "  -P, --profile FILE    the profile (default $ESPPROV_PROFILE)\n"
    "  --dns NAME            a host name devices connect to (repeatable)\n"
    "  --ip ADDR             an address devices connect to (repeatable)\n"
    "  --key-type TYPE       ec-p256 (default) or rsa2048\n"
    "  --days N|never        validity (default 3650; devices must trust it while offline)\n"
    "  --out DIR             folder for NAME.crt.pem and NAME.key.pem (default: the CA's)\n"
    "  --name NAME           file name stem (default \"server\")\n"
    "  --owner USER          the user the broker runs as (Debian's mosquitto: mosquitto):\n"
    "                        the key gets that user's group and mode 0640 (needs root;\n"
    "                        otherwise the exact chgrp/chmod lines are printed)\n"
    "  --force               replace existing files of that name\n";
static const char usage_device[] =
    "usage: espprov cert device -P PROFILE (--id ID | --mac MAC) [OPTIONS]\n"
    "Mints one device identity as a provisioning run would (key per .device.key_type,\n"
    "certificate per .device), records it, and writes ID.crt.EXT and ID.key.EXT (mode 0600)\n"
    "into --out. Existing files are never replaced.\n"
    "  -P, --profile FILE    the profile (default $ESPPROV_PROFILE)\n"
    "  --id ID               the device id (else made from .device.id with --mac/--seq)\n"
    "  --mac MAC             the board's MAC (for {mac} and {mac_suffix})\n"
    "  --seq N               the sequence number (for {seq})\n"
    "  --format der|pem      file encoding (default .device.format)\n"
    "  --out DIR             where to write the files (default: the current folder)\n"
    "  --renew               the id already has a live certificate: replace it (the old\n"
    "                        one is revoked, reason superseded, once the new files are\n"
    "                        written; then run 'espprov ca crl'). Without it such an id\n"
    "                        is refused: one live certificate per device id\n"
    "  --json                print the result as JSON\n";
enum {
    OPT_DNS = 256,
    OPT_IP,
    OPT_KEY_TYPE,
    OPT_DAYS,
    OPT_OUT,
    OPT_NAME,
    OPT_FORCE,
    OPT_ID,
    OPT_MAC,
    OPT_SEQ,
    OPT_FORMAT,
    OPT_JSON,
    OPT_OWNER,
    OPT_RENEW,
};

static const struct option long_opts[] = {
    {"profile", required_argument, NULL, 'P'},
    {"dns", required_argument, NULL, OPT_DNS},
    {"ip", required_argument, NULL, OPT_IP},
    {"key-type", required_argument, NULL, OPT_KEY_TYPE},
    {"days", required_argument, NULL, OPT_DAYS},
    {"out", required_argument, NULL, OPT_OUT},
    {"name", required_argument, NULL, OPT_NAME},
    {"force", no_argument, NULL, OPT_FORCE},
    {"id", required_argument, NULL, OPT_ID},
    {"mac", required_argument, NULL, OPT_MAC},
    {"seq", required_argument, NULL, OPT_SEQ},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"json", no_argument, NULL, OPT_JSON},
    {"owner", required_argument, NULL, OPT_OWNER},
    {"renew", no_argument, NULL, OPT_RENEW},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

#define NAMES_MAX 16

struct opts {
    const char *profile, *out, *name, *id, *mac, *seq, *format, *owner;
    const char *dns[NAMES_MAX], *ips[NAMES_MAX];
    size_t ndns, nips;
    const char *key_type;
    int32_t days;
    bool force, json, days_set;
    bool renew; /* cert device: replace the id's live certificate */
};

/* Returns CLI_OK, CLI_USAGE, or -1 after --help. `allowed` lists the long
 * options this subcommand takes (by value). */
static int parse(int argc, char **argv, const char *usage, const int *allowed, struct opts *o)
{
    memset(o, 0, sizeof *o);
    int c;
    while ((c = getopt_long(argc, argv, "P:h", long_opts, NULL)) != -1) {
        bool ok = c == 'P' || c == 'h' || c == '?';
        for (size_t i = 0; allowed[i] != 0; i++) {
            ok |= allowed[i] == c;
        }
        if (!ok) {
            const char *name = "?";
            for (size_t i = 0; long_opts[i].name != NULL; i++) {
                if (long_opts[i].val == c) {
                    name = long_opts[i].name;
                }
            }
            return cli_usage_error(usage, "option '--%s' does not apply here", name);
        }
        switch (c) {
        case 'P':
            o->profile = optarg;
            break;
        case OPT_DNS:
        case OPT_IP:
            if ((c == OPT_DNS ? o->ndns : o->nips) >= NAMES_MAX) {
                return cli_usage_error(usage, "at most %d of each", NAMES_MAX);
            }
            if (c == OPT_DNS) {
                o->dns[o->ndns++] = optarg;
            } else {
                o->ips[o->nips++] = optarg;
            }
            break;
        case OPT_KEY_TYPE:
            o->key_type = optarg;
            break;
        case OPT_DAYS:
            if (!cli_parse_days(usage, optarg, &o->days)) {
                return CLI_USAGE;
            }
            o->days_set = true;
            break;
        case OPT_OUT:
            o->out = optarg;
            break;
        case OPT_NAME:
            o->name = optarg;
            break;
        case OPT_RENEW:
            o->renew = true;
            break;
        case OPT_FORCE:
            o->force = true;
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
        case OPT_FORMAT:
            o->format = optarg;
            break;
        case OPT_JSON:
            o->json = true;
            break;
        case OPT_OWNER:
            o->owner = optarg;
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

/* ===== server ========================================================= */

static char *join_path(const char *dir, const char *name, const char *ext)
{
    size_t n = strlen(dir) + strlen(name) + strlen(ext) + 2;
    char *s = malloc(n);
    if (s != NULL) {
        snprintf(s, n, "%s/%s%s", dir, name, ext);
    }
    return s;
}

static char *folder_of(const char *file)
{
    const char *slash = strrchr(file, '/');
    return slash ? strndup(file, (size_t)(slash - file)) : strdup(".");
}

/* Writes cert (0644) and key (0600) of an identity; on failure nothing stays. */
static int write_pair(const struct pv_identity *id, enum pv_format f, const char *cert_path,
                      const char *key_path, bool force, struct pv_error *err)
{
    uint8_t *cert = NULL, *key = NULL;
    size_t cn = 0, kn = 0;
    unsigned flags = force ? 0 : PV_WRITE_EXCL;
    int rc = pv_encode_cert(id->cert_der, id->cert_der_len, f, &cert, &cn, err);
    if (rc == PV_OK) {
        rc = pv_encode_key(id->key_der, id->key_der_len, f, &key, &kn, err);
    }
    bool wrote_key = false;
    if (rc == PV_OK) {
        rc = pv_file_write(key_path, key, kn, 0600, flags, err);
        wrote_key = rc == PV_OK;
    }
    if (rc == PV_OK) {
        rc = pv_file_write(cert_path, cert, cn, 0644, flags, err);
    }
    if (rc != PV_OK && wrote_key) {
        remove(key_path);
    }
    free(cert);
    pv_secret_free(key, kn);
    return rc;
}

/* The serial of the certificate --force is about to overwrite: once its
 * file is gone it is in use nowhere, so it is revoked with the new one
 * written. A file that is not a certificate replaces nothing. */
static void replaced_serial(const char *cert_path, char *out, size_t cap)
{
    uint8_t *data = NULL;
    size_t len = 0;
    struct pv_error err;
    struct pv_cert_info info;
    if (pv_file_read(cert_path, 1 << 20, &data, &len, &err) == PV_OK &&
        pv_cert_info(data, len, &info, &err) == PV_OK) {
        snprintf(out, cap, "%s", info.serial);
    }
    free(data);
}

static int server(int argc, char **argv, struct cli_ctx *ctx)
{
    static const int allowed[] = {OPT_DNS,  OPT_IP,    OPT_KEY_TYPE, OPT_DAYS, OPT_OUT,
                                  OPT_NAME, OPT_FORCE, OPT_OWNER,    0};
    struct opts o;
    int rc = parse(argc, argv, usage_server, allowed, &o);
    if (rc != CLI_OK) {
        return rc < 0 ? CLI_OK : rc;
    }
    if (o.ndns + o.nips == 0) {
        return cli_usage_error(usage_server, "give the broker's names with --dns and/or --ip");
    }
    struct pv_server_req req = {o.dns,  o.ndns,         o.ips,
                                o.nips, PV_KEY_EC_P256, o.days_set ? o.days : 3650};
    if (o.key_type != NULL && strcmp(o.key_type, "rsa2048") == 0) {
        req.key_type = PV_KEY_RSA2048;
    } else if (o.key_type != NULL && strcmp(o.key_type, "ec-p256") != 0) {
        return cli_usage_error(usage_server, "--key-type: expected ec-p256 or rsa2048, got '%s'",
                               o.key_type);
    }
    const char *stem = o.name ? o.name : "server";
    if (strchr(stem, '/') != NULL || stem[0] == '\0' || stem[0] == '.') {
        return cli_usage_error(usage_server, "--name: '%s' is not a plain file name", stem);
    }
    struct cli_owner owner;
    if (o.owner != NULL && cli_owner_lookup(o.owner, &owner) != CLI_OK) {
        return cli_usage_error(usage_server, "--owner: no user '%s' on this machine", o.owner);
    }
    struct pv_profile *p = NULL;
    if ((rc = cli_load_profile(usage_server, o.profile, PV_PROFILE_DEFER_ENV, &p)) != CLI_OK) {
        return rc;
    }
    char *dir = o.out ? strdup(o.out) : folder_of(p->ca.cert);
    char *cert_path = dir ? join_path(dir, stem, ".crt.pem") : NULL;
    char *key_path = dir ? join_path(dir, stem, ".key.pem") : NULL;
    struct pv_ca *ca = NULL;
    struct pv_identity id = {0};
    struct pv_error err;
    if (cert_path == NULL || key_path == NULL) {
        rc = cli_fail(NULL, "out of memory");
    }
    /* Before minting: a refusal now costs no recorded certificate. */
    static const char exists_hint[] =
        "add --force to replace them, or give another --name or --out";
    if (rc == CLI_OK) {
        rc = cli_out_folder(o.out ? "--out" : "the CA's folder", dir);
    }
    if (rc == CLI_OK && !o.force) {
        rc = cli_out_absent(key_path, exists_hint);
    }
    if (rc == CLI_OK && !o.force) {
        rc = cli_out_absent(cert_path, exists_hint);
    }
    char replaced[41] = "";
    if (rc == CLI_OK && o.force) {
        replaced_serial(cert_path, replaced, sizeof replaced);
    }
    if (rc == CLI_OK) {
        rc = cli_open_ca(ctx, p, &ca);
    }
    if (rc == CLI_OK && pv_mint_server(ca, &req, &id, &err) != PV_OK) {
        rc = cli_fail_err(&err);
    } else if (rc == CLI_OK &&
               write_pair(&id, PV_FORMAT_PEM, cert_path, key_path, o.force, &err) != PV_OK) {
        rc = cli_out_undelivered(p, &id, &err);
    }
    size_t superseded = 0;
    if (rc == CLI_OK && replaced[0] != '\0' &&
        pv_revoke(p, replaced, NULL, pv_crl_reason("superseded"), &superseded, &err) != PV_OK &&
        err.code != PV_ERR_NOT_FOUND) {
        rc = cli_fail_err(&err);
    }
    struct stat st;
    bool new_crl = rc == CLI_OK && stat(p->ca.crl, &st) != 0;
    if (new_crl && pv_ca_write_crl(ca, NULL, NULL, NULL, &err) != PV_OK) {
        rc = cli_fail_err(&err);
    }
    if (rc == CLI_OK) {
        char until[32];
        cli_format_date(id.not_after, until, sizeof until);
        printf("# broker certificate for %s, serial %s, valid until %s\n", id.id, id.serial, until);
        if (superseded > 0) {
            printf("# it replaces %s, now revoked (superseded; in the CRL from the next 'espprov "
                   "ca crl')\n",
                   replaced);
        }
        cli_owner_note(o.owner ? &owner : NULL, key_path,
                       (const char *[]){cert_path, p->ca.cert, p->ca.crl, NULL});
        printf("listener %u\n", (unsigned)p->mqtt.port);
        printf("cafile %s\n", p->ca.cert);
        printf("certfile %s\n", cert_path);
        printf("keyfile %s\n", key_path);
        printf("require_certificate true\n");
        printf("use_identity_as_username true\n");
        printf("crlfile %s\n", p->ca.crl);
        cli_info(ctx, 0, "wrote %s and %s (key mode %s)%s", cert_path, key_path,
                 o.owner ? "0640" : "0600", new_crl ? "; and an empty CRL" : "");
    }
    pv_identity_release(&id);
    pv_ca_free(ca);
    free(cert_path);
    free(key_path);
    free(dir);
    pv_profile_free(p);
    return cli_finish(rc);
}

/* ===== device ========================================================= */

/* One live certificate per device id and per board (--mac): the issuance
 * record says whether there is one, whichever ledger or station a user
 * works from. */
static int live_check(const struct pv_profile *p, const struct pv_device *dev, bool renew,
                      struct pv_issued *live, bool *replacing)
{
    char mac[18] = "";
    if (dev->has_mac) {
        pv_format_mac(dev->mac, mac);
    }
    struct pv_error err;
    int rc =
        pv_issued_live_device(p, dev->id, mac[0] ? mac : NULL, (int64_t)time(NULL), live, &err);
    if (rc == PV_ERR_NOT_FOUND) {
        return CLI_OK;
    }
    if (rc != PV_OK) {
        return cli_fail_err(&err);
    }
    if (!renew) {
        return cli_fail("add --renew to replace it (the old one is then revoked), or revoke it "
                        "first with 'espprov cert revoke --serial'",
                        "%s%s%s%s already has a live certificate (serial %s)", live->id,
                        live->mac[0] ? " (MAC " : "", live->mac, live->mac[0] ? ")" : "",
                        live->serial);
    }
    *replacing = true;
    return CLI_OK;
}

static int device(int argc, char **argv, struct cli_ctx *ctx)
{
    static const int allowed[] = {OPT_ID,  OPT_MAC,  OPT_SEQ,   OPT_FORMAT,
                                  OPT_OUT, OPT_JSON, OPT_RENEW, 0};
    struct opts o;
    int rc = parse(argc, argv, usage_device, allowed, &o);
    if (rc != CLI_OK) {
        return rc < 0 ? CLI_OK : rc;
    }
    if (o.id == NULL && o.mac == NULL && o.seq == NULL) {
        return cli_usage_error(usage_device, "give --id ID, or --mac/--seq for .device.id");
    }
    uint8_t mac[6];
    if (o.mac != NULL && pv_parse_mac(o.mac, mac) != PV_OK) {
        return cli_usage_error(usage_device, "--mac: '%s' is not a MAC address", o.mac);
    }
    int64_t seq = -1;
    if (o.seq != NULL) {
        char *end = NULL;
        long long v = strtoll(o.seq, &end, 10);
        if (end == o.seq || *end != '\0' || v < 0 || v > UINT32_MAX) {
            return cli_usage_error(usage_device, "--seq: expected 0-4294967295, got '%s'", o.seq);
        }
        seq = v;
    }
    if (o.format != NULL && strcmp(o.format, "der") != 0 && strcmp(o.format, "pem") != 0) {
        return cli_usage_error(usage_device, "--format: expected der or pem, got '%s'", o.format);
    }
    struct pv_profile *p = NULL;
    if ((rc = cli_load_profile(usage_device, o.profile, PV_PROFILE_DEFER_ENV, &p)) != CLI_OK) {
        return rc;
    }
    enum pv_format f = o.format ? (strcmp(o.format, "pem") == 0 ? PV_FORMAT_PEM : PV_FORMAT_DER)
                                : p->device.format;
    struct pv_device dev;
    struct pv_error err;
    struct pv_ca *ca = NULL;
    struct pv_identity id = {0};
    char *cert_path = NULL, *key_path = NULL;
    if (pv_device_init(&dev, p, o.id, o.mac ? mac : NULL, seq, NULL, &err) != PV_OK) {
        rc = cli_fail_err(&err);
    }
    if (rc == CLI_OK) {
        const char *ext = f == PV_FORMAT_PEM ? ".pem" : ".der";
        char stem[PV_ID_MAX + 8];
        snprintf(stem, sizeof stem, "%s.crt", dev.id);
        cert_path = join_path(o.out ? o.out : ".", stem, ext);
        snprintf(stem, sizeof stem, "%s.key", dev.id);
        key_path = join_path(o.out ? o.out : ".", stem, ext);
        if (cert_path == NULL || key_path == NULL) {
            rc = cli_fail(NULL, "out of memory");
        }
    }
    /* Checked before minting, so a refusal leaves no recorded orphan. */
    static const char exists_hint[] = "move the old files away, or use another --out folder";
    if (rc == CLI_OK) {
        rc = cli_out_folder("--out", o.out ? o.out : ".");
    }
    if (rc == CLI_OK) {
        rc = cli_out_absent(cert_path, exists_hint);
    }
    if (rc == CLI_OK) {
        rc = cli_out_absent(key_path, exists_hint);
    }
    struct pv_issued live;
    bool replacing = false;
    if (rc == CLI_OK) {
        rc = live_check(p, &dev, o.renew, &live, &replacing);
    }
    if (rc == CLI_OK) {
        rc = cli_open_ca(ctx, p, &ca);
    }
    if (rc == CLI_OK && pv_mint_device(ca, p, &dev, NULL, &id, &err) != PV_OK) {
        rc = cli_fail_err(&err);
    } else if (rc == CLI_OK && write_pair(&id, f, cert_path, key_path, false, &err) != PV_OK) {
        rc = cli_out_undelivered(p, &id, &err);
    }
    size_t revoked = 0;
    if (rc == CLI_OK && replacing &&
        pv_revoke(p, live.serial, NULL, pv_crl_reason("superseded"), &revoked, &err) != PV_OK) {
        rc = cli_fail_err(&err);
    }
    if (rc == CLI_OK) {
        char until[32];
        cli_format_date(id.not_after, until, sizeof until);
        if (o.json) {
            printf("{\"id\":");
            cli_json_string(stdout, id.id);
            printf(",\"serial\":\"%s\",\"sha256\":\"%s\",\"key_type\":\"%s\",\"cert\":", id.serial,
                   id.sha256, pv_key_type_name(id.key_type));
            cli_json_string(stdout, cert_path);
            printf(",\"key\":");
            cli_json_string(stdout, key_path);
            printf(",\"not_after\":\"%s\"}\n", until);
        } else {
            printf("id:       %s\nserial:   %s\nsha256:   %s\nkey type: %s\nvalid to: %s\n", id.id,
                   id.serial, id.sha256, pv_key_type_name(id.key_type), until);
            printf("cert:     %s\nkey:      %s (mode 0600)\n", cert_path, key_path);
        }
        if (replacing) {
            fprintf(stderr, "revoked %s (superseded); run 'espprov ca crl' to publish it\n",
                    live.serial);
        }
    }
    pv_identity_release(&id);
    pv_ca_free(ca);
    free(cert_path);
    free(key_path);
    pv_profile_free(p);
    return cli_finish(rc);
}

int cmd_cert(int argc, char **argv, struct cli_ctx *ctx)
{
    if (argc < 2) {
        return cli_usage_error(usage_main, "missing subcommand");
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        return cli_help(usage_main);
    }
    static const struct {
        const char *name;
        int (*fn)(int, char **, struct cli_ctx *);
    } subs[] = {{"server", server},
                {"device", device},
                {"revoke", cli_cert_revoke},
                {"list", cli_cert_list},
                {"export", cli_cert_export}};
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        if (strcmp(argv[1], subs[i].name) == 0) {
            return subs[i].fn(argc - 1, argv + 1, ctx);
        }
    }
    return cli_usage_error(usage_main, "unknown subcommand '%s'", argv[1]);
}
