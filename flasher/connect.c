/*
 * Getting a loader to talk (esp-protocol.md §4.3): reset into download mode,
 * SYNC until the ROM has locked onto our baud rate, drain the extra SYNC
 * replies, then identify the chip. Bytes that arrive outside frames while
 * connecting are kept: they are the boot log that explains a failure.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flasher/flasher_priv.h"

struct strategy {
    enum fl_reset_kind kind;
    int delay_ms;
};

static const struct strategy unix_strategies[] = {
    {FL_RESET_TIGHT, 50},
    {FL_RESET_TIGHT, 550},
    {FL_RESET_CLASSIC, 50},
    {FL_RESET_CLASSIC, 550},
};
/* Over RFC 2217 each line change is its own message: no "tight" ordering. */
static const struct strategy remote_strategies[] = {{FL_RESET_CLASSIC, 50},
                                                    {FL_RESET_CLASSIC, 550}};
static const struct strategy usb_strategies[] = {{FL_RESET_USB_JTAG, 0}};

#define SYNC_TRIES    5
#define SYNC_DRAIN_MS 100

static int fall_back(struct fl_session *s, const char *why, struct fl_error *err);

static void report_no_lines(struct fl_session *s)
{
    if (!s->state->lines_reported) {
        s->state->lines_reported = true;
        fl_log(s, FL_LOG_WARN,
               "%s cannot drive DTR/RTS (no modem lines): the board must already be in "
               "download mode",
               s->state->port->name);
    }
}

/* One SYNC; on success drains the other replies and learns the loader kind. */
static int try_sync(struct fl_session *s, struct fl_error *err)
{
    struct fl_session_state *st = s->state;
    struct fl_port *port = st->port;
    uint8_t data[36] = {0x07, 0x07, 0x12, 0x20};
    memset(data + 4, 0x55, 32);
    struct fl_reply r;
    TRY(fl_command(s, FL_OP_SYNC, data, sizeof data, 0, 0, FL_T_SYNC, &r, err));
    /* ROM replies carry the SYNC magic; a running stub answers with 0. */
    bool stub = r.value == 0;
    st->status_len = r.data_len >= 4 && !stub ? 4 : 2;
    int extra = 0;
    int64_t deadline = port->ops->now_ms(port) + SYNC_DRAIN_MS;
    while (extra < 7) {
        const uint8_t *frame;
        size_t len;
        struct fl_error e2;
        if (fl_read_frame(s, deadline, &frame, &len, &e2) != FL_OK) {
            break;
        }
        struct fl_reply more;
        if (fl_reply_parse(frame, len, 0, &more) == FL_OK && more.op == FL_OP_SYNC) {
            extra++;
            stub = stub && more.value == 0;
        }
    }
    fl_log(s, FL_LOG_DEBUG, "SYNC answered (%d extra replies drained)", extra);
    st->stub = stub;
    return FL_OK;
}

static void printable_tail(const char *log, size_t len, char *out, size_t cap)
{
    size_t start = len > cap - 1 ? len - (cap - 1) : 0;
    size_t o = 0;
    for (size_t i = start; i < len && o + 1 < cap; i++) {
        unsigned char c = (unsigned char)log[i];
        out[o++] = (c == '\n' || c == '\r') ? ' ' : (isprint(c) ? (char)c : '.');
    }
    out[o] = '\0';
}

static int diagnose(struct fl_session *s, struct fl_error *err)
{
    struct fl_session_state *st = s->state;
    const char *log = st->bootlog;
    const char *boot = strstr(log, "boot:0x");
    char tail[96];
    printable_tail(log, st->bootlog_len, tail, sizeof tail);
    if (boot != NULL && strstr(boot, "waiting for download") != NULL) {
        return fl_error_set(err, FL_ERR_TIMEOUT,
                            "the chip's receive line seems down: check the adapter TX -> chip "
                            "RX wire and that nothing else drives it",
                            "%s: the chip waits for download but never answered SYNC",
                            st->port->name);
    }
    /* The ESP8266 ROM says "boot mode:(M,N)", M = 1 for UART download. */
    const char *esp8266 = strstr(log, "boot mode:(");
    if (boot == NULL && esp8266 != NULL && esp8266[11] != '1') {
        return fl_error_set(err, FL_ERR_TIMEOUT,
                            "hold GPIO0 low (and GPIO15 low, GPIO2 high) while tapping RESET, or "
                            "check the board's auto-reset circuit; then retry with --before "
                            "no-reset",
                            "%s: wrong boot mode detected (%.14s): the ESP8266 booted from flash "
                            "instead of waiting for download",
                            st->port->name, esp8266);
    }
    if (boot != NULL) {
        unsigned long mode = strtoul(boot + 5, NULL, 16);
        return fl_error_set(err, FL_ERR_TIMEOUT,
                            "hold BOOT (IO0) low while tapping EN/RESET, or check the board's "
                            "auto-reset circuit; then retry with --before no-reset",
                            "%s: wrong boot mode detected (0x%02lx): the chip booted normally "
                            "instead of waiting for download",
                            st->port->name, mode);
    }
    size_t printable = 0;
    for (size_t i = 0; i < st->bootlog_len; i++) {
        printable += isprint((unsigned char)log[i]) || log[i] == '\n' || log[i] == '\r';
    }
    if (st->bootlog_len >= 16 && printable * 10 >= st->bootlog_len * 9) {
        /* Readable text without a SYNC answer: the firmware (or its boot
         * loop) is running, not the ROM loader. */
        return fl_error_set(err, FL_ERR_TIMEOUT,
                            "reset it into download mode: hold BOOT (IO0) low while tapping "
                            "EN/RESET, then retry with --before no-reset",
                            "%s: the board is not in download mode; it prints \"%s\"",
                            st->port->name, tail);
    }
    if (st->bootlog_len > 0 || s->stats.frames_bad > 0) {
        return fl_error_set(err, FL_ERR_TIMEOUT,
                            "hold BOOT (GPIO0) low while tapping EN/RESET (an ESP8266 prints its "
                            "boot log at 74880 baud, unreadable here); else check the cable, "
                            "--baud, and that no serial monitor sends to the board",
                            "%s: no SYNC reply, only %llu bytes of unreadable data: the board is "
                            "not in download mode, or the line is noisy",
                            st->port->name, (unsigned long long)s->stats.junk_bytes);
    }
    if (!st->port->has_lines) {
        return fl_error_set(err, FL_ERR_TIMEOUT,
                            "this port cannot reset the board (no DTR/RTS, e.g. a pty): put it "
                            "in download mode by hand (hold BOOT, tap EN, release BOOT) and "
                            "use --before no-reset",
                            "%s: no serial data received", st->port->name);
    }
    return fl_error_set(err, FL_ERR_TIMEOUT,
                        "check that the board is powered and on this port; or enter download "
                        "mode by hand (hold BOOT, tap EN) and use --before no-reset",
                        "%s: no serial data received", st->port->name);
}

static int sync_loop(struct fl_session *s, struct fl_error *err)
{
    struct fl_session_state *st = s->state;
    struct fl_port *port = st->port;
    bool do_reset =
        s->opt.before == FL_BEFORE_DEFAULT_RESET || s->opt.before == FL_BEFORE_USB_RESET;
    const struct strategy *list = unix_strategies;
    size_t nlist = sizeof unix_strategies / sizeof unix_strategies[0];
    bool usb_jtag = port->usb_vid == 0x303A && port->usb_pid == 0x1001;
    if (s->opt.before == FL_BEFORE_USB_RESET || usb_jtag) {
        list = usb_strategies;
        nlist = 1;
    } else if (strncmp(port->name, "rfc2217://", 10) == 0) {
        list = remote_strategies;
        nlist = sizeof remote_strategies / sizeof remote_strategies[0];
    }
    if (do_reset && !port->has_lines) {
        report_no_lines(s);
    }
    st->capture = true;
    st->bootlog_len = 0;
    st->bootlog[0] = '\0';
    for (int attempt = 0; attempt < s->opt.connect_attempts; attempt++) {
        TRY(fl_check_cancel(s, err));
        if (do_reset && port->has_lines) {
            const struct strategy *strat = &list[(size_t)attempt % nlist];
            TRY(fl_flush_input(s, err));
            int rc = fl_reset(s, strat->kind, strat->delay_ms, err);
            if (rc == FL_ERR_NO_LINES) {
                report_no_lines(s);
            } else if (rc != FL_OK) {
                st->capture = false;
                return rc;
            }
        }
        for (int i = 0; i < SYNC_TRIES; i++) {
            struct fl_error e2;
            int rc = try_sync(s, &e2);
            if (rc == FL_OK) {
                st->capture = false;
                return FL_OK;
            }
            if (rc != FL_ERR_TIMEOUT && rc != FL_ERR_ROM) {
                st->capture = false;
                if (err != NULL) {
                    *err = e2;
                }
                return rc;
            }
        }
        port->ops->sleep_ms(port, 50);
    }
    st->capture = false;
    return diagnose(s, err);
}

int fl_connect(struct fl_session *s, struct fl_error *err)
{
    struct fl_session_state *st = s->state;
    if (st == NULL || st->port == NULL) {
        return fl_error_set(err, FL_ERR_INVALID, NULL, "no port is open");
    }
    struct fl_port *port = st->port;
    st->stub = false;
    st->status_len = 0;
    st->target = NULL;
    st->attached = false;
    st->params_size = 0;
    st->detected = false;
    st->carry_timeout_ms = 0;
    memset(&s->info, 0, sizeof s->info);
    s->info.name = fl_chip_name(FL_CHIP_AUTO);
    if (port->baud != s->opt.connect_baud) {
        TRY(port->ops->set_baud(port, s->opt.connect_baud, err));
        port->baud = s->opt.connect_baud;
    }
    s->info.baud = port->baud;
    bool synced = false;
    if (s->opt.before != FL_BEFORE_NO_RESET_NO_SYNC) {
        TRY(sync_loop(s, err));
        synced = true;
    }
    TRY(fl_identify(s, synced, err));
    fl_log(s, FL_LOG_INFO, "connected to %s (%s)", s->info.name,
           st->stub ? "flasher stub already running" : "ROM loader");
    TRY(fl_stub_start(s, err));
    uint32_t want = s->opt.baud;
    if (s->opt.baud_auto && want != 0) {
        want = fl_auto_baud(s, want);
    }
    if (want != 0 && want != port->baud && !st->baud_fell_back) {
        struct fl_error e;
        int rc = fl_change_baud(s, want, &e);
        if (rc == FL_ERR_UNSUPPORTED) {
            fl_log(s, s->opt.baud_auto ? FL_LOG_DEBUG : FL_LOG_WARN, "%s; staying at %u baud",
                   e.msg, (unsigned)port->baud);
        } else if (rc != FL_OK) {
            return fall_back(s, e.msg, err);
        }
    }
    return FL_OK;
}

/*
 * A raised rate did not work (the adapter or the wiring cannot do it): back
 * to the connect rate, said once, and on. The loader answered the change at
 * the old rate and may have switched; if it does not answer at the connect
 * rate, it is started again from a reset (the stub too), and the rate is not
 * raised again in this session.
 */
static int fall_back(struct fl_session *s, const char *why, struct fl_error *err)
{
    struct fl_session_state *st = s->state;
    struct fl_port *port = st->port;
    uint32_t from = port->baud;
    st->baud_fell_back = true;
    fl_log(s, FL_LOG_WARN, "%s; going on at %u baud", why, (unsigned)s->opt.connect_baud);
    TRY(port->ops->set_baud(port, s->opt.connect_baud, err));
    port->baud = s->opt.connect_baud;
    s->info.baud = port->baud;
    port->ops->sleep_ms(port, 50);
    TRY(fl_flush_input(s, err));
    bool was_stub = st->stub;
    for (int i = 0; i < 3; i++) {
        struct fl_error e2;
        if (try_sync(s, &e2) == FL_OK && st->stub == was_stub) {
            return FL_OK; /* it never left the connect rate */
        }
    }
    fl_log(s, FL_LOG_INFO, "no answer at %u baud after trying %u: connecting again",
           (unsigned)s->opt.connect_baud, (unsigned)from);
    struct fl_options saved = s->opt;
    s->opt.connect_attempts = 3;
    if (s->opt.before == FL_BEFORE_NO_RESET_NO_SYNC) {
        s->opt.before = FL_BEFORE_NO_RESET;
    }
    int rc = fl_connect(s, err);
    s->opt = saved;
    return rc;
}

static int reattach(struct fl_session *s, struct fl_error *err)
{
    s->state->attached = false;
    s->state->params_size = 0;
    TRY(fl_flash_attach(s, err));
    uint32_t size = s->opt.flash_size > 0 ? (uint32_t)s->opt.flash_size : s->info.flash_size;
    return size != 0 ? fl_flash_set_size(s, size, err) : FL_OK;
}

/*
 * After a failed operation: is the loader still there, at our rate and of
 * the same kind? If not (a brown-out reset it into the ROM, the stub is
 * gone, the rate fell back), connect again without pulsing the lines.
 * Detected facts (MAC, flash) are kept; flash attach and size are redone.
 */
int fl_recover(struct fl_session *s, struct fl_error *err)
{
    struct fl_session_state *st = s->state;
    struct fl_port *port = st->port;
    bool was_stub = st->stub;
    const struct fl_target *target = st->target;
    port->ops->sleep_ms(port, 50);
    TRY(fl_flush_input(s, err));
    for (int i = 0; i < 3; i++) {
        struct fl_error e2;
        if (try_sync(s, &e2) != FL_OK) {
            continue;
        }
        st->attached = false;
        st->params_size = 0;
        if (st->stub != was_stub) {
            /* A reset put the ROM back, which autobauded on our SYNC at the
             * current rate: start the stub again without touching the rate. */
            fl_log(s, FL_LOG_WARN,
                   "the board was reset (the flasher stub is gone): "
                   "starting it again");
            TRY(fl_identify(s, true, err));
            if (st->stub_img != NULL) {
                TRY(fl_run_stub(s, st->stub_img, err));
            }
        }
        goto reattach;
    }
    fl_log(s, FL_LOG_INFO, "the loader changed or went silent: connecting again");
    struct fl_chip_info keep = s->info;
    struct fl_options saved = s->opt;
    if (s->opt.before == FL_BEFORE_NO_RESET_NO_SYNC) {
        s->opt.before = FL_BEFORE_NO_RESET;
    }
    s->opt.connect_attempts = 2;
    int rc = fl_connect(s, err);
    s->opt = saved;
    TRY(rc);
    if (st->target != target) {
        return fl_error_set(err, FL_ERR_PROTO, "is it the same board?",
                            "after reconnecting, the port answers as an %s, not an %s",
                            st->target->name, target->name);
    }
    bool stub = s->info.stub_running;
    uint32_t baud = s->info.baud;
    s->info = keep;
    s->info.stub_running = stub;
    s->info.baud = baud;
reattach:
    return reattach(s, err);
}
