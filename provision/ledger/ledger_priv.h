/* Shared by provision/ledger*.c only. */
#ifndef ESPPROV_LEDGER_PRIV_H
#define ESPPROV_LEDGER_PRIV_H

#include <pthread.h>
#include <sqlite3.h>

#include "provision/core/core.h"
#include "provision/ledger/ledger.h"

/* 2: step 'write' (version-1 files are upgraded by ledger_migrate()). */
#define LEDGER_SCHEMA_VERSION 2
/* PRAGMA application_id: "EPLG", so a CA record or any other SQLite file
 * with the same user_version is never taken for a ledger. */
#define LEDGER_APPLICATION_ID 0x45504C47
#define LEDGER_MAX_SECRETS    16
#define LEDGER_NOW            "strftime('%Y-%m-%dT%H:%M:%fZ','now')"

/* The parts of the schema an upgrade makes again (ledger.c has the rest). */
#define LEDGER_SQL_ATTEMPTS                                                                        \
    "CREATE TABLE attempts (\n"                                                                    \
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"                                                    \
    "  kind TEXT NOT NULL CHECK (kind IN ('provision', 'reset')),\n"                               \
    "  step TEXT NOT NULL CHECK (step IN ('started', 'connected', 'minted', 'erased',\n"           \
    "    'write', 'written', 'verified', 'provisioned', 'reset')),\n"                              \
    "  outcome TEXT NOT NULL DEFAULT 'running'\n"                                                  \
    "    CHECK (outcome IN ('running', 'done', 'failed', 'interrupted')),\n"                       \
    "  failed_at TEXT CHECK (failed_at IN ('connect', 'mint', 'erase', 'write', 'verify',\n"       \
    "    'reset')),\n"                                                                             \
    "  reprovision TEXT NOT NULL DEFAULT '' CHECK (reprovision IN ('', 'renew', 'keep')),\n"       \
    "  profile TEXT NOT NULL,\n"                                                                   \
    "  port TEXT NOT NULL,\n"                                                                      \
    "  owner TEXT NOT NULL,\n"                                                                     \
    "  mac TEXT,\n"                                                                                \
    "  chip TEXT,\n"                                                                               \
    "  flash_size INTEGER,\n"                                                                      \
    "  seq INTEGER,\n"                                                                             \
    "  device_id TEXT,\n"                                                                          \
    "  cert_serial TEXT,\n"                                                                        \
    "  cert_sha256 TEXT,\n"                                                                        \
    "  cert_not_after TEXT,\n"                                                                     \
    "  firmware_sha256 TEXT,\n"                                                                    \
    "  fs_sha256 TEXT,\n"                                                                          \
    "  error TEXT,\n"                                                                              \
    "  started_at TEXT NOT NULL,\n"                                                                \
    "  updated_at TEXT NOT NULL,\n"                                                                \
    "  ended_at TEXT,\n"                                                                           \
    "  revoked_at TEXT,\n"                                                                         \
    "  revoke_reason TEXT\n"                                                                       \
    ");\n"
#define LEDGER_SQL_ATTEMPTS_INDEXES                                                                \
    "CREATE INDEX attempts_by_mac ON attempts (mac, id);\n"                                        \
    "CREATE INDEX attempts_by_device ON attempts (device_id, id);\n"                               \
    "CREATE INDEX attempts_by_serial ON attempts (cert_serial);\n"                                 \
    "CREATE INDEX attempts_running ON attempts (outcome) WHERE outcome = 'running';\n"
#define LEDGER_SQL_DEVICES_VIEW                                                                    \
    "CREATE VIEW devices AS SELECT * FROM attempts WHERE id IN\n"                                  \
    "  (SELECT max(id) FROM attempts WHERE mac IS NOT NULL GROUP BY mac);\n"

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

/* Upgrades a ledger of schema `from_version` to LEDGER_SCHEMA_VERSION inside
 * the caller's transaction (struct pv_db_kind's migrate). */
int ledger_migrate(sqlite3 *db, int from_version, struct pv_error *err);

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
