/* Fuzz target: the SLIP decoder on arbitrary byte streams, fed in uneven
 * pieces, must never overrun its buffer and must re-encode what it decodes. */
#include <stdlib.h>
#include <string.h>

#include "flasher/flasher.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t buf[512];
    struct fl_slip_decoder dec;
    /* The first byte picks the frame limit and the feed step, so short
     * frames and overflow are both reachable. */
    size_t cap = size > 0 ? 1 + data[0] % sizeof buf : sizeof buf;
    size_t step = size > 1 ? 1 + data[1] % 17 : 1;
    fl_slip_decoder_init(&dec, buf, cap);
    size_t pos = 0;
    while (pos < size) {
        size_t n = size - pos < step ? size - pos : step;
        enum fl_slip_event ev;
        size_t used = fl_slip_decode(&dec, data + pos, n, &ev);
        if (used == 0 && ev == FL_SLIP_NONE) {
            abort(); /* no progress would hang a reader */
        }
        if (ev == FL_SLIP_FRAME) {
            if (dec.len == 0 || dec.len > cap) {
                abort();
            }
            uint8_t *enc = malloc(2 * dec.len + 2);
            size_t elen = fl_slip_encode(dec.buf, dec.len, enc);
            uint8_t back[512];
            struct fl_slip_decoder d2;
            fl_slip_decoder_init(&d2, back, sizeof back);
            enum fl_slip_event ev2;
            fl_slip_decode(&d2, enc, elen, &ev2);
            if (ev2 != FL_SLIP_FRAME || d2.len != dec.len || memcmp(back, dec.buf, dec.len) != 0) {
                abort();
            }
            free(enc);
            struct fl_reply r;
            (void)fl_reply_parse(dec.buf, dec.len, data[0] % 40, &r);
        }
        pos += used;
    }
    return 0;
}
