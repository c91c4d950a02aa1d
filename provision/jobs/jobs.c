/* What every job of a run shares: firmware in memory, checked once; the job entry point. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provision/jobs/job_priv.h"

const char *pv_job_phase_name(enum pv_job_phase phase)
{
    static const char *const names[] = {
        [PV_PHASE_CONNECT] = "connect", [PV_PHASE_CHECK] = "check", [PV_PHASE_READ] = "read",
        [PV_PHASE_MINT] = "mint",       [PV_PHASE_BUILD] = "build", [PV_PHASE_ERASE] = "erase",
        [PV_PHASE_WRITE] = "write",     [PV_PHASE_RESET] = "reset", [PV_PHASE_DONE] = "done",
    };
    return (size_t)phase < sizeof names / sizeof names[0] ? names[phase] : "?";
}

/* An ESP image built for another chip would brick nothing, but it would not
 * run either: refuse it before any board is touched. */
static int check_image(const struct pv_jobs_priv *pre, const struct job_blob *b,
                       const char *chip_name, struct pv_error *err)
{
    bool esp8266 = pre->chip == FL_CHIP_ESP8266;
    if (b->len < 8 || !(b->data[0] == 0xE9 || (esp8266 && b->data[0] == 0xEA))) {
        return PV_OK; /* not an app or bootloader image (data, a partition table ...) */
    }
    /* The header says which chip (ESP32 family: the extended header's chip
     * id; no extended header: ESP8266). */
    struct fl_image_info info;
    struct fl_error fe;
    if (fl_image_parse(b->data, b->len, FL_CHIP_AUTO, &info, &fe) == FL_OK &&
        info.chip != pre->chip) {
        return pv_error_set(err, PV_ERR_INVALID, "use firmware built for this chip",
                            "firmware at 0x%x was built for %s, the profile is for %s", b->offset,
                            fl_chip_name(info.chip), chip_name);
    }
    if (fl_image_parse(b->data, b->len, pre->chip, &info, &fe) != FL_OK) {
        return pv_error_set(err, PV_ERR_INVALID, "rebuild the firmware for this chip",
                            "firmware at 0x%x: %s", b->offset, fe.msg);
    }
    if (!info.valid) {
        return pv_error_set(err, PV_ERR_INVALID, "rebuild or re-download the file",
                            "firmware at 0x%x: the image checksum or digest is wrong (a damaged "
                            "file?)",
                            b->offset);
    }
    return PV_OK;
}

static int load_firmware(const struct pv_profile *p, struct pv_jobs_priv *pre, struct pv_error *err)
{
    for (size_t i = 0; i < p->firmware_count && i < JOB_REGIONS_MAX - 2; i++) {
        struct job_blob *b = &pre->fw[pre->fw_count];
        if (pv_file_read(p->firmware[i].file, 64u << 20, &b->data, &b->len, err) != PV_OK) {
            return pv_error_prefix(err, ".firmware[%zu]", i);
        }
        pre->fw_count++;
        b->offset = p->firmware[i].offset;
        job_sha256_hex(b->data, b->len, b->sha256);
        if (check_image(pre, b, p->chip, err) != PV_OK) {
            return pv_error_prefix(err, "%s", p->firmware[i].file);
        }
    }
    if (p->partitions.table != NULL) {
        if (pv_partitions_to_binary(p->partitions.table, true, pre->table_bin, err) != PV_OK) {
            return pv_error_prefix(err, ".partitions");
        }
        pre->has_table = true;
        pre->table_offset = p->partitions.table->table_offset;
        job_sha256_hex(pre->table_bin, sizeof pre->table_bin, pre->table_sha256);
    }
    /* "0xOFFSET:SHA256" items in address order; a list too long for the
     * column is stored as one SHA-256 over it. */
    char list[4096] = "";
    size_t used = 0;
    for (size_t i = 0; i <= pre->fw_count; i++) {
        bool table = i == pre->fw_count;
        if (table && !pre->has_table) {
            break;
        }
        used += (size_t)snprintf(list + used, sizeof list - used, "%s0x%x:%s", used ? "," : "",
                                 table ? pre->table_offset : pre->fw[i].offset,
                                 table ? pre->table_sha256 : pre->fw[i].sha256);
    }
    if (used < sizeof pre->fw_digests) {
        memcpy(pre->fw_digests, list, used + 1);
    } else {
        job_sha256_hex((const uint8_t *)list, used, pre->fw_digests);
    }
    return PV_OK;
}

static bool has_seq(const char *t)
{
    return t != NULL && strstr(t, "{seq") != NULL;
}

static bool profile_uses_seq(const struct pv_profile *p)
{
    bool used = has_seq(p->device.id) || has_seq(p->mqtt.client_id) || has_seq(p->mqtt.username);
    for (size_t i = 0; i < p->device.subject_count; i++) {
        used |= has_seq(p->device.subject[i].value);
    }
    for (size_t i = 0; i < p->device.san_dns_count; i++) {
        used |= has_seq(p->device.san_dns[i]);
    }
    for (size_t i = 0; i < p->mqtt.topic_count; i++) {
        used |= has_seq(p->mqtt.topics[i].value);
    }
    return used;
}

int pv_jobs_prepare(struct pv_jobs *jobs, struct pv_error *err)
{
    pv_error_clear(err);
    const struct pv_profile *p = jobs->profile;
    if (p == NULL || jobs->ledger == NULL) {
        return pv_error_set(err, PV_ERR_INVALID, NULL, "jobs need a profile and a ledger");
    }
    bool need_ca = jobs->mode != PV_JOB_RESET || (jobs->reset_flags & PV_RESET_REVOKE);
    if (need_ca && jobs->ca == NULL) {
        return pv_error_set(err, PV_ERR_INVALID, NULL, "jobs need the CA");
    }
    struct pv_jobs_priv *pre = calloc(1, sizeof *pre);
    if (pre == NULL) {
        return pv_error_set(err, PV_ERR_NOMEM, NULL, "out of memory");
    }
    jobs->priv = pre;
    if (!fl_chip_parse(p->chip, &pre->chip)) {
        return pv_error_set(err, PV_ERR_INVALID, NULL, ".chip: unknown chip \"%s\"", p->chip);
    }
    pre->uses_seq = profile_uses_seq(p);
    int rc = load_firmware(p, pre, err);
    if (rc == PV_OK && jobs->ca != NULL) {
        const uint8_t *der;
        pv_ca_cert_der(jobs->ca, &der, &pre->ca_len);
        if ((pre->ca_der = malloc(pre->ca_len)) == NULL) {
            return pv_error_set(err, PV_ERR_NOMEM, NULL, "out of memory");
        }
        memcpy(pre->ca_der, der, pre->ca_len);
    }
    const char *secrets[] = {p->wifi.password, p->mqtt.password, p->mqtt.token};
    for (size_t i = 0; rc == PV_OK && i < sizeof secrets / sizeof secrets[0]; i++) {
        rc = pv_ledger_add_secret(jobs->ledger, secrets[i], err);
    }
    if (rc == PV_OK && !jobs->dry_run) {
        rc = pv_ledger_close_interrupted(jobs->ledger, NULL, err);
    }
    /* What a job decides (renew, keep, refuse) reads the ledger's states. */
    if (rc == PV_OK && !jobs->dry_run) {
        rc = pv_jobs_sync_revocations(p, jobs->ledger, NULL, err);
    }
    return rc;
}

void pv_jobs_release(struct pv_jobs *jobs)
{
    struct pv_jobs_priv *pre = jobs ? jobs->priv : NULL;
    if (pre == NULL) {
        return;
    }
    for (size_t i = 0; i < pre->fw_count; i++) {
        free(pre->fw[i].data);
    }
    free(pre->ca_der);
    free(pre);
    jobs->priv = NULL;
}

int pv_job_run(const struct pv_jobs *jobs, const char *port, struct pv_job_result *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->port, sizeof out->port, "%s", port);
    out->dry_run = jobs->dry_run;
    struct job *j = calloc(1, sizeof *j);
    if (j == NULL || jobs->priv == NULL) {
        free(j);
        snprintf(out->error, sizeof out->error, "%s",
                 jobs->priv ? "out of memory" : "the jobs were not prepared");
        return PV_ERR_NOMEM;
    }
    j->jobs = jobs;
    j->pre = jobs->priv;
    j->p = jobs->profile;
    j->r = out;
    j->t0_ms = job_now_ms();
    int rc = jobs->mode == PV_JOB_RESET ? job_factory_reset(j) : job_provision(j);
    if (j->session_ready) {
        if (rc != PV_OK && j->connected) {
            struct fl_error e;
            (void)fl_restore_baud(&j->s, &e); /* the next run must reach it */
        }
        fl_session_release(&j->s);
    }
    out->ok = rc == PV_OK;
    out->seconds = (double)(job_now_ms() - j->t0_ms) / 1000.0;
    job_phase(j, PV_PHASE_DONE, 0);
    free(j);
    return rc;
}
