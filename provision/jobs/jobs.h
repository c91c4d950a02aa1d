/*
 * jobs — the work on boards: one provisioning, filesystem-rebuild or
 * factory-reset job per board and port, batches of them on worker threads,
 * and station mode (start a job for each board plugged in).
 *
 * Owns: struct pv_jobs, struct pv_job_result, struct pv_batch,
 * pv_station_run. May call: everything below it in provision/ (core,
 * layout, ledger, profile, pki, image), flasher (the board), spiffsgen.
 * Does not print or prompt: progress, logs and the reprovision question go
 * through the callbacks in struct pv_jobs.
 * Errors: the core contract; a job's outcome is its struct pv_job_result
 * (the ledger row says the same).
 */
#ifndef ESPPROV_PROVISION_JOBS_H
#define ESPPROV_PROVISION_JOBS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "provision/core/core.h"
#include "provision/ledger/ledger.h"
#include "provision/pki/pki.h"
#include "provision/profile/profile.h"

/* ===== Jobs: provisioning, filesystem rebuild, factory reset ========== */

/*
 * One job is one board on one serial port, run on the caller's thread
 * (pv_batch runs one thread per port). A provisioning job, in this order so
 * that a crash or kill -9 at any moment leaves a ledger that tells the truth:
 *
 *   ledger row (before the board is touched) -> connect + detect -> ledger
 *   connected -> checks (chip, flash size, regions; with .partitions
 *   "device" the board's table) -> device id ({seq} taken) -> reprovision
 *   policy -> identity: mint (recorded by the CA first) or keep (read back)
 *   -> ledger minted -> revoke certificates of this MAC's unfinished
 *   attempts (superseded) -> config + filesystem image in memory -> write
 *   firmware, table and filesystem (compressed, MD5 verified) -> ledger
 *   written, verified -> revoke the certificate a renewal replaced -> hard
 *   reset -> ledger provisioned.
 *
 * A failure ends the row as "failed at <step>" with the reason. A board whose
 * previous attempt failed or was interrupted is simply provisioned again: it
 * counts as "seen before" only once an attempt reached provisioned.
 *
 * --dry-run: everything up to the write, nothing written: no ledger row, no
 * {seq} taken, no certificate issued. The identity is a preview
 * (pv_mint_preview: same shape, self-signed, recorded nowhere), so the CA
 * record keeps holding exactly the certificates that may be on a board.
 *
 * Cancelling: `abort` (when raised) stops a job at the next safe point, i.e.
 * between two flash blocks or two steps; its row then says "failed at <step>:
 * cancelled". Not starting new boards is the batch's business.
 *
 * A factory reset: ledger row -> connect -> connected (the row gets the MAC's
 * identity) -> [revoke every unrevoked certificate of the MAC] -> erase
 * (the data regions, or the whole chip) -> erased -> [write the profile's
 * firmware back -> written, verified] -> hard reset -> reset. Data regions:
 * the filesystem; on ESP32 chips every data partition of the partition table
 * (the profile's, else the one read from the board) except phy and efuse
 * (nvs, otadata, coredump, nvs_keys, fat, spiffs, littlefs, undefined
 * subtypes of type data); on the ESP8266 also everything from the end of the
 * filesystem to the end of the flash (EEPROM, RF calibration, SDK WiFi
 * settings), as Arduino's "Sketch + WiFi Settings" erase does.
 */
struct fl_stub;
struct fl_stub_set;

enum pv_job_mode {
    PV_JOB_PROVISION = 0, /* firmware + filesystem, a new or kept identity */
    PV_JOB_ONLY_FS,       /* only the filesystem, keeping the board's identity */
    PV_JOB_RESET,         /* factory reset */
};

enum pv_reprovision_policy {
    PV_POLICY_ASK = 0, /* call `ask`; without it, refuse */
    PV_POLICY_RENEW,   /* new key and certificate; the old one revoked */
    PV_POLICY_KEEP,    /* keep the key and certificate read back from the board */
};

enum pv_reset_flags {
    PV_RESET_FULL = 1 << 0,    /* erase the whole chip */
    PV_RESET_RESTORE = 1 << 1, /* write the profile's firmware (and table) back */
    PV_RESET_REVOKE = 1 << 2,  /* revoke the MAC's certificates */
};

enum pv_job_phase {
    PV_PHASE_CONNECT = 0,
    PV_PHASE_CHECK,
    PV_PHASE_READ, /* reading the filesystem or partition table back */
    PV_PHASE_MINT,
    PV_PHASE_BUILD,
    PV_PHASE_ERASE,
    PV_PHASE_WRITE,
    PV_PHASE_RESET,
    PV_PHASE_DONE,
};
/* "connect", "check", ... */
const char *pv_job_phase_name(enum pv_job_phase phase);

/* A snapshot for progress displays; pointers valid during the call only. */
struct pv_job_progress {
    const char *port;
    enum pv_job_phase phase;
    uint64_t done, total; /* bytes while reading, erasing, writing; else 0 */
    const char *mac;      /* "" until connected */
    const char *id;       /* "" until known */
};

/* One region of a job's plan: what would be (or was) written where. */
struct pv_job_region {
    uint32_t addr;
    uint32_t size;
    char what[40];       /* "firmware at 0x10000", "the partition table", "the filesystem" */
    bool write;          /* false: left as it is (`why` says why) */
    char why[40];        /* "--only-fs keeps it", or "" */
    uint64_t compressed; /* dry run: the zlib stream the loader would get; 0: sent raw */
};
#define PV_JOB_PLAN_MAX 24

/* How a job ended. Text fields are NUL-terminated, "" when unknown. */
struct pv_job_result {
    char port[256];
    char mac[PV_LEDGER_MAC_LEN];
    char chip[24]; /* "esp32" */
    char id[PV_ID_MAX + 1];
    int64_t attempt; /* ledger row; 0 in a dry run or when none was made */
    bool ok;
    bool dry_run;
    bool cancelled;                  /* stopped by `abort` */
    bool verified;                   /* every written region's MD5 matched */
    enum pv_ledger_step failed_step; /* when !ok */
    char error[512];
    char hint[256];
    char note[256];  /* what the user should know even on success, or "" */
    char serial[41]; /* the certificate on the board (new or kept) */
    char sha256[65];
    enum pv_ledger_reprovision reprovision;
    unsigned revoked; /* certificates this job revoked (CRL needs rewriting) */
    uint64_t bytes;   /* bytes written (before compression) or erased */
    double seconds;
    /* The plan, once the board was checked (a provisioning or --only-fs
     * job): every region in address order. */
    size_t plan_count;
    struct pv_job_region plan[PV_JOB_PLAN_MAX];
    /* The identity the board gets (in a dry run: the preview's, not issued). */
    char subject[256];
    char key_type[16];
    int64_t not_after; /* Unix seconds; INT64_MAX "never"; 0 unknown */
};

struct pv_jobs_priv;

/* What every job of a run shares. Fill the public part, then
 * pv_jobs_prepare(); read-only while jobs run. Callbacks come from the jobs'
 * threads, concurrently; each may be NULL. */
struct pv_jobs {
    enum pv_job_mode mode;
    const struct pv_profile *profile;
    struct pv_ca *ca;                /* required except for a reset without REVOKE */
    struct pv_ledger *ledger;        /* required */
    struct pv_keypool *pool;         /* RSA keys made ahead, or NULL */
    const struct fl_stub *stub;      /* flasher stub to run, or NULL: ROM loader */
    const struct fl_stub_set *stubs; /* else the board's chip's stub from these (or NULL) */
    uint32_t baud;                   /* 0: .flash.baud, else 460800 */
    int before;                      /* enum fl_before; 0: reset into the loader with DTR/RTS */
    bool dry_run;
    enum pv_reprovision_policy reprovision;
    unsigned reset_flags; /* enum pv_reset_flags */
    int log_level;        /* enum fl_log_level passed to `log` (default 0: errors) */
    const atomic_bool *abort;

    void *user;
    void (*progress)(void *user, const struct pv_job_progress *p);
    void (*log)(void *user, const char *port, int level, const char *msg);
    /* A board with a current identity under PV_POLICY_ASK: returns
     * PV_REPROVISION_RENEW, _KEEP, or _NONE to refuse. Called one at a time
     * per job; the callee serialises prompts. */
    enum pv_ledger_reprovision (*ask)(void *user, const char *port,
                                      const struct pv_ledger_row *identity);

    struct pv_jobs_priv *priv; /* set by pv_jobs_prepare */
};

/*
 * Loads and checks what does not depend on the board, once: firmware files
 * (image headers built for the profile's chip), their SHA-256, the partition
 * table binary, the CA certificate. Registers the profile's secrets with the
 * ledger and, unless dry_run, closes the attempts of dead processes
 * (pv_ledger_close_interrupted).
 */
int pv_jobs_prepare(struct pv_jobs *jobs, struct pv_error *err);
void pv_jobs_release(struct pv_jobs *jobs);

/* Marks in the ledger every attempt whose certificate the CA's record has
 * revoked since (`cert revoke`, another ledger's run), so the ledger's states
 * follow revocations whichever command made them. *marked (may be NULL) gets
 * how many rows changed. pv_jobs_prepare() does this; readers of a ledger
 * call it before listing. */
int pv_jobs_sync_revocations(const struct pv_profile *p, struct pv_ledger *lg, int *marked,
                             struct pv_error *err);

/* Runs one job on `port` and fills *out. Returns PV_OK when the board ended
 * as asked (out->ok), else the error code (details in *out). */
int pv_job_run(const struct pv_jobs *jobs, const char *port, struct pv_job_result *out);

/* ===== Batches and station mode ====================================== */

struct pv_batch; /* one worker thread per port */
struct fl_usb_watch_opts;
struct fl_usb_port;

/* `done` runs on the worker's thread as each job ends (may be NULL). */
int pv_batch_new(const struct pv_jobs *jobs,
                 void (*done)(void *user, const struct pv_job_result *r), void *user,
                 struct pv_batch **out, struct pv_error *err);
/* Starts a worker for `port`. PV_ERR_EXISTS while a worker holds that port;
 * PV_ERR_CANCELLED after pv_batch_stop. */
int pv_batch_start(struct pv_batch *b, const char *port, struct pv_error *err);
/* No new workers from now on (the running ones go on). */
void pv_batch_stop(struct pv_batch *b);
/* Workers still running. */
size_t pv_batch_running(struct pv_batch *b);
/* Waits for every worker. */
void pv_batch_wait(struct pv_batch *b);
/* Results of the finished jobs, in the order they ended. Only once no
 * worker runs (after pv_batch_wait); valid until the next pv_batch_start or
 * pv_batch_free. */
const struct pv_job_result *pv_batch_results(struct pv_batch *b, size_t *count);
/* Whether a finished job of this batch provisioned (or reset) the board with
 * this MAC (normalised form, "aa:bb:..."). Safe while workers run. */
bool pv_batch_done_ok(struct pv_batch *b, const char *mac);
/* Waits, then frees. NULL is fine. */
void pv_batch_free(struct pv_batch *b);

/* What the station reports besides job results. */
enum pv_station_event {
    PV_STATION_ARRIVED, /* a board arrived; a worker started on its tty */
    PV_STATION_SKIPPED, /* a board arrived but was not started (see `why`) */
    PV_STATION_LEFT,    /* a board went away */
};

/*
 * Station mode: watches USB (fl_usb_watch_*) until *stop, starting a worker
 * in `b` for each board that arrives with a usable tty (and, with
 * opts->report_present, for those already plugged in). Skipped: a board
 * without a usable tty, a tty whose worker still runs, and a native-USB
 * board whose serial (its MAC) was provisioned by this station, since its
 * reset into the app makes it arrive again. Returns when *stop is raised
 * (workers keep running: pv_batch_wait) or on a USB error.
 */
int pv_station_run(struct pv_batch *b, const struct fl_usb_watch_opts *opts,
                   const atomic_bool *stop,
                   void (*event)(void *user, enum pv_station_event ev, const char *tty,
                                 const char *why),
                   void *user, struct pv_error *err);

#endif
