/* Frames on the port, requests out, matching replies in (esp-protocol.md §1.3). */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "flasher/flasher_priv.h"

static struct fl_port *port_of(struct fl_session *s)
{
    return s->state->port;
}

static void note_junk(struct fl_session *s, const uint8_t *p, size_t n)
{
    struct fl_session_state *st = s->state;
    s->stats.junk_bytes += n;
    if (s->hooks.frame != NULL && s->opt.log_level >= FL_LOG_TRACE) {
        s->hooks.frame(s->hooks.user, FL_FRAME_JUNK, p, n);
    }
    if (st->capture) {
        size_t room = sizeof st->bootlog - 1 - st->bootlog_len;
        size_t take = n < room ? n : room;
        memcpy(st->bootlog + st->bootlog_len, p, take);
        st->bootlog_len += take;
        st->bootlog[st->bootlog_len] = '\0';
    }
}

int fl_read_frame(struct fl_session *s, int64_t deadline, const uint8_t **frame, size_t *len,
                  struct fl_error *err)
{
    struct fl_session_state *st = s->state;
    struct fl_port *port = port_of(s);
    for (;;) {
        while (st->rx_pos < st->rx_len) {
            enum fl_slip_event ev;
            const uint8_t *chunk = st->rx + st->rx_pos;
            size_t n = fl_slip_decode(&st->dec, chunk, st->rx_len - st->rx_pos, &ev);
            st->rx_pos += n;
            if (ev == FL_SLIP_JUNK) {
                note_junk(s, chunk, n);
            } else if (ev == FL_SLIP_BAD) {
                s->stats.frames_bad++;
                fl_log(s, FL_LOG_DEBUG, "dropped a corrupt frame (bad escape or oversized)");
            } else if (ev == FL_SLIP_FRAME) {
                s->stats.frames_received++;
                if (s->hooks.frame != NULL && s->opt.log_level >= FL_LOG_TRACE) {
                    s->hooks.frame(s->hooks.user, FL_FRAME_RECEIVED, st->dec.buf, st->dec.len);
                }
                *frame = st->dec.buf;
                *len = st->dec.len;
                return FL_OK;
            }
        }
        /* Checked whatever the last read returned, and before any read: a
         * board (or server) that never stops sending junk or frames nobody
         * waits for must not keep a caller here, even one that calls again
         * for the next frame with the same deadline. */
        int64_t left = deadline - port->ops->now_ms(port);
        if (left <= 0) {
            return fl_error_set(err, FL_ERR_TIMEOUT, NULL, "timed out waiting for data");
        }
        int r =
            port->ops->read(port, st->rx, sizeof st->rx, left < INT_MAX ? (int)left : INT_MAX, err);
        if (r < 0) {
            return r;
        }
        st->rx_pos = 0;
        st->rx_len = (size_t)r;
        s->stats.bytes_received += (uint64_t)r;
    }
}

int fl_send_frame(struct fl_session *s, const uint8_t *body, size_t len, struct fl_error *err)
{
    struct fl_session_state *st = s->state;
    struct fl_port *port = port_of(s);
    if (port == NULL) {
        return fl_error_set(err, FL_ERR_INVALID, NULL, "no port is open");
    }
    if (len > FL_REQ_CAP) {
        return fl_error_set(err, FL_ERR_INVALID, NULL, "frame of %zu bytes is too long", len);
    }
    if (s->hooks.frame != NULL && s->opt.log_level >= FL_LOG_TRACE) {
        s->hooks.frame(s->hooks.user, FL_FRAME_SENT, body, len);
    }
    size_t n = fl_slip_encode(body, len, st->tx);
    s->stats.frames_sent++;
    s->stats.bytes_sent += n;
    return port->ops->write(port, st->tx, n, err);
}

int fl_flush_input(struct fl_session *s, struct fl_error *err)
{
    struct fl_session_state *st = s->state;
    st->rx_pos = st->rx_len = 0;
    fl_slip_decoder_init(&st->dec, st->frame, sizeof st->frame);
    return port_of(s)->ops->flush_input(port_of(s), err);
}

int fl_status_len(const struct fl_session *s)
{
    const struct fl_session_state *st = s->state;
    if (st->stub) {
        return 2;
    }
    if (st->status_len != 0) {
        return st->status_len;
    }
    return st->target ? st->target->rom_status_len : 2;
}

bool fl_can(const struct fl_session *s, unsigned cap)
{
    const struct fl_session_state *st = s->state;
    if (st->stub) {
        const unsigned stub_caps =
            FL_ROM_SPI_ATTACH | FL_ROM_SET_PARAMS | FL_ROM_MD5 | FL_ROM_DEFL | FL_ROM_CHANGE_BAUD;
        if (cap == FL_ROM_SECURITY_INFO) {
            return st->target && (st->target->rom_caps & FL_ROM_SECURITY_INFO);
        }
        return (stub_caps & cap) == cap;
    }
    return st->target != NULL && (st->target->rom_caps & cap) == cap;
}

static int send_request(struct fl_session *s, size_t n, struct fl_error *err)
{
    return fl_send_frame(s, s->state->req, n, err);
}

int fl_wait_reply(struct fl_session *s, uint8_t op, size_t payload_len, int timeout_ms,
                  struct fl_reply *reply, struct fl_error *err)
{
    struct fl_session_state *st = s->state;
    struct fl_port *port = port_of(s);
    /* A stub ACKs a block before writing it: time it owes for the previous
     * block is added to whatever command comes next. */
    timeout_ms += st->carry_timeout_ms;
    st->carry_timeout_ms = 0;
    int64_t deadline = port->ops->now_ms(port) + timeout_ms;
    struct fl_reply local;
    struct fl_reply *r = reply ? reply : &local;
    for (;;) {
        const uint8_t *frame;
        size_t len;
        int rc = fl_read_frame(s, deadline, &frame, &len, err);
        if (rc == FL_ERR_TIMEOUT) {
            rc = fl_error_set(err, FL_ERR_TIMEOUT,
                              "the board stopped answering: check power and the cable, or try "
                              "a lower --baud",
                              "no reply to %s within %d ms", fl_op_name(op), timeout_ms);
        }
        if (rc != FL_OK) {
            if (err != NULL) {
                err->opcode = op;
            }
            return rc;
        }
        size_t want = payload_len;
        if (want == FL_PAYLOAD_AUTO) {
            size_t sl = (size_t)fl_status_len(s);
            want = len >= 8 + sl ? len - 8 - sl : 0;
        }
        if (fl_reply_parse(frame, len, want, r) != FL_OK || r->op != op) {
            /* Stray replies (extra SYNC answers, a late reply to an earlier
             * command) and non-responses are skipped, not fatal. */
            s->stats.frames_skipped++;
            fl_log(s, FL_LOG_DEBUG, "skipped a %zu-byte frame while waiting for %s", len,
                   fl_op_name(op));
            continue;
        }
        if (r->failed) {
            int code = FL_ERR_ROM;
            if (r->stub_code && (r->code == 0xC3 || r->code == 0xFF)) {
                code = FL_ERR_UNSUPPORTED;
            }
            fl_error_set(err, code, NULL, "%s failed: %s (status 0x%02x%02x)", fl_op_name(op),
                         fl_status_text(r->stub_code, r->code), r->status[0], r->status[1]);
            if (err != NULL) {
                err->opcode = op;
                err->status[0] = r->status[0];
                err->status[1] = r->status[1];
            }
            return code;
        }
        return FL_OK;
    }
}

int fl_send_command(struct fl_session *s, uint8_t op, const uint8_t *data, size_t len,
                    uint32_t checksum, struct fl_error *err)
{
    if (len > FL_REQ_CAP - 8) {
        return fl_error_set(err, FL_ERR_INVALID, NULL, "%s: %zu data bytes is too long",
                            fl_op_name(op), len);
    }
    size_t n = fl_request_encode(op, data, len, checksum, s->state->req);
    return send_request(s, n, err);
}

int fl_command(struct fl_session *s, uint8_t op, const uint8_t *data, size_t len, uint32_t checksum,
               size_t payload_len, int timeout_ms, struct fl_reply *reply, struct fl_error *err)
{
    TRY(fl_send_command(s, op, data, len, checksum, err));
    return fl_wait_reply(s, op, payload_len, timeout_ms, reply, err);
}

int fl_data_command(struct fl_session *s, uint8_t op, const uint8_t *block, size_t len,
                    uint32_t seq, int timeout_ms, struct fl_error *err)
{
    uint8_t *req = s->state->req;
    if (len + 24 > FL_REQ_CAP) {
        return fl_error_set(err, FL_ERR_INVALID, NULL, "block of %zu bytes is too long", len);
    }
    fl_put_le32(req + 8, (uint32_t)len);
    fl_put_le32(req + 12, seq);
    fl_put_le32(req + 16, 0);
    fl_put_le32(req + 20, 0);
    memcpy(req + 24, block, len);
    size_t n = fl_request_encode(op, req + 8, len + 16, fl_checksum(block, len), req);
    TRY(send_request(s, n, err));
    return fl_wait_reply(s, op, 0, timeout_ms, NULL, err);
}

int fl_command_words(struct fl_session *s, uint8_t op, const uint32_t *words, size_t n,
                     int timeout_ms, struct fl_error *err)
{
    uint8_t buf[32];
    if (n > sizeof buf / 4) {
        return fl_error_set(err, FL_ERR_INVALID, NULL, "too many words");
    }
    for (size_t i = 0; i < n; i++) {
        fl_put_le32(buf + 4 * i, words[i]);
    }
    return fl_command(s, op, buf, 4 * n, 0, 0, timeout_ms, NULL, err);
}

int fl_read_reg(struct fl_session *s, uint32_t addr, uint32_t *value, struct fl_error *err)
{
    uint8_t buf[4];
    struct fl_reply r;
    fl_put_le32(buf, addr);
    TRY(fl_command(s, FL_OP_READ_REG, buf, 4, 0, 0, FL_T_DEFAULT, &r, err));
    *value = r.value;
    return FL_OK;
}

int fl_write_reg(struct fl_session *s, uint32_t addr, uint32_t value, struct fl_error *err)
{
    const uint32_t words[4] = {addr, value, 0xFFFFFFFFu, 0};
    return fl_command_words(s, FL_OP_WRITE_REG, words, 4, FL_T_DEFAULT, err);
}
