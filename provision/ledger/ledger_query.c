/*
 * Reading the ledger: rows, the questions the batch code asks (latest
 * attempt of a MAC, its current identity), walks with filters, and the names
 * and one-line descriptions people read.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provision/ledger/ledger_priv.h"

/* ===== Names =========================================================== */

static const struct {
    const char *step;   /* stored in attempts.step */
    const char *action; /* stored in attempts.failed_at: what could not be done */
} steps[] = {
    [PV_STEP_STARTED] = {"started", "start"},
    [PV_STEP_CONNECTED] = {"connected", "connect"},
    [PV_STEP_MINTED] = {"minted", "mint"},
    [PV_STEP_ERASED] = {"erased", "erase"},
    /* Not reaching "write" and not reaching "written" are the same failure
     * to a reader ("failed at write"), so the action has one owner: written. */
    [PV_STEP_WRITE] = {"write", NULL},
    [PV_STEP_WRITTEN] = {"written", "write"},
    [PV_STEP_VERIFIED] = {"verified", "verify"},
    /* Both final steps end with the hard reset that starts the firmware. */
    [PV_STEP_PROVISIONED] = {"provisioned", "reset"},
    [PV_STEP_RESET] = {"reset", "reset"},
};

static const char *const states[] = {
    [PV_STATE_RUNNING] = "running", [PV_STATE_INTERRUPTED] = "interrupted",
    [PV_STATE_FAILED] = "failed",   [PV_STATE_PROVISIONED] = "provisioned",
    [PV_STATE_RESET] = "reset",     [PV_STATE_REVOKED] = "revoked",
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

const char *pv_ledger_step_name(enum pv_ledger_step step)
{
    return (size_t)step < COUNT(steps) ? steps[step].step : "?";
}

const char *ledger_action_name(enum pv_ledger_step step)
{
    if (step == PV_STEP_WRITE) {
        step = PV_STEP_WRITTEN;
    }
    return (size_t)step < COUNT(steps) ? steps[step].action : "?";
}

bool ledger_step_from_name(const char *name, enum pv_ledger_step *out)
{
    for (size_t i = 0; i < COUNT(steps); i++) {
        if (strcmp(name, steps[i].step) == 0) {
            *out = (enum pv_ledger_step)i;
            return true;
        }
    }
    return false;
}

bool ledger_step_from_action(const char *name, enum pv_ledger_step *out)
{
    for (size_t i = 0; i < COUNT(steps); i++) {
        if (steps[i].action != NULL && strcmp(name, steps[i].action) == 0) {
            *out = (enum pv_ledger_step)i;
            return true;
        }
    }
    return false;
}

const char *pv_ledger_state_name(enum pv_ledger_state state)
{
    return (size_t)state < COUNT(states) ? states[state] : "?";
}

int pv_ledger_state_parse(const char *name, enum pv_ledger_state *out)
{
    for (size_t i = 0; name != NULL && i < COUNT(states); i++) {
        if (strcmp(name, states[i]) == 0) {
            *out = (enum pv_ledger_state)i;
            return PV_OK;
        }
    }
    return PV_ERR_INVALID;
}

const char *pv_ledger_kind_name(enum pv_ledger_kind kind)
{
    return kind == PV_LEDGER_RESET ? "reset" : "provision";
}

const char *pv_ledger_reprovision_name(enum pv_ledger_reprovision mode)
{
    return mode == PV_REPROVISION_RENEW ? "renew" : mode == PV_REPROVISION_KEEP ? "keep" : "";
}

void pv_ledger_describe(const struct pv_ledger_row *row, char *buf, size_t cap)
{
    switch (row->state) {
    case PV_STATE_RUNNING:
        snprintf(buf, cap, "running (%s)", pv_ledger_step_name(row->step));
        break;
    case PV_STATE_INTERRUPTED:
        snprintf(buf, cap, "interrupted at %s", pv_ledger_step_name(row->step));
        break;
    case PV_STATE_FAILED:
        snprintf(buf, cap, "failed at %s: %s%s", ledger_action_name(row->failed_step), row->error,
                 row->revoked_at[0] ? " (certificate revoked)" : "");
        break;
    case PV_STATE_REVOKED:
        snprintf(buf, cap, "revoked (%s)", row->revoke_reason);
        break;
    case PV_STATE_RESET:
        /* The erase took the certificate off the board, not out of the
         * CA's record: while it is live the broker still accepts it. */
        snprintf(buf, cap, "reset%s",
                 row->cert_serial[0] == '\0' ? ""
                 : row->revoked_at[0]        ? " (certificate revoked)"
                                             : " (certificate still live)");
        break;
    default:
        snprintf(buf, cap, "%s", pv_ledger_state_name(row->state));
        break;
    }
}

int pv_ledger_mac_normalize(const char *text, char out[PV_LEDGER_MAC_LEN])
{
    uint8_t octets[8];
    size_t n = 0;
    const char *p = text;
    char sep = 0;
    size_t len = text ? strlen(text) : 0;
    bool bare = len == 12 || len == 16;
    while (p != NULL && *p && n < 8) {
        if (!isxdigit((unsigned char)p[0]) || !isxdigit((unsigned char)p[1])) {
            return PV_ERR_INVALID;
        }
        char pair[3] = {p[0], p[1], '\0'};
        octets[n++] = (uint8_t)strtoul(pair, NULL, 16);
        p += 2;
        if (*p == '\0' || bare) {
            continue;
        }
        if ((*p != ':' && *p != '-') || (sep != 0 && *p != sep) || p[1] == '\0') {
            return PV_ERR_INVALID;
        }
        sep = *p++;
    }
    if (p == NULL || *p != '\0' || (n != 6 && n != 8) || (bare && sep != 0)) {
        return PV_ERR_INVALID;
    }
    for (size_t i = 0; i < n; i++) {
        snprintf(out + 3 * i, 4, i + 1 < n ? "%02x:" : "%02x", octets[i]);
    }
    return PV_OK;
}

/* ===== Rows ============================================================ */

static void col_text(sqlite3_stmt *st, int i, char *out, size_t cap)
{
    const unsigned char *s = sqlite3_column_text(st, i);
    snprintf(out, cap, "%s", s ? (const char *)s : "");
    /* Whatever a hand edit put there, what we hand out is clean text. */
    ledger_sanitize_text(out);
}

void ledger_read_row(struct pv_ledger *lg, sqlite3_stmt *st, struct pv_ledger_row *row)
{
    char kind[16], step[16], outcome[16], failed[16], repro[16];
    memset(row, 0, sizeof *row);
    row->id = sqlite3_column_int64(st, 0);
    col_text(st, 1, kind, sizeof kind);
    col_text(st, 2, step, sizeof step);
    col_text(st, 3, outcome, sizeof outcome);
    col_text(st, 4, failed, sizeof failed);
    col_text(st, 5, repro, sizeof repro);
    col_text(st, 6, row->profile, sizeof row->profile);
    col_text(st, 7, row->port, sizeof row->port);
    col_text(st, 8, row->owner, sizeof row->owner);
    col_text(st, 9, row->mac, sizeof row->mac);
    col_text(st, 10, row->chip, sizeof row->chip);
    row->flash_size = (uint64_t)sqlite3_column_int64(st, 11);
    row->seq = sqlite3_column_int64(st, 12);
    col_text(st, 13, row->device_id, sizeof row->device_id);
    col_text(st, 14, row->cert_serial, sizeof row->cert_serial);
    col_text(st, 15, row->cert_sha256, sizeof row->cert_sha256);
    col_text(st, 16, row->cert_not_after, sizeof row->cert_not_after);
    col_text(st, 17, row->firmware_sha256, sizeof row->firmware_sha256);
    col_text(st, 18, row->fs_sha256, sizeof row->fs_sha256);
    col_text(st, 19, row->error, sizeof row->error);
    col_text(st, 20, row->started_at, sizeof row->started_at);
    col_text(st, 21, row->updated_at, sizeof row->updated_at);
    col_text(st, 22, row->ended_at, sizeof row->ended_at);
    col_text(st, 23, row->revoked_at, sizeof row->revoked_at);
    col_text(st, 24, row->revoke_reason, sizeof row->revoke_reason);

    row->kind = strcmp(kind, "reset") == 0 ? PV_LEDGER_RESET : PV_LEDGER_PROVISION;
    if (!ledger_step_from_name(step, &row->step)) {
        row->step = PV_STEP_STARTED;
    }
    if (!ledger_step_from_action(failed, &row->failed_step)) {
        row->failed_step = row->step;
    }
    row->reprovision = strcmp(repro, "renew") == 0  ? PV_REPROVISION_RENEW
                       : strcmp(repro, "keep") == 0 ? PV_REPROVISION_KEEP
                                                    : PV_REPROVISION_NONE;
    if (strcmp(outcome, "running") == 0) {
        row->state = ledger_owner_alive(lg, row->owner) ? PV_STATE_RUNNING : PV_STATE_INTERRUPTED;
    } else if (strcmp(outcome, "interrupted") == 0) {
        row->state = PV_STATE_INTERRUPTED;
    } else if (strcmp(outcome, "failed") == 0) {
        row->state = PV_STATE_FAILED;
    } else if (row->kind == PV_LEDGER_RESET) {
        row->state = PV_STATE_RESET; /* what became of its certificate: pv_ledger_describe() */
    } else if (row->revoked_at[0] != '\0') {
        row->state = PV_STATE_REVOKED;
    } else {
        row->state = PV_STATE_PROVISIONED;
    }
}

/* One row for a query with a single text or integer parameter. */
static int one_row(struct pv_ledger *lg, const char *where, const struct ledger_param *param,
                   struct pv_ledger_row *row, const char *what, struct pv_error *err)
{
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT " LEDGER_COLUMNS " FROM attempts WHERE %s", where);
    pthread_mutex_lock(&lg->lock);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(lg->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        if (param->is_int) {
            sqlite3_bind_int64(st, 1, param->num);
        } else {
            sqlite3_bind_text(st, 1, param->text, -1, SQLITE_TRANSIENT);
        }
        rc = sqlite3_step(st);
    }
    int result = PV_OK;
    if (rc == SQLITE_ROW) {
        ledger_read_row(lg, st, row);
    } else if (rc == SQLITE_DONE) {
        result = pv_error_set(err, PV_ERR_NOT_FOUND, NULL, "ledger: %s", what);
    } else {
        result = ledger_db_error(lg, err, "cannot read");
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&lg->lock);
    return result;
}

int pv_ledger_get(struct pv_ledger *lg, int64_t id, struct pv_ledger_row *row, struct pv_error *err)
{
    char what[64];
    snprintf(what, sizeof what, "no attempt %lld", (long long)id);
    return one_row(lg, "id = ?1", &NUM(id), row, what, err);
}

static int mac_arg(const char *mac, char norm[PV_LEDGER_MAC_LEN], struct pv_error *err)
{
    if (mac == NULL || pv_ledger_mac_normalize(mac, norm) != PV_OK) {
        return pv_error_set(err, PV_ERR_INVALID, NULL, "ledger: '%.40s' is not a MAC address",
                            mac ? mac : "");
    }
    return PV_OK;
}

int pv_ledger_latest(struct pv_ledger *lg, const char *mac, struct pv_ledger_row *row,
                     struct pv_error *err)
{
    char norm[PV_LEDGER_MAC_LEN], what[80];
    if (mac_arg(mac, norm, err) != PV_OK) {
        return PV_ERR_INVALID;
    }
    snprintf(what, sizeof what, "no attempt for MAC %s", norm);
    return one_row(lg, "mac = ?1 ORDER BY id DESC LIMIT 1", &TXT(norm), row, what, err);
}

int pv_ledger_identity(struct pv_ledger *lg, const char *mac, struct pv_ledger_row *row,
                       struct pv_error *err)
{
    char norm[PV_LEDGER_MAC_LEN], what[80];
    if (mac_arg(mac, norm, err) != PV_OK) {
        return PV_ERR_INVALID;
    }
    snprintf(what, sizeof what, "no provisioned identity for MAC %s", norm);
    return one_row(lg,
                   "mac = ?1 AND kind = 'provision' AND outcome = 'done' AND revoked_at IS NULL "
                   "ORDER BY id DESC LIMIT 1",
                   &TXT(norm), row, what, err);
}

/* ===== Walks =========================================================== */

/* Rows are fetched in batches with the lock held, then handed to the
 * callback with it released, so the callback may use the handle. */
enum { BATCH = 32 };

static int fetch_batch(struct pv_ledger *lg, const struct pv_ledger_filter *f, const char *mac,
                       int64_t after, struct pv_ledger_row *rows, size_t *n, struct pv_error *err)
{
    static const char sql[] =
        "SELECT " LEDGER_COLUMNS " FROM attempts WHERE id > ?1 AND (?2 IS NULL OR mac = ?2) "
        "AND (?3 IS NULL OR device_id = ?3) AND (?4 IS NULL OR profile = ?4) "
        "AND (?5 = 0 OR id = ?5) ORDER BY id LIMIT ?6";
    pthread_mutex_lock(&lg->lock);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(lg->db, sql, -1, &st, NULL);
    *n = 0;
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, after);
        if (mac != NULL) {
            sqlite3_bind_text(st, 2, mac, -1, SQLITE_TRANSIENT);
        }
        if (f->device_id != NULL) {
            sqlite3_bind_text(st, 3, f->device_id, -1, SQLITE_TRANSIENT);
        }
        if (f->profile != NULL) {
            sqlite3_bind_text(st, 4, f->profile, -1, SQLITE_TRANSIENT);
        }
        sqlite3_bind_int64(st, 5, f->id);
        sqlite3_bind_int(st, 6, BATCH);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            ledger_read_row(lg, st, &rows[(*n)++]);
        }
    }
    sqlite3_finalize(st);
    int result = rc == SQLITE_DONE ? PV_OK : ledger_db_error(lg, err, "cannot list attempts");
    pthread_mutex_unlock(&lg->lock);
    return result;
}

int pv_ledger_foreach(struct pv_ledger *lg, const struct pv_ledger_filter *filter,
                      int (*fn)(const struct pv_ledger_row *row, void *arg), void *arg,
                      struct pv_error *err)
{
    static const struct pv_ledger_filter all = {0};
    const struct pv_ledger_filter *f = filter ? filter : &all;
    char norm[PV_LEDGER_MAC_LEN];
    if (f->mac != NULL && mac_arg(f->mac, norm, err) != PV_OK) {
        return PV_ERR_INVALID;
    }
    struct pv_ledger_row *rows = malloc(BATCH * sizeof *rows);
    if (rows == NULL) {
        return pv_error_set(err, PV_ERR_NOMEM, NULL, "out of memory");
    }
    int64_t after = 0;
    int rc = PV_OK;
    for (;;) {
        size_t n = 0;
        rc = fetch_batch(lg, f, f->mac ? norm : NULL, after, rows, &n, err);
        for (size_t i = 0; rc == PV_OK && i < n; i++) {
            after = rows[i].id;
            if (!f->by_state || rows[i].state == f->state) {
                rc = fn(&rows[i], arg);
            }
        }
        if (rc != PV_OK || n < BATCH) {
            break;
        }
    }
    free(rows);
    return rc;
}
