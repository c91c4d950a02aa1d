/*
 * The job library against simulated boards: the ledger follows every step,
 * a dry run issues and records nothing, the abort flag stops a write at a
 * block boundary and the row says so, the reprovision callback decides for a
 * board seen before, and a batch refuses a busy port and stops on request.
 */
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "support/simproc.h"
#include "test.h"
#include "provision/core/core.h"
#include "provision/ledger/ledger.h"
#include "provision/profile/profile.h"
#include "provision/pki/pki.h"
#include "provision/jobs/jobs.h"

#define MAX_BOARDS 8

struct fixture {
    char dir[64];
    struct pv_profile *p;
    struct pv_ca *ca;
    struct pv_ledger *lg;
    struct simproc sims[MAX_BOARDS];
    size_t nsims;
};
static struct fixture fx;

static bool fixture_setup(void)
{
    snprintf(fx.dir, sizeof fx.dir, "/tmp/espprov-job.XXXXXX");
    char fw[PATH_MAX];
    if (mkdtemp(fx.dir) == NULL || realpath("profiles/firmware", fw) == NULL) {
        return false;
    }
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/job.json", fx.dir);
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        return false;
    }
    fprintf(
        f,
        "{\"name\": \"job\", \"chip\": \"esp32\",\n"
        " \"firmware\": [{\"offset\": \"0x1000\", \"file\": \"%s/demo-esp32-bootloader.bin\"},\n"
        "              {\"offset\": \"0x10000\", \"file\": \"%s/demo-esp32-app.bin\"}],\n"
        " \"filesystem\": {\"offset\": \"0x300000\", \"size\": \"0x20000\"},\n"
        " \"device\": {\"id\": \"job-{seq:3}-{mac_suffix}\"},\n"
        " \"wifi\": {\"ssid\": \"lab\", \"password\": \"job-wifi-pass\"},\n"
        " \"mqtt\": {\"host\": \"127.0.0.1\", \"topics\": {\"status\": \"s/{id}\"}}}\n",
        fw, fw);
    fclose(f);
    struct pv_error err;
    return pv_profile_load(path, 0, NULL, &fx.p, &err) == PV_OK &&
           pv_ca_create(fx.p, "job-ca-passphrase", &err) == PV_OK &&
           pv_ca_open(fx.p, "job-ca-passphrase", &fx.ca, &err) == PV_OK &&
           pv_ledger_open(fx.p->ledger, &fx.lg, &err) == PV_OK;
}

static void fixture_teardown(void)
{
    for (size_t i = 0; i < fx.nsims; i++) {
        simproc_stop(&fx.sims[i]);
    }
    pv_ledger_close(fx.lg);
    pv_ca_free(fx.ca);
    pv_profile_free(fx.p);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", fx.dir);
    if (system(cmd) != 0) {
        printf("# could not remove %s\n", fx.dir);
    }
}

/* A new simulated ESP32; returns its pty or NULL. */
static const char *board(unsigned n)
{
    if (fx.nsims == MAX_BOARDS) {
        return NULL;
    }
    char flash[128], mac[32], err[256];
    snprintf(flash, sizeof flash, "%s/b%u.bin", fx.dir, n);
    snprintf(mac, sizeof mac, "24:0a:c4:00:99:%02x", n);
    const char *args[] = {"--chip", "esp32", "--flash", flash, "--mac", mac, NULL};
    struct simproc *sp = &fx.sims[fx.nsims];
    if (simproc_start(sp, args, 10000, err, sizeof err) != 0) {
        printf("# espsim: %s\n", err);
        return NULL;
    }
    fx.nsims++;
    return sp->pty;
}

static void jobs_init(struct pv_jobs *jobs)
{
    *jobs =
        (struct pv_jobs){.mode = PV_JOB_PROVISION, .profile = fx.p, .ca = fx.ca, .ledger = fx.lg};
}

static int count_row(const struct pv_ledger_row *row, void *arg)
{
    (void)row;
    (*(int *)arg)++;
    return 0;
}

static int count_issued(void *user, const struct pv_issued *row)
{
    (void)row;
    (*(int *)user)++;
    return 0;
}

static int rows(void)
{
    int n = 0;
    struct pv_error err;
    pv_ledger_foreach(fx.lg, NULL, count_row, &n, &err);
    return n;
}

static int issued(void)
{
    int n = 0;
    struct pv_error err;
    pv_issued_list(fx.p, count_issued, &n, &err);
    return n;
}

/* ---- progress recorders ------------------------------------------------ */

struct phases {
    enum pv_job_phase seen[32];
    size_t count;
    atomic_bool abort;
    bool abort_in_write;
    bool abort_in_build;
};

static void record_phase(void *user, const struct pv_job_progress *p)
{
    struct phases *ph = user;
    if (ph->count == 0 || ph->seen[ph->count - 1] != p->phase) {
        if (ph->count < 32) {
            ph->seen[ph->count++] = p->phase;
        }
    }
    if (ph->abort_in_write && p->phase == PV_PHASE_WRITE && p->done > 0) {
        atomic_store(&ph->abort, true);
    }
    if (ph->abort_in_build && p->phase == PV_PHASE_BUILD) {
        atomic_store(&ph->abort, true);
    }
}

TEST(every_step_reaches_the_ledger)
{
    const char *port = board(1);
    ASSERT(port != NULL);
    struct pv_jobs jobs;
    jobs_init(&jobs);
    struct phases ph = {0};
    jobs.user = &ph;
    jobs.progress = record_phase;
    struct pv_error err;
    ASSERT_EQ_INT(pv_jobs_prepare(&jobs, &err), PV_OK);
    struct pv_job_result r;
    int rc = pv_job_run(&jobs, port, &r);
    pv_jobs_release(&jobs);
    ASSERT_MSG(rc == PV_OK && r.ok, "job failed: %s", r.error);
    ASSERT(r.verified);
    ASSERT_STREQ(r.mac, "24:0a:c4:00:99:01");
    ASSERT_STREQ(r.id, "job-001-009901");
    static const enum pv_job_phase order[] = {PV_PHASE_CONNECT, PV_PHASE_CHECK, PV_PHASE_MINT,
                                              PV_PHASE_BUILD,   PV_PHASE_WRITE, PV_PHASE_RESET,
                                              PV_PHASE_DONE};
    ASSERT_EQ_UINT(ph.count, sizeof order / sizeof order[0]);
    for (size_t i = 0; i < ph.count; i++) {
        ASSERT_EQ_INT(ph.seen[i], order[i]);
    }
    struct pv_ledger_row row;
    ASSERT_EQ_INT(pv_ledger_get(fx.lg, r.attempt, &row, &err), PV_OK);
    ASSERT_EQ_INT(row.state, PV_STATE_PROVISIONED);
    ASSERT_EQ_INT(row.seq, 1);
    ASSERT_STREQ(row.device_id, "job-001-009901");
    ASSERT_STREQ(row.cert_sha256, r.sha256);
    ASSERT(row.fs_sha256[0] != '\0');
    ASSERT_CONTAINS(row.firmware_sha256, "0x1000:");
    ASSERT_CONTAINS(row.firmware_sha256, ",0x10000:");
}

TEST(a_dry_run_issues_and_records_nothing)
{
    const char *port = board(2);
    ASSERT(port != NULL);
    int rows_before = rows(), issued_before = issued();
    struct pv_jobs jobs;
    jobs_init(&jobs);
    jobs.dry_run = true;
    struct pv_error err;
    ASSERT_EQ_INT(pv_jobs_prepare(&jobs, &err), PV_OK);
    struct pv_job_result r;
    int rc = pv_job_run(&jobs, port, &r);
    pv_jobs_release(&jobs);
    ASSERT_MSG(rc == PV_OK && r.ok, "dry run failed: %s", r.error);
    ASSERT(r.dry_run);
    ASSERT_EQ_INT(r.attempt, 0);
    ASSERT_EQ_INT(r.bytes, 0);
    ASSERT_STREQ(r.id, "job-002-009902"); /* the number it would take, not taken */
    ASSERT_CONTAINS(r.note, "not written");
    ASSERT_EQ_INT(rows(), rows_before);
    ASSERT_EQ_INT(issued(), issued_before);
}

/* One job whose abort flag `ph` raises at the moment it names; the job's
 * return code (or prepare's error). */
static int run_aborted(const char *port, struct phases *ph, struct pv_job_result *r,
                       struct pv_error *err)
{
    struct pv_jobs jobs;
    jobs_init(&jobs);
    atomic_init(&ph->abort, false);
    jobs.user = ph;
    jobs.progress = record_phase;
    jobs.abort = &ph->abort;
    int rc = pv_jobs_prepare(&jobs, err);
    if (rc == PV_OK) {
        rc = pv_job_run(&jobs, port, r);
    }
    pv_jobs_release(&jobs);
    return rc;
}

TEST(abort_stops_the_write_and_the_row_says_so)
{
    const char *port = board(3);
    ASSERT(port != NULL);
    struct phases ph = {.abort_in_write = true};
    struct pv_job_result r;
    struct pv_error err;
    ASSERT_EQ_INT(run_aborted(port, &ph, &r, &err), PV_ERR_CANCELLED);
    ASSERT(r.cancelled && !r.ok);
    ASSERT_EQ_INT(r.failed_step, PV_STEP_WRITTEN);
    struct pv_ledger_row row;
    ASSERT_EQ_INT(pv_ledger_get(fx.lg, r.attempt, &row, &err), PV_OK);
    ASSERT_EQ_INT(row.state, PV_STATE_FAILED);
    ASSERT_EQ_INT(row.step, PV_STEP_WRITE); /* the board may be half written */
    ASSERT_STREQ(row.error, "cancelled");
}

struct find_serial {
    const char *serial;
    int64_t revoked_at;
    int reason;
    bool found;
};

static int find_serial(void *user, const struct pv_issued *row)
{
    struct find_serial *w = user;
    if (strcmp(row->serial, w->serial) == 0) {
        w->found = true;
        w->revoked_at = row->revoked_at;
        w->reason = row->reason;
    }
    return 0;
}

/* Stopped after the mint, before a byte went to the board: the certificate
 * was never delivered, so it does not stay live. */
TEST(a_certificate_never_delivered_is_revoked_at_once)
{
    const char *port = board(7);
    ASSERT(port != NULL);
    struct phases ph = {.abort_in_build = true};
    struct pv_job_result r;
    struct pv_error err;
    ASSERT_EQ_INT(run_aborted(port, &ph, &r, &err), PV_ERR_CANCELLED);
    ASSERT(r.serial[0] != '\0');
    struct find_serial w = {.serial = r.serial};
    ASSERT_EQ_INT(pv_issued_list(fx.p, find_serial, &w, &err), PV_OK);
    ASSERT(w.found && w.revoked_at != 0);
    ASSERT_EQ_INT(w.reason, 4); /* superseded */
    struct pv_ledger_row row;
    ASSERT_EQ_INT(pv_ledger_get(fx.lg, r.attempt, &row, &err), PV_OK);
    ASSERT_EQ_INT(row.state, PV_STATE_FAILED);
    ASSERT_EQ_INT(row.step, PV_STEP_MINTED);
    ASSERT_CONTAINS(row.revoke_reason, "never delivered");
    char text[600];
    pv_ledger_describe(&row, text, sizeof text);
    ASSERT_CONTAINS(text, "(certificate revoked)");
}

static enum pv_ledger_reprovision answer_keep(void *user, const char *port,
                                              const struct pv_ledger_row *cur)
{
    (void)port;
    *(int64_t *)user = cur->id;
    return PV_REPROVISION_KEEP;
}

static enum pv_ledger_reprovision answer_no(void *user, const char *port,
                                            const struct pv_ledger_row *cur)
{
    (void)user;
    (void)port;
    (void)cur;
    return PV_REPROVISION_NONE;
}

TEST(the_callback_decides_for_a_board_seen_before)
{
    const char *port = board(4);
    ASSERT(port != NULL);
    struct pv_jobs jobs;
    jobs_init(&jobs);
    struct pv_error err;
    ASSERT_EQ_INT(pv_jobs_prepare(&jobs, &err), PV_OK);
    struct pv_job_result first, refused, kept;
    pv_job_run(&jobs, port, &first);
    jobs.ask = answer_no;
    pv_job_run(&jobs, port, &refused);
    int64_t asked_about = 0;
    jobs.ask = answer_keep;
    jobs.user = &asked_about;
    pv_job_run(&jobs, port, &kept);
    pv_jobs_release(&jobs);
    ASSERT_MSG(first.ok, "first run: %s", first.error);
    ASSERT(!refused.ok);
    ASSERT_CONTAINS(refused.error, "not changing it without --reprovision");
    ASSERT_CONTAINS(refused.hint, "--reprovision keep");
    ASSERT_MSG(kept.ok, "keep: %s", kept.error);
    ASSERT_EQ_INT(asked_about, first.attempt);
    ASSERT_EQ_INT(kept.reprovision, PV_REPROVISION_KEEP);
    ASSERT_STREQ(kept.serial, first.serial);
    ASSERT_STREQ(kept.id, first.id);
}

/* ---- batches ------------------------------------------------------------ */

struct gate {
    pthread_mutex_t lock;
    pthread_cond_t open_cond;
    bool open;
};

static void wait_at_gate(void *user, const struct pv_job_progress *p)
{
    struct gate *g = user;
    if (p->phase != PV_PHASE_CONNECT) {
        return;
    }
    pthread_mutex_lock(&g->lock);
    while (!g->open) {
        pthread_cond_wait(&g->open_cond, &g->lock);
    }
    pthread_mutex_unlock(&g->lock);
}

TEST(a_batch_refuses_a_busy_port_and_stops_on_request)
{
    const char *a = board(5), *b = board(6);
    ASSERT(a != NULL && b != NULL);
    struct gate g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false};
    struct pv_jobs jobs;
    jobs_init(&jobs);
    jobs.user = &g;
    jobs.progress = wait_at_gate;
    struct pv_error err;
    ASSERT_EQ_INT(pv_jobs_prepare(&jobs, &err), PV_OK);
    struct pv_batch *batch;
    ASSERT_EQ_INT(pv_batch_new(&jobs, NULL, NULL, &batch, &err), PV_OK);
    int start_a = pv_batch_start(batch, a, &err);
    int start_b = pv_batch_start(batch, b, &err);
    int again = pv_batch_start(batch, a, &err); /* a's worker waits at the gate */
    size_t running = pv_batch_running(batch);
    pv_batch_stop(batch);
    int after_stop = pv_batch_start(batch, "/dev/null", &err);
    pthread_mutex_lock(&g.lock);
    g.open = true;
    pthread_cond_broadcast(&g.open_cond);
    pthread_mutex_unlock(&g.lock);
    pv_batch_wait(batch);
    size_t n = 0;
    const struct pv_job_result *res = pv_batch_results(batch, &n);
    bool all_ok = n == 2 && res[0].ok && res[1].ok;
    bool known = pv_batch_done_ok(batch, "24:0a:c4:00:99:05");
    bool stranger = pv_batch_done_ok(batch, "24:0a:c4:00:99:55");
    pv_batch_free(batch);
    pv_jobs_release(&jobs);
    ASSERT_EQ_INT(start_a, PV_OK);
    ASSERT_EQ_INT(start_b, PV_OK);
    ASSERT_EQ_INT(again, PV_ERR_EXISTS);
    ASSERT_EQ_UINT(running, 2);
    ASSERT_EQ_INT(after_stop, PV_ERR_CANCELLED);
    ASSERT(all_ok);
    ASSERT(known && !stranger);
}

int main(void)
{
    struct t_ctx t_main_ = {0};
    if (!fixture_setup()) {
        printf("FAIL setup: cannot create the profile, CA and ledger in %s\n", fx.dir);
        return 1;
    }
    RUN(every_step_reaches_the_ledger);
    RUN(a_dry_run_issues_and_records_nothing);
    RUN(abort_stops_the_write_and_the_row_says_so);
    RUN(a_certificate_never_delivered_is_revoked_at_once);
    RUN(the_callback_decides_for_a_board_seen_before);
    RUN(a_batch_refuses_a_busy_port_and_stops_on_request);
    fixture_teardown();
    printf("%d passed, %d failed\n", t_main_.passed, t_main_.failed);
    return t_main_.failed ? 1 : 0;
}
