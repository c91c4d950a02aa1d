/* A ledger written by an older espprov (schema version 1) upgraded on open. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"
#include "provision/core/core.h"
#include "provision/ledger/ledger.h"

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

/* Schema version 1 as espprov wrote it, before step 'write'. */
static const char schema_v1[] =
    "PRAGMA application_id = 1162890311;\n" /* 0x45504C47, "EPLG" */
    "CREATE TABLE attempts (\n"
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
    "  kind TEXT NOT NULL CHECK (kind IN ('provision', 'reset')),\n"
    "  step TEXT NOT NULL CHECK (step IN ('started', 'connected', 'minted', 'erased',\n"
    "    'written', 'verified', 'provisioned', 'reset')),\n"
    "  outcome TEXT NOT NULL DEFAULT 'running'\n"
    "    CHECK (outcome IN ('running', 'done', 'failed', 'interrupted')),\n"
    "  failed_at TEXT CHECK (failed_at IN ('connect', 'mint', 'erase', 'write', 'verify',\n"
    "    'reset')),\n"
    "  reprovision TEXT NOT NULL DEFAULT '' CHECK (reprovision IN ('', 'renew', 'keep')),\n"
    "  profile TEXT NOT NULL,\n"
    "  port TEXT NOT NULL,\n"
    "  owner TEXT NOT NULL,\n"
    "  mac TEXT,\n"
    "  chip TEXT,\n"
    "  flash_size INTEGER,\n"
    "  seq INTEGER,\n"
    "  device_id TEXT,\n"
    "  cert_serial TEXT,\n"
    "  cert_sha256 TEXT,\n"
    "  cert_not_after TEXT,\n"
    "  firmware_sha256 TEXT,\n"
    "  fs_sha256 TEXT,\n"
    "  error TEXT,\n"
    "  started_at TEXT NOT NULL,\n"
    "  updated_at TEXT NOT NULL,\n"
    "  ended_at TEXT,\n"
    "  revoked_at TEXT,\n"
    "  revoke_reason TEXT\n"
    ");\n"
    "CREATE INDEX attempts_by_mac ON attempts (mac, id);\n"
    "CREATE INDEX attempts_by_device ON attempts (device_id, id);\n"
    "CREATE INDEX attempts_by_serial ON attempts (cert_serial);\n"
    "CREATE INDEX attempts_running ON attempts (outcome) WHERE outcome = 'running';\n"
    "CREATE TABLE seq_numbers (\n"
    "  profile TEXT NOT NULL,\n"
    "  seq INTEGER NOT NULL CHECK (seq > 0),\n"
    "  mac TEXT NOT NULL,\n"
    "  assigned_at TEXT NOT NULL,\n"
    "  PRIMARY KEY (profile, seq),\n"
    "  UNIQUE (profile, mac)\n"
    ");\n"
    "CREATE VIEW devices AS SELECT * FROM attempts WHERE id IN\n"
    "  (SELECT max(id) FROM attempts WHERE mac IS NOT NULL GROUP BY mac);\n"
    "PRAGMA user_version = 1;\n"
    "PRAGMA journal_mode = WAL;\n";

/* Ids with gaps, and a high-water mark (12) above the highest id left, as
 * after rows removed by hand: a new attempt must get 13. */
static const char rows_v1[] =
    "INSERT INTO attempts (id, kind, step, outcome, profile, port, owner, mac, chip, seq, "
    "  device_id, cert_serial, cert_sha256, started_at, updated_at, ended_at)\n"
    "  VALUES (3, 'provision', 'provisioned', 'done', 'p', '/dev/ttyUSB0', 'x:1:1',\n"
    "  'a4:cf:12:00:00:01', 'esp32', 1, 'sensor-001', '0A', '" SHA_A "',\n"
    "  '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:01.000Z', '2026-01-01T00:00:01.000Z');\n"
    "INSERT INTO attempts (id, kind, step, outcome, failed_at, profile, port, owner, mac, error, "
    "  started_at, updated_at, ended_at)\n"
    "  VALUES (7, 'provision', 'minted', 'failed', 'write', 'p', '/dev/ttyUSB0', 'x:1:1',\n"
    "  'a4:cf:12:00:00:01', 'no reply', '2026-01-02T00:00:00.000Z',\n"
    "  '2026-01-02T00:00:01.000Z', '2026-01-02T00:00:01.000Z');\n"
    "INSERT INTO attempts (id, kind, step, profile, port, owner, mac, started_at, updated_at)\n"
    "  VALUES (10, 'provision', 'minted', 'p', '/dev/ttyUSB1', 'gone-boot:1:1',\n"
    "  'a4:cf:12:00:00:02', '2026-01-03T00:00:00.000Z', '2026-01-03T00:00:00.000Z');\n"
    "INSERT INTO seq_numbers VALUES ('p', 1, 'a4:cf:12:00:00:01', '2026-01-01T00:00:00.000Z');\n"
    "UPDATE sqlite_sequence SET seq = 12 WHERE name = 'attempts';\n";

struct fixture {
    char dir[64];
    char path[96];
};

static bool make_v1(struct fixture *f)
{
    snprintf(f->dir, sizeof f->dir, "/tmp/espprov-migrate-XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        return false;
    }
    snprintf(f->path, sizeof f->path, "%s/ledger.db", f->dir);
    sqlite3 *db = NULL;
    bool ok = sqlite3_open(f->path, &db) == SQLITE_OK &&
              sqlite3_exec(db, schema_v1, NULL, NULL, NULL) == SQLITE_OK &&
              sqlite3_exec(db, rows_v1, NULL, NULL, NULL) == SQLITE_OK;
    sqlite3_close(db);
    return ok;
}

static void remove_fixture(const struct fixture *f)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0) {
        printf("# could not remove %s\n", f->dir);
    }
}

/* One integer from SQL run on the file directly. */
static long long sql_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    long long v = -1;
    if (sqlite3_open(path, &db) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
        v = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void describe(struct pv_ledger *lg, int64_t id, char *buf, size_t cap)
{
    struct pv_ledger_row row;
    struct pv_error err;
    buf[0] = '\0';
    if (pv_ledger_get(lg, id, &row, &err) == PV_OK) {
        pv_ledger_describe(&row, buf, cap);
    }
}

TEST(a_version_1_ledger_is_upgraded_keeping_its_rows_and_ids)
{
    struct fixture f;
    ASSERT(make_v1(&f));
    struct pv_ledger *lg = NULL;
    struct pv_error err;
    ASSERT_MSG(pv_ledger_open(f.path, &lg, &err) == PV_OK, "%s", err.msg);

    struct pv_ledger_row row;
    char text[600];
    ASSERT_EQ_INT(pv_ledger_get(lg, 3, &row, &err), PV_OK);
    ASSERT_EQ_INT(row.state, PV_STATE_PROVISIONED);
    ASSERT_STREQ(row.cert_serial, "0A");
    ASSERT_STREQ(row.device_id, "sensor-001");
    describe(lg, 7, text, sizeof text);
    ASSERT_STREQ(text, "failed at write: no reply");
    describe(lg, 10, text, sizeof text);
    ASSERT_STREQ(text, "interrupted at minted");
    ASSERT_EQ_INT(pv_ledger_identity(lg, "a4:cf:12:00:00:01", &row, &err), PV_OK);
    ASSERT_EQ_INT(row.id, 3);

    /* Ids are never reused: past the old high-water mark, not the highest row. */
    int64_t id = 0, seq = 0;
    ASSERT_EQ_INT(pv_ledger_begin(lg, PV_LEDGER_PROVISION, "p", "/dev/ttyUSB2", &id, &err), PV_OK);
    ASSERT_EQ_INT(id, 13);
    ASSERT_EQ_INT(pv_ledger_connected(lg, id, "esp32", "a4:cf:12:00:00:03", 0, &err), PV_OK);
    ASSERT_EQ_INT(pv_ledger_take_seq(lg, id, &seq, &err), PV_OK);
    ASSERT_EQ_INT(seq, 2);
    struct pv_ledger_identity ident = {"sensor-002", "0B", SHA_A, 2000000000, PV_REPROVISION_NONE};
    ASSERT_EQ_INT(pv_ledger_minted(lg, id, &ident, &err), PV_OK);
    /* The step a version-1 file had no room for. */
    ASSERT_MSG(pv_ledger_step(lg, id, PV_STEP_WRITE, &err) == PV_OK, "%s", err.msg);
    describe(lg, id, text, sizeof text);
    ASSERT_STREQ(text, "running (write)");
    pv_ledger_close(lg);

    ASSERT_EQ_INT(sql_int(f.path, "PRAGMA user_version"), 2);
    ASSERT_EQ_INT(sql_int(f.path, "SELECT count(*) FROM attempts"), 4);
    ASSERT_EQ_INT(sql_int(f.path, "SELECT count(*) FROM sqlite_master WHERE name IN "
                                  "('devices', 'attempts_by_mac', 'attempts_by_device', "
                                  "'attempts_by_serial', 'attempts_running')"),
                  5);
    ASSERT_EQ_INT(sql_int(f.path, "SELECT count(*) FROM sqlite_master WHERE name LIKE '%v1%'"), 0);
    ASSERT_EQ_INT(sql_int(f.path, "SELECT count(*) FROM sqlite_sequence"), 1);
    ASSERT_EQ_INT(sql_int(f.path, "SELECT id FROM devices WHERE mac = 'a4:cf:12:00:00:01'"), 7);

    /* Opening it again changes nothing. */
    ASSERT_EQ_INT(pv_ledger_open(f.path, &lg, &err), PV_OK);
    ASSERT_EQ_INT(pv_ledger_begin(lg, PV_LEDGER_RESET, "p", "/dev/ttyUSB2", &id, &err), PV_OK);
    ASSERT_EQ_INT(id, 14);
    pv_ledger_close(lg);
    remove_fixture(&f);
}

TEST(a_reader_upgrades_too)
{
    struct fixture f;
    ASSERT(make_v1(&f));
    struct pv_ledger *lg = NULL;
    struct pv_error err;
    ASSERT_MSG(pv_ledger_open_existing(f.path, &lg, &err) == PV_OK, "%s", err.msg);
    char text[600];
    describe(lg, 7, text, sizeof text);
    ASSERT_STREQ(text, "failed at write: no reply");
    pv_ledger_close(lg);
    ASSERT_EQ_INT(sql_int(f.path, "PRAGMA user_version"), 2);
    remove_fixture(&f);
}

/* A file this process may not write (an archive, another user's) is still
 * read, as it is; writing to it is refused before anything changes. */
TEST(a_read_only_version_1_ledger_is_read_as_it_is)
{
    struct fixture f;
    ASSERT(make_v1(&f));
    /* The WAL's index must exist for a read-only connection to read it. */
    ASSERT_EQ_INT(sql_int(f.path, "PRAGMA wal_checkpoint(TRUNCATE)"), 0);
    ASSERT_EQ_INT(chmod(f.path, 0400), 0);
    if (geteuid() == 0 || access(f.path, W_OK) == 0) {
        printf("# skipped: root writes read-only files\n");
        remove_fixture(&f);
        return;
    }
    struct pv_ledger *lg = NULL;
    struct pv_error err;
    ASSERT_MSG(pv_ledger_open_existing(f.path, &lg, &err) == PV_OK, "%s", err.msg);
    char text[600];
    describe(lg, 7, text, sizeof text);
    ASSERT_STREQ(text, "failed at write: no reply");
    pv_ledger_close(lg);
    ASSERT_EQ_INT(pv_ledger_open(f.path, &lg, &err), PV_ERR_DB);
    ASSERT_CONTAINS(err.msg, "read-only");
    ASSERT_EQ_INT(sql_int(f.path, "PRAGMA user_version"), 1);
    remove_fixture(&f);
}

TEST(a_newer_ledger_is_refused)
{
    struct fixture f;
    ASSERT(make_v1(&f));
    sqlite3 *db = NULL;
    ASSERT_EQ_INT(sqlite3_open(f.path, &db), SQLITE_OK);
    ASSERT_EQ_INT(sqlite3_exec(db, "PRAGMA user_version = 3;", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    struct pv_ledger *lg = NULL;
    struct pv_error err;
    ASSERT_EQ_INT(pv_ledger_open(f.path, &lg, &err), PV_ERR_DB);
    ASSERT_CONTAINS(err.msg, "schema version 3, newer than this espprov (2)");
    ASSERT_CONTAINS(err.hint, "newer one");
    ASSERT_EQ_INT(pv_ledger_open_existing(f.path, &lg, &err), PV_ERR_DB);
    ASSERT(lg == NULL);
    ASSERT_EQ_INT(sql_int(f.path, "PRAGMA user_version"), 3);
    ASSERT_EQ_INT(sql_int(f.path, "SELECT count(*) FROM attempts"), 3);
    remove_fixture(&f);
}

TEST_MAIN(RUN(a_version_1_ledger_is_upgraded_keeping_its_rows_and_ids); RUN(a_reader_upgrades_too);
          RUN(a_read_only_version_1_ledger_is_read_as_it_is); RUN(a_newer_ledger_is_refused);)
