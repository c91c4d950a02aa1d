/*
 * Private to the job files (jobs.c, job*.c, flashplan.c, factory.c): the
 * per-run prepared data and the per-board job state.
 */
#ifndef ESPPROV_JOB_PRIV_H
#define ESPPROV_JOB_PRIV_H

#include "flasher/flasher.h"
#include "provision/core/core.h"
#include "provision/layout/layout.h"
#include "provision/ledger/ledger.h"
#include "provision/profile/profile.h"
#include "provision/pki/pki.h"
#include "provision/jobs/jobs.h"

#define JOB_REGIONS_MAX 20 /* firmware files, the partition table, the filesystem */

/* One firmware file in memory, with where it goes. */
struct job_blob {
    uint32_t offset;
    uint8_t *data;
    size_t len;
    char sha256[65];
};

/* Prepared once per run (pv_jobs_prepare). */
struct pv_jobs_priv {
    struct job_blob fw[JOB_REGIONS_MAX];
    size_t fw_count;
    bool has_table;                             /* the profile's table is written */
    uint8_t table_bin[PV_PARTITION_TABLE_SIZE]; /* at the table offset */
    uint32_t table_offset;
    char table_sha256[65];
    char fw_digests[1024]; /* for pv_ledger_written */
    enum fl_chip chip;     /* the profile's */
    uint8_t *ca_der;
    size_t ca_len;
    bool uses_seq; /* some template needs {seq} */
};

/* A region to erase or write, named for messages. */
struct job_region {
    uint32_t addr;
    uint32_t len;
    const uint8_t *data; /* NULL: erase only */
    char what[40];       /* "firmware at 0x10000", "the filesystem", ... */
};

/* One board. */
struct job {
    const struct pv_jobs *jobs;
    struct pv_jobs_priv *pre;
    const struct pv_profile *p; /* the profile, or `board` when the board's table decides */
    struct pv_profile board;    /* shallow copy with the filesystem from the board's table */
    struct pv_job_result *r;
    struct fl_session s;
    bool session_ready;
    bool connected;
    int64_t id;               /* ledger attempt, 0 = none */
    enum pv_ledger_step next; /* the step a failure now fails to reach */
    uint32_t flash_size;      /* what the checks go by */
    uint8_t mac[6];
    struct pv_error err;
    struct fl_error ferr;
    int64_t t0_ms;
    /* progress */
    enum pv_job_phase phase;
    uint64_t done_base; /* bytes of the regions already finished */
    uint64_t total;
    size_t region_base; /* index of the first region of the current call */
    const struct job_region *cur_regions;
};

/* ---- job.c: common steps ------------------------------------------- */
int64_t job_now_ms(void);
void job_phase(struct job *j, enum pv_job_phase phase, uint64_t total);
void job_progress(struct job *j, uint64_t done);
/* Records the failure (result + ledger) at j->next; returns `code`. */
int job_fail(struct job *j, int code, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The same from a library or flasher error (with its hint). */
int job_fail_pv(struct job *j, const struct pv_error *e);
int job_fail_fl(struct job *j, const struct fl_error *e);
/* True (and the job failed as cancelled) when `abort` is up. */
bool job_aborted(struct job *j);
/* Ledger row, session, connect, detect, ledger connected. */
int job_connect(struct job *j, enum pv_ledger_kind kind);
/* Lower-case profile spelling of a chip ("esp32s3"). */
void job_chip_text(enum fl_chip chip, char *out, size_t cap);
/* Hard reset into the app (fl_finish). */
int job_finish_board(struct job *j);
/* SHA-256 of a buffer as lower-case hex. */
void job_sha256_hex(const uint8_t *data, size_t len, char out[65]);

/* ---- flashplan.c: regions and their checks ------------------------- */
/* The board's facts against the profile: chip, flash size; resolves the
 * filesystem from the board's table for .partitions "device". */
int plan_check_board(struct job *j);
/* Reads the board's partition table (PV_ERR_NOT_FOUND when blank). */
int plan_read_table(struct job *j, struct pv_partition_table *t);
/* Adds firmware (+ table) regions unless only_fs, then the filesystem
 * region with `fs` (may be NULL: not added); checks alignment, fit and
 * overlap. Sorted by address. */
int plan_regions(struct job *j, bool firmware, const uint8_t *fs, struct job_region *out,
                 size_t *n);
/* Writes the regions with progress; fills `verified`. */
int plan_write(struct job *j, const struct job_region *regions, size_t n, bool *verified);
/* Erases the regions with progress. */
int plan_erase(struct job *j, const struct job_region *regions, size_t n);

/* ---- job_identity.c ------------------------------------------------ */
struct job_identity {
    struct pv_device dev;
    struct pv_identity ident;
    enum pv_ledger_reprovision mode;
    char replaced[66]; /* serial a renewal replaces: revoked after the write */
    char stale[8][66]; /* serials of this MAC's unfinished attempts */
    size_t stale_count;
    bool write_started; /* the board may hold this identity from here on */
};
/* Device id, policy, mint or keep; ledger minted; stale serials revoked. */
int identity_choose(struct job *j, struct job_identity *ji);
/* After a verified write: revokes the renewed certificate. */
int identity_after_write(struct job *j, struct job_identity *ji);
void identity_release(struct job_identity *ji);
/* Revokes one serial in the CA record and the ledger. */
int identity_revoke(struct job *j, const char *serial, int reason, const char *why);

/* ---- job_provision.c / factory.c ----------------------------------- */
int job_provision(struct job *j);
int job_factory_reset(struct job *j);

#endif
