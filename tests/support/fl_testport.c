#include "fl_testport.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct fl_testport *tp_of(struct fl_port *p)
{
    return (struct fl_testport *)p;
}

static void drop_consumed(struct fl_testport *tp)
{
    size_t k = 0;
    for (size_t i = 0; i < tp->nchunks; i++) {
        if (tp->chunks[i].pos < tp->chunks[i].len) {
            tp->chunks[k++] = tp->chunks[i];
        } else {
            free(tp->chunks[i].data);
        }
    }
    tp->nchunks = k;
}

static int tp_read(struct fl_port *p, uint8_t *buf, size_t len, int timeout_ms,
                   struct fl_error *err)
{
    (void)err;
    struct fl_testport *tp = tp_of(p);
    drop_consumed(tp);
    bool due = tp->nchunks > 0 && tp->chunks[0].at <= tp->now + tp->babble_every_ms;
    /* Babble is always waiting (a board talking faster than we read), so
     * even a read that may not wait gets some. */
    if (tp->babble != NULL && !due && tp->now < tp->babble_until) {
        tp->now += tp->babble_every_ms;
        size_t n = tp->babble_len < len ? tp->babble_len : len;
        memcpy(buf, tp->babble, n);
        return (int)n;
    }
    if (tp->nchunks == 0 || tp->chunks[0].at > tp->now + timeout_ms) {
        tp->now += timeout_ms > 0 ? timeout_ms : 0;
        return 0;
    }
    struct fl_testport_chunk *c = &tp->chunks[0];
    if (c->at > tp->now) {
        tp->now = c->at;
    }
    size_t n = c->len - c->pos;
    if (n > len) {
        n = len;
    }
    if (tp->max_read && n > tp->max_read) {
        n = tp->max_read;
    }
    memcpy(buf, c->data + c->pos, n);
    c->pos += n;
    return (int)n;
}

static int tp_write(struct fl_port *p, const uint8_t *buf, size_t len, struct fl_error *err)
{
    (void)err;
    struct fl_testport *tp = tp_of(p);
    if (tp->tx_len + len > tp->tx_cap) {
        tp->tx_cap = (tp->tx_len + len) * 2;
        tp->tx = realloc(tp->tx, tp->tx_cap);
    }
    memcpy(tp->tx + tp->tx_len, buf, len);
    tp->tx_len += len;
    tp->writes++;
    if (tp->responder != NULL) {
        tp->responder(tp, buf, len, tp->user);
    }
    return FL_OK;
}

static int tp_set_baud(struct fl_port *p, uint32_t baud, struct fl_error *err)
{
    (void)err;
    struct fl_testport *tp = tp_of(p);
    if (tp->nbauds < sizeof tp->bauds / sizeof tp->bauds[0]) {
        tp->bauds[tp->nbauds++] = baud;
    }
    p->baud = baud;
    return FL_OK;
}

static int tp_set_lines(struct fl_port *p, bool dtr, bool rts, struct fl_error *err)
{
    struct fl_testport *tp = tp_of(p);
    if (!tp->lines) {
        p->has_lines = false;
        if (err != NULL) {
            err->code = FL_ERR_NO_LINES;
            snprintf(err->msg, sizeof err->msg, "no modem lines");
        }
        return FL_ERR_NO_LINES;
    }
    tp->dtr = dtr;
    tp->rts = rts;
    tp->line_changes++;
    if (tp->on_lines != NULL) {
        tp->on_lines(tp, dtr, rts, tp->user);
    }
    return FL_OK;
}

static int tp_flush(struct fl_port *p, struct fl_error *err)
{
    (void)err;
    struct fl_testport *tp = tp_of(p);
    for (size_t i = 0; i < tp->nchunks; i++) {
        if (tp->chunks[i].at <= tp->now) {
            tp->chunks[i].pos = tp->chunks[i].len;
        }
    }
    drop_consumed(tp);
    return FL_OK;
}

static int tp_drain(struct fl_port *p, struct fl_error *err)
{
    (void)p;
    (void)err;
    return FL_OK;
}

static int64_t tp_now(struct fl_port *p)
{
    return tp_of(p)->now;
}

static void tp_sleep(struct fl_port *p, int ms)
{
    tp_of(p)->now += ms;
}

static void tp_close(struct fl_port *p)
{
    struct fl_testport *tp = tp_of(p);
    for (size_t i = 0; i < tp->nchunks; i++) {
        free(tp->chunks[i].data);
    }
    free(tp->chunks);
    free(tp->tx);
    free(tp);
}

static const struct fl_port_ops tp_ops = {
    .read = tp_read,
    .write = tp_write,
    .set_baud = tp_set_baud,
    .set_lines = tp_set_lines,
    .flush_input = tp_flush,
    .drain = tp_drain,
    .now_ms = tp_now,
    .sleep_ms = tp_sleep,
    .close = tp_close,
};

struct fl_testport *fl_testport_new(void)
{
    struct fl_testport *tp = calloc(1, sizeof *tp);
    tp->base.ops = &tp_ops;
    snprintf(tp->base.name, sizeof tp->base.name, "testport");
    tp->base.baud = 115200;
    tp->base.has_lines = true;
    tp->lines = true;
    tp->now = 1000;
    return tp;
}

void fl_testport_push(struct fl_testport *tp, const uint8_t *data, size_t len, int delay_ms)
{
    if (tp->nchunks == tp->cap) {
        tp->cap = tp->cap ? tp->cap * 2 : 16;
        tp->chunks = realloc(tp->chunks, tp->cap * sizeof *tp->chunks);
    }
    struct fl_testport_chunk *c = &tp->chunks[tp->nchunks++];
    c->data = malloc(len ? len : 1);
    memcpy(c->data, data, len);
    c->len = len;
    c->pos = 0;
    c->at = tp->now + delay_ms;
    /* Keep chunks in time order (stable for equal times). */
    for (size_t i = tp->nchunks - 1; i > 0 && tp->chunks[i - 1].at > tp->chunks[i].at; i--) {
        struct fl_testport_chunk t = tp->chunks[i - 1];
        tp->chunks[i - 1] = tp->chunks[i];
        tp->chunks[i] = t;
    }
}

void fl_testport_push_frame(struct fl_testport *tp, const uint8_t *body, size_t len, int delay_ms)
{
    uint8_t *out = malloc(2 * len + 2);
    size_t n = fl_slip_encode(body, len, out);
    fl_testport_push(tp, out, n, delay_ms);
    free(out);
}

void fl_testport_push_reply(struct fl_testport *tp, uint8_t op, uint32_t value,
                            const uint8_t *payload, size_t len, int status_len, uint8_t status0,
                            uint8_t status1, int delay_ms)
{
    size_t n = 8 + len + (size_t)status_len;
    uint8_t *f = calloc(1, n);
    f[0] = 1;
    f[1] = op;
    f[2] = (uint8_t)(len + (size_t)status_len);
    f[3] = (uint8_t)((len + (size_t)status_len) >> 8);
    for (int i = 0; i < 4; i++) {
        f[4 + i] = (uint8_t)(value >> (8 * i));
    }
    if (len) {
        memcpy(f + 8, payload, len);
    }
    if (status_len >= 1) {
        f[8 + len] = status0;
    }
    if (status_len >= 2) {
        f[9 + len] = status1;
    }
    fl_testport_push_frame(tp, f, n, delay_ms);
    free(f);
}

size_t fl_testport_pending(const struct fl_testport *tp)
{
    size_t n = 0;
    for (size_t i = 0; i < tp->nchunks; i++) {
        n += tp->chunks[i].len - tp->chunks[i].pos;
    }
    return n;
}
