/* SLIP framing (esp-protocol.md §1.1) and the request/response layouts (§1.2, §1.3). */
#include <string.h>

#include "flasher/flasher_priv.h"

#define SLIP_END     0xC0
#define SLIP_ESC     0xDB
#define SLIP_ESC_END 0xDC
#define SLIP_ESC_ESC 0xDD

enum { ST_IDLE, ST_FRAME, ST_ESCAPE, ST_DISCARD };

size_t fl_slip_encode(const uint8_t *in, size_t len, uint8_t *out)
{
    size_t o = 0;
    out[o++] = SLIP_END;
    for (size_t i = 0; i < len; i++) {
        if (in[i] == SLIP_END) {
            out[o++] = SLIP_ESC;
            out[o++] = SLIP_ESC_END;
        } else if (in[i] == SLIP_ESC) {
            out[o++] = SLIP_ESC;
            out[o++] = SLIP_ESC_ESC;
        } else {
            out[o++] = in[i];
        }
    }
    out[o++] = SLIP_END;
    return o;
}

void fl_slip_decoder_init(struct fl_slip_decoder *dec, uint8_t *buf, size_t cap)
{
    dec->buf = buf;
    dec->cap = cap;
    dec->len = 0;
    dec->state = ST_IDLE;
}

static bool append(struct fl_slip_decoder *dec, uint8_t b)
{
    if (dec->len >= dec->cap) {
        return false;
    }
    dec->buf[dec->len++] = b;
    return true;
}

size_t fl_slip_decode(struct fl_slip_decoder *dec, const uint8_t *in, size_t len,
                      enum fl_slip_event *event)
{
    size_t i = 0;
    *event = FL_SLIP_NONE;
    if (dec->state == ST_IDLE) {
        /* Bytes between frames are junk (a boot log, app output, noise): hand
         * them back as one run so the caller can count and show them. */
        while (i < len && in[i] != SLIP_END) {
            i++;
        }
        if (i > 0) {
            *event = FL_SLIP_JUNK;
            return i;
        }
    }
    for (; i < len; i++) {
        uint8_t b = in[i];
        switch (dec->state) {
        case ST_IDLE:
            /* Only reachable at i == 0 with b == END (see above), or after a
             * frame: the next byte must open a frame, else it is junk. */
            if (b != SLIP_END) {
                *event = FL_SLIP_JUNK;
                size_t j = i;
                while (j < len && in[j] != SLIP_END) {
                    j++;
                }
                /* Report only the junk run; the caller re-enters for the rest. */
                return j;
            }
            dec->state = ST_FRAME;
            dec->len = 0;
            break;
        case ST_FRAME:
            if (b == SLIP_END) {
                if (dec->len == 0) {
                    break; /* back-to-back delimiters: an empty frame is a no-op */
                }
                dec->state = ST_IDLE;
                *event = FL_SLIP_FRAME;
                return i + 1;
            }
            if (b == SLIP_ESC) {
                dec->state = ST_ESCAPE;
            } else if (!append(dec, b)) {
                dec->state = ST_DISCARD;
                *event = FL_SLIP_BAD;
                return i + 1;
            }
            break;
        case ST_ESCAPE:
            if (b == SLIP_ESC_END || b == SLIP_ESC_ESC) {
                dec->state = ST_FRAME;
                if (!append(dec, b == SLIP_ESC_END ? SLIP_END : SLIP_ESC)) {
                    dec->state = ST_DISCARD;
                    *event = FL_SLIP_BAD;
                    return i + 1;
                }
                break;
            }
            /* An invalid escape spoils the frame. A delimiter right after it
             * still opens the next one. */
            dec->len = 0;
            dec->state = b == SLIP_END ? ST_FRAME : ST_DISCARD;
            *event = FL_SLIP_BAD;
            return i + 1;
        case ST_DISCARD:
            if (b == SLIP_END) {
                /* Could be the end of the spoiled frame or the start of the
                 * next: as a start, an immediate END is just an empty frame. */
                dec->state = ST_FRAME;
                dec->len = 0;
            }
            break;
        default:
            dec->state = ST_IDLE;
            break;
        }
    }
    return i;
}

uint8_t fl_checksum(const uint8_t *data, size_t len)
{
    uint8_t c = 0xEF;
    for (size_t i = 0; i < len; i++) {
        c ^= data[i];
    }
    return c;
}

size_t fl_request_encode(uint8_t op, const uint8_t *data, size_t len, uint32_t checksum,
                         uint8_t *out)
{
    out[0] = 0x00;
    out[1] = op;
    fl_put_le16(out + 2, (uint16_t)len);
    fl_put_le32(out + 4, checksum);
    if (len > 0 && data != out + 8) {
        memmove(out + 8, data, len);
    }
    return 8 + len;
}

int fl_reply_parse(const uint8_t *frame, size_t len, size_t payload_len, struct fl_reply *out)
{
    memset(out, 0, sizeof *out);
    if (len < 10 || frame[0] != 0x01) {
        return FL_ERR_PROTO;
    }
    out->op = frame[1];
    out->size = fl_get_le16(frame + 2);
    out->value = fl_get_le32(frame + 4);
    out->data = frame + 8;
    out->data_len = len - 8;
    const uint8_t *st;
    if (out->data_len >= payload_len + 2) {
        st = out->data + payload_len;
        out->payload_len = payload_len;
    } else {
        /* Too short for the payload: an error reply carries only its status. */
        st = out->data;
        out->payload_len = 0;
    }
    out->status[0] = st[0];
    out->status[1] = st[1];
    out->failed = st[0] != 0;
    if (out->failed) {
        /* ROM: 1 then the code; stubs put their code (0xC0+) in byte 0. */
        out->stub_code = st[0] != 1;
        out->code = out->stub_code ? st[0] : st[1];
    }
    if (!out->failed && out->payload_len < payload_len) {
        /* A success without the promised payload is not usable. */
        return FL_ERR_PROTO;
    }
    return FL_OK;
}
