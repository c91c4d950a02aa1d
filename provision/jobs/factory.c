/* Factory reset: revoke (optionally), erase the data regions or the chip, restore, reset. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provision/jobs/job_priv.h"

#define SERIALS_MAX 32
#define CHUNK       0x40000u /* whole-flash erases in pieces: progress, and Ctrl-C between them */

struct serial_walk {
    char serials[SERIALS_MAX][66];
    size_t count;
};

static int collect_serials(const struct pv_ledger_row *row, void *arg)
{
    struct serial_walk *w = arg;
    if (row->kind == PV_LEDGER_PROVISION && row->cert_serial[0] != '\0' &&
        row->revoked_at[0] == '\0' && w->count < SERIALS_MAX) {
        bool dup = false;
        for (size_t i = 0; i < w->count; i++) {
            dup |= strcmp(w->serials[i], row->cert_serial) == 0;
        }
        if (!dup) {
            snprintf(w->serials[w->count++], sizeof w->serials[0], "%s", row->cert_serial);
        }
    }
    return 0;
}

/* Before erasing: a board being retired loses its certificate even when
 * the erase then fails. */
static int revoke_all(struct job *j)
{
    struct serial_walk *w = calloc(1, sizeof *w);
    if (w == NULL) {
        return job_fail(j, PV_ERR_NOMEM, NULL, "out of memory");
    }
    struct pv_ledger_filter f = {.mac = j->r->mac};
    int rc = PV_OK;
    if (pv_ledger_foreach(j->jobs->ledger, &f, collect_serials, w, &j->err) != PV_OK) {
        rc = job_fail_pv(j, &j->err);
    } else if (w->count == 0) {
        rc = job_fail(
            j, PV_ERR_NOT_FOUND, "run without --revoke, or revoke by id with 'espprov cert revoke'",
            "the ledger has no unrevoked certificate for %s; nothing was erased", j->r->mac);
    }
    char why[64];
    snprintf(why, sizeof why, "factory reset (attempt %lld)", (long long)j->id);
    for (size_t i = 0; rc == PV_OK && i < w->count; i++) {
        rc = identity_revoke(j, w->serials[i], pv_crl_reason("cessationOfOperation"), why);
    }
    free(w);
    return rc;
}

/* Partitions whose content is the device's own data. phy (RF init data) and
 * efuse (emulated eFuses) describe the hardware, not the owner: kept. */
static bool owner_data(const struct pv_partition *e)
{
    return e->type == PV_PART_DATA && e->subtype != 0x01 && e->subtype != 0x05;
}

static void add(struct job_region *out, size_t *n, uint32_t addr, uint32_t len, const char *what)
{
    for (size_t i = 0; i < *n; i++) {
        if (out[i].addr == addr) {
            return;
        }
    }
    if (*n < JOB_REGIONS_MAX && len != 0) {
        out[*n] = (struct job_region){addr, len, NULL, ""};
        snprintf(out[*n].what, sizeof out[*n].what, "%s", what);
        (*n)++;
    }
}

static int esp32_data(struct job *j, struct job_region *out, size_t *n)
{
    struct pv_partition_table *t = calloc(1, sizeof *t);
    if (t == NULL) {
        return job_fail(j, PV_ERR_NOMEM, NULL, "out of memory");
    }
    int rc = PV_OK;
    if (j->p->partitions.table != NULL) {
        *t = *j->p->partitions.table;
    } else if ((rc = plan_read_table(j, t)) == PV_ERR_NOT_FOUND) {
        t->count = 0; /* no table on the board: only the filesystem */
        rc = PV_OK;
    } else if (rc != PV_OK) {
        rc = job_fail_pv(j, &j->err);
    }
    for (size_t i = 0; rc == PV_OK && i < t->count; i++) {
        const struct pv_partition *e = &t->entries[i];
        if (owner_data(e)) {
            char what[40];
            snprintf(what, sizeof what, "partition %s", e->label);
            add(out, n, e->offset, e->size & ~0xFFFu, what);
        }
    }
    free(t);
    return rc;
}

static int cmp_addr(const void *a, const void *b)
{
    uint32_t x = ((const struct job_region *)a)->addr, y = ((const struct job_region *)b)->addr;
    return x < y ? -1 : x > y;
}

/* Touching regions become one erase: fewer commands, and on the ESP8266 ROM
 * (whose erase size is approximate for odd sector counts) fewer chances to
 * spill past a region's end. */
static void merge(struct job_region *r, size_t *n)
{
    qsort(r, *n, sizeof *r, cmp_addr);
    size_t k = 0;
    for (size_t i = 0; i < *n; i++) {
        if (k > 0 && (uint64_t)r[k - 1].addr + r[k - 1].len == r[i].addr) {
            r[k - 1].len += r[i].len;
            snprintf(r[k - 1].what, sizeof r[k - 1].what, "0x%x-0x%x", r[k - 1].addr,
                     r[k - 1].addr + r[k - 1].len);
        } else {
            r[k++] = r[i];
        }
    }
    *n = k;
}

static int data_regions(struct job *j, struct job_region *out, size_t *n)
{
    const struct pv_profile *p = j->p;
    *n = 0;
    if (p->fs.size != 0) {
        add(out, n, p->fs.offset, p->fs.size, "the filesystem");
    }
    if (j->pre->chip != FL_CHIP_ESP8266) {
        return esp32_data(j, out, n);
    }
    uint32_t start = p->fs.offset + p->fs.size, end = j->flash_size;
    for (size_t i = 0; i < j->pre->fw_count; i++) {
        if (j->pre->fw[i].offset + j->pre->fw[i].len > start) {
            return PV_OK; /* firmware lives up there: leave the tail alone */
        }
    }
    if (p->fs.size != 0 && end > start) {
        add(out, n, start, end - start, "the settings area (EEPROM, RF, WiFi)");
    }
    return PV_OK;
}

static int erase_everything(struct job *j)
{
    uint32_t size = j->flash_size ? j->flash_size : j->s.info.flash_size;
    if (size == 0) {
        return job_fail(j, PV_ERR_INVALID, "set .flash.size in the profile",
                        "the board did not say how big its flash is");
    }
    if (j->s.info.stub_running) {
        job_phase(j, PV_PHASE_ERASE, size);
        if (fl_erase_chip(&j->s, &j->ferr) != FL_OK) {
            return job_fail_fl(j, &j->ferr);
        }
        j->r->bytes += size;
        job_progress(j, size);
        return PV_OK;
    }
    struct job_region chunks[JOB_REGIONS_MAX];
    size_t n = 0;
    uint32_t step = size / CHUNK <= JOB_REGIONS_MAX ? CHUNK : size / JOB_REGIONS_MAX;
    for (uint32_t at = 0; at < size && n < JOB_REGIONS_MAX; at += step, n++) {
        uint32_t len = size - at < step ? size - at : step;
        chunks[n] = (struct job_region){at, len, NULL, ""};
        snprintf(chunks[n].what, sizeof chunks[n].what, "0x%x-0x%x", at, at + len);
    }
    snprintf(j->r->note, sizeof j->r->note,
             "no flasher stub: the whole flash was erased region by region (set .flash.stub "
             "for a chip erase)");
    return plan_erase(j, chunks, n);
}

static int restore(struct job *j)
{
    struct job_region regions[JOB_REGIONS_MAX];
    size_t n = 0;
    int rc = plan_regions(j, true, NULL, regions, &n);
    if (rc != PV_OK) {
        return rc;
    }
    if (n == 0) {
        snprintf(j->r->note, sizeof j->r->note, "the profile has no firmware to restore");
        return PV_OK;
    }
    j->next = PV_STEP_WRITTEN;
    const struct pv_jobs *jobs = j->jobs;
    if (pv_ledger_step(jobs->ledger, j->id, PV_STEP_WRITE, &j->err) != PV_OK) {
        return job_fail_pv(j, &j->err);
    }
    bool verified = false;
    if ((rc = plan_write(j, regions, n, &verified)) != PV_OK) {
        return rc;
    }
    if (pv_ledger_written(jobs->ledger, j->id, j->pre->fw_digests, NULL, &j->err) != PV_OK) {
        return job_fail_pv(j, &j->err);
    }
    j->r->verified = verified;
    j->next = PV_STEP_VERIFIED;
    if (verified && pv_ledger_step(jobs->ledger, j->id, PV_STEP_VERIFIED, &j->err) != PV_OK) {
        return job_fail_pv(j, &j->err);
    }
    return PV_OK;
}

int job_factory_reset(struct job *j)
{
    const struct pv_jobs *jobs = j->jobs;
    int rc = job_connect(j, PV_LEDGER_RESET);
    if (rc != PV_OK) {
        return rc;
    }
    j->next = PV_STEP_ERASED;
    if (job_aborted(j)) {
        return PV_ERR_CANCELLED;
    }
    if ((rc = plan_check_board(j)) != PV_OK) {
        return rc;
    }
    struct pv_ledger_row *cur = calloc(1, sizeof *cur);
    if (cur != NULL && pv_ledger_get(jobs->ledger, j->id, cur, &j->err) == PV_OK) {
        snprintf(j->r->id, sizeof j->r->id, "%s", cur->device_id);
    }
    free(cur);
    if ((jobs->reset_flags & PV_RESET_REVOKE) && (rc = revoke_all(j)) != PV_OK) {
        return rc;
    }
    if (jobs->reset_flags & PV_RESET_FULL) {
        rc = erase_everything(j);
    } else {
        struct job_region regions[JOB_REGIONS_MAX];
        size_t n = 0;
        rc = data_regions(j, regions, &n);
        if (rc == PV_OK) {
            merge(regions, &n);
            rc = plan_erase(j, regions, n);
        }
    }
    if (rc != PV_OK) {
        return rc;
    }
    if (pv_ledger_step(jobs->ledger, j->id, PV_STEP_ERASED, &j->err) != PV_OK) {
        return job_fail_pv(j, &j->err);
    }
    if ((jobs->reset_flags & PV_RESET_RESTORE) && (rc = restore(j)) != PV_OK) {
        return rc;
    }
    j->next = PV_STEP_RESET;
    if ((rc = job_finish_board(j)) != PV_OK) {
        return rc;
    }
    if (pv_ledger_step(jobs->ledger, j->id, PV_STEP_RESET, &j->err) != PV_OK) {
        return job_fail_pv(j, &j->err);
    }
    return PV_OK;
}
