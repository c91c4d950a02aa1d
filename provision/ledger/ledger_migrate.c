/*
 * Upgrading a ledger written by an older espprov. SQLite cannot change a
 * CHECK constraint in place, so the attempts table is made again and its
 * rows copied over, keeping their ids: an attempt number is printed on
 * results and named in other rows' revoke reasons, so it must never change
 * or be handed out twice.
 */
#include <stdio.h>

#include "provision/ledger/ledger_priv.h"

/* Version 1 -> 2: step 'write' joins the attempts table's CHECK list. */
static const char v1_to_v2[] =
    /* The view names the table; it is made again below. */
    "DROP VIEW IF EXISTS devices;\n"
    "ALTER TABLE attempts RENAME TO attempts_v1;\n"
    /* Dropping attempts_v1 below takes its indexes; the new table's take
     * their names. */
    LEDGER_SQL_ATTEMPTS "INSERT INTO attempts (" LEDGER_COLUMNS ")\n"
    "  SELECT " LEDGER_COLUMNS " FROM attempts_v1 ORDER BY id;\n"
    /* AUTOINCREMENT's high-water mark, which may be above the highest id
     * left (rows removed by hand): the copy only knows the ids it saw. */
    "DELETE FROM sqlite_sequence WHERE name = 'attempts';\n"
    "UPDATE sqlite_sequence SET name = 'attempts' WHERE name = 'attempts_v1';\n"
    "DROP TABLE attempts_v1;\n" LEDGER_SQL_ATTEMPTS_INDEXES LEDGER_SQL_DEVICES_VIEW;

int ledger_migrate(sqlite3 *db, int from_version, struct pv_error *err)
{
    if (from_version != 1) {
        return pv_error_set(err, PV_ERR_DB, "use the espprov release that wrote it",
                            "ledger: no upgrade from schema version %d", from_version);
    }
    return pv_db_exec(db, v1_to_v2, err);
}
