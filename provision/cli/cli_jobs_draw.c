/* The job commands' progress lines: redrawn in place on a terminal, plain steps otherwise. */
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "provision/cli/cli_jobs.h"

static int term_width(void)
{
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20) {
        return ws.ws_col;
    }
    return 80;
}

void cli_draw_clear(struct cli_run *run)
{
    if (run->drawn > 0) {
        /* Up to the first progress line, then erase to the end of the screen. */
        fprintf(stderr, "\r\033[%dA\033[J", run->drawn);
        run->drawn = 0;
    }
    fflush(stderr);
}

static void human_bytes(uint64_t n, char *out, size_t cap)
{
    if (n >= 1u << 20) {
        snprintf(out, cap, "%.1f MB", (double)n / (1u << 20));
    } else if (n >= 1u << 10) {
        snprintf(out, cap, "%.0f KB", (double)n / (1u << 10));
    } else {
        snprintf(out, cap, "%llu B", (unsigned long long)n);
    }
}

static void slot_line(const struct cli_run *run, const struct cli_slot *s, char *line, size_t cap)
{
    double secs = (double)(cli_now_ms() - s->start_ms) / 1000.0;
    int used =
        snprintf(line, cap, "%s%-14s %-17s %-18s %-7s", run->dry_run ? "dry run " : "", s->port,
                 s->mac[0] ? s->mac : "-", s->id[0] ? s->id : "-", pv_job_phase_name(s->phase));
    if (used < 0 || (size_t)used >= cap) {
        return;
    }
    if (s->total > 0) {
        uint64_t done = s->done > s->total ? s->total : s->done;
        char bar[21];
        int fill = (int)(20 * done / s->total);
        for (int i = 0; i < 20; i++) {
            bar[i] = i < fill ? '#' : '-';
        }
        bar[20] = '\0';
        snprintf(line + used, cap - (size_t)used, " [%s] %3d%% %5.1f s", bar,
                 (int)(100 * done / s->total), secs);
    } else {
        snprintf(line + used, cap - (size_t)used, " %5.1f s", secs);
    }
}

void cli_draw_slots(struct cli_run *run)
{
    if (!run->tty || run->prompting || run->ctx->verbosity < 0) {
        return;
    }
    int width = term_width();
    char line[512];
    for (size_t i = 0; i < CLI_SLOTS; i++) {
        const struct cli_slot *s = &run->slots[i];
        if (!s->used) {
            continue;
        }
        slot_line(run, s, line, sizeof line);
        char shown[2048];
        pv_escape(line, shown, sizeof shown);
        /* Never wrap: a wrapped line would throw off the cursor-up count. */
        if ((int)strlen(shown) >= width) {
            shown[width - 1] = '\0';
        }
        fprintf(stderr, "%s\033[K\n", shown);
        run->drawn++;
    }
    fflush(stderr);
}

void cli_draw_plain_step(struct cli_run *run, const struct pv_job_progress *p)
{
    if (run->tty || run->ctx->verbosity < 0) {
        return;
    }
    const char *dry = run->dry_run ? "dry run: " : "";
    char size[32];
    human_bytes(p->total, size, sizeof size);
    switch (p->phase) {
    case PV_PHASE_CONNECT:
        cli_line(stderr, "%s: %sconnecting", p->port, dry);
        break;
    case PV_PHASE_CHECK:
        cli_line(stderr, "%s: %sconnected, MAC %s", p->port, dry, p->mac);
        break;
    case PV_PHASE_READ:
        cli_line(stderr, "%s: %sreading %s back", p->port, dry, size);
        break;
    case PV_PHASE_MINT:
        cli_line(stderr, "%s: %snew identity", p->port, dry);
        break;
    case PV_PHASE_BUILD:
        cli_line(stderr, "%s: %sbuilding the filesystem for %s", p->port, dry, p->id);
        break;
    case PV_PHASE_ERASE:
        cli_line(stderr, "%s: %serasing %s", p->port, dry, size);
        break;
    case PV_PHASE_WRITE:
        cli_line(stderr, "%s: %swriting %s", p->port, dry, size);
        break;
    case PV_PHASE_RESET:
        cli_line(stderr, "%s: %sresetting into the app", p->port, dry);
        break;
    case PV_PHASE_DONE:
        break;
    }
}
