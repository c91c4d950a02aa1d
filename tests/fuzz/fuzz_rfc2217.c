/*
 * Fuzz target: what an RFC 2217 server (or anything posing as one) sends.
 *  1. The telnet decoder must give the same data and events however the
 *     stream is cut (the first input byte picks the cut).
 *  2. The whole client (negotiation, answers, purge, reads, line changes,
 *     write, drain) runs against the input as the server's side of a
 *     socketpair. The input is cut into segments at each IAC NUL (0xFF 0x00,
 *     not a telnet command); a feeder thread sends the next segment for each
 *     request the client makes (its WILL COM-PORT, each COM-PORT command), or
 *     after 1 ms of silence, so answers follow requests as with a real
 *     server. The first byte's top bits pick what happens once the input is
 *     used up: the feeder hangs up (as before), or keeps the connection open
 *     and stays silent, or sends the input again and again, forever. The
 *     last two are the servers that could hang a client: the run must end
 *     within the time its limits allow (checked by a watchdog in the feeder,
 *     so a client stuck in a loop aborts instead of looking like a slow
 *     input).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "flasher/rfc2217_port.h"
#include "flasher/rfc2217_priv.h"

struct digest {
    uint64_t hash;
    size_t events;
};

static void mix(struct digest *d, uint64_t v)
{
    d->hash = (d->hash ^ v) * 0x100000001B3ULL;
}

static void on_event(void *ctx, const struct tn_event *ev)
{
    struct digest *d = ctx;
    d->events++;
    mix(d, (uint64_t)ev->kind << 16 | (uint64_t)ev->verb << 8 | ev->option);
    mix(d, ev->sb_len | (uint64_t)ev->sb_truncated << 32);
    for (size_t i = 0; i < ev->sb_len; i++) {
        mix(d, ev->sb[i]);
    }
}

static void check_decoder(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return;
    }
    size_t cut = data[0] % size;
    uint8_t *whole = malloc(size);
    uint8_t *split = malloc(size);
    if (whole == NULL || split == NULL) {
        free(whole);
        free(split);
        return;
    }
    struct tn_decoder d1 = {0}, d2 = {0};
    struct digest g1 = {0xcbf29ce484222325ULL, 0}, g2 = {0xcbf29ce484222325ULL, 0};
    size_t n1 = tn_decode(&d1, data, size, whole, on_event, &g1);
    size_t n2 = tn_decode(&d2, data, cut, split, on_event, &g2);
    n2 += tn_decode(&d2, data + cut, size - cut, split + n2, on_event, &g2);
    if (n1 > size || n1 != n2 || memcmp(whole, split, n1) != 0 || g1.hash != g2.hash ||
        g1.events != g2.events || d1.state != d2.state) {
        abort();
    }
    free(whole);
    free(split);
}

enum feed_end { FEED_HANG_UP, FEED_SILENT, FEED_REPEAT };

struct feeder {
    int fd;
    const uint8_t *data;
    size_t size, off;
    enum feed_end end;
    bool wrapped;   /* a repeating feeder went through the input once */
    uint8_t *flood; /* then: the input without its cuts, repeated to 64 KiB */
    size_t flood_len;
    unsigned requests;
    const uint8_t *src; /* src[pend, pend_end) is being sent */
    size_t pend, pend_end;
    int64_t started_ms, limit_ms;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void count_request(void *ctx, const struct tn_event *ev)
{
    struct feeder *f = ctx;
    if ((ev->kind == TN_EV_OPTION && ev->verb == TN_WILL && ev->option == TN_OPT_COMPORT) ||
        (ev->kind == TN_EV_SUB && ev->sb_len > 0 && ev->sb[0] == TN_OPT_COMPORT)) {
        f->requests++;
    }
}

/* The whole input again and again, in big writes: a stream the client
 * cannot outrun, so a read loop that waits for something particular never
 * sees a pause. */
static bool start_flood(struct feeder *f)
{
    enum { FLOOD_MIN = 64 * 1024 };
    if (f->flood == NULL) {
        f->flood = malloc(FLOOD_MIN + f->size);
        if (f->flood == NULL) {
            return false;
        }
        while (f->flood_len < FLOOD_MIN) {
            for (size_t i = 0; i < f->size; i++) {
                if (f->data[i] == 0xFF && i + 1 < f->size && f->data[i + 1] == 0) {
                    i++; /* a cut, not a byte of the stream */
                } else {
                    f->flood[f->flood_len++] = f->data[i];
                }
            }
            if (f->flood_len == 0) {
                return false; /* nothing but cuts */
            }
        }
    }
    f->wrapped = true;
    f->src = f->flood;
    f->pend = 0;
    f->pend_end = f->flood_len;
    return true;
}

/* Queues the next segment (up to and without the next 0xFF 0x00); false
 * when the input is used up (a repeating feeder floods from then on). */
static bool next_segment(struct feeder *f)
{
    if (f->off >= f->size) {
        return f->end == FEED_REPEAT && f->size > 0 && start_flood(f);
    }
    size_t end = f->off;
    while (end < f->size && !(f->data[end] == 0xFF && end + 1 < f->size && f->data[end + 1] == 0)) {
        end++;
    }
    f->src = f->data;
    f->pend = f->off;
    f->pend_end = end;
    f->off = end < f->size ? end + 2 : end;
    return true;
}

static void watchdog(const struct feeder *f)
{
    int64_t ran = mono_ms() - f->started_ms;
    if (ran > f->limit_ms) {
        fprintf(stderr, "fuzz_rfc2217: the client ran %lld ms, its limits allow %lld ms\n",
                (long long)ran, (long long)f->limit_ms);
        abort();
    }
}

static void *feed(void *arg)
{
    struct feeder *f = arg;
    struct tn_decoder dec = {0};
    bool used_up = false, hung_up = false;
    for (;;) {
        watchdog(f);
        bool sending = f->pend < f->pend_end;
        struct pollfd pfd = {.fd = f->fd, .events = POLLIN | (sending ? POLLOUT : 0)};
        /* Waits only when there is nothing to do: a silence of 1 ms is what
         * sends the next segment unasked. */
        bool more = !sending && (f->requests > 0 || f->wrapped);
        int r = poll(&pfd, 1, more ? 0 : 1);
        if (r < 0) {
            continue;
        }
        if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
            uint8_t buf[4096];
            ssize_t n = recv(f->fd, buf, sizeof buf, 0);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
                break; /* the client closed the port */
            }
            if (n > 0) {
                tn_decode(&dec, buf, (size_t)n, buf, count_request, f);
            }
        }
        /* Between segments: one per request, or after a short silence for a
         * client still waiting on an answer the input lacks; once a repeating
         * feeder went through the input, as fast as the client takes it. */
        if (!sending && !used_up && (more || r == 0)) {
            if (f->requests > 0) {
                f->requests--;
            }
            used_up = !next_segment(f);
        }
        if (f->pend < f->pend_end) {
            ssize_t n =
                send(f->fd, f->src + f->pend, f->pend_end - f->pend, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0) {
                f->pend += (size_t)n;
            } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
                break;
            }
        }
        if (f->off >= f->size && f->end != FEED_REPEAT) {
            used_up = true; /* the last segment is out, or going */
        }
        if (used_up && f->pend >= f->pend_end && f->end == FEED_HANG_UP && !hung_up) {
            /* End the stream right after the last byte, as a server that hangs up. */
            shutdown(f->fd, SHUT_WR);
            hung_up = true;
        }
    }
    return NULL;
}

/* The whole client, in the order a session uses it. */
static void drive_client(int fd, const struct rfc_limits *lim)
{
    struct fl_port *port = NULL;
    struct fl_error err = {0};
    if (rfc_attach(fd, "rfc2217://fuzz", 115200, lim, &port, &err) != FL_OK) {
        return; /* rfc_attach closed its end already. */
    }
    uint8_t buf[512];
    /* Bounded: a repeating server never stops sending data. */
    for (int i = 0; i < 64 && port->ops->read(port, buf, sizeof buf, 0, &err) > 0; i++) {
    }
    (void)port->ops->set_lines(port, true, false, &err);
    (void)port->ops->flush_input(port, &err);
    (void)port->ops->read(port, buf, sizeof buf, 0, &err);
    (void)port->ops->write(port, (const uint8_t *)"\xC0\xFF\xC0", 3, &err);
    (void)port->ops->set_baud(port, 921600, &err);
    (void)port->ops->drain(port, &err);
    fl_port_close(port);
}

/* What drive_client may wait for: answers to the negotiation, the set-up
 * (baud + 4 settings), set_lines, the purge and set_baud, each bounded by
 * answer_ms; sends (hello, the set-up's two, lines, purge, write, baud) and
 * the drain, each bounded by stall_ms. Reads do not wait. */
enum { ANSWER_WAITS = 9, STALL_WAITS = 8 };
/* Scheduling (two loaded cores, sanitizers) on top of the limits. */
enum { SLACK_MS = 2000 };

static void run_client(const uint8_t *data, size_t size)
{
    int sv[2];
    if (size > 16384 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        return;
    }
    fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
    fcntl(sv[1], F_SETFL, fcntl(sv[1], F_GETFL) | O_NONBLOCK);
    uint8_t top = size > 0 ? data[0] >> 5 : 0;
    enum feed_end end = top == 6 ? FEED_SILENT : top == 7 ? FEED_REPEAT : FEED_HANG_UP;
    /* Answers come at once from the feeder: short limits keep a never-ending
     * server at a few ms per wait. */
    struct rfc_limits lim = {
        .answer_ms = end == FEED_HANG_UP ? 200 : 5,
        .stall_ms = end == FEED_HANG_UP ? 500 : 20,
        .rx_max = 64 * 1024,
        .sb_max = 256,
    };
    struct feeder f = {.fd = sv[1], .data = data, .size = size, .end = end};
    f.limit_ms = ANSWER_WAITS * lim.answer_ms + STALL_WAITS * lim.stall_ms + SLACK_MS;
    f.started_ms = mono_ms();
    pthread_t thread;
    if (pthread_create(&thread, NULL, feed, &f) != 0) {
        close(sv[0]);
        close(sv[1]);
        return;
    }
    drive_client(sv[0], &lim);
    int64_t ran = mono_ms() - f.started_ms;
    pthread_join(thread, NULL);
    close(sv[1]);
    free(f.flood);
    if (ran > f.limit_ms) {
        fprintf(stderr, "fuzz_rfc2217: the client ran %lld ms, its limits allow %lld ms\n",
                (long long)ran, (long long)f.limit_ms);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_decoder(data, size);
    run_client(data, size);
    return 0;
}
