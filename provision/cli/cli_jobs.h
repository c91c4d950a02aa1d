/*
 * Command-layer helpers for the job commands (cmd_provision.c,
 * cmd_factory_reset.c): signals, the progress display, result lines, the
 * reprovision prompt and the summary.
 *
 * Output: results on stdout, one line per board as it ends (or one JSON
 * object per line with --json), then a summary line; progress and notes on
 * stderr: on a terminal one line per active port redrawn in place (all
 * drawing under one mutex, redraws from one thread), otherwise plain lines
 * at each step.
 *
 * Signals: SIGINT/SIGTERM are blocked in every thread and read from a
 * signalfd by the display thread (no global state). First: no new board
 * starts, boards in flight finish. Second: boards in flight stop at the next
 * safe point (their ledger rows say "failed at <step>: cancelled"). Third:
 * exit at once (the ledger stays true: unfinished rows read "interrupted").
 */
#ifndef ESPPROV_CLI_JOBS_H
#define ESPPROV_CLI_JOBS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "flasher/flasher.h"
#include "provision/cli/cli.h"
#include "provision/jobs/jobs.h"
#include "provision/ledger/ledger.h"
#include "provision/profile/profile.h"

#define CLI_SLOTS 32

struct cli_slot {
    bool used;
    char port[64];
    char mac[PV_LEDGER_MAC_LEN];
    char id[PV_ID_MAX + 1];
    enum pv_job_phase phase;
    uint64_t done, total;
    int64_t start_ms;
    int64_t last_line_ms; /* plain mode: the last progress line */
};

struct cli_run {
    const struct cli_ctx *ctx;
    bool json;
    bool tty; /* progress redrawn in place on stderr */
    bool dry_run;
    const char *done_word; /* "provisioned", "reset" */
    pthread_mutex_t lock;  /* the display and the counters */
    pthread_mutex_t prompt_lock;
    struct cli_slot slots[CLI_SLOTS];
    int drawn;      /* progress lines now on the screen */
    bool prompting; /* a question is on the screen: no redraws */
    unsigned ok, failed, cancelled, revoked;
    int64_t start_ms;
    atomic_bool stop_new; /* first Ctrl-C */
    atomic_bool abort;    /* second Ctrl-C */
    atomic_bool ui_quit;
    int signals;
    int sigfd;
    bool ui_running;
    pthread_t ui;
    struct pv_batch *batch; /* stopped on the first Ctrl-C, when set */
    bool station;           /* print a running tally after each result */
    int64_t interval_ms;    /* plain mode: progress lines at most this often */
    char last_ok[256];      /* the port of the last board that ended well */
    unsigned station_seen;  /* station: boards that arrived */
};

/* Blocks SIGINT/SIGTERM (call before any thread exists) and starts the
 * display thread. Returns CLI_OK or CLI_FAILED (printed). */
int cli_run_start(struct cli_run *run, const struct cli_ctx *ctx, bool json, bool dry_run,
                  const char *done_word);
/* Stops the display thread and clears the progress lines. */
void cli_run_stop(struct cli_run *run);
/* Points the jobs' callbacks (progress, log, ask, abort) at the display. */
void cli_run_hook(struct cli_run *run, struct pv_jobs *jobs);
/* Batch callback: the result line of one board. */
void cli_run_result(void *user, const struct pv_job_result *r);
/* A note on stderr ("port: ..."), drawn cleanly around the progress lines. */
void cli_run_note(struct cli_run *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The summary line (stdout); returns the exit status: 1 if a board failed
 * or was cancelled. */
int cli_run_summary(struct cli_run *run);

/* cli_jobs_setup.c: what both job commands open, and running the batch. */
struct cli_job_env {
    struct pv_profile *profile;
    struct pv_ledger *ledger;
    struct pv_ca *ca;
    struct fl_stub *stub;      /* NULL: ROM loader */
    struct fl_stub_set *stubs; /* the default stubs (when no stub was named) */
    struct pv_keypool *pool;
    char **usb_ports; /* --all-ports: the ttys `espprov ports` lists */
    size_t usb_count;
};
struct cli_job_args {
    const char *usage;
    const char *profile;             /* -P */
    const char *stub;                /* --stub FILE, overrides .flash.stub */
    bool no_stub;                    /* --no-stub */
    enum fl_stub_family stub_family; /* --stub-family */
    bool need_ca;
    const char **ports; /* --port, in order (duplicates dropped) */
    size_t port_count;
    bool all_ports;
    bool watch;
    bool json;
    bool dry_run;
    uint64_t baud; /* --baud, 0 = the profile's */
    int before;    /* --before: enum fl_before (0: default-reset) */
    const char *port_list[64];
};

/* getopt_long codes of the options every job command takes, and their table
 * rows (-P, -p, --baud, --stub, --no-stub, --json, --before, --help). */
enum {
    CLI_JOB_OPT_BAUD = 300,
    CLI_JOB_OPT_STUB,
    CLI_JOB_OPT_NO_STUB,
    CLI_JOB_OPT_JSON,
    CLI_JOB_OPT_STUB_FAMILY,
    CLI_JOB_OPT_BEFORE,
};
#define CLI_JOB_OPTIONS                                                                            \
    {"profile", required_argument, NULL, 'P'}, {"port", required_argument, NULL, 'p'},             \
        {"baud", required_argument, NULL, CLI_JOB_OPT_BAUD},                                       \
        {"stub", required_argument, NULL, CLI_JOB_OPT_STUB},                                       \
        {"no-stub", no_argument, NULL, CLI_JOB_OPT_NO_STUB},                                       \
        {"stub-family", required_argument, NULL, CLI_JOB_OPT_STUB_FAMILY},                         \
        {"json", no_argument, NULL, CLI_JOB_OPT_JSON},                                             \
        {"before", required_argument, NULL, CLI_JOB_OPT_BEFORE},                                   \
    {                                                                                              \
        "help", no_argument, NULL, 'h'                                                             \
    }

/* Starts the arguments of a job command with its usage text. */
void cli_job_args_init(struct cli_job_args *a, const char *usage);
/* Handles one of the shared options: returns false when `c` is the
 * command's own. When it returns true with *status >= 0 (a usage error was
 * printed, or the help text), the command exits with *status. */
bool cli_job_option(struct cli_job_args *a, int c, const char *arg, int *status);
/* Checks the shared options once all are parsed; prints and returns
 * CLI_USAGE on a contradiction, else -1 (go on). */
int cli_job_args_check(const struct cli_job_args *a);
/* Profile, ledger, CA (passphrase registered as a ledger secret), stub.
 * Prints its error; returns CLI_OK, CLI_USAGE or CLI_FAILED. */
int cli_jobs_open(const struct cli_ctx *ctx, const struct cli_job_args *a, struct cli_job_env *env);
void cli_jobs_close(struct cli_job_env *env);
/* Starts the key pool for RSA device keys (`boards` at a time). */
int cli_jobs_pool(struct cli_job_env *env, size_t boards);
/* Runs the prepared jobs on the ports (or as a station), prints results,
 * rewrites the CRL after revocations, prints the summary. Returns the exit
 * status. */
int cli_jobs_execute(struct cli_run *run, const struct cli_job_args *a, struct cli_job_env *env,
                     struct pv_jobs *jobs);

/* The whole life of a job command: opens the environment, starts the
 * display, (for RSA keys) the key pool, fills `spec`'s shared fields
 * (profile, CA, ledger, pool, stub, baud, dry run) from them, prepares and
 * runs the jobs, and tears everything down. `spec` carries only what the
 * command decides (mode, flags, policy). Returns the exit status. */
int cli_jobs_main(const struct cli_ctx *ctx, const struct cli_job_args *a,
                  const struct pv_jobs *spec, const char *done_word, bool key_pool);
/* The same, also giving the port of the last board that ended well ("" when
 * none): where `provision --monitor` attaches. */
int cli_jobs_main_last(const struct cli_ctx *ctx, const struct cli_job_args *a,
                       const struct pv_jobs *spec, const char *done_word, bool key_pool,
                       char *last_ok, size_t cap);

/* cli_jobs_draw.c: the progress lines (callers hold run->lock). */
void cli_draw_clear(struct cli_run *run);
void cli_draw_slots(struct cli_run *run);
/* Plain mode: one line when a board moves to another phase. */
void cli_draw_plain_step(struct cli_run *run, const struct pv_job_progress *p);
/* Plain mode: "port: writing 45%, 1.2 MB of 2.6 MB" while a phase runs. */
void cli_draw_plain_progress(struct cli_run *run, const struct pv_job_progress *p);

#endif
