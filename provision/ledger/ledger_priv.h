/* Shared by provision/ledger*.c only. */
#ifndef ESPPROV_LEDGER_PRIV_H
#define ESPPROV_LEDGER_PRIV_H

#include <pthread.h>
#include <sqlite3.h>

#include "provision/core/core.h"
#include "provision/ledger/ledger.h"

#define LEDGER_SCHEMA_VERSION 1
/* PRAGMA application_id: "EPLG", so a CA record or any other SQLite file
 * with the same user_version is never taken for a ledger. */
#define LEDGER_APPLICATION_ID 0x45504C47
#define LEDGER_MAX_SECRETS    16
#define LEDGER_NOW            "strftime('%Y-%m-%dT%H:%M:%fZ','now')"

struct pv_ledger {
    sqlite3 *db;
    pthread_mutex_t lock; /* one operation (one transaction) at a time */
    char owner[80];       /* this process: "<boot id>:<pid>:<start time>" */
    char *secrets[LEDGER_MAX_SECRETS];
    size_t nsecrets;
};

/* The columns every row read selects, in the order ledger_read_row() takes. */
#define LEDGER_COLUMNS                                                                             \
    "id, kind, step, outcome, failed_at, reprovision, profile, port, owner, mac, chip, "           \
    "flash_size, seq, device_id, cert_serial, cert_sha256, cert_not_after, "                       \
    "firmware_sha256, fs_sha256, error, started_at, updated_at, ended_at, revoked_at, "            \
    "revoke_reason"

/* Fills `row` from a statement positioned on a LEDGER_COLUMNS row (state
 * derived with the handle's owner check). */
void ledger_read_row(struct pv_ledger *lg, sqlite3_stmt *st, struct pv_ledger_row *row);
/* Whether the process named by an owner string is still running. */
bool ledger_owner_alive(const struct pv_ledger *lg, const char *owner);
/* Fills `out` with this process's owner string. */
void ledger_owner_self(char *out, size_t cap);

/* Step and action names <-> enum. */
const char *ledger_action_name(enum pv_ledger_step step);
bool ledger_step_from_name(const char *name, enum pv_ledger_step *out);
bool ledger_step_from_action(const char *name, enum pv_ledger_step *out);

/* A statement parameter: text (NULL or "" bind SQL NULL) or an integer. */
struct ledger_param {
    const char *text;
    int64_t num;
    bool is_int;
};
#define TXT(s) ((struct ledger_param){.text = (s)})
#define NUM(n) ((struct ledger_param){.num = (n), .is_int = true})

/* Locks the handle and starts an IMMEDIATE transaction. */
int ledger_txn_begin(struct pv_ledger *lg, struct pv_error *err);
/* Commits when rc is PV_OK (else rolls back), unlocks; returns the result. */
int ledger_txn_end(struct pv_ledger *lg, int rc, struct pv_error *err);
/* Runs one statement; returns the number of rows changed or an error. */
int ledger_run(struct pv_ledger *lg, const char *sql, const struct ledger_param *params, size_t n,
               struct pv_error *err);

/* Sets a PV_ERR_DB error from the connection's last error. */
int ledger_db_error(struct pv_ledger *lg, struct pv_error *err, const char *what);

/* Binds text, or SQL NULL for NULL and "". */
void ledger_bind_text(sqlite3_stmt *st, int i, const char *s);

/* PV_ERR_INVALID unless 1..max bytes ("the <what> is empty/too long"). */
int ledger_check_text(const char *what, const char *s, size_t max, struct pv_error *err);
/* Hex digits with optional ':' separators -> bare hex, case as asked. */
bool ledger_normalize_hex(const char *in, bool upper, char *out, size_t cap);
/* A certificate serial's one spelling: upper-case hex, no leading zeros. */
bool ledger_canon_serial(const char *in, char out[66]);
/* One SHA-256 in hex, or "0xOFFSET:SHA256" items joined by ','. */
bool ledger_valid_firmware_digests(const char *s);

/* A copy of `text` (NULL = "") fit for the file: registered secrets and PEM
 * private keys replaced by "[redacted]", cut to `cap` - 1 bytes on a
 * character boundary, sanitized as below. Caller frees; NULL if out of
 * memory. */
char *ledger_scrub(struct pv_ledger *lg, const char *text, size_t cap);
/* Replaces invalid UTF-8 with '?' and control characters with ' ' in place. */
void ledger_sanitize_text(char *s);

#endif
