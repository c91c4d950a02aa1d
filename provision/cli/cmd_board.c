/* `espprov board show`: what is on this board, from the board itself, the ledger and the CA. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provision/cli/cli_flash.h"
#include "provision/cli/cli_pki.h"
#include "provision/image/image.h"
#include "provision/layout/layout.h"
#include "provision/ledger/ledger.h"
#include "spiffsgen/spiffsgen.h"

static const char usage[] =
    "usage: espprov board show -P PROFILE [-p PORT] [--baud N] [--stub FILE]\n"
    "What is on this board: chip, MAC and flash (from the board), the ledger's record of\n"
    "its MAC, and the identity read back from its filesystem (certificate subject, serial,\n"
    "validity, live or revoked in the CA's record, issued by this CA or not) with the\n"
    "config file, secrets redacted. Reads only; the board is reset into its app after.\n"
    "  -P, --profile FILE   the profile the board was provisioned with\n"
    "  -p, --port DEV       serial port (default $ESPPROV_PORT, else the one USB board)\n"
    "  -b, --baud N         rate while reading (default 460800 where the loader can)\n"
    "      --stub FILE      use this flasher stub (the ESP8266 ROM cannot read flash)\n"
    "  -h, --help           this text\n";

/* Secrets in the config file the firmware reads (profiles/README.md). */
static void redact(json_t *v)
{
    const char *key;
    json_t *item;
    size_t i;
    if (json_is_object(v)) {
        json_object_foreach(v, key, item)
        {
            if (json_is_string(item) && (strstr(key, "pass") || strstr(key, "token") ||
                                         strstr(key, "psk") || strstr(key, "secret"))) {
                json_object_set_new(v, key, json_string("<redacted>"));
            } else {
                redact(item);
            }
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, item)
        {
            redact(item);
        }
    }
}

static void print_config(const uint8_t *data, size_t len)
{
    json_error_t e;
    json_t *root = json_loadb((const char *)data, len, 0, &e);
    if (root == NULL) {
        cli_line(stdout, "  (not JSON: %s)", e.text);
        return;
    }
    redact(root);
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (text != NULL) {
        for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
            cli_line(stdout, "  %s", line);
        }
    }
    free(text);
}

static void print_ledger(const struct pv_profile *p, const char *mac)
{
    struct pv_ledger *lg = NULL;
    struct pv_error err;
    struct pv_ledger_row row;
    if (pv_ledger_open(p->ledger, &lg, &err) != PV_OK) {
        cli_line(stdout, "ledger:    cannot open %s: %s", p->ledger, err.msg);
        return;
    }
    if (pv_ledger_latest(lg, mac, &row, &err) == PV_OK) {
        char state[700];
        pv_ledger_describe(&row, state, sizeof state);
        cli_line(stdout, "ledger:    attempt %lld, %s, %s, %s (profile %s, port %s)",
                 (long long)row.id, state, row.device_id[0] ? row.device_id : "no id yet",
                 row.ended_at[0] ? row.ended_at : row.updated_at, row.profile, row.port);
        if (row.cert_serial[0] != '\0') {
            cli_line(stdout, "           certificate %s%s", row.cert_serial,
                     row.revoked_at[0] ? " (revoked)" : "");
        }
    } else {
        cli_line(stdout, "ledger:    no attempt for %s in %s", mac, p->ledger);
    }
    pv_ledger_close(lg);
}

static void print_identity(const struct pv_profile *p, const struct pv_identity *id)
{
    struct pv_cert_info ci;
    struct pv_error err;
    if (pv_cert_info(id->cert_der, id->cert_der_len, &ci, &err) != PV_OK) {
        cli_line(stdout, "identity:  %s: %s", p->paths.cert, err.msg);
        return;
    }
    char from[32], until[32];
    cli_format_date(ci.not_before, from, sizeof from);
    cli_format_date(ci.not_after, until, sizeof until);
    cli_line(stdout, "identity:  %s (%s)", ci.subject, p->paths.cert);
    cli_line(stdout, "  serial:  %s", ci.serial);
    cli_line(stdout, "  valid:   %s to %s", from, until);
    cli_line(stdout, "  issuer:  %s", ci.issuer);
    uint8_t *ca = NULL;
    size_t ca_len = 0;
    bool ours = pv_ca_cert_read(p, &ca, &ca_len, &err) == PV_OK &&
                pv_identity_issued_by(id, ca, ca_len, &err) == PV_OK;
    free(ca);
    uint8_t *der = NULL;
    size_t der_len = 0;
    struct pv_issued row;
    if (!ours) {
        cli_line(stdout, "  status:  NOT issued by this profile's CA (%s)", p->ca.cert);
    } else if (pv_issued_cert(p, ci.serial, &der, &der_len, &row, &err) != PV_OK) {
        cli_line(stdout, "  status:  not in the CA's record (%s)", err.msg);
    } else if (row.revoked_at != 0) {
        char when[32];
        cli_format_date(row.revoked_at, when, sizeof when);
        cli_line(stdout, "  status:  REVOKED on %s (reason %d)", when, row.reason);
    } else {
        cli_line(stdout, "  status:  live (issued by this CA, not revoked)");
    }
    free(der);
}

/* The filesystem region: the profile's, or from the board's partition table. */
static int fs_region(struct flash_cli *c, const struct pv_profile *p, uint32_t *off, uint32_t *size)
{
    *off = p->fs.offset;
    *size = p->fs.size;
    if (!p->partitions.from_device) {
        return CLI_OK;
    }
    uint8_t table[PV_PARTITION_TABLE_SIZE];
    struct fl_error fe;
    struct pv_error err;
    struct pv_partition_table *t = malloc(sizeof *t);
    int rc = CLI_OK;
    if (t == NULL) {
        rc = cli_fail(NULL, "out of memory");
    } else if (fl_read(&c->s, PV_PARTITION_TABLE_OFFSET, table, sizeof table, &fe) != FL_OK) {
        rc = flash_fail(&fe);
    } else if (pv_partitions_parse_binary(table, sizeof table, PV_PARTITION_TABLE_OFFSET, t,
                                          &err) != PV_OK ||
               pv_profile_fs_from_table(p, t, off, size, &err) != PV_OK) {
        rc = cli_fail_err(&err);
    }
    free(t);
    return rc;
}

static int show_fs(struct flash_cli *c, const struct pv_profile *p)
{
    uint32_t off, size;
    int rc = fs_region(c, p, &off, &size);
    if (rc != CLI_OK) {
        return rc;
    }
    uint8_t *img = malloc(size ? size : 1);
    if (img == NULL) {
        return cli_fail(NULL, "out of memory");
    }
    struct fl_error fe;
    flash_progress_label(c, "reading", off);
    int frc = fl_read(&c->s, off, img, size, &fe);
    flash_progress_close(c, frc == FL_OK);
    if (frc != FL_OK) {
        free(img);
        cli_line(stdout, "filesystem: cannot read it back: %s", fe.msg);
        return flash_fail(&fe);
    }
    cli_line(stdout, "filesystem: 0x%x, %u KiB", (unsigned)off, (unsigned)(size / 1024));
    struct pv_identity id;
    struct pv_error err;
    if (pv_image_read_identity(p, img, size, &id, &err) == PV_OK) {
        print_identity(p, &id);
        pv_identity_release(&id);
    } else {
        cli_line(stdout, "identity:  none read back: %s", err.msg);
    }
    struct sg_params sp;
    struct sg_error se;
    struct sg_image *im = NULL;
    if (sg_detect(img, size, &sp, NULL, 0, &se) == SG_OK &&
        sg_image_open(&sp, img, size, &im, &se) == SG_OK) {
        long i = sg_image_find(im, p->paths.config);
        uint8_t *data = NULL;
        size_t len = 0;
        if (i >= 0 && sg_image_read(im, (size_t)i, &data, &len, &se) == SG_OK) {
            cli_line(stdout, "config:    %s (secrets redacted)", p->paths.config);
            print_config(data, len);
        } else {
            cli_line(stdout, "config:    %s not found", p->paths.config);
        }
        free(data);
        sg_image_close(im);
    } else {
        cli_line(stdout, "config:    no readable filesystem (%s)", se.msg);
    }
    pv_secret_free(img, size);
    return CLI_OK;
}

int cmd_board(int argc, char **argv, struct cli_ctx *ctx)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        return argc < 2 ? cli_usage_error(usage, "which subcommand? (show)") : cli_help(usage);
    }
    if (strcmp(argv[1], "show") != 0) {
        return cli_usage_error(usage, "'%s' is not a board subcommand (show)", argv[1]);
    }
    argc--;
    argv++;
    enum { OPT_STUB = 256 };
    static const struct option opts[] = {
        {"profile", required_argument, NULL, 'P'}, {"port", required_argument, NULL, 'p'},
        {"baud", required_argument, NULL, 'b'},    {"stub", required_argument, NULL, OPT_STUB},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    struct flash_cli c = {.ctx = ctx, .usage = usage};
    fl_options_init(&c.opt);
    const char *profile = NULL;
    int ch;
    while ((ch = getopt_long(argc, argv, "P:p:b:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'P':
            profile = optarg;
            break;
        case 'p':
            c.port = optarg;
            break;
        case 'b':
            if (!flash_parse_u32(usage, "--baud", optarg, &c.baud)) {
                return CLI_USAGE;
            }
            c.baud_given = true;
            break;
        case OPT_STUB:
            c.stub_path = optarg;
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
    struct pv_profile *p = NULL;
    int rc = cli_load_profile(usage, profile, PV_PROFILE_DEFER_ENV, &p);
    if (rc != CLI_OK) {
        return rc;
    }
    if (c.stub_path == NULL) {
        c.stub_path = p->flash.stub;
    }
    rc = flash_connect(&c);
    if (rc == CLI_OK) {
        const struct fl_chip_info *i = &c.s.info;
        char mac[18] = "unknown";
        if (i->mac_valid) {
            pv_format_mac(i->mac, mac);
        }
        cli_line(stdout, "board:     %s", c.used_port);
        cli_line(stdout, "chip:      %s (%s)", i->name,
                 i->stub_running ? "flasher stub" : "ROM loader");
        cli_line(stdout, "mac:       %s", mac);
        cli_line(stdout, "flash:     %u KiB%s", (unsigned)(i->flash_size / 1024),
                 i->flash_size_guessed ? " (assumed)" : "");
        print_ledger(p, mac);
        fflush(stdout);
        rc = show_fs(&c, p);
    }
    pv_profile_free(p);
    return flash_done(&c, rc);
}
