#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "provision/cli/cli.h"
#include "provision/core/core.h"

void cli_put_escaped(FILE *out, const char *s)
{
    /* Worst case: every byte becomes "\xNN". */
    size_t cap = 4 * strlen(s) + 1;
    char stack[1024];
    char *buf = cap <= sizeof stack ? stack : malloc(cap);
    if (buf == NULL) {
        for (; *s; s++) {
            fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, out);
        }
        return;
    }
    fputs(pv_escape(s, buf, cap), out);
    if (buf != stack) {
        free(buf);
    }
}

/* One line: whatever the message quotes (file names from an image, a
 * board's boot log, ledger text) cannot move the cursor or recolour the
 * terminal. */
__attribute__((format(printf, 3, 0))) static void vline(FILE *out, const char *prefix,
                                                        const char *fmt, va_list ap)
{
    char *text = NULL;
    if (vasprintf(&text, fmt, ap) < 0) {
        text = NULL;
    }
    fputs(prefix, out);
    cli_put_escaped(out, text ? text : "(out of memory)");
    fputc('\n', out);
    free(text);
}

void cli_line(FILE *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vline(out, "", fmt, ap);
    va_end(ap);
}

static void print_prefixed(const char *kind, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
static void print_prefixed(const char *kind, const char *fmt, va_list ap)
{
    char prefix[32];
    snprintf(prefix, sizeof prefix, "espprov: %s: ", kind);
    vline(stderr, prefix, fmt, ap);
}

int cli_fail(const char *hint, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    print_prefixed("error", fmt, ap);
    va_end(ap);
    if (hint != NULL && hint[0] != '\0') {
        cli_line(stderr, "hint: %s", hint);
    }
    return CLI_FAILED;
}

int cli_fail_err(const struct pv_error *err)
{
    return cli_fail(err->hint, "%s", err->msg[0] ? err->msg : "unknown failure");
}

int cli_usage_error(const char *usage, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    print_prefixed("error", fmt, ap);
    va_end(ap);
    /* Only the synopsis line: the full text is one --help away. */
    const char *nl = strchr(usage, '\n');
    int len = nl ? (int)(nl - usage) : (int)strlen(usage);
    fprintf(stderr, "%.*s\n", len, usage);
    return CLI_USAGE;
}

void cli_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    print_prefixed("warning", fmt, ap);
    va_end(ap);
}

void cli_info(const struct cli_ctx *ctx, int level, const char *fmt, ...)
{
    if (ctx->verbosity < level) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vline(stderr, "", fmt, ap);
    va_end(ap);
}

size_t cli_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63) {
        return (size_t)-1;
    }
    size_t row[64];
    for (size_t j = 0; j <= lb; j++) {
        row[j] = j;
    }
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = diag + cost;
            if (up + 1 < best) {
                best = up + 1;
            }
            if (row[j - 1] + 1 < best) {
                best = row[j - 1] + 1;
            }
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

int cli_help(const char *usage)
{
    fputs(usage, stdout);
    return CLI_OK;
}

bool cli_parse_size_opt(const char *usage, const char *option, const char *text, uint64_t *out)
{
    if (pv_parse_size(text, 0, out) != PV_OK) {
        cli_usage_error(usage,
                        "%s: '%s' is not a size (use decimal, 0x hex, or a K/M suffix, "
                        "e.g. 4096, 0x1000, 64K, 1M)",
                        option, text);
        return false;
    }
    return true;
}

const char *cli_profile_path(const char *from_option)
{
    if (from_option != NULL) {
        return from_option;
    }
    const char *env = getenv("ESPPROV_PROFILE");
    return (env != NULL && env[0] != '\0') ? env : NULL;
}

int cli_finish(int status)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "espprov: error: could not write the output: standard output failed\n");
        return CLI_FAILED;
    }
    return status;
}

void cli_json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            fputs("\\\"", out);
            break;
        case '\\':
            fputs("\\\\", out);
            break;
        case '\n':
            fputs("\\n", out);
            break;
        case '\r':
            fputs("\\r", out);
            break;
        case '\t':
            fputs("\\t", out);
            break;
        default:
            if (*p < 0x20 || *p == 0x7f) {
                fprintf(out, "\\u%04x", *p);
            } else {
                fputc(*p, out);
            }
        }
    }
    fputc('"', out);
}

int64_t cli_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void format_bytes(char *buf, size_t len, uint64_t bytes)
{
    if (bytes >= 1024 * 1024) {
        snprintf(buf, len, "%.1f MiB", (double)bytes / (1024.0 * 1024.0));
    } else if (bytes >= 1024) {
        snprintf(buf, len, "%.1f KiB", (double)bytes / 1024.0);
    } else {
        snprintf(buf, len, "%llu B", (unsigned long long)bytes);
    }
}

int cli_term_width(void)
{
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 10) {
        return ws.ws_col;
    }
    return 80;
}

int64_t cli_progress_interval_ms(void)
{
    const char *env = getenv("ESPPROV_PROGRESS_SECONDS");
    if (env != NULL && env[0] != '\0') {
        char *end = NULL;
        double v = strtod(env, &end);
        if (end != env && *end == '\0' && v >= 0.1 && v <= 3600) {
            return (int64_t)(v * 1000);
        }
    }
    return 5000;
}

/* "label [#####     ]  42% 1.2 MiB 345.6 KiB/s", cut to the terminal's
 * width: first the bar narrows, then goes, then the rate and size, then the
 * label; the percentage stays. */
static void draw_bar(struct cli_progress *p, int64_t now)
{
    unsigned pct = p->total ? (unsigned)(p->done * 100 / p->total) : 100;
    char done[32], tail[64];
    format_bytes(done, sizeof done, p->done);
    double secs = (double)(now - p->start_ms) / 1000.0;
    double rate = secs > 0 ? (double)p->done / 1024.0 / secs : 0;
    int width = cli_term_width() - 1; /* never the last column: no wrap */
    snprintf(tail, sizeof tail, " %s %.1f KiB/s", done, rate);
    int label = (int)strlen(p->label);
    int fixed = 5; /* " 100%" */
    if (label + fixed + (int)strlen(tail) + 4 + 10 > width) {
        tail[0] = '\0'; /* no room for size and rate next to a bar */
    }
    int bar = width - label - fixed - (int)strlen(tail) - 3;
    if (bar > 30) {
        bar = 30;
    }
    if (bar < 10) {
        bar = 0;
    }
    if (bar == 0 && label + fixed > width) {
        label = width - fixed > 0 ? width - fixed : 0;
    }
    int filled = (int)(pct * (unsigned)bar / 100);
    fprintf(stderr, "\r\033[K%.*s", label, p->label);
    if (bar > 0) {
        fprintf(stderr, " [%.*s%*s]", filled, "##############################", bar - filled, "");
    }
    fprintf(stderr, " %3u%%%s", pct, tail);
    fflush(stderr);
    p->last_draw_ms = now;
}

void cli_progress_begin(struct cli_progress *p, const struct cli_ctx *ctx, const char *label,
                        uint64_t total)
{
    memset(p, 0, sizeof *p);
    snprintf(p->label, sizeof p->label, "%s", label);
    p->total = total;
    p->tty = ctx->stderr_tty;
    p->quiet = ctx->verbosity < 0;
    p->start_ms = cli_now_ms();
    p->last_line_ms = p->start_ms;
    p->interval_ms = cli_progress_interval_ms();
    if (p->quiet) {
        return;
    }
    if (p->tty) {
        draw_bar(p, p->start_ms);
    } else {
        char size[32];
        format_bytes(size, sizeof size, total);
        fprintf(stderr, "%s: %s ...\n", p->label, size);
    }
}

void cli_progress_update(struct cli_progress *p, uint64_t done)
{
    p->done = done;
    if (p->quiet) {
        return;
    }
    int64_t now = cli_now_ms();
    if (!p->tty) {
        /* A log gets a line every few seconds: never minutes of silence. */
        if (now - p->last_line_ms >= p->interval_ms && done < p->total) {
            char d[32], t[32];
            format_bytes(d, sizeof d, done);
            format_bytes(t, sizeof t, p->total);
            double secs = (double)(now - p->start_ms) / 1000.0;
            fprintf(stderr, "%s: %u%%, %s of %s, %.1f KiB/s\n", p->label,
                    p->total ? (unsigned)(done * 100 / p->total) : 100, d, t,
                    secs > 0 ? (double)done / 1024.0 / secs : 0.0);
            p->last_line_ms = now;
        }
        return;
    }
    /* Redrawing more than ~10 times a second only costs terminal bandwidth. */
    if (now - p->last_draw_ms >= 100 || done == p->total) {
        draw_bar(p, now);
    }
}

void cli_progress_end(struct cli_progress *p, bool ok)
{
    if (p->quiet) {
        return;
    }
    int64_t now = cli_now_ms();
    double secs = (double)(now - p->start_ms) / 1000.0;
    if (p->tty) {
        draw_bar(p, now);
        fputc('\n', stderr);
    } else {
        char done[32];
        format_bytes(done, sizeof done, p->done);
        fprintf(stderr, "%s: %s %s in %.1f s\n", p->label, ok ? "done," : "stopped after", done,
                secs);
    }
}
