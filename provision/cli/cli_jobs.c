/* The job commands' runtime: signals, progress callbacks, prompts, result lines, summary. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "flasher/flasher.h"
#include "provision/cli/cli_jobs.h"

/* ===== Signals and the display thread ================================= */

static void on_signal(struct cli_run *run)
{
    struct signalfd_siginfo si;
    if (read(run->sigfd, &si, sizeof si) != (ssize_t)sizeof si) {
        return;
    }
    run->signals++;
    if (run->signals == 1) {
        atomic_store(&run->stop_new, true);
        pthread_mutex_lock(&run->lock);
        if (run->batch != NULL) {
            pv_batch_stop(run->batch);
        }
        pthread_mutex_unlock(&run->lock);
        cli_run_note(run, "stopping: no new board starts, boards in flight finish "
                          "(Ctrl-C again to stop them at the next safe point)");
    } else if (run->signals == 2) {
        atomic_store(&run->abort, true);
        cli_run_note(run, "cancelling the boards in flight (Ctrl-C again to quit at once)");
    } else {
        /* The ledger is safe against this: unfinished rows read "interrupted". */
        fprintf(stderr, "\nespprov: quitting at once\n");
        _exit(130);
    }
}

static void *ui_thread(void *arg)
{
    struct cli_run *run = arg;
    while (!atomic_load(&run->ui_quit)) {
        struct pollfd pfd = {.fd = run->sigfd, .events = POLLIN};
        if (poll(&pfd, 1, 100) > 0) {
            on_signal(run);
        }
        if (run->tty) {
            pthread_mutex_lock(&run->lock);
            if (!run->prompting) {
                cli_draw_clear(run);
                cli_draw_slots(run);
            }
            pthread_mutex_unlock(&run->lock);
        }
    }
    return NULL;
}

int cli_run_start(struct cli_run *run, const struct cli_ctx *ctx, bool json, bool dry_run,
                  const char *done_word)
{
    memset(run, 0, sizeof *run);
    run->ctx = ctx;
    run->json = json;
    run->dry_run = dry_run;
    run->done_word = done_word;
    run->tty = ctx->stderr_tty && ctx->verbosity >= 0;
    run->start_ms = cli_now_ms();
    run->interval_ms = cli_progress_interval_ms();
    run->sigfd = -1;
    pthread_mutex_init(&run->lock, NULL);
    pthread_mutex_init(&run->prompt_lock, NULL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    /* Before any thread exists, so that every thread inherits the mask. */
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0 ||
        (run->sigfd = signalfd(-1, &set, SFD_CLOEXEC)) < 0) {
        return cli_fail(NULL, "cannot set up signal handling: %s", strerror(errno));
    }
    if (pthread_create(&run->ui, NULL, ui_thread, run) != 0) {
        return cli_fail(NULL, "cannot start the display thread");
    }
    run->ui_running = true;
    return CLI_OK;
}

void cli_run_stop(struct cli_run *run)
{
    if (run->ui_running) {
        atomic_store(&run->ui_quit, true);
        pthread_join(run->ui, NULL);
        run->ui_running = false;
    }
    pthread_mutex_lock(&run->lock);
    cli_draw_clear(run);
    pthread_mutex_unlock(&run->lock);
    if (run->sigfd >= 0) {
        close(run->sigfd);
        run->sigfd = -1;
    }
}

void cli_run_note(struct cli_run *run, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&run->lock);
    cli_draw_clear(run);
    fflush(stdout);
    cli_line(stderr, "%s", msg);
    cli_draw_slots(run);
    pthread_mutex_unlock(&run->lock);
}

/* ===== Job callbacks =================================================== */

static struct cli_slot *slot_for(struct cli_run *run, const char *port, bool *fresh)
{
    struct cli_slot *free_slot = NULL;
    *fresh = false;
    for (size_t i = 0; i < CLI_SLOTS; i++) {
        struct cli_slot *s = &run->slots[i];
        if (s->used && strncmp(s->port, port, sizeof s->port - 1) == 0) {
            return s;
        }
        if (!s->used && free_slot == NULL) {
            free_slot = s;
        }
    }
    if (free_slot != NULL) {
        memset(free_slot, 0, sizeof *free_slot);
        free_slot->used = true;
        free_slot->start_ms = cli_now_ms();
        snprintf(free_slot->port, sizeof free_slot->port, "%s", port);
        *fresh = true;
    }
    return free_slot;
}

static void on_progress(void *user, const struct pv_job_progress *p)
{
    struct cli_run *run = user;
    pthread_mutex_lock(&run->lock);
    bool fresh;
    struct cli_slot *s = slot_for(run, p->port, &fresh);
    if (s != NULL) {
        bool step = fresh || s->phase != p->phase;
        s->phase = p->phase;
        s->done = p->done;
        s->total = p->total;
        snprintf(s->mac, sizeof s->mac, "%s", p->mac);
        snprintf(s->id, sizeof s->id, "%s", p->id);
        int64_t now = cli_now_ms();
        if (p->phase == PV_PHASE_DONE) {
            s->used = false;
        } else if (step) {
            cli_draw_plain_step(run, p);
            s->last_line_ms = now;
        } else if (p->total > 0 && p->done < p->total &&
                   now - s->last_line_ms >= run->interval_ms) {
            /* A log gets a line every few seconds during a long write. */
            cli_draw_plain_progress(run, p);
            s->last_line_ms = now;
        }
    }
    pthread_mutex_unlock(&run->lock);
}

static void on_log(void *user, const char *port, int level, const char *msg)
{
    struct cli_run *run = user;
    if (level <= FL_LOG_WARN || run->ctx->verbosity + FL_LOG_WARN >= level) {
        cli_run_note(run, "%s: %s%s", port, level <= FL_LOG_WARN ? "warning: " : "", msg);
    }
}

/* One line from stdin, waiting in slices so a Ctrl-C still counts. */
static bool read_answer(struct cli_run *run, char *buf, size_t cap)
{
    size_t n = 0;
    while (n + 1 < cap) {
        if (atomic_load(&run->stop_new)) {
            return false;
        }
        struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};
        if (poll(&pfd, 1, 200) <= 0) {
            continue;
        }
        char c;
        if (read(STDIN_FILENO, &c, 1) != 1) {
            return false;
        }
        if (c == '\n') {
            break;
        }
        buf[n++] = c;
    }
    buf[n] = '\0';
    return true;
}

static enum pv_ledger_reprovision on_ask(void *user, const char *port,
                                         const struct pv_ledger_row *cur)
{
    struct cli_run *run = user;
    if (!run->ctx->stdin_tty || atomic_load(&run->stop_new)) {
        return PV_REPROVISION_NONE;
    }
    pthread_mutex_lock(&run->prompt_lock);
    enum pv_ledger_reprovision answer = PV_REPROVISION_NONE;
    for (int tries = 0; tries < 3 && answer == PV_REPROVISION_NONE; tries++) {
        pthread_mutex_lock(&run->lock);
        run->prompting = true;
        cli_draw_clear(run);
        fflush(stdout);
        if (tries == 0) {
            fprintf(stderr,
                    "%s: board %s was provisioned as %s (attempt %lld, certificate %s, %s).\n"
                    "  renew: new key and certificate, the old one revoked; keep: keep its "
                    "identity, rewrite the rest; skip: leave it.\n",
                    port, cur->mac, cur->device_id, (long long)cur->id, cur->cert_serial,
                    cur->ended_at);
        }
        fprintf(stderr, "  renew, keep or skip? [r/k/s] ");
        fflush(stderr);
        pthread_mutex_unlock(&run->lock);
        char line[32];
        if (!read_answer(run, line, sizeof line)) {
            break;
        }
        if (line[0] == 'r' || line[0] == 'R') {
            answer = PV_REPROVISION_RENEW;
        } else if (line[0] == 'k' || line[0] == 'K') {
            answer = PV_REPROVISION_KEEP;
        } else if (line[0] == 's' || line[0] == 'S') {
            break;
        }
    }
    pthread_mutex_lock(&run->lock);
    run->prompting = false;
    pthread_mutex_unlock(&run->lock);
    pthread_mutex_unlock(&run->prompt_lock);
    return answer;
}

void cli_run_hook(struct cli_run *run, struct pv_jobs *jobs)
{
    jobs->user = run;
    jobs->progress = on_progress;
    jobs->log = on_log;
    jobs->ask = on_ask;
    jobs->abort = &run->abort;
    int v = run->ctx->verbosity;
    jobs->log_level = v < 0    ? FL_LOG_ERROR
                      : v == 0 ? FL_LOG_WARN
                      : v == 1 ? FL_LOG_INFO
                               : FL_LOG_DEBUG;
}
