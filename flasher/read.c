/* Reading flash: the stub's streamed READ_FLASH (esp-protocol.md §7.4) or the
 * ROM's READ_FLASH_SLOW, 64 bytes per round trip. */
#include <string.h>

#include "flasher/flasher_priv.h"

#define SLOW_CHUNK 64

static int read_stub(struct fl_session *s, uint32_t addr, uint8_t *buf, size_t len,
                     struct fl_error *err)
{
    struct fl_port *port = s->state->port;
    /* One packet in flight is what both stubs really do, whatever is asked. */
    const uint32_t words[4] = {addr, (uint32_t)len, FL_READ_PACKET, 64};
    TRY(fl_command_words(s, FL_OP_READ_FLASH, words, 4, FL_T_DEFAULT, err));
    size_t got = 0;
    while (got < len) {
        const uint8_t *frame;
        size_t n;
        int rc = fl_read_frame(s, port->ops->now_ms(port) + FL_T_DEFAULT, &frame, &n, err);
        if (rc == FL_ERR_TIMEOUT) {
            return fl_error_set(err, rc, "check power and the cable, or try a lower --baud",
                                "READ_FLASH stalled after %zu of %zu bytes", got, len);
        }
        TRY(rc);
        size_t want = len - got < FL_READ_PACKET ? len - got : FL_READ_PACKET;
        if (n != want) {
            return fl_error_set(err, FL_ERR_PROTO, NULL,
                                "READ_FLASH: a %zu-byte packet where %zu were due (at %zu)", n,
                                want, got);
        }
        memcpy(buf + got, frame, n);
        got += n;
        uint8_t ack[4];
        fl_put_le32(ack, (uint32_t)got);
        TRY(fl_send_frame(s, ack, sizeof ack, err));
        fl_progress(s, 0, got, len);
        if (got < len) {
            TRY(fl_check_cancel(s, err));
        }
    }
    const uint8_t *frame;
    size_t n;
    TRY(fl_read_frame(s, port->ops->now_ms(port) + FL_T_DEFAULT, &frame, &n, err));
    uint8_t local[16];
    if (n != 16 || fl_md5_local(buf, len, local) != FL_OK || memcmp(local, frame, 16) != 0) {
        return fl_error_set(err, FL_ERR_VERIFY, "retry; check the cable or lower --baud",
                            "READ_FLASH: the data read at 0x%08x does not match the stub's MD5",
                            (unsigned)addr);
    }
    return FL_OK;
}

static int read_slow(struct fl_session *s, uint32_t addr, uint8_t *buf, size_t len,
                     struct fl_error *err)
{
    for (size_t off = 0; off < len; off += SLOW_CHUNK) {
        size_t n = len - off < SLOW_CHUNK ? len - off : SLOW_CHUNK;
        uint8_t req[8];
        fl_put_le32(req, addr + (uint32_t)off);
        fl_put_le32(req + 4, (uint32_t)n);
        struct fl_reply r;
        TRY(fl_command(s, FL_OP_READ_FLASH_SLOW, req, sizeof req, 0, SLOW_CHUNK, FL_T_DEFAULT, &r,
                       err));
        memcpy(buf + off, r.data, n);
        if (off % 4096 == 0 || off + n == len) {
            fl_progress(s, 0, off + n, len);
            TRY(fl_check_cancel(s, err));
        }
    }
    return FL_OK;
}

int fl_read(struct fl_session *s, uint32_t addr, uint8_t *buf, size_t len, struct fl_error *err)
{
    TRY(fl_ensure_detected(s, err));
    if (len == 0) {
        return FL_OK;
    }
    TRY(fl_check_range(s, addr, len, err));
    fl_progress(s, 0, 0, len);
    if (s->state->stub) {
        return read_stub(s, addr, buf, len, err);
    }
    if (fl_can(s, FL_ROM_READ_SLOW)) {
        return read_slow(s, addr, buf, len, err);
    }
    return fl_error_set(err, FL_ERR_UNSUPPORTED, "use --stub FILE to read flash",
                        "the %s ROM loader cannot read flash", s->info.name);
}
