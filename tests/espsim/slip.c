/* SLIP framing as the ROM and the stubs do it (reference §1.1). */
#include "sim.h"

void sim_slip_reset(struct sim_slip *d)
{
    d->len = 0;
    d->in_frame = false;
    d->esc = false;
    d->bad = false;
    d->overflow = false;
}

/*
 * `cut` is the loader's buffer size: a frame that grows past it is handed
 * over as it is (the legacy stub does exactly that) and the rest starts a new
 * frame; a frame with a bad escape is marked `bad`.
 */
bool sim_slip_feed(struct sim_slip *d, uint8_t b, size_t cut)
{
    if (d->overflow) {
        d->overflow = false;
        d->len = 0;
        d->bad = false;
    }
    if (!d->in_frame) {
        if (b == 0xC0) {
            d->in_frame = true;
            d->len = 0;
            d->esc = false;
            d->bad = false;
            d->overflow = false;
        }
        return false; /* junk between frames is ignored */
    }
    if (b == 0xC0) {
        if (d->len == 0) {
            return false; /* C0 C0: an empty frame, stay in frame */
        }
        d->in_frame = false;
        return true;
    }
    if (d->esc) {
        d->esc = false;
        if (b == 0xDC) {
            b = 0xC0;
        } else if (b == 0xDD) {
            b = 0xDB;
        } else {
            d->bad = true;
        }
    } else if (b == 0xDB) {
        d->esc = true;
        return false;
    }
    if (d->len < sizeof d->buf) {
        d->buf[d->len++] = b;
    }
    if (d->len >= cut) {
        d->overflow = true;
        d->in_frame = true; /* the remainder continues as a new frame */
        return true;
    }
    return false;
}

size_t sim_slip_encode(const uint8_t *buf, size_t len, uint8_t *out)
{
    size_t o = 0;
    out[o++] = 0xC0;
    for (size_t i = 0; i < len; i++) {
        if (buf[i] == 0xC0) {
            out[o++] = 0xDB;
            out[o++] = 0xDC;
        } else if (buf[i] == 0xDB) {
            out[o++] = 0xDB;
            out[o++] = 0xDD;
        } else {
            out[o++] = buf[i];
        }
    }
    out[o++] = 0xC0;
    return o;
}
