/*
 * The ledger file: its schema, opening it, the process identity that tells a
 * running attempt from an interrupted one, and the transaction helpers. The
 * steps are in ledger_steps.c, events in ledger_events.c, reads in
 * ledger_query.c, text checks and scrubbing in ledger_text.c.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "provision/ledger/ledger_priv.h"

/* As in version 1: an upgrade leaves it alone. */
#define SQL_SEQ_NUMBERS                                                                            \
    "CREATE TABLE seq_numbers (\n"                                                                 \
    "  profile TEXT NOT NULL,\n"                                                                   \
    "  seq INTEGER NOT NULL CHECK (seq > 0),\n"                                                    \
    "  mac TEXT NOT NULL,\n"                                                                       \
    "  assigned_at TEXT NOT NULL,\n"                                                               \
    "  PRIMARY KEY (profile, seq),\n"                                                              \
    "  UNIQUE (profile, mac)\n"                                                                    \
    ");\n"

static const char schema[] =
    LEDGER_SQL_ATTEMPTS LEDGER_SQL_ATTEMPTS_INDEXES SQL_SEQ_NUMBERS LEDGER_SQL_DEVICES_VIEW;

int ledger_db_error(struct pv_ledger *lg, struct pv_error *err, const char *what)
{
    return pv_error_set(err, PV_ERR_DB, NULL, "ledger: %s: %s", what, sqlite3_errmsg(lg->db));
}

/* ===== Process identity ================================================ */

static bool read_line(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "re");
    if (f == NULL) {
        return false;
    }
    bool ok = fgets(buf, (int)cap, f) != NULL;
    fclose(f);
    if (ok) {
        buf[strcspn(buf, "\n")] = '\0';
    }
    return ok;
}

/* Field 22 of /proc/<pid>/stat (start time in clock ticks since boot) and
 * the state letter; the command name in field 2 may hold spaces and
 * parentheses, so parsing starts after its last ')'. */
static bool proc_start_time(long pid, unsigned long long *start, char *state)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    if (!read_line(path, buf, sizeof buf)) {
        return false;
    }
    const char *p = strrchr(buf, ')');
    if (p == NULL || p[1] != ' ') {
        return false;
    }
    *state = p[2];
    p += 2;
    for (int field = 3; field < 22; field++) {
        p = strchr(p, ' ');
        if (p == NULL) {
            return false;
        }
        p++;
    }
    char *end = NULL;
    *start = strtoull(p, &end, 10);
    return end != p;
}

void ledger_owner_self(char *out, size_t cap)
{
    char boot[64];
    unsigned long long start = 0;
    char state = 0;
    if (!read_line("/proc/sys/kernel/random/boot_id", boot, sizeof boot)) {
        snprintf(boot, sizeof boot, "-");
    }
    if (!proc_start_time((long)getpid(), &start, &state)) {
        start = 0;
    }
    snprintf(out, cap, "%s:%ld:%llu", boot, (long)getpid(), start);
}

bool ledger_owner_alive(const struct pv_ledger *lg, const char *owner)
{
    if (strcmp(owner, lg->owner) == 0) {
        return true;
    }
    char boot[64];
    long pid = 0;
    unsigned long long start = 0;
    if (sscanf(owner, "%63[^:]:%ld:%llu", boot, &pid, &start) != 3 || pid <= 0) {
        return false;
    }
    size_t self_boot = strcspn(lg->owner, ":");
    if (strlen(boot) != self_boot || strncmp(boot, lg->owner, self_boot) != 0) {
        return false; /* rebooted since (WAL files are never shared across hosts) */
    }
    if (strcmp(boot, "-") == 0 || start == 0) {
        /* No /proc: a live pid is all we can know. */
        return kill((pid_t)pid, 0) == 0 || errno == EPERM;
    }
    unsigned long long now_start = 0;
    char state = 0;
    if (!proc_start_time(pid, &now_start, &state)) {
        return false;
    }
    return now_start == start && state != 'Z' && state != 'X';
}

/* ===== Open and close ================================================== */

static const struct pv_db_kind kind = {
    .what = "ledger",
    .application_id = LEDGER_APPLICATION_ID,
    .schema = schema,
    .version = LEDGER_SCHEMA_VERSION,
    .missing_hint = "nothing has been provisioned with this ledger yet, or the path is wrong",
    .foreign_hint = "point the profile's \"ledger\" (or --ledger) at a file of its own",
    .migrate = ledger_migrate,
};

static int open_ledger(const char *path, unsigned flags, struct pv_ledger **out,
                       struct pv_error *err)
{
    *out = NULL;
    struct pv_ledger *lg = calloc(1, sizeof *lg);
    if (lg == NULL) {
        return pv_error_set(err, PV_ERR_NOMEM, NULL, "out of memory");
    }
    int rc = pv_db_open(path, &kind, flags, &lg->db, err);
    if (rc != PV_OK) {
        free(lg);
        return rc;
    }
    pthread_mutex_init(&lg->lock, NULL);
    ledger_owner_self(lg->owner, sizeof lg->owner);
    *out = lg;
    return PV_OK;
}

int pv_ledger_open(const char *path, struct pv_ledger **out, struct pv_error *err)
{
    return open_ledger(path, PV_DB_CREATE, out, err);
}

int pv_ledger_open_existing(const char *path, struct pv_ledger **out, struct pv_error *err)
{
    return open_ledger(path, 0, out, err);
}

void pv_ledger_close(struct pv_ledger *lg)
{
    if (lg == NULL) {
        return;
    }
    for (size_t i = 0; i < lg->nsecrets; i++) {
        explicit_bzero(lg->secrets[i], strlen(lg->secrets[i]));
        free(lg->secrets[i]);
    }
    pv_db_close(lg->db);
    pthread_mutex_destroy(&lg->lock);
    free(lg);
}

int pv_ledger_add_secret(struct pv_ledger *lg, const char *secret, struct pv_error *err)
{
    if (secret == NULL || secret[0] == '\0') {
        return PV_OK; /* nothing to hide */
    }
    pthread_mutex_lock(&lg->lock);
    int rc = PV_OK;
    if (lg->nsecrets == LEDGER_MAX_SECRETS) {
        rc = pv_error_set(err, PV_ERR_INVALID, NULL, "ledger: more than %d secrets registered",
                          LEDGER_MAX_SECRETS);
    } else {
        char *copy = strdup(secret);
        if (copy == NULL) {
            rc = pv_error_set(err, PV_ERR_NOMEM, NULL, "out of memory");
        } else {
            /* Longest first, so a secret that contains another is still
             * replaced whole. */
            size_t i = lg->nsecrets++;
            while (i > 0 && strlen(lg->secrets[i - 1]) < strlen(copy)) {
                lg->secrets[i] = lg->secrets[i - 1];
                i--;
            }
            lg->secrets[i] = copy;
        }
    }
    pthread_mutex_unlock(&lg->lock);
    return rc;
}

/* ===== Transactions ==================================================== */

int ledger_txn_begin(struct pv_ledger *lg, struct pv_error *err)
{
    pthread_mutex_lock(&lg->lock);
    if (sqlite3_exec(lg->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        int rc = ledger_db_error(lg, err, "cannot start a transaction");
        pthread_mutex_unlock(&lg->lock);
        return rc;
    }
    return PV_OK;
}

int ledger_txn_end(struct pv_ledger *lg, int rc, struct pv_error *err)
{
    if (rc == PV_OK && sqlite3_exec(lg->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        rc = ledger_db_error(lg, err, "cannot commit");
    }
    if (rc != PV_OK) {
        sqlite3_exec(lg->db, "ROLLBACK", NULL, NULL, NULL);
    }
    pthread_mutex_unlock(&lg->lock);
    return rc;
}

/* Binds text, or NULL for NULL and "". */
void ledger_bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s == NULL || s[0] == '\0') {
        sqlite3_bind_null(st, i);
    } else {
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    }
}

int ledger_run(struct pv_ledger *lg, const char *sql, const struct ledger_param *params, size_t n,
               struct pv_error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(lg->db, sql, -1, &st, NULL) != SQLITE_OK) {
        return ledger_db_error(lg, err, "cannot prepare a statement");
    }
    for (size_t i = 0; i < n; i++) {
        if (params[i].is_int) {
            sqlite3_bind_int64(st, (int)i + 1, params[i].num);
        } else {
            ledger_bind_text(st, (int)i + 1, params[i].text);
        }
    }
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        return ledger_db_error(lg, err, "cannot update");
    }
    return sqlite3_changes(lg->db);
}
