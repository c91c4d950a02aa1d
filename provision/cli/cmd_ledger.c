/* espprov ledger list|show|export: reading the provisioning ledger. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "provision/cli/cli.h"
#include "provision/core/core.h"
#include "provision/jobs/jobs.h"
#include "provision/ledger/ledger.h"
#include "provision/profile/profile.h"

static const char usage[] =
    "usage: espprov ledger (list | show ID|MAC|DEVICE | export --csv|--json) [options]\n"
    "\n"
    "Reads the provisioning ledger: one row per attempt on a board, with its\n"
    "device id, MAC, certificate serial and fingerprint, image digests, times\n"
    "(UTC) and state: running, interrupted (its process died), failed (at which\n"
    "step, and why), provisioned, reset, revoked.\n"
    "\n"
    "  list                 one line per attempt, oldest first\n"
    "  show ID|MAC|DEVICE   every field of every attempt of a board (by MAC or\n"
    "                       device id), or of attempt number ID (#ID forces it)\n"
    "  export               all fields, as CSV (RFC 4180, header row) or JSON\n"
    "\n"
    "options:\n"
    "  -P, --profile FILE   the profile's ledger: its \"ledger\" key, else ledger.db\n"
    "                       beside the profile (the file provision writes)\n"
    "                       (default: $ESPPROV_PROFILE)\n"
    "      --ledger FILE    the ledger file itself\n"
    "      --json           JSON instead of text (list, show); JSON export\n"
    "      --csv            CSV export\n"
    "  -o, --output FILE    export into FILE (written atomically) instead of stdout\n"
    "      --status STATE   only attempts in STATE (list, export)\n"
    "      --mac MAC        only attempts on this board (list, export)\n"
    "  -h, --help           this text\n";

enum { OPT_LEDGER = 256, OPT_JSON, OPT_CSV, OPT_STATUS, OPT_MAC };

struct options {
    const char *profile;
    const char *ledger;
    const char *output;
    bool json;
    bool csv;
    struct pv_ledger_filter filter;
};

/* ===== Finding the ledger file ========================================= */

/* The profile's "ledger" key, else PV_PROFILE_LEDGER_DEFAULT, resolved against
 * the profile's folder: the file provision writes. Only that key is read, so a
 * profile that does not load whole (a missing ${NAME}) still names its ledger. */
static int ledger_from_profile(const char *profile, char **out)
{
    json_error_t jerr;
    json_t *root = json_load_file(profile, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        if (jerr.line < 1) {
            return cli_fail("check the -P path or $ESPPROV_PROFILE", "cannot read profile '%s': %s",
                            profile, jerr.text);
        }
        return cli_fail(NULL, "profile '%s' line %d column %d: %s", profile, jerr.line, jerr.column,
                        jerr.text);
    }
    json_t *value = json_is_object(root) ? json_object_get(root, "ledger") : NULL;
    int rc = CLI_OK;
    if (value != NULL && (!json_is_string(value) || json_string_length(value) == 0)) {
        rc = cli_fail(NULL, "profile '%s': \"ledger\" must be a non-empty string (a file path)",
                      profile);
    } else {
        const char *name = value ? json_string_value(value) : PV_PROFILE_LEDGER_DEFAULT;
        char *copy = strdup(profile);
        char *path = NULL;
        if (copy != NULL && asprintf(&path, "%s%s%s", name[0] == '/' ? "" : dirname(copy),
                                     name[0] == '/' ? "" : "/", name) < 0) {
            path = NULL;
        }
        free(copy);
        *out = path;
        if (path == NULL) {
            rc = cli_fail(NULL, "out of memory");
        }
    }
    json_decref(root);
    return rc;
}

static int ledger_path(const struct options *o, char **out)
{
    *out = NULL;
    if (o->ledger != NULL) {
        *out = strdup(o->ledger);
        return *out ? CLI_OK : cli_fail(NULL, "out of memory");
    }
    const char *profile = cli_profile_path(o->profile);
    if (profile == NULL) {
        return cli_usage_error(usage, "which ledger? give -P PROFILE or --ledger FILE (or set "
                                      "ESPPROV_PROFILE)");
    }
    return ledger_from_profile(profile, out);
}

/* Opens an existing ledger; reading must not create an empty one. */
static int open_ledger(const struct options *o, struct pv_ledger **lg)
{
    char *path = NULL;
    int rc = ledger_path(o, &path);
    if (rc != CLI_OK) {
        return rc;
    }
    struct pv_error err = {0};
    if (pv_ledger_open_existing(path, lg, &err) != PV_OK) {
        rc = cli_fail_err(&err);
    }
    free(path);
    return rc;
}

/* Revocations made since the last run (by `cert revoke`, by another
 * station) reach the rows before they are shown. Needs the whole profile
 * (the CA's record); one that does not load is said, not hidden. */
static int sync_revocations(const struct options *o, struct pv_ledger *lg)
{
    const char *path = cli_profile_path(o->profile);
    if (path == NULL) {
        return CLI_OK; /* --ledger alone: no CA record to ask */
    }
    struct pv_profile *p = NULL;
    struct pv_error err;
    if (pv_profile_load(path, PV_PROFILE_DEFER_ENV, NULL, &p, &err) != PV_OK) {
        cli_warn("revocations in the CA's record not checked (profile: %s)", err.msg);
        return CLI_OK;
    }
    int rc = CLI_OK;
    if (pv_jobs_sync_revocations(p, lg, NULL, &err) != PV_OK) {
        rc = cli_fail_err(&err);
    }
    pv_profile_free(p);
    return rc;
}

/* ===== list ============================================================ */

static void short_time(const char *iso, char *out, size_t cap)
{
    /* "2024-05-01T12:00:00.000Z" -> "2024-05-01 12:00:00" */
    snprintf(out, cap, "%.19s", iso);
    char *t = strchr(out, 'T');
    if (t != NULL) {
        *t = ' ';
    }
}

/* Column widths that fit every row (long port names, rfc2217:// URLs). */
struct list_widths {
    int count;
    int device, port;
};

static int measure_line(const struct pv_ledger_row *row, void *arg)
{
    struct list_widths *w = arg;
    int dev = row->device_id[0] ? (int)strlen(row->device_id) : 1;
    int port = (int)strlen(row->port);
    w->device = dev > w->device ? dev : w->device;
    w->port = port > w->port ? port : w->port;
    return PV_OK;
}

static int print_line(const struct pv_ledger_row *row, void *arg)
{
    struct list_widths *w = arg;
    char when[32], status[700];
    short_time(row->started_at, when, sizeof when);
    pv_ledger_describe(row, status, sizeof status);
    if (w->count++ == 0) {
        printf("%5s  %-19s  %-*s  %-17s  %-*s  %s\n", "ID", "STARTED (UTC)", w->device, "DEVICE",
               "MAC", w->port, "PORT", "STATUS");
    }
    cli_line(stdout, "%5lld  %-19s  %-*s  %-17s  %-*s  %s%s", (long long)row->id, when, w->device,
             row->device_id[0] ? row->device_id : "-", row->mac[0] ? row->mac : "-", w->port,
             row->port,
             row->kind == PV_LEDGER_RESET && row->state != PV_STATE_RESET ? "reset: " : "", status);
    return ferror(stdout) ? PV_ERR_IO : PV_OK;
}

static int run_list(struct pv_ledger *lg, const struct options *o)
{
    struct pv_error err = {0};
    if (o->json) {
        return pv_ledger_export(lg, &o->filter, PV_LEDGER_JSON, stdout, &err) == PV_OK
                   ? CLI_OK
                   : cli_fail_err(&err);
    }
    struct list_widths w = {.device = 6, .port = 4};
    if (pv_ledger_foreach(lg, &o->filter, measure_line, &w, &err) != PV_OK ||
        pv_ledger_foreach(lg, &o->filter, print_line, &w, &err) != PV_OK) {
        return err.msg[0] ? cli_fail_err(&err) : CLI_FAILED;
    }
    if (w.count == 0) {
        fprintf(stderr, "no attempts%s\n",
                o->filter.by_state || o->filter.mac ? " match" : " recorded yet");
    }
    return CLI_OK;
}

/* ===== show ============================================================ */

static void field(const char *label, const char *value)
{
    if (value != NULL && value[0] != '\0') {
        cli_line(stdout, "  %-16s %s", label, value);
    }
}

static int print_block(const struct pv_ledger_row *row, void *arg)
{
    int *count = arg;
    char status[700], num[32];
    pv_ledger_describe(row, status, sizeof status);
    if ((*count)++ > 0) {
        putchar('\n');
    }
    cli_line(stdout, "attempt %lld (%s): %s", (long long)row->id, pv_ledger_kind_name(row->kind),
             status);
    field("device id", row->device_id);
    field("mac", row->mac);
    field("chip", row->chip);
    if (row->flash_size != 0) {
        snprintf(num, sizeof num, "%llu KB", (unsigned long long)(row->flash_size / 1024));
        field("flash size", num);
    }
    if (row->seq != 0) {
        snprintf(num, sizeof num, "%lld", (long long)row->seq);
        field("seq", num);
    }
    field("profile", row->profile);
    field("port", row->port);
    field("reprovision", pv_ledger_reprovision_name(row->reprovision));
    field("cert serial", row->cert_serial);
    field("cert sha256", row->cert_sha256);
    field("cert not after", row->cert_not_after);
    field("firmware sha256", row->firmware_sha256);
    field("fs sha256", row->fs_sha256);
    field("last step", pv_ledger_step_name(row->step));
    field("error", row->error);
    field("started", row->started_at);
    field("updated", row->updated_at);
    field("ended", row->ended_at);
    field("revoked", row->revoked_at);
    field("revoke reason", row->revoke_reason);
    return ferror(stdout) ? PV_ERR_IO : PV_OK;
}

static int count_row(const struct pv_ledger_row *row, void *arg)
{
    (void)row;
    (*(int *)arg)++;
    return PV_OK;
}

/* MAC, then device id, then attempt number ("#12" is always a number). */
static int resolve_show(struct pv_ledger *lg, const char *what, struct pv_ledger_filter *f)
{
    char mac[PV_LEDGER_MAC_LEN];
    struct pv_error err = {0};
    memset(f, 0, sizeof *f);
    const char *digits = what[0] == '#' ? what + 1 : what;
    bool numeric = digits[0] != '\0' && strspn(digits, "0123456789") == strlen(digits);
    if (what[0] != '#' && pv_ledger_mac_normalize(what, mac) == PV_OK) {
        f->mac = what;
        return CLI_OK;
    }
    if (what[0] != '#') {
        int n = 0;
        f->device_id = what;
        if (pv_ledger_foreach(lg, f, count_row, &n, &err) != PV_OK) {
            return cli_fail_err(&err);
        }
        if (n > 0 || !numeric) {
            return CLI_OK;
        }
        f->device_id = NULL;
    }
    if (!numeric || strlen(digits) > 18) {
        return cli_usage_error(usage, "'%s' is not an attempt number", what);
    }
    f->id = strtoll(digits, NULL, 10);
    if (f->id == 0) {
        return cli_usage_error(usage, "attempt numbers start at 1");
    }
    return CLI_OK;
}

static int run_show(struct pv_ledger *lg, const struct options *o, const char *what)
{
    struct pv_ledger_filter f;
    int rc = resolve_show(lg, what, &f);
    if (rc != CLI_OK) {
        return rc;
    }
    struct pv_error err = {0};
    int count = 0;
    if (pv_ledger_foreach(lg, &f, count_row, &count, &err) != PV_OK) {
        return cli_fail_err(&err);
    }
    if (count == 0) {
        return cli_fail("'espprov ledger list' shows what is there",
                        "no board or attempt matches '%s'", what);
    }
    if (o->json) {
        rc = pv_ledger_export(lg, &f, PV_LEDGER_JSON, stdout, &err);
    } else {
        count = 0;
        rc = pv_ledger_foreach(lg, &f, print_block, &count, &err);
    }
    return rc == PV_OK ? CLI_OK : err.msg[0] ? cli_fail_err(&err) : CLI_FAILED;
}

/* ===== export ========================================================== */

static int run_export(struct pv_ledger *lg, const struct options *o)
{
    enum pv_ledger_format format = o->csv ? PV_LEDGER_CSV : PV_LEDGER_JSON;
    struct pv_error err = {0};
    int rc = o->output ? pv_ledger_export_file(lg, &o->filter, format, o->output, &err)
                       : pv_ledger_export(lg, &o->filter, format, stdout, &err);
    return rc == PV_OK ? CLI_OK : cli_fail_err(&err);
}

/* ===== Entry =========================================================== */

static int parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        {"profile", required_argument, NULL, 'P'},
        {"ledger", required_argument, NULL, OPT_LEDGER},
        {"json", no_argument, NULL, OPT_JSON},
        {"csv", no_argument, NULL, OPT_CSV},
        {"output", required_argument, NULL, 'o'},
        {"status", required_argument, NULL, OPT_STATUS},
        {"mac", required_argument, NULL, OPT_MAC},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    char mac[PV_LEDGER_MAC_LEN];
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "P:o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'P':
            o->profile = optarg;
            break;
        case OPT_LEDGER:
            o->ledger = optarg;
            break;
        case OPT_JSON:
            o->json = true;
            break;
        case OPT_CSV:
            o->csv = true;
            break;
        case 'o':
            o->output = optarg;
            break;
        case OPT_STATUS:
            if (pv_ledger_state_parse(optarg, &o->filter.state) != PV_OK) {
                return cli_usage_error(usage,
                                       "--status: '%s' is not a state (running, interrupted, "
                                       "failed, provisioned, reset, revoked)",
                                       optarg);
            }
            o->filter.by_state = true;
            break;
        case OPT_MAC:
            if (pv_ledger_mac_normalize(optarg, mac) != PV_OK) {
                return cli_usage_error(usage, "--mac: '%s' is not a MAC address", optarg);
            }
            o->filter.mac = optarg;
            break;
        case 'h':
            return -1;
        default:
            return cli_usage_error(usage, "unknown option (see 'espprov ledger --help')");
        }
    }
    return CLI_OK;
}

int cmd_ledger(int argc, char **argv, struct cli_ctx *ctx)
{
    (void)ctx;
    if (argc < 2) {
        return cli_usage_error(usage, "say what to do: list, show or export");
    }
    const char *sub = argv[1];
    if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0) {
        return cli_help(usage);
    }
    struct options o = {0};
    int rc = parse_options(argc - 1, argv + 1, &o);
    if (rc == -1) {
        return cli_help(usage);
    }
    if (rc != CLI_OK) {
        return rc;
    }
    int rest = argc - 1 - optind;
    char **args = argv + 1 + optind;
    bool list = strcmp(sub, "list") == 0, show = strcmp(sub, "show") == 0,
         export = strcmp(sub, "export") == 0;
    if (!list && !show && !export) {
        return cli_usage_error(usage, "'%s' is not a ledger command (list, show, export)", sub);
    }
    if (rest != (show ? 1 : 0)) {
        return cli_usage_error(usage,
                               show ? "show needs one MAC, device id or attempt number"
                                    : "unexpected argument '%s'",
                               rest > 0 ? args[0] : "");
    }
    if (export && o.csv == o.json) {
        return cli_usage_error(usage, "export needs exactly one of --csv and --json");
    }
    if (!export && (o.csv || o.output)) {
        return cli_usage_error(usage, "--csv and --output are for export");
    }
    if (show && (o.filter.by_state || o.filter.mac)) {
        return cli_usage_error(usage, "--status and --mac are for list and export");
    }
    struct pv_ledger *lg = NULL;
    if ((rc = open_ledger(&o, &lg)) != CLI_OK) {
        return rc;
    }
    if ((rc = sync_revocations(&o, lg)) == CLI_OK) {
        rc = list ? run_list(lg, &o) : show ? run_show(lg, &o, args[0]) : run_export(lg, &o);
    }
    pv_ledger_close(lg);
    return rc;
}
