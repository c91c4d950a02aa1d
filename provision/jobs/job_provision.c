/* One board provisioned (or its filesystem rebuilt), in the order jobs.h describes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "provision/image/image.h"
#include "provision/jobs/job_priv.h"

/* The zlib stream (level 9, as the flasher sends it) for `len` bytes. */
static uint64_t deflated_size(const uint8_t *data, size_t len)
{
    uLongf cap = compressBound((uLong)len);
    Bytef *buf = malloc(cap);
    uint64_t n = 0;
    if (buf != NULL && compress2(buf, &cap, data, (uLong)len, Z_BEST_COMPRESSION) == Z_OK) {
        n = cap;
    }
    free(buf);
    return n;
}

/* The result's plan: the regions written, and with --only-fs the firmware
 * left as it is; compressed sizes in a dry run, where the loader inflates. */
static void record_plan(struct job *j, const struct job_region *regions, size_t n)
{
    struct pv_job_result *r = j->r;
    const struct pv_jobs_priv *pre = j->pre;
    bool deflate = j->s.info.stub_running || j->s.info.chip != FL_CHIP_ESP8266;
    r->plan_count = 0;
    for (size_t i = 0; i < n && r->plan_count < PV_JOB_PLAN_MAX; i++) {
        struct pv_job_region *g = &r->plan[r->plan_count++];
        *g = (struct pv_job_region){.addr = regions[i].addr, .size = regions[i].len, .write = true};
        snprintf(g->what, sizeof g->what, "%s", regions[i].what);
        if (j->jobs->dry_run && deflate && regions[i].data != NULL) {
            g->compressed = deflated_size(regions[i].data, regions[i].len);
        }
    }
    if (j->jobs->mode == PV_JOB_ONLY_FS) {
        for (size_t i = 0; i <= pre->fw_count && r->plan_count < PV_JOB_PLAN_MAX; i++) {
            bool table = i == pre->fw_count;
            if (table && !pre->has_table) {
                break;
            }
            struct pv_job_region *g = &r->plan[r->plan_count++];
            *g = (struct pv_job_region){
                .addr = table ? pre->table_offset : pre->fw[i].offset,
                .size = table ? PV_PARTITION_TABLE_SIZE : (uint32_t)pre->fw[i].len,
            };
            snprintf(g->what, sizeof g->what, table ? "the partition table" : "firmware at 0x%x",
                     g->addr);
            snprintf(g->why, sizeof g->why, "--only-fs keeps it");
        }
    }
    /* Address order, kept or written. */
    for (size_t a = 1; a < r->plan_count; a++) {
        for (size_t b = a; b > 0 && r->plan[b - 1].addr > r->plan[b].addr; b--) {
            struct pv_job_region t = r->plan[b];
            r->plan[b] = r->plan[b - 1];
            r->plan[b - 1] = t;
        }
    }
}

static void record_identity(struct job *j, const struct job_identity *ji)
{
    struct pv_cert_info info;
    struct pv_error e;
    if (pv_cert_info(ji->ident.cert_der, ji->ident.cert_der_len, &info, &e) == PV_OK) {
        snprintf(j->r->subject, sizeof j->r->subject, "%s", info.subject);
        j->r->not_after = info.not_after;
    }
    snprintf(j->r->key_type, sizeof j->r->key_type, "%s", pv_key_type_name(ji->ident.key_type));
}

static int write_and_record(struct job *j, struct job_identity *ji,
                            const struct job_region *regions, size_t n, const char *fs_sha)
{
    const struct pv_jobs *jobs = j->jobs;
    struct pv_job_result *r = j->r;
    bool verified = false;
    /* From here the board may hold half an image: a re-run must know. */
    ji->write_started = true;
    if (pv_ledger_step(jobs->ledger, j->id, PV_STEP_WRITE, &j->err) != PV_OK) {
        return job_fail_pv(j, &j->err);
    }
    if (plan_write(j, regions, n, &verified) != PV_OK) {
        return r->cancelled ? PV_ERR_CANCELLED : PV_ERR_DEVICE;
    }
    const char *fw = jobs->mode == PV_JOB_ONLY_FS ? NULL : j->pre->fw_digests;
    if (fw != NULL && fw[0] == '\0') {
        fw = NULL;
    }
    if (pv_ledger_written(jobs->ledger, j->id, fw, fs_sha, &j->err) != PV_OK) {
        return job_fail_pv(j, &j->err);
    }
    r->verified = verified;
    if (verified) {
        j->next = PV_STEP_VERIFIED;
        if (pv_ledger_step(jobs->ledger, j->id, PV_STEP_VERIFIED, &j->err) != PV_OK) {
            return job_fail_pv(j, &j->err);
        }
    } else {
        snprintf(r->note, sizeof r->note,
                 "written but not verified: the ESP8266 ROM loader has no MD5 (set .flash.stub)");
    }
    j->next = PV_STEP_PROVISIONED;
    int rc = identity_after_write(j, ji);
    if (rc != PV_OK) {
        return rc;
    }
    if ((rc = job_finish_board(j)) != PV_OK) {
        return rc;
    }
    if (pv_ledger_step(jobs->ledger, j->id, PV_STEP_PROVISIONED, &j->err) != PV_OK) {
        return job_fail_pv(j, &j->err);
    }
    return PV_OK;
}

/* The job stopped between the mint and the first write to the board: the
 * new certificate never left the host and is in use nowhere, so it is
 * revoked now (superseded) rather than left live until a re-run. The job's
 * own error stands; a revocation that fails is added to the note. */
static void revoke_undelivered(struct job *j, const struct job_identity *ji)
{
    if (j->jobs->dry_run || ji->write_started || ji->mode == PV_REPROVISION_KEEP ||
        ji->ident.serial[0] == '\0') {
        return;
    }
    char why[96];
    snprintf(why, sizeof why, "never delivered: attempt %lld stopped before the write",
             (long long)j->id);
    struct pv_error e;
    size_t count = 0;
    int rc = pv_revoke(j->jobs->profile, ji->ident.serial, NULL, pv_crl_reason("superseded"),
                       &count, &e);
    if (rc == PV_OK || rc == PV_ERR_NOT_FOUND) {
        rc = pv_ledger_revoke(j->jobs->ledger, ji->ident.serial, why, NULL, &e);
    }
    if (rc != PV_OK) {
        snprintf(j->r->note, sizeof j->r->note,
                 "certificate %s was never delivered but could not be revoked (%s): run "
                 "'espprov cert revoke --serial %s'",
                 ji->ident.serial, e.msg, ji->ident.serial);
        return;
    }
    j->r->revoked += (unsigned)count;
}

int job_provision(struct job *j)
{
    const struct pv_jobs *jobs = j->jobs;
    bool firmware = jobs->mode != PV_JOB_ONLY_FS;
    int rc = job_connect(j, PV_LEDGER_PROVISION);
    if (rc != PV_OK) {
        return rc;
    }
    j->next = PV_STEP_MINTED;
    if (job_aborted(j)) {
        return PV_ERR_CANCELLED;
    }
    struct job_region regions[JOB_REGIONS_MAX];
    size_t n = 0;
    /* Every check before a certificate exists; the data is not looked at. */
    static const uint8_t placeholder = 0xFF;
    if ((rc = plan_check_board(j)) != PV_OK ||
        (rc = plan_regions(j, firmware, &placeholder, regions, &n)) != PV_OK) {
        return rc;
    }
    struct job_identity ji;
    if ((rc = identity_choose(j, &ji)) != PV_OK) {
        identity_release(&ji);
        return rc;
    }
    j->next = PV_STEP_WRITTEN;
    uint8_t *img = NULL;
    size_t img_len = 0;
    char fs_sha[65];
    job_phase(j, PV_PHASE_BUILD, 0);
    if (job_aborted(j)) {
        rc = PV_ERR_CANCELLED;
    } else if (pv_image_build(j->p, &ji.dev, &ji.ident, j->pre->ca_der, j->pre->ca_len, &img,
                              &img_len, &j->err) != PV_OK) {
        rc = job_fail_pv(j, &j->err);
    } else {
        job_sha256_hex(img, img_len, fs_sha);
        rc = plan_regions(j, firmware, img, regions, &n);
    }
    if (rc == PV_OK) {
        record_plan(j, regions, n);
        record_identity(j, &ji);
    }
    if (rc == PV_OK && jobs->dry_run) {
        uint64_t bytes = 0;
        for (size_t i = 0; i < n; i++) {
            bytes += regions[i].len;
        }
        snprintf(j->r->note, sizeof j->r->note, "dry run: %zu region%s, %llu bytes not written", n,
                 n == 1 ? "" : "s", (unsigned long long)bytes);
        rc = job_finish_board(j); /* back into its app, as it was */
    } else if (rc == PV_OK) {
        rc = write_and_record(j, &ji, regions, n, fs_sha);
    }
    if (rc != PV_OK) {
        revoke_undelivered(j, &ji);
    }
    pv_secret_free(img, img_len);
    identity_release(&ji);
    return rc;
}
