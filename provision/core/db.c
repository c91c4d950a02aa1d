#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "provision/core/core.h"

int pv_db_exec(struct sqlite3 *db, const char *sql, struct pv_error *err)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        pv_error_set(err, PV_ERR_DB, NULL, "database statement failed: %s",
                     msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return PV_ERR_DB;
    }
    return PV_OK;
}

static int user_version(struct sqlite3 *db, int *out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
    if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
        *out = sqlite3_column_int(st, 0);
        rc = SQLITE_OK;
    } else {
        rc = SQLITE_ERROR;
    }
    sqlite3_finalize(st);
    return rc;
}

int pv_db_open(const char *path, const char *schema, int version, struct sqlite3 **out,
               struct pv_error *err)
{
    *out = NULL;
    /* Create the file ourselves so it is 0600 from the first byte: it names
     * devices and certificate serials, which are nobody else's business. */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        return pv_error_set(err, PV_ERR_IO, "check that the folder exists and is writable",
                            "cannot open database '%s': %s", path, strerror(errno));
    }
    close(fd);
    struct sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, NULL) !=
        SQLITE_OK) {
        pv_error_set(err, PV_ERR_DB, NULL, "cannot open database '%s': %s", path,
                     db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return PV_ERR_DB;
    }
    sqlite3_busy_timeout(db, 10000);
    int have = 0;
    if (pv_db_exec(db,
                   "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                   "PRAGMA foreign_keys=ON;",
                   err) != PV_OK ||
        user_version(db, &have) != SQLITE_OK) {
        pv_error_prefix(err, "'%s' is not a usable database", path);
        sqlite3_close(db);
        return PV_ERR_DB;
    }
    if (have > version) {
        sqlite3_close(db);
        return pv_error_set(err, PV_ERR_DB, "use the espprov release that wrote it, or a newer one",
                            "database '%s' has schema version %d, newer than this espprov (%d)",
                            path, have, version);
    }
    if (have < version) {
        char bump[64];
        snprintf(bump, sizeof bump, "PRAGMA user_version=%d;", version);
        if (pv_db_exec(db, "BEGIN IMMEDIATE;", err) != PV_OK ||
            pv_db_exec(db, schema, err) != PV_OK || pv_db_exec(db, bump, err) != PV_OK ||
            pv_db_exec(db, "COMMIT;", err) != PV_OK) {
            sqlite3_exec(db, "ROLLBACK;", NULL, NULL, NULL);
            pv_error_prefix(err, "cannot set up database '%s'", path);
            sqlite3_close(db);
            return PV_ERR_DB;
        }
    }
    *out = db;
    return PV_OK;
}

void pv_db_close(struct sqlite3 *db)
{
    sqlite3_close(db);
}
