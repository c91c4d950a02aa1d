/*
 * The CA's issuance record: every certificate it signed (never a key), so any
 * of them can be revoked. One SQLite file next to the CA (profile ca.db);
 * rows are committed before a certificate leaves the library.
 */
#include <ctype.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/bn.h>

#include "provision/pki/pki_priv.h"

/* 2: the board's MAC beside a device certificate (one live certificate per
 * MAC, whatever id a {seq} template gives it). */
#define SCHEMA_VERSION 2
#define APPLICATION_ID 0x45504341 /* "EPCA"; the ledger is "EPLG" */

static const char schema[] = "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                             "CREATE TABLE issued ("
                             "  serial TEXT PRIMARY KEY,"
                             "  kind TEXT NOT NULL CHECK (kind IN ('device', 'server')),"
                             "  id TEXT NOT NULL,"
                             "  subject TEXT NOT NULL,"
                             "  sha256 TEXT NOT NULL,"
                             "  issued_at INTEGER NOT NULL,"
                             "  not_after INTEGER NOT NULL,"
                             "  revoked_at INTEGER,"
                             "  reason INTEGER,"
                             "  cert BLOB NOT NULL,"
                             "  mac TEXT);"
                             "CREATE INDEX issued_by_id ON issued (id);"
                             "CREATE INDEX issued_by_mac ON issued (mac);";

/* Version 1 -> 2: the MAC column, empty for what was issued before. */
static int migrate(struct sqlite3 *db, int from_version, struct pv_error *err)
{
    if (from_version != 1) {
        return pv_error_set(err, PV_ERR_DB, "use the espprov release that wrote it",
                            "issuance record: no upgrade from schema version %d", from_version);
    }
    return pv_db_exec(db,
                      "ALTER TABLE issued ADD COLUMN mac TEXT;"
                      "CREATE INDEX issued_by_mac ON issued (mac);",
                      err);
}

struct issued_db {
    sqlite3 *db;
    sqlite3_stmt *insert;
    pthread_mutex_t lock;
};

static int db_error(struct issued_db *d, struct pv_error *err, const char *what)
{
    return pv_error_set(err, PV_ERR_DB, NULL, "%s: %s", what, sqlite3_errmsg(d->db));
}

static int meta_get(struct issued_db *d, const char *key, char *out, size_t len)
{
    sqlite3_stmt *st = NULL;
    int found = 0;
    if (sqlite3_prepare_v2(d->db, "SELECT value FROM meta WHERE key = ?", -1, &st, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            snprintf(out, len, "%s", (const char *)sqlite3_column_text(st, 0));
            found = 1;
        }
    }
    sqlite3_finalize(st);
    return found;
}

static int meta_set(struct issued_db *d, const char *key, const char *value)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(d->db, "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", -1,
                                &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
    }
    sqlite3_finalize(st);
    return rc;
}

static const struct pv_db_kind kind = {
    .what = "issuance record",
    .application_id = APPLICATION_ID,
    .schema = schema,
    .version = SCHEMA_VERSION,
    .missing_hint = "create the CA with 'espprov ca init', or set .ca.db in the profile",
    .foreign_hint = "point .ca.db in the profile at a file of its own",
    .migrate = migrate,
};

int pv_issued_open(const char *path, const char *ca_sha256, bool create, struct issued_db **out,
                   struct pv_error *err)
{
    *out = NULL;
    struct issued_db *d = calloc(1, sizeof *d);
    if (d == NULL) {
        return pv_error_set(err, PV_ERR_NOMEM, NULL, "out of memory");
    }
    pthread_mutex_init(&d->lock, NULL);
    if (pv_db_open(path, &kind, create ? PV_DB_CREATE : 0, &d->db, err) != PV_OK) {
        pthread_mutex_destroy(&d->lock);
        free(d);
        return pv_error_prefix(err, "issuance record");
    }
    int rc = PV_OK;
    if (ca_sha256 != NULL) {
        char have[80];
        if (!meta_get(d, "ca_sha256", have, sizeof have)) {
            if (meta_set(d, "ca_sha256", ca_sha256) != SQLITE_OK) {
                rc = db_error(d, err, "cannot stamp the issuance record");
            }
        } else if (strcmp(have, ca_sha256) != 0) {
            rc = pv_error_set(err, PV_ERR_INVALID,
                              "each CA needs its own record: check .ca.db in the profile",
                              "the issuance record '%s' belongs to another CA", path);
        }
    }
    if (rc == PV_OK &&
        sqlite3_prepare_v2(d->db,
                           "INSERT INTO issued (serial, kind, id, subject, sha256, issued_at, "
                           "not_after, cert, mac) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           -1, &d->insert, NULL) != SQLITE_OK) {
        rc = db_error(d, err, "cannot prepare the issuance record");
    }
    if (rc != PV_OK) {
        pv_issued_close(d);
        return rc;
    }
    *out = d;
    return PV_OK;
}

void pv_issued_close(struct issued_db *d)
{
    if (d == NULL) {
        return;
    }
    sqlite3_finalize(d->insert);
    pv_db_close(d->db);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

static int insert_row(struct issued_db *d, const struct pv_issued *row, const char *subject,
                      const uint8_t *der, size_t der_len)
{
    sqlite3_stmt *st = d->insert;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    sqlite3_bind_text(st, 1, row->serial, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, row->kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, row->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, subject, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, row->sha256, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, row->issued_at);
    sqlite3_bind_int64(st, 7, row->not_after);
    sqlite3_bind_blob(st, 8, der, (int)der_len, SQLITE_STATIC);
    if (row->mac[0] != '\0') {
        sqlite3_bind_text(st, 9, row->mac, -1, SQLITE_STATIC);
    }
    int step = sqlite3_step(st);
    int ext = sqlite3_extended_errcode(d->db);
    sqlite3_reset(st);
    if (step == SQLITE_DONE) {
        return PV_OK;
    }
    return ext == SQLITE_CONSTRAINT_PRIMARYKEY ? PV_ERR_EXISTS : PV_ERR_DB;
}

int pv_issued_insert_many(struct issued_db *d, const struct pv_issued *const *rows,
                          const char *const *subjects, const uint8_t *const *ders,
                          const size_t *lens, size_t n, size_t *dup, struct pv_error *err)
{
    static const char lost[] = "cannot record the certificates (none was handed out)";
    pthread_mutex_lock(&d->lock);
    int rc = sqlite3_exec(d->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK
                 ? PV_OK
                 : db_error(d, err, lost);
    for (size_t i = 0; rc == PV_OK && i < n; i++) {
        rc = insert_row(d, rows[i], subjects[i], ders[i], lens[i]);
        if (rc == PV_ERR_EXISTS) {
            *dup = i;
        } else if (rc != PV_OK) {
            rc = db_error(d, err, lost);
        }
    }
    /* synchronous=FULL: the commit returns once the rows are on disk. */
    if (rc == PV_OK && sqlite3_exec(d->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        rc = db_error(d, err, lost);
    }
    if (rc != PV_OK) {
        sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
    }
    pthread_mutex_unlock(&d->lock);
    return rc;
}

static void row_from(sqlite3_stmt *st, struct pv_issued *r)
{
    memset(r, 0, sizeof *r);
    snprintf(r->serial, sizeof r->serial, "%s", (const char *)sqlite3_column_text(st, 0));
    snprintf(r->kind, sizeof r->kind, "%s", (const char *)sqlite3_column_text(st, 1));
    snprintf(r->id, sizeof r->id, "%s", (const char *)sqlite3_column_text(st, 2));
    snprintf(r->sha256, sizeof r->sha256, "%s", (const char *)sqlite3_column_text(st, 3));
    r->issued_at = sqlite3_column_int64(st, 4);
    r->not_after = sqlite3_column_int64(st, 5);
    r->revoked_at = sqlite3_column_type(st, 6) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 6);
    r->reason = sqlite3_column_int(st, 7);
    const unsigned char *mac = sqlite3_column_text(st, 8);
    snprintf(r->mac, sizeof r->mac, "%s", mac ? (const char *)mac : "");
}

#define ROW_COLUMNS      "serial, kind, id, sha256, issued_at, not_after, revoked_at, reason, mac"
#define ROW_COLUMN_COUNT 9 /* the first column after them */

static int each(struct issued_db *d, const char *sql, int (*fn)(void *, const struct pv_issued *),
                void *user, struct pv_error *err)
{
    pthread_mutex_lock(&d->lock);
    sqlite3_stmt *st = NULL;
    int rc = PV_OK;
    if (sqlite3_prepare_v2(d->db, sql, -1, &st, NULL) != SQLITE_OK) {
        rc = db_error(d, err, "cannot read the issuance record");
    }
    int step;
    while (rc == PV_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
        struct pv_issued r;
        row_from(st, &r);
        rc = fn(user, &r);
    }
    if (rc == PV_OK && step != SQLITE_DONE) {
        rc = db_error(d, err, "cannot read the issuance record");
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&d->lock);
    return rc;
}

int pv_issued_each_revoked(struct issued_db *d, int (*fn)(void *, const struct pv_issued *),
                           void *user, struct pv_error *err)
{
    return each(d, "SELECT " ROW_COLUMNS " FROM issued WHERE revoked_at IS NOT NULL ORDER BY rowid",
                fn, user, err);
}

int pv_issued_next_crl_number(struct issued_db *d, int64_t *out, struct pv_error *err)
{
    pthread_mutex_lock(&d->lock);
    char have[32] = "0";
    int rc = pv_db_exec(d->db, "BEGIN IMMEDIATE", err);
    if (rc == PV_OK) {
        meta_get(d, "crl_number", have, sizeof have);
        char next[32];
        *out = strtoll(have, NULL, 10) + 1;
        snprintf(next, sizeof next, "%lld", (long long)*out);
        if (meta_set(d, "crl_number", next) != SQLITE_OK) {
            rc = db_error(d, err, "cannot update the CRL number");
            sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
        } else {
            rc = pv_db_exec(d->db, "COMMIT", err);
        }
    }
    pthread_mutex_unlock(&d->lock);
    return rc;
}

/* ===== Public: listing and revocation (no CA key needed) ============== */

int pv_issued_list(const struct pv_profile *p, int (*fn)(void *, const struct pv_issued *),
                   void *user, struct pv_error *err)
{
    struct issued_db *d;
    if (pv_issued_open(p->ca.db, NULL, false, &d, err) != PV_OK) {
        return err->code;
    }
    int rc = each(d, "SELECT " ROW_COLUMNS " FROM issued ORDER BY rowid", fn, user, err);
    pv_issued_close(d);
    return rc;
}

struct live_walk {
    int64_t now;
    struct pv_issued *row;
    bool found;
};

static int keep_live(void *user, const struct pv_issued *row)
{
    struct live_walk *w = user;
    if (row->revoked_at == 0 && row->not_after > w->now) {
        *w->row = *row; /* issue order: the last one kept is the newest */
        w->found = true;
    }
    return 0;
}

int pv_issued_live_device(const struct pv_profile *p, const char *id, const char *mac, int64_t now,
                          struct pv_issued *row, struct pv_error *err)
{
    struct issued_db *d;
    if (pv_issued_open(p->ca.db, NULL, false, &d, err) != PV_OK) {
        return err->code;
    }
    struct live_walk w = {now, row, false};
    /* %Q of NULL is NULL, which matches nothing. */
    char *sql =
        sqlite3_mprintf("SELECT " ROW_COLUMNS " FROM issued WHERE kind = 'device' AND "
                        "(id = %Q OR mac = lower(%Q)) AND revoked_at IS NULL ORDER BY rowid",
                        id, mac);
    int rc = sql ? each(d, sql, keep_live, &w, err)
                 : pv_error_set(err, PV_ERR_NOMEM, NULL, "out of memory");
    sqlite3_free(sql);
    pv_issued_close(d);
    if (rc == PV_OK && !w.found) {
        rc = pv_error_set(err, PV_ERR_NOT_FOUND, NULL, "no live device certificate for '%s'",
                          id    ? id
                          : mac ? mac
                                : "");
    }
    return rc;
}

static const struct {
    const char *name;
    int code;
} crl_reasons[] = {
    {"unspecified", 0}, {"keyCompromise", 1},        {"affiliationChanged", 3},
    {"superseded", 4},  {"cessationOfOperation", 5},
};

int pv_crl_reason(const char *name)
{
    for (size_t i = 0; i < sizeof crl_reasons / sizeof crl_reasons[0]; i++) {
        if (strcmp(crl_reasons[i].name, name) == 0) {
            return crl_reasons[i].code;
        }
    }
    return -1;
}

const char *pv_crl_reason_name(int code)
{
    for (size_t i = 0; i < sizeof crl_reasons / sizeof crl_reasons[0]; i++) {
        if (crl_reasons[i].code == code) {
            return crl_reasons[i].name;
        }
    }
    return NULL;
}

/* "0a:1B:..." -> canonical uppercase hex without leading zeros. */
static int normalize_serial(const char *in, char *out, size_t len)
{
    char digits[128];
    size_t n = 0;
    for (const char *s = in; *s; s++) {
        if (*s == ':' || *s == ' ') {
            continue;
        }
        if (!isxdigit((unsigned char)*s) || n + 1 >= sizeof digits) {
            return PV_ERR_INVALID;
        }
        digits[n++] = *s;
    }
    digits[n] = '\0';
    BIGNUM *bn = NULL;
    if (n == 0 || !BN_hex2bn(&bn, digits)) {
        BN_free(bn);
        return PV_ERR_INVALID;
    }
    char *hex = BN_bn2hex(bn);
    int rc = hex && strlen(hex) < len ? PV_OK : PV_ERR_INVALID;
    if (rc == PV_OK) {
        snprintf(out, len, "%s", hex);
    }
    OPENSSL_free(hex);
    BN_free(bn);
    return rc;
}

int pv_revoke(const struct pv_profile *p, const char *serial, const char *id, int reason,
              size_t *count, struct pv_error *err)
{
    *count = 0;
    char canon[48];
    if (serial != NULL && normalize_serial(serial, canon, sizeof canon) != PV_OK) {
        return pv_error_set(err, PV_ERR_INVALID, "give the serial in hex, as 'cert list' shows it",
                            "'%s' is not a certificate serial", serial);
    }
    if (reason < 0 || reason > 10 || reason == 7) {
        return pv_error_set(err, PV_ERR_INVALID, NULL, "%d is not a CRL reason code", reason);
    }
    struct issued_db *d;
    if (pv_issued_open(p->ca.db, NULL, false, &d, err) != PV_OK) {
        return err->code;
    }
    sqlite3_stmt *st = NULL;
    const char *sql = serial ? "UPDATE issued SET revoked_at = ?, reason = ? "
                               "WHERE serial = ? AND revoked_at IS NULL"
                             : "UPDATE issued SET revoked_at = ?, reason = ? "
                               "WHERE id = ? AND kind = 'device' AND revoked_at IS NULL";
    int rc = PV_OK;
    pthread_mutex_lock(&d->lock);
    if (sqlite3_prepare_v2(d->db, sql, -1, &st, NULL) != SQLITE_OK) {
        rc = db_error(d, err, "cannot revoke");
    } else {
        sqlite3_bind_int64(st, 1, (int64_t)time(NULL));
        sqlite3_bind_int(st, 2, reason);
        sqlite3_bind_text(st, 3, serial ? canon : id, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) {
            rc = db_error(d, err, "cannot revoke");
        } else {
            *count = (size_t)sqlite3_changes(d->db);
        }
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&d->lock);
    pv_issued_close(d);
    if (rc == PV_OK && *count == 0) {
        rc = pv_error_set(err, PV_ERR_NOT_FOUND, "'espprov cert list' shows what was issued",
                          serial ? "no unrevoked certificate with serial %s in the record"
                                 : "no unrevoked device certificate for id '%s' in the record",
                          serial ? canon : id);
    }
    return rc;
}

int pv_issued_cert(const struct pv_profile *p, const char *id, uint8_t **der, size_t *len,
                   struct pv_issued *row, struct pv_error *err)
{
    *der = NULL;
    *len = 0;
    struct issued_db *d;
    if (pv_issued_open(p->ca.db, NULL, false, &d, err) != PV_OK) {
        return err->code;
    }
    char serial[41] = "";
    bool by_serial = normalize_serial(id, serial, sizeof serial) == PV_OK;
    /* An id names its newest certificate; a serial exactly one. */
    const char *sql = "SELECT " ROW_COLUMNS ", cert FROM issued WHERE id = ?1 OR serial = ?2 "
                      "ORDER BY (serial = ?2) DESC, rowid DESC LIMIT 1";
    sqlite3_stmt *st = NULL;
    int rc = PV_OK;
    pthread_mutex_lock(&d->lock);
    if (sqlite3_prepare_v2(d->db, sql, -1, &st, NULL) != SQLITE_OK) {
        rc = db_error(d, err, "cannot read the CA record");
    } else {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, by_serial ? serial : "", -1, SQLITE_STATIC);
        int step = sqlite3_step(st);
        if (step == SQLITE_ROW) {
            row_from(st, row);
            int n = sqlite3_column_bytes(st, ROW_COLUMN_COUNT);
            const void *blob = sqlite3_column_blob(st, ROW_COLUMN_COUNT);
            if (n <= 0 || blob == NULL) {
                rc = pv_error_set(err, PV_ERR_DB, "the CA record may be damaged",
                                  "the record of %s holds no certificate", row->serial);
            } else if ((*der = malloc((size_t)n)) == NULL) {
                rc = pv_error_set(err, PV_ERR_NOMEM, NULL, "out of memory");
            } else {
                memcpy(*der, blob, (size_t)n);
                *len = (size_t)n;
            }
        } else if (step == SQLITE_DONE) {
            rc = pv_error_set(err, PV_ERR_NOT_FOUND, "'espprov cert list' shows what was issued",
                              "the CA has issued no certificate for '%s'", id);
        } else {
            rc = db_error(d, err, "cannot read the CA record");
        }
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&d->lock);
    pv_issued_close(d);
    return rc;
}
