/* `espprov cert revoke|list` (dispatched from cmd_cert.c): the CA's issuance record. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "provision/cli/cli_pki.h"
#include "provision/jobs/jobs.h"
#include "provision/ledger/ledger.h"
#include "provision/pki/pki.h"

static const char usage_revoke[] =
    "usage: espprov cert revoke -P PROFILE (--serial HEX | --id ID) [--reason R] [--crl]\n"
    "Marks certificates revoked in the CA's record (no passphrase needed). --id revokes\n"
    "every unrevoked device certificate with that id. The broker learns of it from the\n"
    "CRL: run 'espprov ca crl' (or pass --crl) and reload the broker.\n"
    "  -P, --profile FILE   the profile (default $ESPPROV_PROFILE)\n"
    "  --serial HEX         a certificate serial as 'cert list' shows it (colons allowed)\n"
    "  --id ID              every certificate of this device\n"
    "  --reason R           unspecified (default), keyCompromise, superseded,\n"
    "                       cessationOfOperation, affiliationChanged\n"
    "  --crl                also write the CRL now (needs the CA passphrase)\n";
static const char usage_list[] =
    "usage: espprov cert list -P PROFILE [--live] [--json]\n"
    "Lists every certificate the CA issued, with its state.\n"
    "  -P, --profile FILE   the profile (default $ESPPROV_PROFILE)\n"
    "  --live               only those a board or broker may hold now: not revoked, not\n"
    "                       expired (device and server)\n"
    "  --json               print the list as JSON\n";

enum { OPT_SERIAL = 256, OPT_ID, OPT_REASON, OPT_CRL, OPT_JSON, OPT_LIVE };

struct rec_opts {
    const char *profile, *serial, *id, *reason;
    bool crl, json, live;
};

/* CLI_OK, CLI_USAGE, or -1 after --help. */
static int parse(int argc, char **argv, const char *usage, bool revoke, struct rec_opts *o)
{
    static const struct option opts[] = {
        {"profile", required_argument, NULL, 'P'},
        {"serial", required_argument, NULL, OPT_SERIAL},
        {"id", required_argument, NULL, OPT_ID},
        {"reason", required_argument, NULL, OPT_REASON},
        {"crl", no_argument, NULL, OPT_CRL},
        {"json", no_argument, NULL, OPT_JSON},
        {"live", no_argument, NULL, OPT_LIVE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    int c;
    while ((c = getopt_long(argc, argv, "P:h", opts, NULL)) != -1) {
        bool list_only = c == OPT_JSON || c == OPT_LIVE;
        if (c >= OPT_SERIAL && list_only == revoke) {
            const char *name = "?";
            for (size_t i = 0; opts[i].name != NULL; i++) {
                if (opts[i].val == c) {
                    name = opts[i].name;
                }
            }
            return cli_usage_error(usage, "option '--%s' does not apply here", name);
        }
        switch (c) {
        case 'P':
            o->profile = optarg;
            break;
        case OPT_SERIAL:
            o->serial = optarg;
            break;
        case OPT_ID:
            o->id = optarg;
            break;
        case OPT_REASON:
            o->reason = optarg;
            break;
        case OPT_CRL:
            o->crl = true;
            break;
        case OPT_JSON:
            o->json = true;
            break;
        case OPT_LIVE:
            o->live = true;
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

/* The profile's ledger learns of the revocation now, not at the next run:
 * `ledger list` must not say "provisioned" for a certificate the broker
 * refuses. No ledger yet means no attempt to mark. */
static int revoke_in_ledger(const struct pv_profile *p)
{
    struct pv_ledger *lg = NULL;
    struct pv_error err;
    int rc = pv_ledger_open_existing(p->ledger, &lg, &err);
    if (rc == PV_ERR_NOT_FOUND) {
        return CLI_OK;
    }
    int marked = 0;
    if (rc == PV_OK) {
        rc = pv_jobs_sync_revocations(p, lg, &marked, &err);
    }
    pv_ledger_close(lg);
    if (rc != PV_OK) {
        pv_error_prefix(&err, "revoked in the CA's record, but the ledger was not updated");
        if (err.hint[0] == '\0') {
            snprintf(err.hint, sizeof err.hint,
                     "'espprov ledger list -P %s' updates it once the file can be written",
                     p->file);
        }
        return cli_fail_err(&err);
    }
    if (marked > 0) {
        printf("ledger: %d attempt%s now marked revoked\n", marked, marked == 1 ? "" : "s");
    }
    return CLI_OK;
}

int cli_cert_revoke(int argc, char **argv, struct cli_ctx *ctx)
{
    struct rec_opts o;
    int rc = parse(argc, argv, usage_revoke, true, &o);
    if (rc != CLI_OK) {
        return rc < 0 ? CLI_OK : rc;
    }
    if ((o.serial == NULL) == (o.id == NULL)) {
        return cli_usage_error(usage_revoke, "give exactly one of --serial and --id");
    }
    int reason = o.reason ? pv_crl_reason(o.reason) : 0;
    if (reason < 0) {
        return cli_usage_error(usage_revoke, "--reason: unknown reason '%s'", o.reason);
    }
    struct pv_profile *p = NULL;
    if ((rc = cli_load_profile(usage_revoke, o.profile, PV_PROFILE_DEFER_ENV, &p)) != CLI_OK) {
        return rc;
    }
    size_t count = 0;
    struct pv_error err;
    if (pv_revoke(p, o.serial, o.id, reason, &count, &err) != PV_OK) {
        rc = cli_fail_err(&err);
    } else {
        printf("revoked %zu certificate%s\n", count, count == 1 ? "" : "s");
        rc = revoke_in_ledger(p);
    }
    if (rc == CLI_OK && o.crl) {
        struct pv_ca *ca = NULL;
        rc = cli_open_ca(ctx, p, &ca);
        size_t n = 0;
        if (rc == CLI_OK && pv_ca_write_crl(ca, NULL, &n, NULL, &err) != PV_OK) {
            rc = cli_fail_err(&err);
        }
        if (rc == CLI_OK) {
            printf("wrote %s (%zu revoked); reload the broker (SIGHUP)\n", p->ca.crl, n);
        }
        pv_ca_free(ca);
    } else if (rc == CLI_OK) {
        printf("next: espprov ca crl -P %s, then reload the broker (SIGHUP)\n", p->file);
    }
    pv_profile_free(p);
    return cli_finish(rc);
}

struct list_state {
    bool json;
    size_t n;
    bool live;   /* only what a board or broker may hold now */
    int64_t now; /* Unix seconds, for live */
};

static int print_row(void *user, const struct pv_issued *r)
{
    struct list_state *s = user;
    if (s->live && (r->revoked_at != 0 || r->not_after <= s->now)) {
        return 0;
    }
    char issued[32], until[32], revoked[32] = "";
    cli_format_date(r->issued_at, issued, sizeof issued);
    cli_format_date(r->not_after, until, sizeof until);
    if (r->revoked_at) {
        cli_format_date(r->revoked_at, revoked, sizeof revoked);
    }
    if (s->json) {
        printf("%s{\"serial\":\"%s\",\"kind\":\"%s\",\"id\":", s->n ? "," : "", r->serial, r->kind);
        cli_json_string(stdout, r->id);
        printf(",\"mac\":");
        if (r->mac[0] != '\0') {
            printf("\"%s\"", r->mac);
        } else {
            printf("null");
        }
        printf(",\"sha256\":\"%s\",\"issued\":\"%s\",\"not_after\":\"%s\",\"revoked\":", r->sha256,
               issued, until);
        if (r->revoked_at) {
            printf("\"%s\",\"reason\":%d}", revoked, r->reason);
        } else {
            printf("null}");
        }
    } else {
        cli_line(stdout, "%-32s %-6s %-24s %s%s%s", r->serial, r->kind, r->id, issued,
                 r->revoked_at ? "  REVOKED " : "", revoked);
    }
    s->n++;
    return 0;
}

int cli_cert_list(int argc, char **argv, struct cli_ctx *ctx)
{
    (void)ctx;
    struct rec_opts o;
    int rc = parse(argc, argv, usage_list, false, &o);
    if (rc != CLI_OK) {
        return rc < 0 ? CLI_OK : rc;
    }
    if (o.serial || o.id || o.reason || o.crl) {
        return cli_usage_error(usage_list, "'list' takes only -P, --live and --json");
    }
    struct pv_profile *p = NULL;
    if ((rc = cli_load_profile(usage_list, o.profile, PV_PROFILE_DEFER_ENV, &p)) != CLI_OK) {
        return rc;
    }
    struct list_state s = {o.json, 0, o.live, (int64_t)time(NULL)};
    struct pv_error err;
    if (o.json) {
        printf("[");
    }
    if (pv_issued_list(p, print_row, &s, &err) != PV_OK) {
        rc = cli_fail_err(&err);
    }
    if (o.json && rc == CLI_OK) {
        printf("]\n");
    }
    pv_profile_free(p);
    return cli_finish(rc);
}
