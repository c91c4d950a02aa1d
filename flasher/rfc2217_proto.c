/* Telnet / RFC 2217 stream codec (see rfc2217_priv.h). */
#include <stdint.h>

#include "flasher/rfc2217_priv.h"

static void emit(tn_event_fn on_event, void *ctx, struct tn_event *ev, size_t data_pos)
{
    ev->data_pos = data_pos;
    if (on_event != NULL) {
        on_event(ctx, ev);
    }
}

static void sb_put(struct tn_decoder *dec, uint8_t byte)
{
    if (dec->sb_total < SIZE_MAX) {
        dec->sb_total++;
    }
    if (dec->sb_len < TN_SB_MAX) {
        dec->sb[dec->sb_len++] = byte;
    } else {
        dec->sb_truncated = true;
    }
}

size_t tn_decode(struct tn_decoder *dec, const uint8_t *in, size_t len, uint8_t *out,
                 tn_event_fn on_event, void *ctx)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = in[i];
        struct tn_event ev = {0};
    again:
        switch (dec->state) {
        case TN_ST_DATA:
            if (c == TN_IAC) {
                dec->state = TN_ST_IAC;
            } else {
                out[n++] = c;
            }
            break;
        case TN_ST_IAC:
            if (c == TN_IAC) {
                out[n++] = TN_IAC;
                dec->state = TN_ST_DATA;
            } else if (c >= TN_WILL && c <= TN_DONT) {
                dec->verb = c;
                dec->state = TN_ST_VERB;
            } else if (c == TN_SB) {
                dec->sb_len = 0;
                dec->sb_truncated = false;
                dec->sb_total = 0;
                dec->state = TN_ST_SB;
            } else {
                /* NOP, GA, a stray SE...: nothing to act on, but reported so
                 * the stream position stays observable. */
                ev.kind = TN_EV_COMMAND;
                ev.verb = c;
                emit(on_event, ctx, &ev, n);
                dec->state = TN_ST_DATA;
            }
            break;
        case TN_ST_VERB:
            ev.kind = TN_EV_OPTION;
            ev.verb = dec->verb;
            ev.option = c;
            emit(on_event, ctx, &ev, n);
            dec->state = TN_ST_DATA;
            break;
        case TN_ST_SB:
            if (c == TN_IAC) {
                dec->state = TN_ST_SB_IAC;
            } else {
                sb_put(dec, c);
            }
            break;
        case TN_ST_SB_IAC:
            if (c == TN_SE) {
                ev.kind = TN_EV_SUB;
                ev.sb = dec->sb;
                ev.sb_len = dec->sb_len;
                ev.sb_truncated = dec->sb_truncated;
                ev.sb_total = dec->sb_total;
                emit(on_event, ctx, &ev, n);
                dec->state = TN_ST_DATA;
            } else if (c == TN_IAC) {
                sb_put(dec, TN_IAC);
                dec->state = TN_ST_SB;
            } else {
                /* IAC <cmd> inside SB is malformed; RFC 854 peers end the
                 * subnegotiation there. Drop it and treat <cmd> as a command
                 * so one bad server frame cannot swallow the data stream. */
                dec->state = TN_ST_IAC;
                goto again;
            }
            break;
        }
    }
    return n;
}

size_t tn_escape(const uint8_t *in, size_t len, uint8_t *out)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        out[n++] = in[i];
        if (in[i] == TN_IAC) {
            out[n++] = TN_IAC;
        }
    }
    return n;
}

size_t tn_build_comport(uint8_t cmd, const uint8_t *value, size_t vlen, uint8_t *out)
{
    size_t n = 0;
    out[n++] = TN_IAC;
    out[n++] = TN_SB;
    out[n++] = TN_OPT_COMPORT;
    out[n++] = cmd;
    n += tn_escape(value, vlen, out + n);
    out[n++] = TN_IAC;
    out[n++] = TN_SE;
    return n;
}

uint32_t tn_get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}
