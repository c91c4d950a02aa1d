/*
 * rfc2217://HOST:PORT — a serial port behind a network serial server (ser2net,
 * esptool's esp_rfc2217_server, the test simulator) spoken to over telnet with
 * the COM-PORT-OPTION (RFC 2217).
 *
 * Why it looks the way it does:
 *  - Every line-rate and DTR/RTS change waits for the server's answer, so a
 *    reset sequence's sleeps start only once the lines really moved.
 *  - Telnet answers to the server's option requests are queued and sent only
 *    between whole writes: a reply slipped between the two bytes of an
 *    escaped 0xFF would corrupt the data stream.
 *  - flush_input asks the server to drop what it holds (PURGE-DATA) and drops
 *    everything received before the server's answer: TCP keeps order, so
 *    those bytes are exactly the stale ones.
 */
#include <errno.h>
#include <linux/sockios.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "flasher/rfc2217_port.h"
#include "flasher/rfc2217_priv.h"

enum {
    CONNECT_TIMEOUT_MS = 5000,
    ANSWER_TIMEOUT_MS = 3000, /* server answers to negotiation and COM-PORT commands */
    STALL_TIMEOUT_MS = 10000, /* a write or drain making no progress */
    WRITE_CHUNK = 1024,
    REPLY_MAX = 1024,
};

enum q_state { Q_NO, Q_WANT_YES, Q_YES };

struct rfc_port {
    struct fl_port base;
    int fd;
    struct tn_decoder dec;
    uint8_t local[256];  /* enum q_state of options we perform (WILL) */
    uint8_t remote[256]; /* enum q_state of options the server performs (DO) */
    bool comport_refused;
    unsigned answers[CPO_PURGE_DATA + 1]; /* server answers seen, per command */
    uint32_t baud_answer;
    bool purging;
    bool purge_answered;
    size_t keep_from;
    uint8_t *rx; /* decoded data not yet read: rx[rx_off, rx_off + rx_len) */
    size_t rx_off, rx_len, rx_cap;
    uint8_t reply[REPLY_MAX];
    size_t reply_len;
    bool dead;
    int dead_errno;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char dead_hint[] = "check that the serial server is still running and that no other "
                                "client took the port over (ser2net: kickolduser)";

static int conn_error(struct rfc_port *p, struct fl_error *err)
{
    if (p->dead_errno == 0) {
        return fl_error_set(err, FL_ERR_IO, dead_hint, "%s: the server closed the connection",
                            p->base.name);
    }
    return fl_error_set(err, FL_ERR_IO, dead_hint, "%s: connection lost: %s", p->base.name,
                        strerror(p->dead_errno));
}

static void queue_reply(struct rfc_port *p, uint8_t verb, uint8_t option)
{
    /* A server flooding us with option requests only loses answers it did
     * not need; the buffer never overflows. */
    if (p->reply_len + 3 <= sizeof p->reply) {
        p->reply[p->reply_len++] = TN_IAC;
        p->reply[p->reply_len++] = verb;
        p->reply[p->reply_len++] = option;
    }
}

static bool we_do(uint8_t option)
{
    return option == TN_OPT_BINARY || option == TN_OPT_SGA || option == TN_OPT_COMPORT;
}

/* The client half of RFC 1143's option negotiation, without the queue bits:
 * we only ever ask once, so a request/answer loop cannot start. */
static void negotiate(struct rfc_port *p, uint8_t verb, uint8_t option)
{
    bool asks_us = verb == TN_DO || verb == TN_DONT;
    bool enable = verb == TN_DO || verb == TN_WILL;
    uint8_t *state = asks_us ? &p->local[option] : &p->remote[option];
    uint8_t yes = asks_us ? TN_WILL : TN_DO;
    uint8_t no = asks_us ? TN_WONT : TN_DONT;
    if (enable) {
        if (!we_do(option)) {
            queue_reply(p, no, option); /* the polite refusal */
        } else if (*state == Q_NO) {
            *state = Q_YES;
            queue_reply(p, yes, option);
        } else {
            *state = Q_YES; /* the answer to our own request */
        }
        return;
    }
    if (asks_us && option == TN_OPT_COMPORT) {
        p->comport_refused = true;
    }
    if (*state == Q_YES) {
        queue_reply(p, no, option);
    }
    *state = Q_NO;
}

static void comport_answer(struct rfc_port *p, const struct tn_event *ev)
{
    if (ev->sb_len < 2 || ev->sb[0] != TN_OPT_COMPORT || ev->sb[1] < CPO_SERVER_OFFSET ||
        ev->sb[1] > CPO_SERVER_OFFSET + CPO_PURGE_DATA) {
        return;
    }
    unsigned code = ev->sb[1] - CPO_SERVER_OFFSET;
    p->answers[code]++;
    if (code == CPO_SET_BAUDRATE && ev->sb_len >= 6) {
        p->baud_answer = tn_get_be32(ev->sb + 2);
    }
    if (code == CPO_PURGE_DATA && p->purging) {
        p->purging = false;
        p->purge_answered = true;
        p->keep_from = ev->data_pos;
    }
    /* NOTIFY-LINESTATE / NOTIFY-MODEMSTATE only count: nothing here reads
     * CTS/DSR, and a server may send them at any time. */
}

static void on_event(void *ctx, const struct tn_event *ev)
{
    struct rfc_port *p = ctx;
    if (ev->kind == TN_EV_OPTION) {
        negotiate(p, ev->verb, ev->option);
    } else if (ev->kind == TN_EV_SUB) {
        comport_answer(p, ev);
    }
}

static int rx_append(struct rfc_port *p, const uint8_t *data, size_t len, struct fl_error *err)
{
    if (len == 0) {
        return FL_OK;
    }
    if (p->rx_off > 0) {
        memmove(p->rx, p->rx + p->rx_off, p->rx_len);
        p->rx_off = 0;
    }
    if (p->rx_len + len > p->rx_cap) {
        size_t cap = p->rx_cap ? p->rx_cap : 8192;
        while (cap < p->rx_len + len) {
            cap *= 2;
        }
        uint8_t *grown = realloc(p->rx, cap);
        if (grown == NULL) {
            return fl_error_set(err, FL_ERR_NOMEM, NULL, "%s: out of memory", p->base.name);
        }
        p->rx = grown;
        p->rx_cap = cap;
    }
    memcpy(p->rx + p->rx_len, data, len);
    p->rx_len += len;
    return FL_OK;
}

/* Waits up to timeout_ms for bytes from the server and decodes one batch.
 * Returns 1 when something arrived, 0 on timeout, or a negative error. */
static int pump(struct rfc_port *p, int timeout_ms, struct fl_error *err)
{
    if (p->dead) {
        return conn_error(p, err);
    }
    struct pollfd pfd = {.fd = p->fd, .events = POLLIN};
    int r = poll(&pfd, 1, timeout_ms < 0 ? 0 : timeout_ms);
    if (r <= 0) {
        return 0; /* timeout, or EINTR: callers loop on their deadline */
    }
    uint8_t buf[4096];
    ssize_t n = recv(p->fd, buf, sizeof buf, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        return 0;
    }
    if (n <= 0) {
        p->dead = true;
        p->dead_errno = n < 0 ? errno : 0;
        return conn_error(p, err);
    }
    bool was_purging = p->purging;
    p->purge_answered = false;
    size_t data = tn_decode(&p->dec, buf, (size_t)n, buf, on_event, p);
    size_t from = 0;
    if (was_purging) {
        from = p->purge_answered ? p->keep_from : data;
    }
    int rc = rx_append(p, buf + from, data - from, err);
    return rc < 0 ? rc : 1;
}

/* Sends all bytes, reading (and buffering) whatever the server sends
 * meanwhile so neither side can block the other with full buffers. */
static int send_raw(struct rfc_port *p, const uint8_t *buf, size_t len, struct fl_error *err)
{
    int64_t last_progress = mono_ms();
    while (len > 0) {
        if (p->dead) {
            return conn_error(p, err);
        }
        ssize_t n = send(p->fd, buf, len, MSG_NOSIGNAL);
        if (n > 0) {
            buf += n;
            len -= (size_t)n;
            last_progress = mono_ms();
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            p->dead = true;
            p->dead_errno = errno;
            return conn_error(p, err);
        }
        int left = (int)(last_progress + STALL_TIMEOUT_MS - mono_ms());
        if (left <= 0) {
            return fl_error_set(err, FL_ERR_TIMEOUT, dead_hint,
                                "%s: the server accepted no data for %d s", p->base.name,
                                STALL_TIMEOUT_MS / 1000);
        }
        struct pollfd pfd = {.fd = p->fd, .events = POLLIN | POLLOUT};
        if (poll(&pfd, 1, left) > 0 && (pfd.revents & (POLLIN | POLLHUP | POLLERR))) {
            int rc = pump(p, 0, err);
            if (rc < 0) {
                return rc;
            }
        }
    }
    return FL_OK;
}

static int flush_replies(struct rfc_port *p, struct fl_error *err)
{
    while (p->reply_len > 0) {
        uint8_t out[REPLY_MAX];
        size_t len = p->reply_len;
        memcpy(out, p->reply, len);
        p->reply_len = 0;
        int rc = send_raw(p, out, len, err);
        if (rc < 0) {
            return rc;
        }
    }
    return FL_OK;
}

static int send_commands(struct rfc_port *p, const uint8_t *buf, size_t len, struct fl_error *err)
{
    int rc = flush_replies(p, err);
    return rc < 0 ? rc : send_raw(p, buf, len, err);
}

/* Waits until the server has answered `code` until the count reaches `target`. */
static int wait_answers(struct rfc_port *p, unsigned code, unsigned target, const char *what,
                        struct fl_error *err)
{
    int64_t deadline = mono_ms() + ANSWER_TIMEOUT_MS;
    while (p->answers[code] < target) {
        int rc = flush_replies(p, err);
        if (rc < 0) {
            return rc;
        }
        int left = (int)(deadline - mono_ms());
        if (left <= 0) {
            return fl_error_set(err, FL_ERR_TIMEOUT,
                                "the server may not implement RFC 2217 fully; check its "
                                "configuration (ser2net: accepter telnet(rfc2217),tcp,PORT)",
                                "%s: the server did not acknowledge %s within %d s", p->base.name,
                                what, ANSWER_TIMEOUT_MS / 1000);
        }
        rc = pump(p, left, err);
        if (rc < 0) {
            return rc;
        }
    }
    return flush_replies(p, err);
}

static size_t put_comport_byte(uint8_t cmd, uint8_t value, uint8_t *out)
{
    return tn_build_comport(cmd, &value, 1, out);
}

static int rfc_set_baud(struct fl_port *port, uint32_t baud, struct fl_error *err)
{
    struct rfc_port *p = (struct rfc_port *)port;
    if (baud == 0) {
        return fl_error_set(err, FL_ERR_INVALID, NULL, "%s: a line rate of 0 baud", port->name);
    }
    uint8_t be[4] = {(uint8_t)(baud >> 24), (uint8_t)(baud >> 16), (uint8_t)(baud >> 8),
                     (uint8_t)baud};
    uint8_t cmd[16];
    size_t len = tn_build_comport(CPO_SET_BAUDRATE, be, sizeof be, cmd);
    unsigned target = p->answers[CPO_SET_BAUDRATE] + 1;
    int rc = send_commands(p, cmd, len, err);
    if (rc == FL_OK) {
        rc = wait_answers(p, CPO_SET_BAUDRATE, target, "the baud rate change", err);
    }
    if (rc < 0) {
        return rc;
    }
    if (p->baud_answer != baud) {
        return fl_error_set(err, FL_ERR_UNSUPPORTED,
                            "the server's serial port cannot use that rate; choose another --baud",
                            "%s: asked for %u baud, the server set %u", port->name, baud,
                            p->baud_answer);
    }
    port->baud = baud;
    return FL_OK;
}

static int rfc_set_lines(struct fl_port *port, bool dtr, bool rts, struct fl_error *err)
{
    struct rfc_port *p = (struct rfc_port *)port;
    /* DTR before RTS, in one TCP segment: the order of esptool's classic
     * reset, and the in-between state lasts only as long as the server
     * takes between two ioctls. */
    uint8_t cmd[16];
    size_t len =
        put_comport_byte(CPO_SET_CONTROL, dtr ? CPO_CONTROL_DTR_ON : CPO_CONTROL_DTR_OFF, cmd);
    len += put_comport_byte(CPO_SET_CONTROL, rts ? CPO_CONTROL_RTS_ON : CPO_CONTROL_RTS_OFF,
                            cmd + len);
    unsigned before = p->answers[CPO_SET_CONTROL];
    int rc = send_commands(p, cmd, len, err);
    if (rc == FL_OK) {
        rc = wait_answers(p, CPO_SET_CONTROL, before + 2, "the DTR/RTS change", err);
    }
    if (rc == FL_OK) {
        port->has_lines = true;
    } else if (rc == FL_ERR_TIMEOUT) {
        /* Servers answer a line change once the device took it; ser2net on
         * a device without modem lines (a pty) never does. */
        port->has_lines = false;
        return fl_error_set(
            err, FL_ERR_NO_LINES,
            "the server's serial device may have no DTR/RTS lines (a pty, or a "
            "3-wire adapter); put the board in download mode by hand (hold BOOT, tap EN)",
            "%s: the server did not confirm the DTR/RTS change (%u of 2 answers "
            "within %d s)",
            port->name, p->answers[CPO_SET_CONTROL] - before, ANSWER_TIMEOUT_MS / 1000);
    }
    return rc;
}

static int rfc_flush_input(struct fl_port *port, struct fl_error *err)
{
    struct rfc_port *p = (struct rfc_port *)port;
    uint8_t cmd[8];
    size_t len = put_comport_byte(CPO_PURGE_DATA, CPO_PURGE_RX, cmd);
    unsigned target = p->answers[CPO_PURGE_DATA] + 1;
    p->rx_len = 0;
    p->rx_off = 0;
    p->purging = true;
    int rc = send_commands(p, cmd, len, err);
    if (rc == FL_OK) {
        rc = wait_answers(p, CPO_PURGE_DATA, target, "the input purge", err);
    }
    p->purging = false;
    return rc;
}

static int rfc_drain(struct fl_port *port, struct fl_error *err)
{
    struct rfc_port *p = (struct rfc_port *)port;
    /* All we can know remotely: the server's TCP stack has every byte. */
    int64_t deadline = mono_ms() + STALL_TIMEOUT_MS;
    for (;;) {
        int queued = 0;
        if (ioctl(p->fd, SIOCOUTQ, &queued) != 0 || queued == 0) {
            return p->dead ? conn_error(p, err) : FL_OK;
        }
        if (mono_ms() >= deadline) {
            return fl_error_set(err, FL_ERR_TIMEOUT, dead_hint,
                                "%s: %d bytes still unsent after %d s", port->name, queued,
                                STALL_TIMEOUT_MS / 1000);
        }
        int rc = pump(p, 2, err);
        if (rc < 0) {
            return rc;
        }
    }
}

static int rfc_read(struct fl_port *port, uint8_t *buf, size_t len, int timeout_ms,
                    struct fl_error *err)
{
    struct rfc_port *p = (struct rfc_port *)port;
    int64_t deadline = mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    while (p->rx_len == 0) {
        int rc = flush_replies(p, err);
        if (rc < 0) {
            return rc;
        }
        int left = (int)(deadline - mono_ms());
        rc = pump(p, left, err);
        if (rc < 0) {
            return rc;
        }
        if (rc == 0 && left <= 0) {
            return 0;
        }
    }
    size_t n = len < p->rx_len ? len : p->rx_len;
    if (n > (size_t)INT32_MAX) {
        n = INT32_MAX;
    }
    memcpy(buf, p->rx + p->rx_off, n);
    p->rx_off += n;
    p->rx_len -= n;
    if (p->rx_len == 0) {
        p->rx_off = 0;
    }
    return (int)n;
}

static int rfc_write(struct fl_port *port, const uint8_t *buf, size_t len, struct fl_error *err)
{
    struct rfc_port *p = (struct rfc_port *)port;
    uint8_t escaped[2 * WRITE_CHUNK];
    while (len > 0) {
        size_t chunk = len < WRITE_CHUNK ? len : WRITE_CHUNK;
        size_t n = tn_escape(buf, chunk, escaped);
        int rc = send_commands(p, escaped, n, err);
        if (rc < 0) {
            return rc;
        }
        buf += chunk;
        len -= chunk;
    }
    return FL_OK;
}

static int64_t rfc_now_ms(struct fl_port *port)
{
    (void)port;
    return mono_ms();
}

static void rfc_sleep_ms(struct fl_port *port, int ms)
{
    (void)port;
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (ms > 0 && nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void rfc_close(struct fl_port *port)
{
    struct rfc_port *p = (struct rfc_port *)port;
    if (p->fd >= 0) {
        close(p->fd);
    }
    free(p->rx);
    free(p);
}

static const struct fl_port_ops rfc2217_port_ops = {
    .read = rfc_read,
    .write = rfc_write,
    .set_baud = rfc_set_baud,
    .set_lines = rfc_set_lines,
    .flush_input = rfc_flush_input,
    .drain = rfc_drain,
    .now_ms = rfc_now_ms,
    .sleep_ms = rfc_sleep_ms,
    .close = rfc_close,
};

static const char not_rfc2217_hint[] =
    "the server must speak telnet with RFC 2217 (ser2net: accepter telnet(rfc2217),tcp,PORT; "
    "esptool: esp_rfc2217_server); a raw TCP port cannot carry baud or DTR/RTS";

/* WILL/DO BINARY (8-bit clean both ways; without it a telnet peer may eat the
 * NUL after a CR), SGA, and WILL COM-PORT-OPTION, then the answers. */
static int negotiate_options(struct rfc_port *p, struct fl_error *err)
{
    static const uint8_t hello[] = {
        TN_IAC,        TN_WILL,    TN_OPT_COMPORT, TN_IAC,        TN_WILL,
        TN_OPT_BINARY, TN_IAC,     TN_DO,          TN_OPT_BINARY, TN_IAC,
        TN_WILL,       TN_OPT_SGA, TN_IAC,         TN_DO,         TN_OPT_SGA,
    };
    p->local[TN_OPT_COMPORT] = p->local[TN_OPT_BINARY] = p->local[TN_OPT_SGA] = Q_WANT_YES;
    p->remote[TN_OPT_BINARY] = p->remote[TN_OPT_SGA] = Q_WANT_YES;
    int rc = send_commands(p, hello, sizeof hello, err);
    int64_t deadline = mono_ms() + ANSWER_TIMEOUT_MS;
    while (rc == FL_OK && !p->comport_refused &&
           (p->local[TN_OPT_COMPORT] == Q_WANT_YES || p->local[TN_OPT_BINARY] == Q_WANT_YES ||
            p->remote[TN_OPT_BINARY] == Q_WANT_YES)) {
        int left = (int)(deadline - mono_ms());
        if (left <= 0) {
            break;
        }
        rc = pump(p, left, err);
        if (rc >= 0) {
            rc = flush_replies(p, err);
        }
    }
    if (rc < 0) {
        return rc;
    }
    if (p->comport_refused) {
        return fl_error_set(
            err, FL_ERR_UNSUPPORTED, not_rfc2217_hint,
            "%s: the server refused the COM-PORT option: it does not speak RFC 2217", p->base.name);
    }
    if (p->local[TN_OPT_COMPORT] != Q_YES) {
        return fl_error_set(
            err, FL_ERR_PROTO, not_rfc2217_hint,
            "%s: no answer to the RFC 2217 (telnet COM-PORT) negotiation within %d s", p->base.name,
            ANSWER_TIMEOUT_MS / 1000);
    }
    if (p->local[TN_OPT_BINARY] != Q_YES || p->remote[TN_OPT_BINARY] != Q_YES) {
        return fl_error_set(err, FL_ERR_UNSUPPORTED,
                            "enable binary transfers on the server (ser2net does by default)",
                            "%s: the server refused telnet BINARY mode, which the 8-bit bootloader "
                            "protocol needs",
                            p->base.name);
    }
    return FL_OK;
}

/* The line setup RFC 2217 recommends, in its order: rate, 8 data bits, no
 * parity, 1 stop bit; then no flow control (RTS is the reset line). */
static int configure_line(struct rfc_port *p, uint32_t baud, struct fl_error *err)
{
    uint8_t cmd[32];
    size_t len = put_comport_byte(CPO_SET_DATASIZE, 8, cmd);
    len += put_comport_byte(CPO_SET_PARITY, CPO_PARITY_NONE, cmd + len);
    len += put_comport_byte(CPO_SET_STOPSIZE, CPO_STOPSIZE_1, cmd + len);
    len += put_comport_byte(CPO_SET_CONTROL, CPO_CONTROL_NO_FLOW, cmd + len);
    int rc = rfc_set_baud(&p->base, baud, err);
    if (rc < 0) {
        return rc;
    }
    unsigned targets[] = {p->answers[CPO_SET_DATASIZE] + 1, p->answers[CPO_SET_PARITY] + 1,
                          p->answers[CPO_SET_STOPSIZE] + 1, p->answers[CPO_SET_CONTROL] + 1};
    rc = send_commands(p, cmd, len, err);
    static const char *const what[] = {"the data size", "the parity", "the stop bits",
                                       "the flow control setting"};
    for (unsigned i = 0; i < 4 && rc == FL_OK; i++) {
        rc = wait_answers(p, CPO_SET_DATASIZE + i, targets[i], what[i], err);
    }
    return rc;
}

int rfc_attach(int fd, const char *name, uint32_t baud, struct fl_port **out, struct fl_error *err)
{
    *out = NULL;
    struct rfc_port *p = calloc(1, sizeof *p);
    if (p == NULL) {
        close(fd);
        return fl_error_set(err, FL_ERR_NOMEM, NULL, "%s: out of memory", name);
    }
    p->base.ops = &rfc2217_port_ops;
    snprintf(p->base.name, sizeof p->base.name, "%s", name);
    p->base.has_lines = true;
    p->fd = fd;
    int rc = negotiate_options(p, err);
    if (rc == FL_OK) {
        rc = configure_line(p, baud, err);
    }
    if (rc < 0) {
        rfc_close(&p->base);
        return rc;
    }
    *out = &p->base;
    return FL_OK;
}

int fl_rfc2217_open(const char *hostport, uint32_t baud, struct fl_port **out, struct fl_error *err)
{
    *out = NULL;
    if (baud == 0) {
        return fl_error_set(err, FL_ERR_INVALID, NULL, "rfc2217://%s: a line rate of 0 baud",
                            hostport);
    }
    char name[sizeof((struct fl_port *)0)->name];
    snprintf(name, sizeof name, "rfc2217://%s", hostport);
    int fd = -1;
    int rc = rfc_connect(hostport, CONNECT_TIMEOUT_MS, &fd, err);
    return rc < 0 ? rc : rfc_attach(fd, name, baud, out, err);
}
