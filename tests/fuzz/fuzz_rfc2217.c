/*
 * Fuzz target: what an RFC 2217 server (or anything posing as one) sends.
 *  1. The telnet decoder must give the same data and events however the
 *     stream is cut (the first input byte picks the cut).
 *  2. The whole client (negotiation, answers, purge, reads, line changes)
 *     runs against the input as the server's side of a socketpair. The input
 *     is cut into segments at each IAC NUL (0xFF 0x00, not a telnet command);
 *     a feeder thread sends the next segment for each request the client
 *     makes (its WILL COM-PORT, each COM-PORT command), so answers follow
 *     requests as with a real server, then ends the stream.
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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

struct feeder {
    int fd;
    const uint8_t *data;
    size_t size, off;
    unsigned requests;
};

static void count_request(void *ctx, const struct tn_event *ev)
{
    struct feeder *f = ctx;
    if ((ev->kind == TN_EV_OPTION && ev->verb == TN_WILL && ev->option == TN_OPT_COMPORT) ||
        (ev->kind == TN_EV_SUB && ev->sb_len > 0 && ev->sb[0] == TN_OPT_COMPORT)) {
        f->requests++;
    }
}

/* Sends the next segment (up to and without the next 0xFF 0x00); false once
 * the input is used up. */
static bool send_segment(struct feeder *f)
{
    if (f->off >= f->size) {
        return false;
    }
    size_t end = f->off;
    while (end < f->size && !(f->data[end] == 0xFF && end + 1 < f->size && f->data[end + 1] == 0)) {
        end++;
    }
    size_t pos = f->off;
    while (pos < end) {
        ssize_t n = send(f->fd, f->data + pos, end - pos, MSG_NOSIGNAL);
        if (n <= 0) {
            break;
        }
        pos += (size_t)n;
    }
    f->off = end < f->size ? end + 2 : end;
    /* End the stream right after the last byte, as a server that hangs up. */
    return f->off < f->size;
}

static void *feed(void *arg)
{
    struct feeder *f = arg;
    struct tn_decoder dec = {0};
    bool more = true;
    while (more) {
        struct pollfd pfd = {.fd = f->fd, .events = POLLIN};
        /* A client still waiting on an answer the input lacks gets the next
         * segment after a short silence instead of waiting out its timeout. */
        if (poll(&pfd, 1, 1) == 0) {
            more = send_segment(f);
            continue;
        }
        uint8_t buf[4096];
        ssize_t n = recv(f->fd, buf, sizeof buf, 0);
        if (n <= 0) {
            break;
        }
        tn_decode(&dec, buf, (size_t)n, buf, count_request, f);
        while (more && f->requests > 0) {
            f->requests--;
            more = send_segment(f);
        }
    }
    shutdown(f->fd, SHUT_WR);
    uint8_t sink[4096];
    while (recv(f->fd, sink, sizeof sink, 0) > 0) {
    }
    return NULL;
}

static void run_client(const uint8_t *data, size_t size)
{
    int sv[2];
    if (size > 16384 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        return;
    }
    fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
    struct feeder f = {.fd = sv[1], .data = data, .size = size};
    pthread_t thread;
    if (pthread_create(&thread, NULL, feed, &f) != 0) {
        close(sv[0]);
        close(sv[1]);
        return;
    }
    struct fl_port *port = NULL;
    struct fl_error err = {0};
    if (rfc_attach(sv[0], "rfc2217://fuzz", 115200, NULL, &port, &err) == FL_OK) {
        uint8_t buf[512];
        while (port->ops->read(port, buf, sizeof buf, 0, &err) > 0) {
        }
        (void)port->ops->set_lines(port, true, false, &err);
        (void)port->ops->flush_input(port, &err);
        (void)port->ops->read(port, buf, sizeof buf, 0, &err);
        (void)port->ops->write(port, (const uint8_t *)"\xC0\xFF\xC0", 3, &err);
        (void)port->ops->set_baud(port, 921600, &err);
        (void)port->ops->drain(port, &err);
        fl_port_close(port);
    } else {
        /* rfc_attach closed its end already. */
    }
    pthread_join(thread, NULL);
    close(sv[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_decoder(data, size);
    run_client(data, size);
    return 0;
}
