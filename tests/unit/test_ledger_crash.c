/*
 * kill -9 at any moment: a child process provisions boards into the ledger
 * and reports each committed step on a pipe; the parent kills it with SIGKILL
 * after a random number of steps plus a random delay (so some kills land
 * inside a transaction), then checks the file: it opens, passes
 * integrity_check, holds every step the child saw committed, nothing beyond
 * the one step that may have committed after the last report, and the dead
 * child's unfinished attempt reads as interrupted. Many rounds, one file.
 */
#include <dirent.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "provision/core/core.h"
#include "provision/ledger/ledger.h"

#define SHA          "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define ROUNDS       120
#define MAX_ATTEMPTS 4096

/* What the child reports after each commit. */
struct ack {
    int64_t id;
    int32_t step; /* enum pv_ledger_step reached, or -1 for "failed" */
    int32_t pad;
};

static uint64_t next_random(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static void send_ack(int fd, int64_t id, int step)
{
    struct ack a = {id, step, 0};
    if (write(fd, &a, sizeof a) != (ssize_t)sizeof a) {
        _exit(3);
    }
}

/* The child: provisions boards forever (until killed). */
static void child(const char *path, int fd, int round)
{
    struct pv_ledger *lg = NULL;
    struct pv_error err;
    if (pv_ledger_open(path, &lg, &err) != PV_OK) {
        _exit(2);
    }
    for (int board = 0;; board++) {
        int64_t id = 0, seq = 0;
        char mac[32], dev[32];
        snprintf(mac, sizeof mac, "30:ae:a4:%02x:%02x:%02x", round, board & 0xff, board >> 8);
        if (pv_ledger_begin(lg, PV_LEDGER_PROVISION, "crash", "/dev/ttyUSB0", &id, &err)) {
            _exit(4);
        }
        send_ack(fd, id, PV_STEP_STARTED);
        if (pv_ledger_connected(lg, id, "esp32", mac, 4u << 20, &err) ||
            pv_ledger_take_seq(lg, id, &seq, &err)) {
            _exit(4);
        }
        send_ack(fd, id, PV_STEP_CONNECTED);
        snprintf(dev, sizeof dev, "dev-%lld", (long long)seq);
        struct pv_ledger_identity ident = {dev, "7F01", SHA, 2000000000, PV_REPROVISION_NONE};
        if (pv_ledger_minted(lg, id, &ident, &err)) {
            _exit(4);
        }
        send_ack(fd, id, PV_STEP_MINTED);
        if (pv_ledger_written(lg, id, SHA, SHA, &err)) {
            _exit(4);
        }
        send_ack(fd, id, PV_STEP_WRITTEN);
        if (board % 3 == 2) {
            if (pv_ledger_fail(lg, id, PV_STEP_VERIFIED, "md5 mismatch", &err)) {
                _exit(4);
            }
            send_ack(fd, id, -1);
            continue;
        }
        if (pv_ledger_step(lg, id, PV_STEP_VERIFIED, &err)) {
            _exit(4);
        }
        send_ack(fd, id, PV_STEP_VERIFIED);
        if (pv_ledger_step(lg, id, PV_STEP_PROVISIONED, &err)) {
            _exit(4);
        }
        send_ack(fd, id, PV_STEP_PROVISIONED);
    }
}

/* The next step after `step` in the child's sequence (-1 = failed). */
static int next_step(int step)
{
    switch (step) {
    case PV_STEP_STARTED:
        return PV_STEP_CONNECTED;
    case PV_STEP_CONNECTED:
        return PV_STEP_MINTED;
    case PV_STEP_MINTED:
        return PV_STEP_WRITTEN;
    case PV_STEP_WRITTEN:
        return PV_STEP_VERIFIED; /* or failed */
    case PV_STEP_VERIFIED:
        return PV_STEP_PROVISIONED;
    default:
        return step;
    }
}

static bool integrity_ok(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    bool ok = false;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        ok = strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return ok;
}

struct seen {
    int64_t id;
    int step; /* last acknowledged */
};

/* Is the stored row consistent with the last acknowledged step? */
static bool row_matches(const struct pv_ledger_row *row, int acked, char *why, size_t cap)
{
    int stored = row->state == PV_STATE_FAILED ? -1 : (int)row->step;
    bool final = acked == -1 || acked == PV_STEP_PROVISIONED;
    bool ok;
    if (final) {
        ok = stored == acked;
    } else if (acked == PV_STEP_WRITTEN) {
        ok = stored == PV_STEP_WRITTEN || stored == PV_STEP_VERIFIED || stored == -1;
    } else {
        ok = stored == acked || stored == next_step(acked);
    }
    if (ok && !final && row->state != PV_STATE_PROVISIONED && row->state != PV_STATE_FAILED) {
        ok = row->state == PV_STATE_INTERRUPTED;
    }
    if (!ok) {
        snprintf(why, cap, "attempt %lld: acknowledged step %d, stored %d (state %s)",
                 (long long)row->id, acked, stored, pv_ledger_state_name(row->state));
    }
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

TEST(kill_9_at_random_points_leaves_a_true_ledger)
{
    char dir[] = "/tmp/espprov-ledger-crash-XXXXXX", path[128];
    ASSERT(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/ledger.db", dir);
    uint64_t seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
    uint64_t rnd = seed | 1;
    static struct seen seen[MAX_ATTEMPTS];
    size_t nseen = 0;
    int mid_transaction_kills = 0;

    for (int round = 0; round < ROUNDS; round++) {
        int fds[2];
        ASSERT(pipe(fds) == 0);
        pid_t pid = fork();
        ASSERT(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            child(path, fds[1], round);
        }
        close(fds[1]);
        int wanted = (int)(next_random(&rnd) % 14);
        struct ack a;
        for (int got = 0; got < wanted && read(fds[0], &a, sizeof a) == (ssize_t)sizeof a; got++) {
            size_t i = 0;
            while (i < nseen && seen[i].id != a.id) {
                i++;
            }
            ASSERT(i < MAX_ATTEMPTS);
            if (i == nseen) {
                nseen++;
            }
            seen[i] = (struct seen){a.id, a.step};
        }
        /* Up to ~2 ms more: the child is usually inside a commit by then. */
        struct timespec pause = {0, (long)(next_random(&rnd) % 2000000)};
        nanosleep(&pause, NULL);
        mid_transaction_kills += pause.tv_nsec > 0;
        kill(pid, SIGKILL);
        int status = 0;
        ASSERT(waitpid(pid, &status, 0) == pid);
        ASSERT_MSG(WIFSIGNALED(status), "child exited %d (seed %llu)", WEXITSTATUS(status),
                   (unsigned long long)seed);
        /* Acks written before the kill but not read yet still count. */
        while (read(fds[0], &a, sizeof a) == (ssize_t)sizeof a) {
            size_t i = 0;
            while (i < nseen && seen[i].id != a.id) {
                i++;
            }
            ASSERT(i < MAX_ATTEMPTS);
            if (i == nseen) {
                nseen++;
            }
            seen[i] = (struct seen){a.id, a.step};
        }
        close(fds[0]);

        if (nseen == 0 && access(path, F_OK) != 0) {
            continue; /* killed before it even created the file: nothing to check */
        }
        ASSERT_MSG(integrity_ok(path), "integrity_check failed after round %d (seed %llu)", round,
                   (unsigned long long)seed);
        struct pv_ledger *lg = NULL;
        struct pv_error err = {0};
        ASSERT_MSG(pv_ledger_open(path, &lg, &err) == PV_OK, "round %d: %s", round, err.msg);
        for (size_t i = 0; i < nseen; i++) {
            struct pv_ledger_row row;
            char why[200];
            ASSERT_MSG(pv_ledger_get(lg, seen[i].id, &row, &err) == PV_OK,
                       "acknowledged attempt %lld is gone (seed %llu)", (long long)seen[i].id,
                       (unsigned long long)seed);
            ASSERT_MSG(row_matches(&row, seen[i].step, why, sizeof why), "%s (seed %llu)", why,
                       (unsigned long long)seed);
        }
        /* An attempt begun but never acknowledged may exist: it must read
         * as interrupted at its first step. */
        int closed = 0;
        ASSERT_EQ_INT(pv_ledger_close_interrupted(lg, &closed, &err), PV_OK);
        ASSERT_MSG(closed <= 1, "round %d closed %d attempts", round, closed);
        pv_ledger_close(lg);
    }

    sqlite3 *db = NULL;
    ASSERT(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    sqlite3_stmt *st = NULL;
    ASSERT(sqlite3_prepare_v2(db,
                              "SELECT (SELECT count(*) FROM attempts WHERE outcome = 'running'), "
                              "(SELECT count(*) FROM seq_numbers), (SELECT count(DISTINCT seq) "
                              "FROM seq_numbers), (SELECT count(*) FROM attempts)",
                              -1, &st, NULL) == SQLITE_OK);
    ASSERT(sqlite3_step(st) == SQLITE_ROW);
    long long running = sqlite3_column_int64(st, 0), seqs = sqlite3_column_int64(st, 1),
              distinct = sqlite3_column_int64(st, 2), attempts = sqlite3_column_int64(st, 3);
    sqlite3_finalize(st);
    sqlite3_close(db);
    ASSERT_EQ_INT(running, 0);
    ASSERT_EQ_INT(seqs, distinct);
    ASSERT_MSG(attempts >= (long long)nseen && nseen > ROUNDS / 2,
               "only %zu attempts acknowledged in %d rounds", nseen, ROUNDS);
    ASSERT(mid_transaction_kills > 0);
    remove_dir(dir);
}

TEST_MAIN(RUN(kill_9_at_random_points_leaves_a_true_ledger);)
