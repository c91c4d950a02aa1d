/* One board's job, the common part: progress, failures, the connection, the final reset. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "provision/jobs/job_priv.h"

int64_t job_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void job_sha256_hex(const uint8_t *data, size_t len, char out[65])
{
    uint8_t md[32];
    unsigned n = 0;
    if (EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) != 1 || n != 32) {
        memset(md, 0, sizeof md);
    }
    for (size_t i = 0; i < 32; i++) {
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    }
}

void job_chip_text(enum fl_chip chip, char *out, size_t cap)
{
    size_t n = 0;
    for (const char *s = fl_chip_name(chip); *s && n + 1 < cap; s++) {
        if (*s != '-') {
            out[n++] = (char)tolower((unsigned char)*s);
        }
    }
    out[n] = '\0';
}

/* ===== Progress ======================================================== */

static void report(struct job *j, uint64_t done)
{
    const struct pv_jobs *jobs = j->jobs;
    if (jobs->progress == NULL) {
        return;
    }
    struct pv_job_progress pr = {
        .port = j->r->port,
        .phase = j->phase,
        .done = done,
        .total = j->total,
        .mac = j->r->mac,
        .id = j->r->id,
    };
    jobs->progress(jobs->user, &pr);
}

void job_phase(struct job *j, enum pv_job_phase phase, uint64_t total)
{
    j->phase = phase;
    j->total = total;
    j->done_base = 0;
    report(j, 0);
}

void job_progress(struct job *j, uint64_t done)
{
    report(j, done);
}

/* ===== Failures ======================================================== */

static int record_failure(struct job *j, int code)
{
    struct pv_job_result *r = j->r;
    r->failed_step = j->next;
    if (j->id != 0) {
        struct pv_error e;
        (void)pv_ledger_fail(j->jobs->ledger, j->id, j->next, r->error, &e);
    }
    return code;
}

int job_fail(struct job *j, int code, const char *hint, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->r->error, sizeof j->r->error, fmt, ap);
    va_end(ap);
    snprintf(j->r->hint, sizeof j->r->hint, "%s", hint ? hint : "");
    return record_failure(j, code);
}

int job_fail_pv(struct job *j, const struct pv_error *e)
{
    return job_fail(j, e->code ? e->code : PV_ERR_INVALID, e->hint, "%s", e->msg);
}

int job_fail_fl(struct job *j, const struct fl_error *e)
{
    if (e->code == FL_ERR_CANCELLED) {
        j->r->cancelled = true;
        return job_fail(j, PV_ERR_CANCELLED, NULL, "cancelled");
    }
    return job_fail(j, PV_ERR_DEVICE, e->hint, "%s", e->msg);
}

bool job_aborted(struct job *j)
{
    const atomic_bool *abort_flag = j->jobs->abort;
    if (abort_flag == NULL || !atomic_load(abort_flag)) {
        return false;
    }
    j->r->cancelled = true;
    job_fail(j, PV_ERR_CANCELLED, NULL, "cancelled");
    return true;
}

/* ===== Connection ====================================================== */

static void on_log(void *user, enum fl_log_level level, const char *msg)
{
    struct job *j = user;
    if (j->jobs->log != NULL) {
        j->jobs->log(j->jobs->user, j->r->port, (int)level, msg);
    }
}

static void on_progress(void *user, size_t region, uint64_t done, uint64_t total)
{
    struct job *j = user;
    (void)total;
    uint64_t base = j->done_base;
    if (j->cur_regions != NULL) {
        base = 0;
        for (size_t i = 0; i < region; i++) {
            base += j->cur_regions[i].len;
        }
    }
    job_progress(j, base + done);
}

static int session_options(struct job *j, struct fl_options *opt)
{
    const struct pv_profile *p = j->p;
    fl_options_init(opt);
    opt->chip = FL_CHIP_AUTO; /* checked by us, to say which profile wants what */
    opt->before = (enum fl_before)j->jobs->before;
    opt->after = FL_AFTER_HARD_RESET;
    opt->baud = j->jobs->baud ? j->jobs->baud : p->flash.baud ? p->flash.baud : 460800;
    /* Without --baud: the USB bridge's fastest rate where it is known. */
    opt->baud_auto = j->jobs->baud == 0;
    opt->stub = j->jobs->stub;
    opt->stubs = j->jobs->stubs;
    /* What a default stub that fails to start would take away with it. */
    const struct pv_jobs *js = j->jobs;
    if (js->mode == PV_JOB_RESET) {
        opt->needs = (js->reset_flags & PV_RESET_RESTORE) ? FL_NEED_VERIFY : 0;
    } else {
        opt->needs = FL_NEED_VERIFY;
        if (js->mode == PV_JOB_ONLY_FS || js->reprovision == PV_POLICY_KEEP) {
            opt->needs |= FL_NEED_READ;
        }
    }
    opt->log_level = (enum fl_log_level)j->jobs->log_level;
    if (p->flash.mode != NULL && !fl_flash_mode_parse(p->flash.mode, &opt->flash_mode)) {
        return job_fail(j, PV_ERR_INVALID, NULL, ".flash.mode: \"%s\"", p->flash.mode);
    }
    if (p->flash.freq != NULL && !fl_flash_freq_parse(p->flash.freq, &opt->flash_freq)) {
        return job_fail(j, PV_ERR_INVALID, NULL, ".flash.freq: \"%s\"", p->flash.freq);
    }
    opt->flash_size = p->flash.size ? (int64_t)p->flash.size : FL_PARAM_KEEP;
    return PV_OK;
}

int job_connect(struct job *j, enum pv_ledger_kind kind)
{
    const struct pv_jobs *jobs = j->jobs;
    j->next = PV_STEP_STARTED;
    job_phase(j, PV_PHASE_CONNECT, 0);
    if (!jobs->dry_run &&
        pv_ledger_begin(jobs->ledger, kind, j->p->name, j->r->port, &j->id, &j->err) != PV_OK) {
        return job_fail_pv(j, &j->err);
    }
    j->r->attempt = j->id;
    j->next = PV_STEP_CONNECTED;
    struct fl_options opt;
    if (session_options(j, &opt) != PV_OK) {
        return PV_ERR_INVALID;
    }
    struct fl_hooks hooks = {
        .user = j, .log = on_log, .progress = on_progress, .cancel = jobs->abort};
    if (fl_session_init(&j->s, &opt, &hooks, &j->ferr) != FL_OK) {
        return job_fail_fl(j, &j->ferr);
    }
    j->session_ready = true;
    if (fl_session_open(&j->s, j->r->port, &j->ferr) != FL_OK ||
        fl_connect(&j->s, &j->ferr) != FL_OK) {
        return job_fail_fl(j, &j->ferr);
    }
    j->connected = true;
    if (fl_detect(&j->s, NULL, &j->ferr) != FL_OK) {
        return job_fail_fl(j, &j->ferr);
    }
    const struct fl_chip_info *info = &j->s.info;
    if (!info->mac_valid) {
        return job_fail(j, PV_ERR_DEVICE, "check the board's eFuses with esptool",
                        "the board did not give its MAC address");
    }
    memcpy(j->mac, info->mac, 6);
    pv_format_mac(j->mac, j->r->mac);
    job_chip_text(info->chip, j->r->chip, sizeof j->r->chip);
    if (j->id != 0 && pv_ledger_connected(jobs->ledger, j->id, j->r->chip, j->r->mac,
                                          info->flash_size, &j->err) != PV_OK) {
        return job_fail_pv(j, &j->err);
    }
    job_progress(j, 0); /* the display learns the MAC */
    return PV_OK;
}

int job_finish_board(struct job *j)
{
    job_phase(j, PV_PHASE_RESET, 0);
    if (fl_finish(&j->s, &j->ferr) != FL_OK) {
        return job_fail_fl(j, &j->ferr);
    }
    j->connected = false; /* nothing to restore any more */
    return PV_OK;
}
