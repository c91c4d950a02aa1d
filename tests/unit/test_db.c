/*
 * core's SQLite helper through the ledger: a file that is not ours is refused
 * and left byte for byte as it was; readers never create a file; files of
 * ours from before the application id are recognised and stamped.
 */
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"
#include "provision/core/core.h"
#include "provision/ledger/ledger.h"

#define LEDGER_ID 0x45504C47

struct tmp {
    char dir[64];
    char path[128];
};

static bool mk(struct tmp *t, const char *name)
{
    snprintf(t->dir, sizeof t->dir, "/tmp/espprov-db-XXXXXX");
    if (mkdtemp(t->dir) == NULL) {
        return false;
    }
    snprintf(t->path, sizeof t->path, "%s/%s", t->dir, name);
    return true;
}

static void rm(struct tmp *t)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "could not remove %s\n", t->dir);
    }
}

static bool run_sql(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    bool ok = sqlite3_open(path, &db) == SQLITE_OK &&
              sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK;
    sqlite3_close(db);
    return ok;
}

static int app_id(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int id = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "PRAGMA application_id", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        id = sqlite3_column_int(st, 0);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return id;
}

static size_t slurp(const char *path, uint8_t *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, cap, f) : 0;
    if (f != NULL) {
        fclose(f);
    }
    return n;
}

static bool exists(const char *dir, const char *name)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return access(p, F_OK) == 0;
}

/* Opens `path` as a ledger both ways and checks it was refused untouched. */
static void refused_untouched(struct t_ctx *t_, const char *dir, const char *path, const char *want)
{
    static uint8_t before[1 << 16], after[1 << 16];
    size_t n = slurp(path, before, sizeof before);
    struct stat st0, st1;
    ASSERT(stat(path, &st0) == 0);
    struct pv_ledger *lg = NULL;
    struct pv_error err;
    ASSERT_EQ_INT(pv_ledger_open(path, &lg, &err), PV_ERR_INVALID);
    ASSERT(lg == NULL);
    ASSERT_CONTAINS(err.msg, want);
    ASSERT_CONTAINS(err.msg, "not an espprov ledger; it was left untouched");
    ASSERT_CONTAINS(err.hint, "\"ledger\"");
    ASSERT_EQ_INT(pv_ledger_open_existing(path, &lg, &err), PV_ERR_INVALID);
    ASSERT(stat(path, &st1) == 0);
    ASSERT_EQ_UINT(slurp(path, after, sizeof after), n);
    ASSERT(memcmp(before, after, n) == 0);
    ASSERT(st0.st_mtim.tv_sec == st1.st_mtim.tv_sec && st0.st_mtim.tv_nsec == st1.st_mtim.tv_nsec);
    ASSERT_EQ_UINT(st1.st_mode & 07777, st0.st_mode & 07777);
    ASSERT(!exists(dir, "x.db-wal") && !exists(dir, "x.db-shm") && !exists(dir, "x.db-journal"));
}

TEST(another_programs_sqlite_file_is_refused_and_untouched)
{
    struct tmp t;
    ASSERT(mk(&t, "x.db"));
    /* Its own application id, a table, a row. */
    ASSERT(run_sql(t.path, "PRAGMA application_id=305419896; CREATE TABLE notes (t TEXT);"
                           "INSERT INTO notes VALUES ('keep me');"));
    refused_untouched(t_, t.dir, t.path, "another program (SQLite application id 0x12345678");
    rm(&t);
}

TEST(unmarked_file_with_other_tables_is_refused_and_untouched)
{
    struct tmp t;
    ASSERT(mk(&t, "x.db"));
    /* No application id, like ours from before it; but not our tables. Even
     * one of our table names next to a foreign one is not enough. */
    ASSERT(run_sql(t.path, "CREATE TABLE attempts (id INTEGER); CREATE TABLE users (n TEXT);"
                           "INSERT INTO users VALUES ('alice'); PRAGMA user_version=1;"));
    refused_untouched(t_, t.dir, t.path, "tables espprov does not make (attempts,users)");
    rm(&t);
    /* A plain database with data and user_version 0. */
    ASSERT(mk(&t, "x.db"));
    ASSERT(run_sql(t.path, "CREATE TABLE seq_numbers (a); INSERT INTO seq_numbers VALUES (1);"));
    refused_untouched(t_, t.dir, t.path, "not an espprov ledger");
    rm(&t);
}

TEST(a_file_that_is_not_sqlite_is_refused_and_untouched)
{
    struct tmp t;
    ASSERT(mk(&t, "x.db"));
    FILE *f = fopen(t.path, "w");
    ASSERT(f != NULL);
    fputs("id,name\n1,not a database but longer than a header would be, by some margin, "
          "so that only the magic tells\n",
          f);
    fclose(f);
    refused_untouched(t_, t.dir, t.path, "is not an SQLite file");
    rm(&t);
}

TEST(readers_never_create_a_ledger)
{
    struct tmp t;
    ASSERT(mk(&t, "x.db"));
    struct pv_ledger *lg = NULL;
    struct pv_error err;
    ASSERT_EQ_INT(pv_ledger_open_existing(t.path, &lg, &err), PV_ERR_NOT_FOUND);
    ASSERT_CONTAINS(err.msg, "no ledger at '");
    ASSERT_CONTAINS(err.msg, "' yet");
    ASSERT(access(t.path, F_OK) != 0);
    /* An empty file (what `ca init` used to leave on a full disk) is no
     * ledger either, and stays empty. */
    int fd = open(t.path, O_CREAT | O_WRONLY, 0600);
    ASSERT(fd >= 0);
    close(fd);
    ASSERT_EQ_INT(pv_ledger_open_existing(t.path, &lg, &err), PV_ERR_NOT_FOUND);
    ASSERT_CONTAINS(err.msg, "(the file is empty)");
    struct stat st;
    ASSERT(stat(t.path, &st) == 0 && st.st_size == 0);
    ASSERT(!exists(t.dir, "x.db-wal"));
    /* A writer takes the empty file over, stamps it and makes it 0600. */
    ASSERT_EQ_INT(pv_ledger_open(t.path, &lg, &err), PV_OK);
    pv_ledger_close(lg);
    ASSERT_EQ_INT(app_id(t.path), LEDGER_ID);
    ASSERT_EQ_INT(pv_ledger_open_existing(t.path, &lg, &err), PV_OK);
    pv_ledger_close(lg);
    rm(&t);
}

TEST(new_ledger_carries_the_id_in_the_main_file)
{
    struct tmp t;
    ASSERT(mk(&t, "x.db"));
    struct pv_ledger *lg = NULL;
    struct pv_error err;
    ASSERT_EQ_INT(pv_ledger_open(t.path, &lg, &err), PV_OK);
    /* Read the header bytes while the ledger is still open (WAL, nothing
     * checkpointed): the id is there from the first commit. */
    uint8_t h[100];
    ASSERT_EQ_UINT(slurp(t.path, h, sizeof h), sizeof h);
    ASSERT_EQ_UINT((uint32_t)h[68] << 24 | h[69] << 16 | h[70] << 8 | h[71], LEDGER_ID);
    struct stat st;
    ASSERT(stat(t.path, &st) == 0);
    ASSERT_EQ_UINT(st.st_mode & 0777, 0600);
    pv_ledger_close(lg);
    rm(&t);
}

TEST(our_unmarked_file_is_recognised_and_stamped)
{
    struct tmp t;
    ASSERT(mk(&t, "x.db"));
    struct pv_ledger *lg = NULL;
    struct pv_error err;
    int64_t id = 0;
    ASSERT_EQ_INT(pv_ledger_open(t.path, &lg, &err), PV_OK);
    ASSERT_EQ_INT(pv_ledger_begin(lg, PV_LEDGER_PROVISION, "p", "/dev/ttyUSB0", &id, &err), PV_OK);
    pv_ledger_close(lg);
    ASSERT(run_sql(t.path, "PRAGMA application_id=0;"));
    ASSERT_EQ_INT(app_id(t.path), 0);
    /* A reader opens it as it is ... */
    ASSERT_EQ_INT(pv_ledger_open_existing(t.path, &lg, &err), PV_OK);
    struct pv_ledger_row row;
    ASSERT_EQ_INT(pv_ledger_get(lg, id, &row, &err), PV_OK);
    pv_ledger_close(lg);
    ASSERT_EQ_INT(app_id(t.path), 0);
    /* ... a writer stamps it. */
    ASSERT_EQ_INT(pv_ledger_open(t.path, &lg, &err), PV_OK);
    ASSERT_EQ_INT(pv_ledger_get(lg, id, &row, &err), PV_OK);
    pv_ledger_close(lg);
    ASSERT_EQ_INT(app_id(t.path), LEDGER_ID);
    rm(&t);
}

TEST(a_ledger_whose_first_commits_are_still_in_the_wal_opens)
{
    /* Older releases switched to WAL before the schema: a process killed
     * before a checkpoint left a main file whose header says nothing. */
    struct tmp t, model;
    ASSERT(mk(&t, "x.db") && mk(&model, "m.db"));
    struct pv_ledger *lg = NULL;
    struct pv_error err;
    ASSERT_EQ_INT(pv_ledger_open(model.path, &lg, &err), PV_OK);
    pv_ledger_close(lg);
    sqlite3 *m = NULL, *db = NULL;
    sqlite3_stmt *st = NULL;
    ASSERT(sqlite3_open(model.path, &m) == SQLITE_OK);
    ASSERT(sqlite3_open(t.path, &db) == SQLITE_OK);
    ASSERT(sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0; BEGIN;", NULL,
                        NULL, NULL) == SQLITE_OK);
    ASSERT(sqlite3_prepare_v2(
               m, "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite%'",
               -1, &st, NULL) == SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        ASSERT(sqlite3_exec(db, (const char *)sqlite3_column_text(st, 0), NULL, NULL, NULL) ==
               SQLITE_OK);
    }
    sqlite3_finalize(st);
    sqlite3_close(m);
    ASSERT(sqlite3_exec(db, "PRAGMA application_id=1162890311; PRAGMA user_version=1; COMMIT;",
                        NULL, NULL, NULL) == SQLITE_OK);
    /* The writer is still open: nothing is checkpointed into the main file. */
    uint8_t h[100] = {0};
    slurp(t.path, h, sizeof h);
    ASSERT_EQ_UINT((uint32_t)h[68] << 24 | h[69] << 16 | h[70] << 8 | h[71], 0);
    ASSERT_EQ_INT(pv_ledger_open_existing(t.path, &lg, &err), PV_OK);
    int64_t id = 0;
    ASSERT_EQ_INT(pv_ledger_begin(lg, PV_LEDGER_PROVISION, "p", "/dev/ttyUSB0", &id, &err), PV_OK);
    pv_ledger_close(lg);
    sqlite3_close(db);
    rm(&t);
    rm(&model);
}

/* Through a read-write connection, as espprov's readers open the file: its
 * close checkpoints and removes the WAL when it believes itself the last. */
static int count_attempts(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int n = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT count(*) FROM attempts", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        n = sqlite3_column_int(st, 0);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

/* A process with the file open (a provisioning run) opens it a second time
 * (a job reading the CA's record), and meanwhile another process reads it
 * (`cert list`). The second open must not drop the first connection's locks,
 * or the reader, thinking itself the last one, removes the WAL the writer's
 * next commit goes to, and a kill -9 then loses that commit. */
TEST(a_second_open_keeps_the_first_connections_commits_safe)
{
    struct tmp t;
    ASSERT(mk(&t, "x.db"));
    int ready[2], go[2];
    ASSERT(pipe(ready) == 0 && pipe(go) == 0);
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        struct pv_ledger *a = NULL, *b = NULL;
        struct pv_error err;
        int64_t id = 0;
        char c = 0;
        bool ok = pv_ledger_open(t.path, &a, &err) == PV_OK &&
                  pv_ledger_begin(a, PV_LEDGER_PROVISION, "p", "x", &id, &err) == PV_OK &&
                  pv_ledger_open_existing(t.path, &b, &err) == PV_OK;
        pv_ledger_close(b);
        ok = ok && write(ready[1], "r", 1) == 1 && read(go[0], &c, 1) == 1 &&
             pv_ledger_begin(a, PV_LEDGER_PROVISION, "p", "x", &id, &err) == PV_OK;
        _exit(ok ? 0 : 1); /* as kill -9 would: the handle is never closed */
    }
    char c = 0;
    ASSERT(read(ready[0], &c, 1) == 1);
    ASSERT_EQ_INT(count_attempts(t.path), 1);
    ASSERT(write(go[1], "g", 1) == 1);
    int status = 0;
    ASSERT(waitpid(pid, &status, 0) == pid);
    ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ASSERT_EQ_INT(count_attempts(t.path), 2);
    close(ready[0]);
    close(ready[1]);
    close(go[0]);
    close(go[1]);
    rm(&t);
}

TEST(a_special_file_is_refused)
{
    struct tmp t;
    ASSERT(mk(&t, "x.db"));
    ASSERT(mkfifo(t.path, 0600) == 0);
    struct pv_ledger *lg = NULL;
    struct pv_error err;
    ASSERT_EQ_INT(pv_ledger_open(t.path, &lg, &err), PV_ERR_INVALID);
    ASSERT_CONTAINS(err.msg, "is not a regular file");
    rm(&t);
}

TEST_MAIN(RUN(another_programs_sqlite_file_is_refused_and_untouched);
          RUN(unmarked_file_with_other_tables_is_refused_and_untouched);
          RUN(a_file_that_is_not_sqlite_is_refused_and_untouched);
          RUN(readers_never_create_a_ledger); RUN(new_ledger_carries_the_id_in_the_main_file);
          RUN(our_unmarked_file_is_recognised_and_stamped); RUN(a_special_file_is_refused);
          RUN(a_ledger_whose_first_commits_are_still_in_the_wal_opens);
          RUN(a_second_open_keeps_the_first_connections_commits_safe);)
