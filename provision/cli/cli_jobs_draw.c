/* The job commands' progress lines: redrawn in place on a terminal, plain steps otherwise. */
#include <stdio.h>
#include <string.h>

#include "provision/cli/cli_jobs.h"

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

/* One board's line, in the result lines' column order (port, id, MAC),
 * then phase, bar, percentage and time, fitted to `width` columns: the bar
 * narrows or goes, then the front is cut; the percentage stays. */
static void slot_line(const struct cli_run *run, const struct cli_slot *s, int width, char *line,
                      size_t cap)
{
    double secs = (double)(cli_now_ms() - s->start_ms) / 1000.0;
    char front[256], tail[32];
    snprintf(front, sizeof front, "%s%-14s %-18s %-17s %-7s", run->dry_run ? "dry run " : "",
             s->port, s->id[0] ? s->id : "-", s->mac[0] ? s->mac : "-",
             pv_job_phase_name(s->phase));
    uint64_t done = s->done > s->total ? s->total : s->done;
    int pct = s->total > 0 ? (int)(100 * done / s->total) : -1;
    if (pct >= 0) {
        snprintf(tail, sizeof tail, " %3d%% %5.1f s", pct, secs);
    } else {
        snprintf(tail, sizeof tail, " %5.1f s", secs);
    }
    int room = width - 1 - (int)strlen(tail); /* never the last column: no wrap */
    int flen = (int)strlen(front);
    int bar = pct >= 0 ? room - flen - 3 : 0;
    bar = bar > 20 ? 20 : bar < 5 ? 0 : bar;
    if (flen > room - (bar ? bar + 3 : 0)) {
        flen = room > 0 ? room : 0;
    }
    char bars[24] = "";
    if (bar > 0) {
        int fill = (int)(bar * done / (s->total ? s->total : 1));
        bars[0] = ' ';
        bars[1] = '[';
        for (int i = 0; i < bar; i++) {
            bars[2 + i] = i < fill ? '#' : '-';
        }
        bars[2 + bar] = ']';
        bars[3 + bar] = '\0';
    }
    snprintf(line, cap, "%.*s%s%s", flen, front, bars, tail);
}

void cli_draw_slots(struct cli_run *run)
{
    if (!run->tty || run->prompting || run->ctx->verbosity < 0) {
        return;
    }
    int width = cli_term_width();
    char line[512];
    for (size_t i = 0; i < CLI_SLOTS; i++) {
        const struct cli_slot *s = &run->slots[i];
        if (!s->used) {
            continue;
        }
        slot_line(run, s, width, line, sizeof line);
        char shown[2048];
        pv_escape(line, shown, sizeof shown);
        /* Never wrap: a wrapped line would throw off the cursor-up count
         * (escapes can make the line longer than slot_line fitted it). */
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

void cli_draw_plain_progress(struct cli_run *run, const struct pv_job_progress *p)
{
    if (run->tty || run->ctx->verbosity < 0 || p->total == 0) {
        return;
    }
    char done[32], total[32];
    human_bytes(p->done > p->total ? p->total : p->done, done, sizeof done);
    human_bytes(p->total, total, sizeof total);
    fprintf(stderr, "%s: %s%s %d%%, %s of %s\n", p->port, run->dry_run ? "dry run: " : "",
            pv_job_phase_name(p->phase),
            (int)(100 * (p->done > p->total ? p->total : p->done) / p->total), done, total);
}
