/* --log FILE: one line per command received and answered, plus events. */
#include "sim.h"

#include <stdarg.h>
#include <string.h>

static const char *who(const struct sim *s)
{
    switch (s->ld.mode) {
    case SIM_MODE_ROM: return "rom";
    case SIM_MODE_STUB: return s->ld.stub_legacy ? "stub-legacy" : "stub";
    case SIM_MODE_APP: return "app";
    case SIM_MODE_HUNG: return "hung";
    default: return "reset";
    }
}

void sim_log(struct sim *s, const char *fmt, ...)
{
    if (s->log == NULL) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    fprintf(s->log, "%10.3f %-5s # ", (double)(sim_clock() - s->t0) / 1e9, who(s));
    vfprintf(s->log, fmt, ap);
    fputc('\n', s->log);
    va_end(ap);
}

void sim_log_arg(struct sim *s, const char *fmt, ...)
{
    size_t used = strlen(s->log_args);
    if (used + 2 >= sizeof s->log_args) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    if (used > 0) {
        s->log_args[used++] = ' ';
    }
    vsnprintf(s->log_args + used, sizeof s->log_args - used, fmt, ap);
    va_end(ap);
}

void sim_log_command(struct sim *s, uint8_t op)
{
    if (s->log == NULL) {
        return;
    }
    char status[64];
    bool stub = s->ld.mode == SIM_MODE_STUB;
    if (s->log_replies == 0) {
        snprintf(status, sizeof status, "no reply");
    } else if (s->log_st[0] == 0) {
        snprintf(status, sizeof status, "ok");
    } else if (stub) {
        snprintf(status, sizeof status, "error 0x%02X", s->log_st[0]);
    } else {
        snprintf(status, sizeof status, "error 0x%02X%02X", s->log_st[0], s->log_st[1]);
    }
    if (s->log_replies > 1) {
        size_t n = strlen(status);
        snprintf(status + n, sizeof status - n, " x%d", s->log_replies);
    }
    fprintf(s->log, "%10.3f %-5s %s(0x%02X)%s%s -> %s%s\n", (double)(sim_clock() - s->t0) / 1e9,
            who(s), sim_op_name(op), op, s->log_args[0] ? " " : "", s->log_args, status,
            s->log_lost ? " (reply lost: fault)" : "");
}
