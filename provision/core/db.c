/*
 * The SQLite helper the ledger and the CA's issuance record share. A path in
 * a profile can name any file, so a file is identified before anything
 * writes to it: by the application id in its header, or, for files made
 * before espprov stamped one, by holding only tables espprov makes.
 */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "provision/core/core.h"

#define HEADER_LEN 100

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

static int pragma_int(struct sqlite3 *db, const char *pragma, int *out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, pragma, -1, &st, NULL);
    if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
        *out = sqlite3_column_int(st, 0);
        rc = SQLITE_OK;
    } else {
        rc = SQLITE_ERROR;
    }
    sqlite3_finalize(st);
    return rc;
}

/* ===== Whose file is it ================================================ */

enum owner {
    FILE_MISSING,
    FILE_EMPTY,   /* 0 bytes, or an SQLite file with nothing in it */
    FILE_OURS,    /* our application id */
    FILE_UNMARKED /* ours, made before the application id was stamped */
};

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Appends the names of the schema objects (tables, indexes, views,
 * triggers; not SQLite's own) of `db` to `list`, comma separated. */
static int object_names(struct sqlite3 *db, char *list, size_t cap, int *count)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' "
                           "ESCAPE '\\' ORDER BY name",
                           -1, &st, NULL) != SQLITE_OK) {
        return SQLITE_ERROR;
    }
    int rc;
    size_t used = strlen(list);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        int n = snprintf(list + used, cap - used, "%s%s,", used ? "" : ",", name ? name : "");
        used = n > 0 && (size_t)n < cap - used ? used + (size_t)n : cap - 1;
        (*count)++;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* ",a,b," with the objects our schema makes (run on an in-memory copy). */
static int our_objects(const struct pv_db_kind *kind, char *list, size_t cap)
{
    struct sqlite3 *mem = NULL;
    int count = 0;
    list[0] = '\0';
    int rc = sqlite3_open_v2(":memory:", &mem, SQLITE_OPEN_READWRITE, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_exec(mem, kind->schema, NULL, NULL, NULL);
    }
    if (rc == SQLITE_OK) {
        rc = object_names(mem, list, cap, &count);
    }
    sqlite3_close(mem);
    return rc;
}

/* True when every name in `theirs` (",a,b,") is in `ours`. */
static bool all_ours(const char *theirs, const char *ours)
{
    for (const char *p = theirs; *p == ',' && p[1] != '\0';) {
        const char *end = strchr(p + 1, ',');
        if (end == NULL) {
            return false;
        }
        char needle[160];
        int n = snprintf(needle, sizeof needle, "%.*s", (int)(end - p + 1), p);
        if (n <= 0 || (size_t)n >= sizeof needle || strstr(ours, needle) == NULL) {
            return false;
        }
        p = end;
    }
    return true;
}

static int refuse(const char *path, const struct pv_db_kind *kind, struct pv_error *err,
                  const char *why)
{
    return pv_error_set(err, PV_ERR_INVALID, kind->foreign_hint,
                        "'%s' %s, not an espprov %s; it was left untouched", path, why, kind->what);
}

/*
 * Looks at a file whose header has application id 0 through a read-only
 * connection, which neither writes to it nor rolls back a journal it finds,
 * but does read a WAL beside it: a file whose first transactions still sit
 * there (a process killed before a checkpoint) shows its real id, version
 * and tables.
 */
static int probe_unmarked(const char *path, const struct pv_db_kind *kind, enum owner *owner,
                          struct pv_error *err)
{
    struct sqlite3 *db = NULL;
    char theirs[512] = "", ours[1024];
    int count = 0, app_id = 0, user_version = 0;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(db, 10000);
        rc = object_names(db, theirs, sizeof theirs, &count);
    }
    if (rc == SQLITE_OK) {
        rc = pragma_int(db, "PRAGMA application_id", &app_id);
    }
    if (rc == SQLITE_OK) {
        rc = pragma_int(db, "PRAGMA user_version", &user_version);
    }
    if (rc != SQLITE_OK) {
        pv_error_set(err, PV_ERR_DB, kind->foreign_hint,
                     "cannot read '%s' to see whether it is an espprov %s: %s", path, kind->what,
                     db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return PV_ERR_DB;
    }
    sqlite3_close(db);
    if ((uint32_t)app_id == kind->application_id) {
        *owner = FILE_OURS;
        return PV_OK;
    }
    if (app_id != 0) {
        char why[160];
        snprintf(why, sizeof why,
                 "belongs to another program (SQLite application id 0x%08x; an espprov %s has "
                 "0x%08x)",
                 (unsigned)app_id, kind->what, (unsigned)kind->application_id);
        return refuse(path, kind, err, why);
    }
    if (count == 0 && user_version == 0) {
        *owner = FILE_EMPTY; /* nothing in it that could be lost */
        return PV_OK;
    }
    if (our_objects(kind, ours, sizeof ours) != SQLITE_OK) {
        return pv_error_set(err, PV_ERR_DB, NULL, "cannot check the %s schema", kind->what);
    }
    if (count > 0 && user_version >= 1 && user_version <= kind->version && all_ours(theirs, ours)) {
        *owner = FILE_UNMARKED;
        return PV_OK;
    }
    char why[600];
    size_t len = strlen(theirs);
    if (len > 2) {
        theirs[len - 1] = '\0'; /* drop the commas at both ends */
        snprintf(why, sizeof why, "is an SQLite file with tables espprov does not make (%s)",
                 theirs + 1);
    } else {
        snprintf(why, sizeof why, "is an SQLite file with schema version %d but no tables",
                 user_version);
    }
    return refuse(path, kind, err, why);
}

/* True when SQLite's WAL beside `path` holds something. */
static bool wal_has_data(const char *path)
{
    char *wal = NULL;
    struct stat st;
    bool has = asprintf(&wal, "%s-wal", path) >= 0 && stat(wal, &st) == 0 && st.st_size > 0;
    free(wal);
    return has;
}

/*
 * The first bytes of `path`, read through SQLite's own file layer. A plain
 * open() and close() here would be a bug: closing any descriptor of a file
 * drops every POSIX lock this process holds on it, so a connection already
 * open to it (the CA's, while a job checks the record) would lose its locks,
 * and another process could then delete the WAL its next commits go to.
 * SQLite's close keeps the descriptor open while such locks exist.
 */
static int read_header(const char *path, unsigned char *h, size_t cap, size_t *got)
{
    sqlite3_vfs *vfs = sqlite3_vfs_find(NULL);
    sqlite3_file *f = vfs ? calloc(1, (size_t)vfs->szOsFile) : NULL;
    if (f == NULL) {
        return SQLITE_NOMEM;
    }
    int out_flags = 0;
    int rc = vfs->xOpen(vfs, path, f, SQLITE_OPEN_READONLY | SQLITE_OPEN_MAIN_DB, &out_flags);
    sqlite3_int64 size = 0;
    if (rc == SQLITE_OK) {
        rc = f->pMethods->xFileSize(f, &size);
    }
    *got = size < (sqlite3_int64)cap ? (size_t)size : cap;
    if (rc == SQLITE_OK && *got > 0) {
        rc = f->pMethods->xRead(f, h, (int)*got, 0);
    }
    if (f->pMethods != NULL) {
        f->pMethods->xClose(f);
    }
    free(f);
    return rc;
}

static int probe(const char *path, const struct pv_db_kind *kind, enum owner *owner,
                 struct pv_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT) {
            *owner = FILE_MISSING;
            return PV_OK;
        }
        return pv_error_set(err, PV_ERR_IO, NULL, "cannot open %s '%s': %s", kind->what, path,
                            strerror(errno));
    }
    unsigned char h[HEADER_LEN];
    size_t got = 0;
    int rc =
        S_ISREG(st.st_mode) && st.st_size > 0 ? read_header(path, h, sizeof h, &got) : SQLITE_OK;
    if (rc != SQLITE_OK) {
        return pv_error_set(err, PV_ERR_IO, "check the file's permissions",
                            "cannot read %s '%s': %s", kind->what, path, sqlite3_errstr(rc));
    }
    if (!S_ISREG(st.st_mode)) {
        return refuse(path, kind, err, "is not a regular file");
    }
    if (st.st_size == 0) {
        if (wal_has_data(path)) {
            return probe_unmarked(path, kind, owner, err);
        }
        *owner = FILE_EMPTY;
        return PV_OK;
    }
    if (got < HEADER_LEN || memcmp(h, "SQLite format 3", 16) != 0) {
        return refuse(path, kind, err, "is not an SQLite file");
    }
    uint32_t app_id = be32(h + 68);
    if (app_id == kind->application_id) {
        *owner = FILE_OURS;
        return PV_OK;
    }
    if (app_id != 0) {
        char why[160];
        snprintf(why, sizeof why,
                 "belongs to another program (SQLite application id 0x%08x; an espprov %s has "
                 "0x%08x)",
                 (unsigned)app_id, kind->what, (unsigned)kind->application_id);
        return refuse(path, kind, err, why);
    }
    return probe_unmarked(path, kind, owner, err);
}

/* ===== Open ============================================================ */

/*
 * A new file's schema, application id and user_version in one transaction,
 * before WAL is switched on, so the main file's header carries the id from
 * the first commit (a probe reads only the main file). Another process may
 * have set it up meanwhile: the check runs inside the write lock.
 */
static int set_up(struct sqlite3 *db, const struct pv_db_kind *kind, struct pv_error *err)
{
    char stamp[96];
    snprintf(stamp, sizeof stamp, "PRAGMA application_id=%d; PRAGMA user_version=%d;",
             (int)kind->application_id, kind->version);
    int have = 0;
    int rc = pv_db_exec(db, "BEGIN IMMEDIATE;", err);
    if (rc == PV_OK && pragma_int(db, "PRAGMA user_version", &have) != SQLITE_OK) {
        rc = pv_error_set(err, PV_ERR_DB, NULL, "%s", sqlite3_errmsg(db));
    }
    if (rc == PV_OK && have == 0) {
        rc = pv_db_exec(db, kind->schema, err);
        if (rc == PV_OK) {
            rc = pv_db_exec(db, stamp, err);
        }
    }
    if (rc == PV_OK) {
        rc = pv_db_exec(db, "COMMIT;", err);
    }
    if (rc != PV_OK) {
        sqlite3_exec(db, "ROLLBACK;", NULL, NULL, NULL);
    }
    return rc;
}

/*
 * An older file brought up to this release's schema. The version is read
 * again under the write lock: another process may have upgraded it while
 * this one waited.
 */
static int upgrade(struct sqlite3 *db, const char *path, const struct pv_db_kind *kind, int from,
                   bool writer, struct pv_error *err)
{
    if (sqlite3_db_readonly(db, "main") == 1) {
        if (!writer) {
            return PV_OK; /* the old schema reads the same; nothing will be written */
        }
        return pv_error_set(err, PV_ERR_DB, "make the file writable, then run again",
                            "%s '%s' has an older schema and is read-only, so it cannot be "
                            "upgraded from version %d to %d",
                            kind->what, path, from, kind->version);
    }
    int have = from;
    int rc = pv_db_exec(db, "BEGIN IMMEDIATE;", err);
    if (rc == PV_OK && pragma_int(db, "PRAGMA user_version", &have) != SQLITE_OK) {
        rc = pv_error_set(err, PV_ERR_DB, NULL, "%s", sqlite3_errmsg(db));
    }
    if (rc == PV_OK && have >= 1 && have < kind->version) {
        rc = kind->migrate(db, have, err);
        if (rc == PV_OK) {
            char stamp[48];
            snprintf(stamp, sizeof stamp, "PRAGMA user_version=%d;", kind->version);
            rc = pv_db_exec(db, stamp, err);
        }
    }
    if (rc == PV_OK) {
        rc = pv_db_exec(db, "COMMIT;", err);
    }
    if (rc != PV_OK) {
        sqlite3_exec(db, "ROLLBACK;", NULL, NULL, NULL);
        pv_error_prefix(err,
                        "cannot upgrade %s '%s' from schema version %d to %d (it was left "
                        "as it was)",
                        kind->what, path, from, kind->version);
    }
    return rc;
}

int pv_db_open(const char *path, const struct pv_db_kind *kind, unsigned flags,
               struct sqlite3 **out, struct pv_error *err)
{
    *out = NULL;
    enum owner owner = FILE_MISSING;
    if (probe(path, kind, &owner, err) != PV_OK) {
        return err->code;
    }
    bool create = (flags & PV_DB_CREATE) != 0;
    if ((owner == FILE_MISSING || owner == FILE_EMPTY) && !create) {
        return pv_error_set(err, PV_ERR_NOT_FOUND, kind->missing_hint, "no %s at '%s' yet%s",
                            kind->what, path, owner == FILE_EMPTY ? " (the file is empty)" : "");
    }
    if (owner == FILE_MISSING) {
        /* Created here so it is 0600 from the first byte: it names devices
         * and certificate serials, which are nobody else's business. */
        int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 && errno != EEXIST) {
            return pv_error_set(err, PV_ERR_IO, "check that the folder exists and is writable",
                                "cannot create %s '%s': %s", kind->what, path, strerror(errno));
        }
        if (fd >= 0) {
            close(fd);
        }
    }
    struct sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, NULL) !=
        SQLITE_OK) {
        pv_error_set(err, PV_ERR_DB, NULL, "cannot open %s '%s': %s", kind->what, path,
                     db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return PV_ERR_DB;
    }
    sqlite3_busy_timeout(db, 10000);
    int rc = PV_OK;
    if (owner == FILE_MISSING || owner == FILE_EMPTY) {
        rc = set_up(db, kind, err);
    } else if (owner == FILE_UNMARKED && create) {
        /* Ours from before the stamp: stamped now, so the next open knows. */
        char stamp[64];
        snprintf(stamp, sizeof stamp, "PRAGMA application_id=%d;", (int)kind->application_id);
        rc = pv_db_exec(db, stamp, err);
    }
    int have = 0;
    if (rc == PV_OK &&
        (pv_db_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;",
                    err) != PV_OK ||
         pragma_int(db, "PRAGMA user_version", &have) != SQLITE_OK)) {
        rc = err->code != PV_OK ? err->code : PV_ERR_DB;
        if (err->code == PV_OK) {
            pv_error_set(err, PV_ERR_DB, NULL, "%s", sqlite3_errmsg(db));
        }
    }
    if (rc != PV_OK) {
        pv_error_prefix(err, "cannot set up %s '%s'", kind->what, path);
    } else if (have > kind->version) {
        rc = pv_error_set(err, PV_ERR_DB, "use the espprov release that wrote it, or a newer one",
                          "%s '%s' has schema version %d, newer than this espprov (%d)", kind->what,
                          path, have, kind->version);
    } else if (have >= 1 && have < kind->version && kind->migrate != NULL) {
        rc = upgrade(db, path, kind, have, create, err);
    }
    if (rc != PV_OK) {
        sqlite3_close(db);
        return rc;
    }
    *out = db;
    return PV_OK;
}

void pv_db_close(struct sqlite3 *db)
{
    sqlite3_close(db);
}
