/* Session lifecycle, options, logging and progress plumbing. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "flasher/flasher_priv.h"

void fl_options_init(struct fl_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->chip = FL_CHIP_AUTO;
    opt->before = FL_BEFORE_DEFAULT_RESET;
    opt->after = FL_AFTER_HARD_RESET;
    opt->connect_baud = 115200;
    opt->connect_attempts = 7;
    opt->skip_unchanged = true;
    opt->flash_mode = FL_PARAM_KEEP;
    opt->flash_freq = FL_PARAM_KEEP;
    opt->flash_size = FL_PARAM_KEEP;
    opt->log_level = FL_LOG_INFO;
}

int fl_session_init(struct fl_session *s, const struct fl_options *opt,
                    const struct fl_hooks *hooks, struct fl_error *err)
{
    memset(s, 0, sizeof *s);
    if (opt != NULL) {
        s->opt = *opt;
    } else {
        fl_options_init(&s->opt);
    }
    if (s->opt.connect_baud == 0) {
        s->opt.connect_baud = 115200;
    }
    if (s->opt.connect_attempts <= 0) {
        s->opt.connect_attempts = 7;
    }
    if (hooks != NULL) {
        s->hooks = *hooks;
    }
    s->state = calloc(1, sizeof *s->state);
    if (s->state == NULL) {
        return fl_error_set(err, FL_ERR_NOMEM, NULL, "out of memory for a flasher session");
    }
    fl_slip_decoder_init(&s->state->dec, s->state->frame, sizeof s->state->frame);
    s->info.chip = FL_CHIP_AUTO;
    s->info.name = fl_chip_name(FL_CHIP_AUTO);
    return FL_OK;
}

void fl_session_release(struct fl_session *s)
{
    if (s == NULL || s->state == NULL) {
        return;
    }
    if (s->state->own_port) {
        fl_port_close(s->state->port);
    }
    free(s->state);
    s->state = NULL;
}

int fl_session_open(struct fl_session *s, const char *port_name, struct fl_error *err)
{
    struct fl_port *port = NULL;
    TRY(fl_port_open(port_name, s->opt.connect_baud, &port, err));
    if (s->state->own_port) {
        fl_port_close(s->state->port);
    }
    s->state->port = port;
    s->state->own_port = true;
    s->info.baud = port->baud;
    return FL_OK;
}

void fl_session_use_port(struct fl_session *s, struct fl_port *port)
{
    if (s->state->own_port) {
        fl_port_close(s->state->port);
    }
    s->state->port = port;
    s->state->own_port = false;
    s->info.baud = port->baud;
}

void fl_log(struct fl_session *s, enum fl_log_level level, const char *fmt, ...)
{
    if (s->hooks.log == NULL || level > s->opt.log_level) {
        return;
    }
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    s->hooks.log(s->hooks.user, level, msg);
}

bool fl_cancelled(const struct fl_session *s)
{
    return s->hooks.cancel != NULL && atomic_load(s->hooks.cancel);
}

int fl_check_cancel(struct fl_session *s, struct fl_error *err)
{
    if (fl_cancelled(s)) {
        return fl_error_set(err, FL_ERR_CANCELLED, NULL, "cancelled");
    }
    return FL_OK;
}

void fl_progress(struct fl_session *s, size_t region, uint64_t done, uint64_t total)
{
    if (s->hooks.progress != NULL) {
        s->hooks.progress(s->hooks.user, region, done, total);
    }
}

struct name_map {
    const char *name;
    int value;
};

static const struct name_map befores[] = {
    {"default-reset", FL_BEFORE_DEFAULT_RESET},
    {"usb-reset", FL_BEFORE_USB_RESET},
    {"no-reset", FL_BEFORE_NO_RESET},
    {"no-reset-no-sync", FL_BEFORE_NO_RESET_NO_SYNC},
};

static const struct name_map afters[] = {
    {"hard-reset", FL_AFTER_HARD_RESET},
    {"soft-reset", FL_AFTER_SOFT_RESET},
    {"no-reset", FL_AFTER_NO_RESET},
    {"no-reset-stub", FL_AFTER_NO_RESET_STUB},
};

static bool parse_name(const struct name_map *map, size_t n, const char *text, int *out)
{
    char norm[32];
    size_t len = strlen(text);
    if (len >= sizeof norm) {
        return false;
    }
    for (size_t i = 0; i <= len; i++) {
        norm[i] = text[i] == '_' ? '-' : text[i];
    }
    for (size_t i = 0; i < n; i++) {
        if (strcasecmp(map[i].name, norm) == 0) {
            *out = map[i].value;
            return true;
        }
    }
    return false;
}

bool fl_before_parse(const char *text, enum fl_before *out)
{
    int v;
    if (!parse_name(befores, sizeof befores / sizeof befores[0], text, &v)) {
        return false;
    }
    *out = (enum fl_before)v;
    return true;
}

bool fl_after_parse(const char *text, enum fl_after *out)
{
    int v;
    if (!parse_name(afters, sizeof afters / sizeof afters[0], text, &v)) {
        return false;
    }
    *out = (enum fl_after)v;
    return true;
}

const char *fl_before_name(enum fl_before before)
{
    for (size_t i = 0; i < sizeof befores / sizeof befores[0]; i++) {
        if (befores[i].value == (int)before) {
            return befores[i].name;
        }
    }
    return "?";
}

const char *fl_after_name(enum fl_after after)
{
    for (size_t i = 0; i < sizeof afters / sizeof afters[0]; i++) {
        if (afters[i].value == (int)after) {
            return afters[i].name;
        }
    }
    return "?";
}

int fl_timeout_for(int ms_per_mb, uint64_t bytes)
{
    uint64_t ms = (uint64_t)ms_per_mb * bytes / 1000000u;
    if (ms < FL_T_DEFAULT) {
        ms = FL_T_DEFAULT;
    }
    return ms > 3600000u ? 3600000 : (int)ms;
}
