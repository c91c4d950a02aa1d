/*
 * The rfc2217:// port's byte stream: receiving and decoding (data, option
 * requests, COM-PORT answers), sending, and waiting for answers.
 *
 *  - Telnet answers to the server's option requests are queued and sent only
 *    between whole writes: a reply slipped between the two bytes of an
 *    escaped 0xFF would corrupt the data stream.
 *  - A purge drops everything received before the server's answer to it:
 *    TCP keeps order, so those bytes are exactly the stale ones.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "flasher/rfc2217_port.h"

int64_t rfc_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char rfc_dead_hint[] = "check that the serial server is still running and that no other "
                             "client took the port over (ser2net: kickolduser)";

const struct rfc_limits rfc_default_limits = {
    .answer_ms = RFC_ANSWER_TIMEOUT_MS,
    .stall_ms = RFC_STALL_TIMEOUT_MS,
    .rx_max = RFC_RX_MAX,
    .sb_max = RFC_SB_MAX,
};

static const char not_a_server_hint[] =
    "check that HOST:PORT is an RFC 2217 server (ser2net: accepter telnet(rfc2217),tcp,PORT; "
    "esptool: esp_rfc2217_server), not a raw TCP port or another service";

int rfc_conn_error(struct rfc_port *p, struct fl_error *err)
{
    if (p->fatal.code != 0) {
        if (err != NULL) {
            *err = p->fatal;
        }
        return p->fatal.code;
    }
    if (p->dead_errno == 0) {
        return fl_error_set(err, FL_ERR_IO, rfc_dead_hint, "%s: the server closed the connection",
                            p->base.name);
    }
    return fl_error_set(err, FL_ERR_IO, rfc_dead_hint, "%s: connection lost: %s", p->base.name,
                        strerror(p->dead_errno));
}

/* Ends the port after the server broke a limit: every later call reports
 * the same error rather than decoding a stream that lost its framing. */
static int kill_port(struct rfc_port *p, struct fl_error *err)
{
    p->dead = true;
    return rfc_conn_error(p, err);
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
    if (ev->sb_total > p->lim.sb_max) {
        p->sb_too_long = true;
        return;
    }
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

static const char *waiting_for(const struct rfc_port *p)
{
    return p->waiting_for != NULL ? p->waiting_for : "its answers";
}

static int rx_append(struct rfc_port *p, const uint8_t *data, size_t len, struct fl_error *err)
{
    if (len == 0) {
        return FL_OK;
    }
    if (len > p->lim.rx_max - p->rx_len) {
        fl_error_set(&p->fatal, FL_ERR_PROTO, not_a_server_hint,
                     "%s: the server sent over %zu bytes of serial data while we waited for %s: "
                     "is it an RFC 2217 server?",
                     p->base.name, p->lim.rx_max, waiting_for(p));
        return kill_port(p, err);
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
        if (cap > p->lim.rx_max) {
            cap = p->lim.rx_max;
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

static int sb_error(struct rfc_port *p, struct fl_error *err)
{
    fl_error_set(&p->fatal, FL_ERR_PROTO, not_a_server_hint,
                 "%s: the server sent a telnet subnegotiation of over %zu bytes while we waited "
                 "for %s: is it an RFC 2217 server?",
                 p->base.name, p->lim.sb_max, waiting_for(p));
    return kill_port(p, err);
}

static int ms_until(int64_t deadline)
{
    int64_t left = deadline - rfc_mono_ms();
    return left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
}

int rfc_pump(struct rfc_port *p, int64_t deadline, struct fl_error *err)
{
    if (p->dead) {
        return rfc_conn_error(p, err);
    }
    struct pollfd pfd = {.fd = p->fd, .events = POLLIN};
    int r = poll(&pfd, 1, ms_until(deadline));
    if (r <= 0) {
        return 0; /* the deadline, or EINTR: callers loop on their deadline */
    }
    uint8_t buf[4096];
    ssize_t n = recv(p->fd, buf, sizeof buf, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        return 0;
    }
    if (n <= 0) {
        p->dead = true;
        p->dead_errno = n < 0 ? errno : 0;
        return rfc_conn_error(p, err);
    }
    bool was_purging = p->purging;
    p->purge_answered = false;
    size_t data = tn_decode(&p->dec, buf, (size_t)n, buf, on_event, p);
    bool in_sb = p->dec.state == TN_ST_SB || p->dec.state == TN_ST_SB_IAC;
    if (p->sb_too_long || (in_sb && p->dec.sb_total > p->lim.sb_max)) {
        return sb_error(p, err);
    }
    size_t from = 0;
    if (was_purging) {
        from = p->purge_answered ? p->keep_from : data;
    }
    int rc = rx_append(p, buf + from, data - from, err);
    return rc < 0 ? rc : 1;
}

/* Sends all bytes by `deadline`, reading (and buffering) whatever the
 * server sends meanwhile so neither side can block the other with full
 * buffers. */
static int send_raw(struct rfc_port *p, const uint8_t *buf, size_t len, int64_t deadline,
                    struct fl_error *err)
{
    size_t total = len;
    while (len > 0) {
        if (p->dead) {
            return rfc_conn_error(p, err);
        }
        ssize_t n = send(p->fd, buf, len, MSG_NOSIGNAL);
        if (n > 0) {
            buf += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            p->dead = true;
            p->dead_errno = errno;
            return rfc_conn_error(p, err);
        }
        int left = ms_until(deadline);
        if (left <= 0) {
            return fl_error_set(err, FL_ERR_TIMEOUT, rfc_dead_hint,
                                "%s: the server took %zu of %zu bytes in %g s", p->base.name,
                                total - len, total, p->lim.stall_ms / 1000.0);
        }
        struct pollfd pfd = {.fd = p->fd, .events = POLLIN | POLLOUT};
        if (poll(&pfd, 1, left) > 0 && (pfd.revents & (POLLIN | POLLHUP | POLLERR))) {
            int rc = rfc_pump(p, 0, err);
            if (rc < 0) {
                return rc;
            }
        }
    }
    return FL_OK;
}

/* Sends the option answers queued so far (not those the server's requests
 * queue meanwhile: a server answering every answer with a new request must
 * not keep us here). */
static int flush_replies(struct rfc_port *p, int64_t deadline, struct fl_error *err)
{
    if (p->reply_len == 0) {
        return FL_OK;
    }
    uint8_t out[RFC_REPLY_MAX];
    size_t len = p->reply_len;
    memcpy(out, p->reply, len);
    p->reply_len = 0;
    return send_raw(p, out, len, deadline, err);
}

/* Sends what of the queued answers the socket takes now, without waiting:
 * waits must not block on a server that does not read. The rest goes before
 * the next command (TCP keeps the bytes in order, so an answer split here
 * is whole on the wire). */
static int flush_replies_now(struct rfc_port *p, struct fl_error *err)
{
    if (p->reply_len == 0 || p->dead) {
        return FL_OK;
    }
    ssize_t n = send(p->fd, p->reply, p->reply_len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
            return FL_OK;
        }
        p->dead = true;
        p->dead_errno = errno;
        return rfc_conn_error(p, err);
    }
    memmove(p->reply, p->reply + n, p->reply_len - (size_t)n);
    p->reply_len -= (size_t)n;
    return FL_OK;
}

int rfc_send_commands(struct rfc_port *p, const uint8_t *buf, size_t len, struct fl_error *err)
{
    int64_t deadline = rfc_mono_ms() + p->lim.stall_ms;
    int rc = flush_replies(p, deadline, err);
    return rc < 0 ? rc : send_raw(p, buf, len, deadline, err);
}

int rfc_wait(struct rfc_port *p, int64_t deadline, const char *what,
             bool (*ready)(const struct rfc_port *p, void *arg), void *arg, struct fl_error *err)
{
    p->waiting_for = what;
    int rc = 0;
    for (bool first = true;; first = false) {
        rc = flush_replies_now(p, err);
        if (rc < 0) {
            break;
        }
        if (ready(p, arg)) {
            rc = 1;
            break;
        }
        if (!first && rfc_mono_ms() >= deadline) {
            rc = 0;
            break;
        }
        rc = rfc_pump(p, deadline, err);
        if (rc < 0) {
            break;
        }
    }
    p->waiting_for = NULL;
    return rc;
}

struct answer_goal {
    unsigned code, target;
};

static bool answered(const struct rfc_port *p, void *arg)
{
    const struct answer_goal *goal = arg;
    return p->answers[goal->code] >= goal->target;
}

/* Waits until the server has answered `code` until the count reaches `target`. */
int rfc_wait_answers(struct rfc_port *p, unsigned code, unsigned target, const char *what,
                     struct fl_error *err)
{
    char waiting[96];
    snprintf(waiting, sizeof waiting, "its answer to %s", what);
    struct answer_goal goal = {code, target};
    int rc = rfc_wait(p, rfc_mono_ms() + p->lim.answer_ms, waiting, answered, &goal, err);
    if (rc == 0) {
        return fl_error_set(err, FL_ERR_TIMEOUT,
                            "the server may not implement RFC 2217 fully; check its "
                            "configuration (ser2net: accepter telnet(rfc2217),tcp,PORT)",
                            "%s: the server did not acknowledge %s within %g s", p->base.name, what,
                            p->lim.answer_ms / 1000.0);
    }
    return rc < 0 ? rc : FL_OK;
}

size_t rfc_put_comport_byte(uint8_t cmd, uint8_t value, uint8_t *out)
{
    return tn_build_comport(cmd, &value, 1, out);
}
