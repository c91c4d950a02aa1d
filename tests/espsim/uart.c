/*
 * The chip's UART and the wires to the host sides. Bytes in both directions
 * go through time-stamped queues: with --pace each byte takes 10 bit times at
 * the sender's rate, so throughput and timeouts are those of a real link. A
 * byte received at a rate other than the chip's (or sent at a rate other than
 * the host's) arrives as garbage, as on a real wire after a missed baud
 * change; the ROM loader waiting for SYNC autobauds instead.
 */
#include "sim.h"

#include <stdlib.h>
#include <string.h>

#define SIDE_OUT_CAP (1u << 20)

static int q_push(struct sim_queue *q, struct sim_qent e)
{
    if (q->len == q->cap) {
        size_t ncap = q->cap ? q->cap * 2 : 4096;
        struct sim_qent *nv = malloc(ncap * sizeof *nv);
        if (nv == NULL) {
            return -1;
        }
        for (size_t i = 0; i < q->len; i++) {
            nv[i] = q->v[(q->head + i) % q->cap];
        }
        free(q->v);
        q->v = nv;
        q->cap = ncap;
        q->head = 0;
    }
    q->v[(q->head + q->len) % q->cap] = e;
    q->len++;
    return 0;
}

static const struct sim_qent *q_front(const struct sim_queue *q)
{
    return q->len ? &q->v[q->head] : NULL;
}

static void q_pop(struct sim_queue *q)
{
    q->head = (q->head + 1) % q->cap;
    q->len--;
}

int sim_uart_init(struct sim *s)
{
    memset(&s->uart, 0, sizeof s->uart);
    s->uart.baud = s->chip->rom_baud;
    return 0;
}

void sim_uart_reset(struct sim *s)
{
    struct sim_uart *u = &s->uart;
    /* What the UART had not shifted out yet dies with the chip. */
    while (u->tx.len && u->tx.v[(u->tx.head + u->tx.len - 1) % u->tx.cap].t > s->t) {
        u->tx.len--;
    }
    while (u->rx.len) {
        q_pop(&u->rx);
    }
    sim_slip_reset(&u->dec);
    u->baud = s->chip->rom_baud;
    u->autobaud = true;
    u->tx_line_free = s->t;
}

bool sim_rates_match(uint32_t a, uint32_t b)
{
    if (a == 0 || b == 0) {
        return false;
    }
    /* A UART tolerates a few percent of rate error. */
    return (uint64_t)a * 100 <= (uint64_t)b * 103 && (uint64_t)b * 100 <= (uint64_t)a * 103;
}

/* What a receiver sampling at the wrong rate makes of a byte: deterministic
 * junk that depends on the byte and both rates. */
static uint8_t garble(uint8_t b, uint32_t sent, uint32_t seen)
{
    uint32_t mix = sent * 2654435761u ^ seen * 40503u;
    return (uint8_t)((b * 73u + 41u) ^ (mix >> 13));
}

uint32_t sim_side_baud(struct sim *s, int side)
{
    if (side == SIM_SIDE_PTY) {
        uint32_t b = sim_hostbaud(s->pty_master);
        if (b != 0) {
            s->side[side].baud = b;
        }
    }
    return s->side[side].baud;
}

void sim_tx(struct sim *s, const uint8_t *buf, size_t len, bool frame)
{
    struct sim_uart *u = &s->uart;
    if (s->ld.mode == SIM_MODE_RESET) {
        return;
    }
    int64_t bt = s->opt.pace ? sim_byte_ns(u->baud) : 0;
    int64_t t = s->t > u->tx_line_free ? s->t : u->tx_line_free;
    int64_t latency = (int64_t)s->opt.latency_ms * SIM_MS;
    for (size_t i = 0; i < len; i++) {
        uint8_t b = buf[i];
        if (frame) {
            u->tx_frame_bytes++;
            if (sim_fault_hit(&s->faults, SIM_F_DROP_TX, -1) != NULL) {
                sim_log(s, "fault: dropped byte %llu to the host",
                        (unsigned long long)u->tx_frame_bytes);
                continue;
            }
            struct sim_fault *c = sim_fault_hit(&s->faults, SIM_F_CORRUPT_TX, -1);
            if (c != NULL) {
                b ^= c->xor_mask;
                sim_log(s, "fault: corrupted byte %llu to the host",
                        (unsigned long long)u->tx_frame_bytes);
            }
        }
        uint32_t limit = sim_fault_baud_limit(&s->faults);
        if (limit != 0 && u->baud > limit) {
            b = garble(b, u->baud, limit); /* the adapter cannot do this rate */
        }
        t += bt;
        if (u->split_left == 0) {
            struct sim_fault *sp = sim_fault_hit(&s->faults, SIM_F_SPLIT, -1);
            if (sp != NULL) {
                u->split_left = sp->n;
                t += (int64_t)sp->ms * SIM_MS;
            }
        }
        if (u->split_left > 0) {
            u->split_left--;
        }
        struct sim_qent e = {.t = t + latency, .baud = u->baud, .byte = b};
        q_push(&u->tx, e);
    }
    u->tx_line_free = t;
}

void sim_tx_skew_tail(struct sim *s, size_t n, uint32_t baud)
{
    struct sim_queue *q = &s->uart.tx;
    for (size_t i = 0; i < n && i < q->len; i++) {
        q->v[(q->head + q->len - 1 - i) % q->cap].baud = baud;
    }
}

void sim_tx_text(struct sim *s, const char *text)
{
    sim_tx(s, (const uint8_t *)text, strlen(text), false);
}

void sim_rx(struct sim *s, int side, const uint8_t *buf, size_t len, int64_t now)
{
    struct sim_side *sd = &s->side[side];
    uint32_t hb = sim_side_baud(s, side);
    int64_t bt = s->opt.pace ? sim_byte_ns(hb) : 0;
    int64_t t = now > sd->rx_line_free ? now : sd->rx_line_free;
    for (size_t i = 0; i < len; i++) {
        uint8_t b = buf[i];
        s->uart.rx_bytes++;
        if (sim_fault_hit(&s->faults, SIM_F_DROP_RX, -1) != NULL) {
            sim_log(s, "fault: dropped byte %llu from the host",
                    (unsigned long long)s->uart.rx_bytes);
            continue;
        }
        struct sim_fault *c = sim_fault_hit(&s->faults, SIM_F_CORRUPT_RX, -1);
        if (c != NULL) {
            b ^= c->xor_mask;
            sim_log(s, "fault: corrupted byte %llu from the host",
                    (unsigned long long)s->uart.rx_bytes);
        }
        uint32_t limit = sim_fault_baud_limit(&s->faults);
        if (limit != 0 && hb > limit) {
            b = garble(b, hb, limit); /* the adapter cannot do this rate */
        }
        t += bt;
        struct sim_qent e = {.t = t, .baud = hb, .byte = b, .side = (uint8_t)side};
        q_push(&s->uart.rx, e);
    }
    sd->rx_line_free = t;
}

void sim_side_append(struct sim *s, int side, const uint8_t *buf, size_t len)
{
    struct sim_side *sd = &s->side[side];
    for (size_t i = 0; i < len; i++) {
        /* Telnet doubles 0xFF in the data stream. */
        size_t need = (side == SIM_SIDE_NET && buf[i] == 0xFF) ? 2 : 1;
        if (sd->out_len + need > SIDE_OUT_CAP) {
            sd->out_dropped++;
            continue;
        }
        if (sd->out_len + need > sd->out_cap) {
            size_t ncap = sd->out_cap ? sd->out_cap * 2 : 4096;
            uint8_t *n = realloc(sd->out, ncap);
            if (n == NULL) {
                sd->out_dropped++;
                continue;
            }
            sd->out = n;
            sd->out_cap = ncap;
        }
        sd->out[sd->out_len++] = buf[i];
        if (need == 2) {
            sd->out[sd->out_len++] = 0xFF;
        }
    }
}

static void feed_chip(struct sim *s, int64_t now)
{
    struct sim_uart *u = &s->uart;
    const struct sim_qent *e;
    while ((e = q_front(&u->rx)) != NULL && e->t <= now && s->t <= now) {
        struct sim_qent b = *e;
        q_pop(&u->rx);
        if (s->ld.mode == SIM_MODE_RESET) {
            continue;
        }
        if (b.t > s->t) {
            s->t = b.t;
        }
        uint8_t byte = b.byte;
        if (!u->autobaud && !sim_rates_match(b.baud, u->baud)) {
            byte = garble(byte, b.baud, u->baud);
        }
        u->last_side = b.side;
        if (sim_slip_feed(&u->dec, byte, SIM_MAX_FRAME)) {
            sim_frame_in(s, u->dec.buf, u->dec.len);
        }
    }
}

static void release_tx(struct sim *s, int64_t now)
{
    struct sim_uart *u = &s->uart;
    const struct sim_qent *e = q_front(&u->tx);
    uint32_t rates[SIM_NSIDES];
    if (e == NULL || e->t > now) {
        return;
    }
    for (int side = 0; side < SIM_NSIDES; side++) {
        rates[side] = sim_side_baud(s, side);
    }
    while ((e = q_front(&u->tx)) != NULL && e->t <= now) {
        for (int side = 0; side < SIM_NSIDES; side++) {
            if (!s->side[side].open) {
                continue;
            }
            uint32_t hb = rates[side];
            uint8_t byte = sim_rates_match(hb, e->baud) ? e->byte : garble(e->byte, e->baud, hb);
            sim_side_append(s, side, &byte, 1);
        }
        q_pop(&u->tx);
    }
}

void sim_uart_pump(struct sim *s, int64_t now)
{
    feed_chip(s, now);
    release_tx(s, now);
    sim_pty_flush(s);
    sim_net_flush(s);
}

int64_t sim_uart_next(const struct sim *s)
{
    int64_t next = INT64_MAX;
    const struct sim_qent *e = q_front(&s->uart.rx);
    if (e != NULL) {
        next = e->t > s->t ? e->t : s->t;
    }
    e = q_front(&s->uart.tx);
    if (e != NULL && e->t < next) {
        next = e->t;
    }
    return next;
}
