/*
 * Which identity a board gets: a new one (first time, after a failed or
 * interrupted attempt, or renewed) or the one already on it (kept), with the
 * revocations that keep the CA record and the CRL truthful.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "provision/image/image.h"
#include "provision/jobs/job_priv.h"

int identity_revoke(struct job *j, const char *serial, int reason, const char *why)
{
    size_t count = 0;
    struct pv_error e;
    int rc = pv_revoke(j->jobs->profile, serial, NULL, reason, &count, &e);
    if (rc != PV_OK && rc != PV_ERR_NOT_FOUND) { /* NOT_FOUND: revoked already */
        return job_fail_pv(j, &e);
    }
    if (pv_ledger_revoke(j->jobs->ledger, serial, why, NULL, &e) != PV_OK) {
        return job_fail_pv(j, &e);
    }
    j->r->revoked += (unsigned)count;
    return PV_OK;
}

/* ===== This MAC's history ============================================= */

struct history_walk {
    struct job_identity *ji;
    int64_t self;
    /* The newest other attempt that changed the board's flash: a reset that
     * erased it, or a provisioning that began writing it; 0 if none. */
    int64_t touched_by;
    bool erased;           /* touched_by is a factory reset */
    bool write_unfinished; /* touched_by is a provisioning that never finished */
};

/* One pass over this MAC's attempts: certificates minted by attempts that
 * never finished (their keys lived only in memory, and maybe on the board,
 * now overwritten), and what last changed the board's flash, which says what
 * is on it now. */
static int collect_history(const struct pv_ledger_row *row, void *arg)
{
    struct history_walk *w = arg;
    if (row->id == w->self) {
        return 0;
    }
    bool unfinished = row->state == PV_STATE_FAILED || row->state == PV_STATE_INTERRUPTED;
    bool provision = row->kind == PV_LEDGER_PROVISION;
    if (provision && unfinished && row->cert_serial[0] != '\0' && row->revoked_at[0] == '\0' &&
        w->ji->stale_count < sizeof w->ji->stale / sizeof w->ji->stale[0]) {
        snprintf(w->ji->stale[w->ji->stale_count++], sizeof w->ji->stale[0], "%s",
                 row->cert_serial);
    }
    if (provision ? row->step >= PV_STEP_WRITE : row->step >= PV_STEP_ERASED) {
        w->touched_by = row->id;
        w->erased = !provision;
        w->write_unfinished = provision && unfinished;
    }
    return 0;
}

static int decide(struct job *j, const struct pv_ledger_row *cur, enum pv_ledger_reprovision *mode)
{
    const struct pv_jobs *jobs = j->jobs;
    switch (jobs->reprovision) {
    case PV_POLICY_RENEW:
        *mode = PV_REPROVISION_RENEW;
        return PV_OK;
    case PV_POLICY_KEEP:
        *mode = PV_REPROVISION_KEEP;
        return PV_OK;
    case PV_POLICY_ASK:
        break;
    }
    *mode = jobs->ask ? jobs->ask(jobs->user, j->r->port, cur) : PV_REPROVISION_NONE;
    if (*mode != PV_REPROVISION_NONE) {
        return PV_OK;
    }
    return job_fail(j, PV_ERR_EXISTS,
                    "run again with --reprovision renew (a new identity; the old certificate is "
                    "revoked) or --reprovision keep (keep the board's key and certificate)",
                    "this board was provisioned before as %s (attempt %lld, certificate %s); "
                    "not changing it without --reprovision",
                    cur->device_id, (long long)cur->id, cur->cert_serial);
}

/* The ledger file may be new (another station, a changed "ledger" key): the
 * CA's record still knows whether this board (by its MAC) or its id has a
 * live certificate. A {seq} id is not known yet (only this ledger would
 * give the number), so such boards are looked up by MAC alone. */
static int decide_from_record(struct job *j, struct job_identity *ji,
                              enum pv_reprovision_policy policy)
{
    struct pv_device dev = {.id = ""};
    if (!j->pre->uses_seq && pv_device_init(&dev, j->p, NULL, j->mac, -1, NULL, &j->err) != PV_OK) {
        return job_fail_pv(j, &j->err);
    }
    struct pv_issued live;
    int rc = pv_issued_live_device(j->jobs->profile, dev.id[0] ? dev.id : NULL, j->r->mac,
                                   (int64_t)time(NULL), &live, &j->err);
    if (rc == PV_ERR_NOT_FOUND) {
        return PV_OK;
    }
    if (rc != PV_OK) {
        return job_fail_pv(j, &j->err);
    }
    for (size_t i = 0; i < ji->stale_count; i++) {
        if (pv_serial_same(ji->stale[i], live.serial)) {
            return PV_OK; /* this ledger's unfinished attempt: revoked once a new one is minted */
        }
    }
    switch (policy) {
    case PV_POLICY_RENEW:
        ji->mode = PV_REPROVISION_RENEW;
        snprintf(ji->replaced, sizeof ji->replaced, "%s", live.serial);
        return PV_OK;
    case PV_POLICY_KEEP:
        ji->mode = PV_REPROVISION_KEEP;
        return PV_OK;
    case PV_POLICY_ASK:
        break;
    }
    return job_fail(j, PV_ERR_EXISTS,
                    "run again with --reprovision renew (a new identity; the old certificate is "
                    "revoked) or --reprovision keep (keep the board's key and certificate)",
                    "%s (MAC %s) already has a live certificate %s in the CA's record (this "
                    "ledger has no attempt for the board); not minting a second one without "
                    "--reprovision",
                    live.id, j->r->mac, live.serial);
}

/* A factory reset erased the board since it was last written: there is no
 * identity on it to keep, and a live certificate of its id (a reset without
 * --revoke) is on no board any more, so a new one replaces it. */
static int decide_after_reset(struct job *j, struct job_identity *ji,
                              const struct pv_ledger_row *cur, int64_t reset_id)
{
    if (j->jobs->mode == PV_JOB_ONLY_FS || j->jobs->reprovision == PV_POLICY_KEEP) {
        return job_fail(j, PV_ERR_INVALID,
                        "provision it without --only-fs or --reprovision keep: it gets a new "
                        "identity (a still-live old certificate is revoked)",
                        "this board was factory-reset (attempt %lld): its flash holds no identity, "
                        "so there is none to keep",
                        (long long)reset_id);
    }
    if (cur != NULL) {
        ji->mode = PV_REPROVISION_RENEW;
        snprintf(ji->replaced, sizeof ji->replaced, "%s", cur->cert_serial);
        return PV_OK;
    }
    return decide_from_record(j, ji, PV_POLICY_RENEW);
}

/*
 * A provisioning attempt began writing this board and never finished
 * (killed, failed, cancelled): its flash may hold the old identity, the new
 * one, or half of either, so only a new identity finishes the job, as a
 * renew (the old certificate revoked once the new one is verified, the
 * unfinished attempt's own as superseded). There is nothing sound to keep.
 */
static int decide_after_unfinished_write(struct job *j, struct job_identity *ji,
                                         const struct pv_ledger_row *cur, int64_t attempt)
{
    if (j->jobs->mode == PV_JOB_ONLY_FS || j->jobs->reprovision == PV_POLICY_KEEP) {
        struct pv_ledger_row *row = calloc(1, sizeof *row);
        char how[600] = "stopped";
        if (row != NULL && pv_ledger_get(j->jobs->ledger, attempt, row, &j->err) == PV_OK) {
            pv_ledger_describe(row, how, sizeof how);
        }
        free(row);
        return job_fail(j, PV_ERR_INVALID,
                        "run a plain provision (or --reprovision renew) to finish it with a new "
                        "identity",
                        "cannot keep the board's identity: attempt %lld stopped while writing the "
                        "board (%s), so its flash may hold half an identity",
                        (long long)attempt, how);
    }
    int rc = PV_OK;
    if (cur != NULL) {
        ji->mode = PV_REPROVISION_RENEW;
        snprintf(ji->replaced, sizeof ji->replaced, "%s", cur->cert_serial);
    } else {
        rc = decide_from_record(j, ji, PV_POLICY_RENEW);
    }
    /* A first provisioning that failed is simply done again; a renew the
     * user did not ask for this time is said. */
    if (rc == PV_OK && ji->mode == PV_REPROVISION_RENEW) {
        snprintf(j->r->note, sizeof j->r->note,
                 "finishes attempt %lld, which stopped while writing the board: a new identity",
                 (long long)attempt);
    }
    return rc;
}

/* ===== Keeping the board's identity =================================== */

struct record_walk {
    const char *serial;
    bool found, revoked;
};

static int find_issued(void *user, const struct pv_issued *row)
{
    struct record_walk *w = user;
    if (pv_serial_same(row->serial, w->serial)) {
        w->found = true;
        w->revoked = row->revoked_at != 0;
        return 1;
    }
    return 0;
}

static int read_back(struct job *j, struct pv_identity *ident)
{
    const struct pv_profile *p = j->p;
    uint8_t *buf = malloc(p->fs.size);
    if (buf == NULL) {
        return job_fail(j, PV_ERR_NOMEM, NULL, "out of memory");
    }
    job_phase(j, PV_PHASE_READ, p->fs.size);
    int rc = PV_OK;
    if (fl_read(&j->s, p->fs.offset, buf, p->fs.size, &j->ferr) != FL_OK) {
        if (j->ferr.code == FL_ERR_UNSUPPORTED) {
            rc = job_fail(j, PV_ERR_DEVICE, "set .flash.stub in the profile (a flasher stub reads)",
                          "cannot read the filesystem back to keep the identity: %s", j->ferr.msg);
        } else {
            rc = job_fail_fl(j, &j->ferr);
        }
    } else if (pv_image_read_identity(p, buf, p->fs.size, ident, &j->err) != PV_OK) {
        pv_error_prefix(&j->err, "cannot keep the board's identity");
        if (j->err.hint[0] == '\0') {
            snprintf(j->err.hint, sizeof j->err.hint, "use --reprovision renew for a new one");
        }
        rc = job_fail_pv(j, &j->err);
    }
    pv_secret_free(buf, p->fs.size);
    return rc;
}

/* The MAC the ledger last tied to device `id`, for naming another board. */
static int last_mac(const struct pv_ledger_row *row, void *arg)
{
    if (row->kind == PV_LEDGER_PROVISION && row->mac[0] != '\0') {
        snprintf(arg, 18, "%s", row->mac);
    }
    return 0;
}

static int refuse_kept(struct job *j, const char *what)
{
    return job_fail(j, PV_ERR_INVALID,
                    "use --reprovision renew to give this board a new identity of its own",
                    "cannot keep the board's identity: %s", what);
}

/* A certificate from this CA is not yet this board's: flash can be copied
 * between boards, and an old identity can be written back. */
static int check_kept_owner(struct job *j, const struct pv_identity *ident)
{
    char what[400];
    if (!j->pre->uses_seq) {
        struct pv_device dev;
        if (pv_device_init(&dev, j->p, NULL, j->mac, -1, NULL, &j->err) != PV_OK) {
            return job_fail_pv(j, &j->err);
        }
        if (strcmp(dev.id, ident->id) != 0) {
            char mac[18] = "";
            struct pv_ledger_filter f = {.device_id = ident->id};
            if (pv_ledger_foreach(j->jobs->ledger, &f, last_mac, mac, &j->err) != PV_OK) {
                return job_fail_pv(j, &j->err);
            }
            snprintf(what, sizeof what,
                     "the certificate on this board belongs to %s%s%s%s, not %s: flash copied "
                     "from another board?",
                     ident->id, mac[0] ? " (MAC " : "", mac, mac[0] ? ")" : "", dev.id);
            return refuse_kept(j, what);
        }
    }
    if (ident->not_after <= (int64_t)time(NULL)) {
        snprintf(what, sizeof what, "its certificate (%s, serial %s) has expired", ident->id,
                 ident->serial);
        return refuse_kept(j, what);
    }
    struct pv_issued live;
    int rc = pv_issued_live_device(j->jobs->profile, ident->id, j->r->mac, (int64_t)time(NULL),
                                   &live, &j->err);
    if (rc != PV_OK && rc != PV_ERR_NOT_FOUND) {
        return job_fail_pv(j, &j->err);
    }
    if (rc == PV_OK && !pv_serial_same(live.serial, ident->serial)) {
        snprintf(what, sizeof what,
                 "the certificate on the board (%s, serial %s) is not the newest for %s in the "
                 "CA's record (%s is): an old copy written back?",
                 ident->id, ident->serial, ident->id, live.serial);
        return refuse_kept(j, what);
    }
    struct pv_ledger_row *cur = calloc(1, sizeof *cur);
    if (cur == NULL) {
        return job_fail(j, PV_ERR_NOMEM, NULL, "out of memory");
    }
    rc = pv_ledger_identity(j->jobs->ledger, j->r->mac, cur, &j->err);
    bool other = rc == PV_OK && cur->cert_serial[0] != '\0' &&
                 !pv_serial_same(cur->cert_serial, ident->serial);
    if (other) {
        snprintf(what, sizeof what,
                 "the certificate on the board (%s, serial %s) is not the one the ledger last "
                 "gave this board (%s, serial %s)",
                 ident->id, ident->serial, cur->device_id, cur->cert_serial);
    }
    free(cur);
    if (rc != PV_OK && rc != PV_ERR_NOT_FOUND) {
        return job_fail_pv(j, &j->err);
    }
    if (other) {
        return refuse_kept(j, what);
    }
    if (pv_identity_key_matches(ident, &j->err) != PV_OK) {
        pv_error_prefix(&j->err, "cannot keep the board's identity");
        snprintf(j->err.hint, sizeof j->err.hint,
                 "use --reprovision renew to give this board a new identity of its own");
        return job_fail_pv(j, &j->err);
    }
    return PV_OK;
}

static int check_kept(struct job *j, const struct pv_identity *ident)
{
    const struct pv_jobs_priv *pre = j->pre;
    if (pv_identity_issued_by(ident, pre->ca_der, pre->ca_len, &j->err) != PV_OK) {
        pv_error_prefix(&j->err, "the certificate on the board (%s)", ident->id);
        snprintf(j->err.hint, sizeof j->err.hint, "use --reprovision renew for a new one");
        return job_fail_pv(j, &j->err);
    }
    struct record_walk w = {.serial = ident->serial};
    if (pv_issued_list(j->jobs->profile, find_issued, &w, &j->err) < 0) {
        return job_fail_pv(j, &j->err);
    }
    if (!w.found || w.revoked) {
        return job_fail(j, PV_ERR_INVALID, "use --reprovision renew for a new one",
                        "the certificate on the board (%s, serial %s) %s", ident->id, ident->serial,
                        w.found ? "is revoked" : "is not in this CA's record");
    }
    return check_kept_owner(j, ident);
}

/* ===== Choosing ======================================================== */

static int take_seq(struct job *j, int64_t *seq)
{
    *seq = -1;
    if (!j->pre->uses_seq) {
        return PV_OK;
    }
    struct pv_ledger *lg = j->jobs->ledger;
    int rc = j->jobs->dry_run ? pv_ledger_peek_seq(lg, j->p->name, j->r->mac, seq, NULL, &j->err)
                              : pv_ledger_take_seq(lg, j->id, seq, &j->err);
    return rc == PV_OK ? PV_OK : job_fail_pv(j, &j->err);
}

static int record_minted(struct job *j, struct job_identity *ji)
{
    struct pv_job_result *r = j->r;
    snprintf(r->id, sizeof r->id, "%s", ji->dev.id);
    snprintf(r->serial, sizeof r->serial, "%s", ji->ident.serial);
    snprintf(r->sha256, sizeof r->sha256, "%s", ji->ident.sha256);
    r->reprovision = ji->mode;
    job_progress(j, 0);
    if (j->jobs->dry_run) {
        return PV_OK;
    }
    struct pv_ledger_identity li = {
        .device_id = ji->dev.id,
        .cert_serial = ji->ident.serial,
        .cert_sha256 = ji->ident.sha256,
        .not_after = ji->ident.not_after,
        .reprovision = ji->mode,
    };
    if (pv_ledger_minted(j->jobs->ledger, j->id, &li, &j->err) != PV_OK) {
        return job_fail_pv(j, &j->err);
    }
    char why[64];
    snprintf(why, sizeof why, "superseded by attempt %lld", (long long)j->id);
    for (size_t i = 0; i < ji->stale_count; i++) {
        /* The certificate a renew replaces (an unfinished keep attempt names
         * it too) stays live until the new one is on the board. */
        if (!pv_serial_same(ji->stale[i], ji->ident.serial) &&
            !pv_serial_same(ji->stale[i], ji->replaced)) {
            int rc = identity_revoke(j, ji->stale[i], pv_crl_reason("superseded"), why);
            if (rc != PV_OK) {
                return rc;
            }
        }
    }
    return PV_OK;
}

int identity_choose(struct job *j, struct job_identity *ji)
{
    const struct pv_jobs *jobs = j->jobs;
    memset(ji, 0, sizeof *ji);
    j->next = PV_STEP_MINTED;
    struct pv_ledger_row *cur = calloc(1, sizeof *cur);
    if (cur == NULL) {
        return job_fail(j, PV_ERR_NOMEM, NULL, "out of memory");
    }
    int rc = pv_ledger_identity(jobs->ledger, j->r->mac, cur, &j->err);
    bool seen = rc == PV_OK;
    if (rc != PV_OK && rc != PV_ERR_NOT_FOUND) {
        free(cur);
        return job_fail_pv(j, &j->err);
    }
    ji->mode = PV_REPROVISION_NONE;
    struct history_walk w = {.ji = ji, .self = j->id};
    struct pv_ledger_filter f = {.mac = j->r->mac};
    rc = pv_ledger_foreach(jobs->ledger, &f, collect_history, &w, &j->err);
    if (rc != PV_OK) {
        rc = job_fail_pv(j, &j->err);
    } else if (w.erased) {
        rc = decide_after_reset(j, ji, seen ? cur : NULL, w.touched_by);
    } else if (w.write_unfinished) {
        rc = decide_after_unfinished_write(j, ji, seen ? cur : NULL, w.touched_by);
    } else if (jobs->mode == PV_JOB_ONLY_FS) {
        ji->mode = PV_REPROVISION_KEEP;
    } else if (seen) {
        rc = decide(j, cur, &ji->mode);
        if (rc == PV_OK && ji->mode == PV_REPROVISION_RENEW) {
            snprintf(ji->replaced, sizeof ji->replaced, "%s", cur->cert_serial);
        }
    } else {
        rc = decide_from_record(j, ji, jobs->reprovision);
    }
    free(cur);
    int64_t seq = -1;
    if (rc == PV_OK) {
        rc = take_seq(j, &seq);
    }
    if (rc != PV_OK) {
        return rc;
    }
    if (ji->mode == PV_REPROVISION_KEEP) {
        rc = read_back(j, &ji->ident);
        if (rc == PV_OK) {
            rc = check_kept(j, &ji->ident);
        }
        if (rc == PV_OK &&
            pv_device_init(&ji->dev, j->p, ji->ident.id, j->mac, seq, NULL, &j->err) != PV_OK) {
            rc = job_fail_pv(j, &j->err);
        }
    } else {
        job_phase(j, PV_PHASE_MINT, 0);
        if (pv_device_init(&ji->dev, j->p, NULL, j->mac, seq, NULL, &j->err) != PV_OK) {
            return job_fail_pv(j, &j->err);
        }
        rc = jobs->dry_run
                 ? pv_mint_preview(jobs->ca, j->p, &ji->dev, &ji->ident, &j->err)
                 : pv_mint_device(jobs->ca, j->p, &ji->dev, jobs->pool, &ji->ident, &j->err);
        if (rc != PV_OK) {
            rc = job_fail_pv(j, &j->err);
        }
    }
    return rc == PV_OK ? record_minted(j, ji) : rc;
}

int identity_after_write(struct job *j, struct job_identity *ji)
{
    if (ji->replaced[0] == '\0' || j->jobs->dry_run ||
        pv_serial_same(ji->replaced, ji->ident.serial)) {
        return PV_OK;
    }
    char why[64];
    snprintf(why, sizeof why, "renewed by attempt %lld", (long long)j->id);
    return identity_revoke(j, ji->replaced, pv_crl_reason("superseded"), why);
}

void identity_release(struct job_identity *ji)
{
    pv_identity_release(&ji->ident);
}
