/* What goes where on one board: the board against the profile, regions, writes and erases. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provision/jobs/job_priv.h"

#define SECTOR 0x1000u

int plan_read_table(struct job *j, struct pv_partition_table *t)
{
    static const uint32_t len = PV_PARTITION_TABLE_SIZE;
    uint8_t *buf = malloc(len);
    if (buf == NULL) {
        return pv_error_set(&j->err, PV_ERR_NOMEM, NULL, "out of memory");
    }
    job_phase(j, PV_PHASE_READ, len);
    int rc = PV_OK;
    if (fl_read(&j->s, PV_PARTITION_TABLE_OFFSET, buf, len, &j->ferr) != FL_OK) {
        rc = pv_error_set(
            &j->err, j->ferr.code == FL_ERR_CANCELLED ? PV_ERR_CANCELLED : PV_ERR_DEVICE,
            j->ferr.hint[0] ? j->ferr.hint : NULL, "cannot read the partition table at 0x%x: %s",
            PV_PARTITION_TABLE_OFFSET, j->ferr.msg);
    } else {
        rc = pv_partitions_parse_binary(buf, len, PV_PARTITION_TABLE_OFFSET, t, &j->err);
        if (rc != PV_OK) {
            pv_error_prefix(&j->err, "the board's partition table");
        }
    }
    free(buf);
    return rc;
}

static int table_from_board(struct job *j)
{
    struct pv_partition_table *t = malloc(sizeof *t);
    if (t == NULL) {
        return job_fail(j, PV_ERR_NOMEM, NULL, "out of memory");
    }
    int rc = plan_read_table(j, t);
    if (rc == PV_ERR_NOT_FOUND) {
        rc = job_fail(j, rc, "flash a table first, or name the CSV in .partitions",
                      "the board has no partition table at 0x%x (.partitions is \"device\")",
                      PV_PARTITION_TABLE_OFFSET);
    } else if (rc != PV_OK) {
        rc = job_fail_pv(j, &j->err);
    } else if (pv_partitions_validate(t, j->flash_size, &j->err) != PV_OK ||
               pv_profile_fs_from_table(j->p, t, &j->board.fs.offset, &j->board.fs.size, &j->err) !=
                   PV_OK) {
        pv_error_prefix(&j->err, "the board's partition table");
        rc = job_fail_pv(j, &j->err);
    }
    free(t);
    if (rc == PV_OK) {
        uint32_t off = j->board.fs.offset, size = j->board.fs.size;
        j->board = *j->p; /* shallow: strings stay the profile's, never freed here */
        j->board.fs.offset = off;
        j->board.fs.size = size;
        j->p = &j->board;
    }
    return rc;
}

int plan_check_board(struct job *j)
{
    const struct pv_profile *p = j->p;
    const struct fl_chip_info *info = &j->s.info;
    job_phase(j, PV_PHASE_CHECK, 0);
    if (info->chip != j->pre->chip) {
        return job_fail(j, PV_ERR_INVALID, "use a profile for this chip, or check the port",
                        "the board is an %s; profile '%s' is for %s", fl_chip_name(info->chip),
                        p->name, fl_chip_name(j->pre->chip));
    }
    uint32_t need = p->flash.size, have = info->flash_size;
    if (need != 0 && have != 0 && !info->flash_size_guessed && have < need) {
        return job_fail(j, PV_ERR_INVALID, "use a profile for this flash size",
                        "the board has %u KB of flash; the profile needs %u KB (.flash.size)",
                        have >> 10, need >> 10);
    }
    j->flash_size = need ? need : info->flash_size_guessed ? 0 : have;
    int rc;
    if (p->partitions.from_device && (rc = table_from_board(j)) != PV_OK) {
        return rc;
    }
    /* The board's flash size may place the ESP8266's SDK sectors where the
     * profile alone could not say. */
    p = j->p;
    uint32_t table = p->partitions.table ? p->partitions.table->table_offset : 0;
    if (p->fs.size != 0 && pv_flash_check_reserved(p->chip, j->flash_size, table, "the filesystem",
                                                   p->fs.offset, p->fs.size, &j->err) != PV_OK) {
        return job_fail_pv(j, &j->err);
    }
    return PV_OK;
}

static int cmp_region(const void *a, const void *b)
{
    uint32_t x = ((const struct job_region *)a)->addr, y = ((const struct job_region *)b)->addr;
    return x < y ? -1 : x > y;
}

int plan_regions(struct job *j, bool firmware, const uint8_t *fs, struct job_region *out, size_t *n)
{
    const struct pv_jobs_priv *pre = j->pre;
    size_t k = 0;
    for (size_t i = 0; firmware && i < pre->fw_count; i++) {
        out[k] =
            (struct job_region){pre->fw[i].offset, (uint32_t)pre->fw[i].len, pre->fw[i].data, ""};
        snprintf(out[k].what, sizeof out[k].what, "firmware at 0x%x", pre->fw[i].offset);
        k++;
    }
    if (firmware && pre->has_table) {
        out[k] = (struct job_region){pre->table_offset, PV_PARTITION_TABLE_SIZE, pre->table_bin,
                                     "the partition table"};
        k++;
    }
    if (fs != NULL) {
        out[k] = (struct job_region){j->p->fs.offset, j->p->fs.size, fs, "the filesystem"};
        k++;
    }
    qsort(out, k, sizeof *out, cmp_region);
    for (size_t i = 0; i < k; i++) {
        uint64_t end = (uint64_t)out[i].addr + out[i].len;
        if (j->flash_size != 0 && end > j->flash_size) {
            return job_fail(j, PV_ERR_INVALID, "check .flash.size and the offsets in the profile",
                            "%s (0x%x-0x%llx) ends past the board's flash (%u KB)", out[i].what,
                            out[i].addr, (unsigned long long)end, j->flash_size >> 10);
        }
        /* Regions may not share a sector: erasing one would wipe the other. */
        uint64_t end_sector = (end + SECTOR - 1) & ~(uint64_t)(SECTOR - 1);
        if (i + 1 < k && end_sector > out[i + 1].addr) {
            return job_fail(j, PV_ERR_INVALID, "move one of them in the profile",
                            "%s (0x%x-0x%llx) and %s (at 0x%x) overlap or share a 4 KB sector",
                            out[i].what, out[i].addr, (unsigned long long)end, out[i + 1].what,
                            out[i + 1].addr);
        }
    }
    *n = k;
    return PV_OK;
}

int plan_write(struct job *j, const struct job_region *regions, size_t n, bool *verified)
{
    struct fl_region fr[JOB_REGIONS_MAX];
    struct fl_region_result res[JOB_REGIONS_MAX];
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        fr[i] = (struct fl_region){regions[i].addr, regions[i].data, regions[i].len};
        total += regions[i].len;
    }
    *verified = false;
    if (n == 0) {
        return PV_OK;
    }
    job_phase(j, PV_PHASE_WRITE, total);
    j->cur_regions = regions;
    int rc = fl_write_regions(&j->s, fr, n, res, &j->ferr);
    j->cur_regions = NULL;
    if (rc != FL_OK) {
        if (rc == FL_ERR_VERIFY) {
            j->next = PV_STEP_VERIFIED;
        }
        return job_fail_fl(j, &j->ferr);
    }
    j->r->bytes += total;
    *verified = true;
    for (size_t i = 0; i < n; i++) {
        *verified &= res[i].verify != FL_VERIFY_UNAVAILABLE;
    }
    job_progress(j, total);
    return PV_OK;
}

int plan_erase(struct job *j, const struct job_region *regions, size_t n)
{
    uint64_t total = 0, done = 0;
    for (size_t i = 0; i < n; i++) {
        total += regions[i].len;
    }
    job_phase(j, PV_PHASE_ERASE, total);
    for (size_t i = 0; i < n; i++) {
        if (job_aborted(j)) {
            return PV_ERR_CANCELLED;
        }
        j->done_base = done;
        if (fl_erase_region(&j->s, regions[i].addr, regions[i].len, &j->ferr) != FL_OK) {
            snprintf(j->ferr.msg + strlen(j->ferr.msg), sizeof j->ferr.msg - strlen(j->ferr.msg),
                     " (erasing %s)", regions[i].what);
            return job_fail_fl(j, &j->ferr);
        }
        done += regions[i].len;
        j->done_base = done;
        job_progress(j, done);
    }
    j->r->bytes += total;
    return PV_OK;
}
