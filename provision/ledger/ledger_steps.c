/*
 * Writing the ledger: each call is one short IMMEDIATE transaction that
 * reads the attempt, checks the move is forward, and updates the row; a crash
 * anywhere leaves the previous committed state.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "provision/ledger/ledger_priv.h"

/* A single integer from a query with up to two text parameters; *found
 * (may be NULL) says whether there was a row. */
static int query_int(struct pv_ledger *lg, const char *sql, const char *p1, const char *p2,
                     int64_t *out, bool *found, struct pv_error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(lg->db, sql, -1, &st, NULL) != SQLITE_OK) {
        return ledger_db_error(lg, err, "cannot prepare a query");
    }
    ledger_bind_text(st, 1, p1);
    if (p2 != NULL) {
        ledger_bind_text(st, 2, p2);
    }
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
    }
    if (found != NULL) {
        *found = rc == SQLITE_ROW;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        return ledger_db_error(lg, err, "cannot query");
    }
    return PV_OK;
}

/* ===== Checks ========================================================== */

struct current {
    enum pv_ledger_kind kind;
    enum pv_ledger_step step;
    char outcome[16];
    char profile[128];
    char mac[PV_LEDGER_MAC_LEN];
    int64_t seq;
};

static int load_current(struct pv_ledger *lg, int64_t id, struct current *c, struct pv_error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(lg->db,
                           "SELECT kind, step, outcome, profile, mac, seq FROM attempts "
                           "WHERE id = ?",
                           -1, &st, NULL) != SQLITE_OK) {
        return ledger_db_error(lg, err, "cannot read an attempt");
    }
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE) {
            return ledger_db_error(lg, err, "cannot read an attempt");
        }
        return pv_error_set(err, PV_ERR_NOT_FOUND, NULL, "ledger: no attempt %lld", (long long)id);
    }
    const char *kind = (const char *)sqlite3_column_text(st, 0);
    const char *step = (const char *)sqlite3_column_text(st, 1);
    c->kind = kind && strcmp(kind, "reset") == 0 ? PV_LEDGER_RESET : PV_LEDGER_PROVISION;
    if (step == NULL || !ledger_step_from_name(step, &c->step)) {
        c->step = PV_STEP_STARTED;
    }
    snprintf(c->outcome, sizeof c->outcome, "%s", sqlite3_column_text(st, 2));
    snprintf(c->profile, sizeof c->profile, "%s", sqlite3_column_text(st, 3));
    const unsigned char *mac = sqlite3_column_text(st, 4);
    snprintf(c->mac, sizeof c->mac, "%s", mac ? (const char *)mac : "");
    c->seq = sqlite3_column_int64(st, 5);
    sqlite3_finalize(st);
    return PV_OK;
}

static bool step_in_kind(enum pv_ledger_kind kind, enum pv_ledger_step step)
{
    if (step == PV_STEP_MINTED || step == PV_STEP_PROVISIONED) {
        return kind == PV_LEDGER_PROVISION;
    }
    if (step == PV_STEP_ERASED || step == PV_STEP_RESET) {
        return kind == PV_LEDGER_RESET;
    }
    return step >= PV_STEP_STARTED && step <= PV_STEP_RESET;
}

static int check_move(const struct current *c, int64_t id, enum pv_ledger_step to,
                      struct pv_error *err)
{
    if (strcmp(c->outcome, "running") != 0) {
        return pv_error_set(err, PV_ERR_INVALID, NULL, "ledger: attempt %lld already ended (%s)",
                            (long long)id, c->outcome);
    }
    if (!step_in_kind(c->kind, to)) {
        return pv_error_set(err, PV_ERR_INVALID, NULL, "ledger: a %s attempt has no step '%s'",
                            pv_ledger_kind_name(c->kind), pv_ledger_step_name(to));
    }
    if (to <= c->step) {
        return pv_error_set(err, PV_ERR_INVALID, NULL,
                            "ledger: attempt %lld is at '%s'; it cannot move to '%s'",
                            (long long)id, pv_ledger_step_name(c->step), pv_ledger_step_name(to));
    }
    return PV_OK;
}

/* Moves attempt `id` to `to` and sets the extra columns: `set` is SQL like
 * ", chip = ?3, mac = ?4" with params starting at ?3 (?1 = step, ?2 = id). */
static int advance(struct pv_ledger *lg, int64_t id, enum pv_ledger_step to, const char *set,
                   const struct ledger_param *params, size_t n, struct current *c,
                   struct pv_error *err)
{
    int rc = load_current(lg, id, c, err);
    if (rc == PV_OK) {
        rc = check_move(c, id, to, err);
    }
    if (rc != PV_OK) {
        return rc;
    }
    bool final = to == PV_STEP_PROVISIONED || to == PV_STEP_RESET;
    char sql[640];
    snprintf(sql, sizeof sql, "UPDATE attempts SET step = ?1, updated_at = %s%s%s WHERE id = ?2",
             LEDGER_NOW, final ? ", outcome = 'done', ended_at = " LEDGER_NOW : "", set ? set : "");
    struct ledger_param all[10];
    all[0] = TXT(pv_ledger_step_name(to));
    all[1] = NUM(id);
    for (size_t i = 0; i < n && i < 8; i++) {
        all[i + 2] = params[i];
    }
    rc = ledger_run(lg, sql, all, n + 2, err);
    return rc < 0 ? rc : PV_OK;
}

/* ===== The steps ======================================================= */

int pv_ledger_begin(struct pv_ledger *lg, enum pv_ledger_kind kind, const char *profile,
                    const char *port, int64_t *id, struct pv_error *err)
{
    if (ledger_check_text("profile name", profile, 127, err) != PV_OK ||
        ledger_check_text("port", port, 255, err) != PV_OK) {
        return PV_ERR_INVALID;
    }
    char *prof = ledger_scrub(lg, profile, 128);
    char *prt = ledger_scrub(lg, port, 256);
    int rc = prof && prt ? ledger_txn_begin(lg, err) : pv_error_set(err, PV_ERR_NOMEM, NULL, "oom");
    if (rc == PV_OK) {
        const struct ledger_param params[] = {TXT(kind == PV_LEDGER_RESET ? "reset" : "provision"),
                                              TXT(prof), TXT(prt), TXT(lg->owner)};
        rc = ledger_run(lg,
                        "INSERT INTO attempts (kind, step, profile, port, owner, started_at, "
                        "updated_at) VALUES (?1, 'started', ?2, ?3, ?4, " LEDGER_NOW ", " LEDGER_NOW
                        ")",
                        params, 4, err);
        rc = rc < 0 ? rc : PV_OK;
        if (rc == PV_OK) {
            *id = sqlite3_last_insert_rowid(lg->db);
        }
        rc = ledger_txn_end(lg, rc, err);
    }
    free(prof);
    free(prt);
    return rc;
}

int pv_ledger_connected(struct pv_ledger *lg, int64_t id, const char *chip, const char *mac,
                        uint64_t flash_size, struct pv_error *err)
{
    char norm[PV_LEDGER_MAC_LEN];
    if (ledger_check_text("chip name", chip, 31, err) != PV_OK) {
        return PV_ERR_INVALID;
    }
    if (mac == NULL || pv_ledger_mac_normalize(mac, norm) != PV_OK) {
        return pv_error_set(err, PV_ERR_INVALID, NULL, "ledger: '%.40s' is not a MAC address",
                            mac ? mac : "");
    }
    char *chp = ledger_scrub(lg, chip, 32);
    if (chp == NULL) {
        return pv_error_set(err, PV_ERR_NOMEM, NULL, "out of memory");
    }
    const struct ledger_param params[] = {TXT(chp), TXT(norm),
                                          flash_size ? NUM((int64_t)flash_size) : TXT(NULL)};
    struct current c;
    int rc = ledger_txn_begin(lg, err);
    if (rc == PV_OK) {
        rc = advance(lg, id, PV_STEP_CONNECTED, ", chip = ?3, mac = ?4, flash_size = ?5", params, 3,
                     &c, err);
        if (rc == PV_OK && c.kind == PV_LEDGER_RESET) {
            /* Record which identity the reset is about to wipe. */
            const struct ledger_param copy[] = {TXT(norm), NUM(id)};
            int n =
                ledger_run(lg,
                           "UPDATE attempts SET (device_id, seq, cert_serial, cert_sha256, "
                           "cert_not_after) = (SELECT device_id, seq, cert_serial, cert_sha256, "
                           "cert_not_after FROM attempts WHERE mac = ?1 AND kind = 'provision' "
                           "AND outcome = 'done' AND revoked_at IS NULL ORDER BY id DESC LIMIT 1) "
                           "WHERE id = ?2 AND EXISTS (SELECT 1 FROM attempts WHERE mac = ?1 AND "
                           "kind = 'provision' AND outcome = 'done' AND revoked_at IS NULL)",
                           copy, 2, err);
            rc = n < 0 ? n : PV_OK;
        }
        rc = ledger_txn_end(lg, rc, err);
    }
    free(chp);
    return rc;
}

int pv_ledger_take_seq(struct pv_ledger *lg, int64_t id, int64_t *seq, struct pv_error *err)
{
    struct current c;
    int rc = ledger_txn_begin(lg, err);
    if (rc != PV_OK) {
        return rc;
    }
    rc = load_current(lg, id, &c, err);
    if (rc == PV_OK && strcmp(c.outcome, "running") != 0) {
        rc = pv_error_set(err, PV_ERR_INVALID, NULL, "ledger: attempt %lld already ended",
                          (long long)id);
    } else if (rc == PV_OK && c.mac[0] == '\0') {
        rc = pv_error_set(err, PV_ERR_INVALID, NULL,
                          "ledger: attempt %lld has no MAC yet (record the connection first)",
                          (long long)id);
    }
    if (rc == PV_OK && c.seq > 0) {
        *seq = c.seq;
        return ledger_txn_end(lg, rc, err);
    }
    /* The board's own number if it has one, else one past the highest. */
    int64_t value = 0;
    bool known = false;
    if (rc == PV_OK) {
        rc = query_int(lg, "SELECT seq FROM seq_numbers WHERE profile = ?1 AND mac = ?2", c.profile,
                       c.mac, &value, &known, err);
    }
    if (rc == PV_OK && !known) {
        rc = query_int(lg, "SELECT coalesce(max(seq), 0) + 1 FROM seq_numbers WHERE profile = ?1",
                       c.profile, NULL, &value, NULL, err);
    }
    if (rc == PV_OK && !known) {
        const struct ledger_param ins[] = {TXT(c.profile), NUM(value), TXT(c.mac)};
        int n = ledger_run(lg,
                           "INSERT INTO seq_numbers (profile, seq, mac, assigned_at) VALUES "
                           "(?1, ?2, ?3, " LEDGER_NOW ")",
                           ins, 3, err);
        rc = n < 0 ? n : PV_OK;
    }
    if (rc == PV_OK) {
        const struct ledger_param upd[] = {NUM(value), NUM(id)};
        int n = ledger_run(
            lg, "UPDATE attempts SET seq = ?1, updated_at = " LEDGER_NOW " WHERE id = ?2", upd, 2,
            err);
        rc = n < 0 ? n : PV_OK;
        *seq = value;
    }
    return ledger_txn_end(lg, rc, err);
}

int pv_ledger_peek_seq(struct pv_ledger *lg, const char *profile, const char *mac, int64_t *seq,
                       bool *assigned, struct pv_error *err)
{
    char norm[PV_LEDGER_MAC_LEN];
    if (pv_ledger_mac_normalize(mac, norm) != PV_OK) {
        return pv_error_set(err, PV_ERR_INVALID, NULL, "ledger: '%.40s' is not a MAC address", mac);
    }
    bool known = false;
    pthread_mutex_lock(&lg->lock);
    int rc = query_int(lg, "SELECT seq FROM seq_numbers WHERE profile = ?1 AND mac = ?2", profile,
                       norm, seq, &known, err);
    if (rc == PV_OK && !known) {
        rc = query_int(lg, "SELECT coalesce(max(seq), 0) + 1 FROM seq_numbers WHERE profile = ?1",
                       profile, NULL, seq, NULL, err);
    }
    pthread_mutex_unlock(&lg->lock);
    if (assigned != NULL) {
        *assigned = known;
    }
    return rc;
}

int pv_ledger_minted(struct pv_ledger *lg, int64_t id, const struct pv_ledger_identity *ident,
                     struct pv_error *err)
{
    char serial[66], sha[66], not_after[32];
    if (ledger_check_text("device id", ident->device_id, 127, err) != PV_OK) {
        return PV_ERR_INVALID;
    }
    if (!ledger_canon_serial(ident->cert_serial, serial)) {
        return pv_error_set(err, PV_ERR_INVALID, NULL,
                            "ledger: the certificate serial must be up to 64 hex digits");
    }
    if (ident->cert_sha256 == NULL ||
        !ledger_normalize_hex(ident->cert_sha256, false, sha, sizeof sha) || strlen(sha) != 64) {
        return pv_error_set(err, PV_ERR_INVALID, NULL,
                            "ledger: the certificate fingerprint must be 64 hex digits");
    }
    if (ident->not_after == INT64_MAX) {
        /* "days": "never": RFC 5280's no-expiry date, which time_t cannot hold */
        snprintf(not_after, sizeof not_after, "9999-12-31T23:59:59Z");
    } else {
        time_t t = (time_t)ident->not_after;
        struct tm tm;
        if (ident->not_after <= 0 || gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 > 9999) {
            return pv_error_set(err, PV_ERR_INVALID, NULL,
                                "ledger: the certificate's not-after time is out of range");
        }
        strftime(not_after, sizeof not_after, "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    char *dev = ledger_scrub(lg, ident->device_id, 128);
    if (dev == NULL) {
        return pv_error_set(err, PV_ERR_NOMEM, NULL, "out of memory");
    }
    const struct ledger_param params[] = {TXT(dev), TXT(serial), TXT(sha), TXT(not_after),
                                          TXT(pv_ledger_reprovision_name(ident->reprovision))};
    struct current c;
    int rc = ledger_txn_begin(lg, err);
    if (rc == PV_OK) {
        rc = advance(lg, id, PV_STEP_MINTED,
                     ", device_id = ?3, cert_serial = ?4, cert_sha256 = ?5, "
                     "cert_not_after = ?6, reprovision = coalesce(?7, '')",
                     params, 5, &c, err);
        rc = ledger_txn_end(lg, rc, err);
    }
    free(dev);
    return rc;
}

int pv_ledger_written(struct pv_ledger *lg, int64_t id, const char *firmware_sha256,
                      const char *fs_sha256, struct pv_error *err)
{
    char fw[1024], fs[66];
    fw[0] = fs[0] = '\0';
    if (firmware_sha256 != NULL && firmware_sha256[0] != '\0') {
        if (strlen(firmware_sha256) >= sizeof fw ||
            !ledger_valid_firmware_digests(firmware_sha256)) {
            return pv_error_set(err, PV_ERR_INVALID, NULL,
                                "ledger: the firmware digest must be 64 hex digits or "
                                "0xOFFSET:DIGEST items separated by ','");
        }
        for (size_t i = 0; firmware_sha256[i]; i++) {
            fw[i] = (char)tolower((unsigned char)firmware_sha256[i]);
            fw[i + 1] = '\0';
        }
    }
    if (fs_sha256 != NULL && fs_sha256[0] != '\0' &&
        (!ledger_normalize_hex(fs_sha256, false, fs, sizeof fs) || strlen(fs) != 64)) {
        return pv_error_set(err, PV_ERR_INVALID, NULL,
                            "ledger: the filesystem digest must be 64 hex digits");
    }
    const struct ledger_param params[] = {TXT(fw), TXT(fs)};
    struct current c;
    int rc = ledger_txn_begin(lg, err);
    if (rc == PV_OK) {
        rc = advance(lg, id, PV_STEP_WRITTEN, ", firmware_sha256 = ?3, fs_sha256 = ?4", params, 2,
                     &c, err);
        rc = ledger_txn_end(lg, rc, err);
    }
    return rc;
}

int pv_ledger_step(struct pv_ledger *lg, int64_t id, enum pv_ledger_step step, struct pv_error *err)
{
    if (step != PV_STEP_ERASED && step != PV_STEP_WRITE && step != PV_STEP_VERIFIED &&
        step != PV_STEP_PROVISIONED && step != PV_STEP_RESET) {
        return pv_error_set(err, PV_ERR_INVALID, NULL,
                            "ledger: step '%s' carries data; use its own function",
                            pv_ledger_step_name(step));
    }
    struct current c;
    int rc = ledger_txn_begin(lg, err);
    if (rc == PV_OK) {
        rc = advance(lg, id, step, NULL, NULL, 0, &c, err);
        rc = ledger_txn_end(lg, rc, err);
    }
    return rc;
}

int pv_ledger_fail(struct pv_ledger *lg, int64_t id, enum pv_ledger_step failed_step,
                   const char *error, struct pv_error *err)
{
    char *text = ledger_scrub(lg, error && error[0] ? error : "unknown error", 512);
    if (text == NULL) {
        return pv_error_set(err, PV_ERR_NOMEM, NULL, "out of memory");
    }
    struct current c;
    int rc = ledger_txn_begin(lg, err);
    if (rc == PV_OK) {
        rc = load_current(lg, id, &c, err);
        /* The step that failed is one the attempt had not reached. */
        if (rc == PV_OK) {
            rc = check_move(&c, id, failed_step, err);
        }
        if (rc == PV_OK) {
            const struct ledger_param params[] = {TXT(ledger_action_name(failed_step)), TXT(text),
                                                  NUM(id)};
            int n = ledger_run(lg,
                               "UPDATE attempts SET outcome = 'failed', failed_at = ?1, "
                               "error = ?2, updated_at = " LEDGER_NOW ", ended_at = " LEDGER_NOW
                               " WHERE id = ?3",
                               params, 3, err);
            rc = n < 0 ? n : PV_OK;
        }
        rc = ledger_txn_end(lg, rc, err);
    }
    explicit_bzero(text, strlen(text));
    free(text);
    return rc;
}
