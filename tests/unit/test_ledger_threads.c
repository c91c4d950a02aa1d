/*
 * Parallel writers: worker threads sharing one handle, threads with their own
 * handles and separate processes, all provisioning at once into one file.
 * Every attempt must end complete and every {seq} number must be unique.
 */
#include <dirent.h>
#include <pthread.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"
#include "provision/core/core.h"
#include "provision/ledger/ledger.h"

#define SHA    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define BOARDS 12 /* per worker */

struct worker {
    struct pv_ledger *lg; /* shared handle, or NULL to open its own */
    const char *path;
    int number;
    int failures;
    char why[256];
};

static int provision_one(struct pv_ledger *lg, int worker, int board, struct pv_error *err)
{
    char mac[32], port[32], dev[32], serial[32];
    int64_t id = 0, seq = 0;
    snprintf(mac, sizeof mac, "24:0a:c4:%02x:%02x:%02x", worker, board, worker ^ board);
    snprintf(port, sizeof port, "/dev/ttyUSB%d", worker);
    int rc = pv_ledger_begin(lg, PV_LEDGER_PROVISION, "fleet", port, &id, err);
    if (rc == PV_OK) {
        rc = pv_ledger_connected(lg, id, "esp32", mac, 4u << 20, err);
    }
    if (rc == PV_OK) {
        rc = pv_ledger_take_seq(lg, id, &seq, err);
    }
    snprintf(dev, sizeof dev, "node-%lld", (long long)seq);
    snprintf(serial, sizeof serial, "%02X%02X%04llX", worker, board, (long long)seq);
    struct pv_ledger_identity ident = {dev, serial, SHA, 2000000000, PV_REPROVISION_NONE};
    if (rc == PV_OK) {
        rc = pv_ledger_minted(lg, id, &ident, err);
    }
    if (rc == PV_OK) {
        rc = pv_ledger_written(lg, id, SHA, SHA, err);
    }
    if (rc == PV_OK) {
        rc = pv_ledger_step(lg, id, PV_STEP_VERIFIED, err);
    }
    if (rc == PV_OK && board % 5 == 4) {
        rc = pv_ledger_fail(lg, id, PV_STEP_PROVISIONED, "board did not restart", err);
    } else if (rc == PV_OK) {
        rc = pv_ledger_step(lg, id, PV_STEP_PROVISIONED, err);
    }
    return rc;
}

static void *work(void *arg)
{
    struct worker *w = arg;
    struct pv_error err = {0};
    struct pv_ledger *lg = w->lg;
    if (lg == NULL && pv_ledger_open(w->path, &lg, &err) != PV_OK) {
        w->failures++;
        snprintf(w->why, sizeof w->why, "%s", err.msg);
        return NULL;
    }
    for (int b = 0; b < BOARDS; b++) {
        if (provision_one(lg, w->number, b, &err) != PV_OK) {
            w->failures++;
            snprintf(w->why, sizeof w->why, "%s", err.msg);
        }
    }
    if (w->lg == NULL) {
        pv_ledger_close(lg);
    }
    return NULL;
}

static long long scalar(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    long long v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
        v = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return v;
}

static bool integrity_ok(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    bool ok = false;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        ok = strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return ok;
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (e->d_name[0] != '.') {
            unlink(p);
        }
    }
    if (d != NULL) {
        closedir(d);
    }
    rmdir(dir);
}

/* Checks the finished file: `workers` x BOARDS attempts, all ended, seq
 * numbers 1..N each used once. */
static void check_result(struct t_ctx *t_, const char *path, int workers)
{
    ASSERT(integrity_ok(path));
    sqlite3 *db = NULL;
    ASSERT(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    long long total = workers * BOARDS;
    long long rows = scalar(db, "SELECT count(*) FROM attempts");
    long long done = scalar(db, "SELECT count(*) FROM attempts WHERE outcome = 'done'");
    long long failed = scalar(db, "SELECT count(*) FROM attempts WHERE outcome = 'failed' AND "
                                  "failed_at = 'reset' AND step = 'verified'");
    long long distinct = scalar(db, "SELECT count(DISTINCT seq) FROM attempts");
    long long numbers = scalar(db, "SELECT count(*) FROM seq_numbers");
    long long top = scalar(db, "SELECT max(seq) FROM seq_numbers");
    sqlite3_close(db);
    ASSERT_EQ_INT(rows, total);
    ASSERT_EQ_INT(done + failed, total);
    ASSERT_EQ_INT(failed, workers * (BOARDS / 5));
    ASSERT_EQ_INT(distinct, total);
    ASSERT_EQ_INT(numbers, total);
    ASSERT_EQ_INT(top, total);
}

TEST(threads_sharing_one_handle)
{
    char dir[] = "/tmp/espprov-ledger-threads-XXXXXX", path[128];
    ASSERT(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/ledger.db", dir);
    struct pv_ledger *lg = NULL;
    struct pv_error err = {0};
    ASSERT_EQ_INT(pv_ledger_open(path, &lg, &err), PV_OK);
    enum { N = 6 };
    struct worker w[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        w[i] = (struct worker){lg, path, i, 0, ""};
        ASSERT(pthread_create(&th[i], NULL, work, &w[i]) == 0);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
    }
    pv_ledger_close(lg);
    for (int i = 0; i < N; i++) {
        ASSERT_MSG(w[i].failures == 0, "worker %d: %s", i, w[i].why);
    }
    check_result(t_, path, N);
    remove_dir(dir);
}

TEST(threads_and_processes_with_their_own_handles)
{
    char dir[] = "/tmp/espprov-ledger-procs-XXXXXX", path[128];
    ASSERT(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/ledger.db", dir);
    /* Create the file first so the schema set-up is not part of the race. */
    struct pv_ledger *lg = NULL;
    struct pv_error err = {0};
    ASSERT_EQ_INT(pv_ledger_open(path, &lg, &err), PV_OK);
    pv_ledger_close(lg);

    enum { THREADS = 3, PROCS = 3 };
    pid_t pids[PROCS];
    for (int p = 0; p < PROCS; p++) {
        pids[p] = fork();
        ASSERT(pids[p] >= 0);
        if (pids[p] == 0) {
            struct worker w = {NULL, path, 10 + p, 0, ""};
            work(&w);
            _exit(w.failures == 0 ? 0 : 1);
        }
    }
    struct worker w[THREADS];
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){NULL, path, i, 0, ""};
        ASSERT(pthread_create(&th[i], NULL, work, &w[i]) == 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
    }
    for (int p = 0; p < PROCS; p++) {
        int status = 0;
        ASSERT(waitpid(pids[p], &status, 0) == pids[p]);
        ASSERT_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "process %d failed", p);
    }
    for (int i = 0; i < THREADS; i++) {
        ASSERT_MSG(w[i].failures == 0, "worker %d: %s", i, w[i].why);
    }
    check_result(t_, path, THREADS + PROCS);
    remove_dir(dir);
}

struct same_board {
    const char *path;
    int64_t seq;
    int rc;
};

static void *take_for_same_board(void *arg)
{
    struct same_board *s = arg;
    struct pv_ledger *lg = NULL;
    struct pv_error err;
    int64_t id = 0;
    s->rc = pv_ledger_open(s->path, &lg, &err);
    if (s->rc == PV_OK) {
        s->rc = pv_ledger_begin(lg, PV_LEDGER_PROVISION, "fleet", "x", &id, &err);
    }
    if (s->rc == PV_OK) {
        s->rc = pv_ledger_connected(lg, id, "esp32", "24:0a:c4:ff:ff:ff", 0, &err);
    }
    if (s->rc == PV_OK) {
        s->rc = pv_ledger_take_seq(lg, id, &s->seq, &err);
    }
    pv_ledger_close(lg);
    return NULL;
}

TEST(one_board_racing_itself_gets_one_number)
{
    char dir[] = "/tmp/espprov-ledger-race-XXXXXX", path[128];
    ASSERT(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/ledger.db", dir);
    struct pv_ledger *lg = NULL;
    struct pv_error err = {0};
    ASSERT_EQ_INT(pv_ledger_open(path, &lg, &err), PV_OK);
    pv_ledger_close(lg);
    enum { N = 6 };
    struct same_board s[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        s[i] = (struct same_board){path, 0, -1};
        ASSERT(pthread_create(&th[i], NULL, take_for_same_board, &s[i]) == 0);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
    }
    for (int i = 0; i < N; i++) {
        ASSERT_EQ_INT(s[i].rc, PV_OK);
        ASSERT_EQ_INT(s[i].seq, 1);
    }
    remove_dir(dir);
}

TEST_MAIN(RUN(threads_sharing_one_handle); RUN(threads_and_processes_with_their_own_handles);
          RUN(one_board_racing_itself_gets_one_number);)
