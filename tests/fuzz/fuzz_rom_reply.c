/*
 * Fuzz target: whatever a board (or noise) sends back, through the whole
 * receive path of a session: connect (SYNC, identify), detect (registers,
 * flash id), an MD5, a ROM read and a stub-style read. The input is the byte
 * stream the "board" sends, served in pieces on a virtual clock; nothing may
 * crash, hang or report success with a garbage reply.
 */
#include <stdlib.h>
#include <string.h>

#include "flasher/flasher.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_port {
    struct fl_port base;
    const uint8_t *data;
    size_t size, pos;
    int64_t now;
};

static int fp_read(struct fl_port *p, uint8_t *buf, size_t len, int timeout_ms,
                   struct fl_error *err)
{
    (void)err;
    struct fuzz_port *f = (struct fuzz_port *)p;
    if (f->pos >= f->size) {
        f->now += timeout_ms > 0 ? timeout_ms : 1;
        return 0;
    }
    /* Serve 1..64 bytes per read, chosen by the stream itself. */
    size_t n = 1 + f->data[f->pos] % 64;
    if (n > f->size - f->pos) {
        n = f->size - f->pos;
    }
    if (n > len) {
        n = len;
    }
    memcpy(buf, f->data + f->pos, n);
    f->pos += n;
    f->now += 1;
    return (int)n;
}

static int fp_write(struct fl_port *p, const uint8_t *buf, size_t len, struct fl_error *err)
{
    (void)p;
    (void)buf;
    (void)len;
    (void)err;
    return FL_OK;
}

static int fp_baud(struct fl_port *p, uint32_t baud, struct fl_error *err)
{
    (void)err;
    p->baud = baud;
    return FL_OK;
}

static int fp_lines(struct fl_port *p, bool dtr, bool rts, struct fl_error *err)
{
    (void)p;
    (void)dtr;
    (void)rts;
    (void)err;
    return FL_ERR_NO_LINES;
}

static int fp_nop(struct fl_port *p, struct fl_error *err)
{
    (void)p;
    (void)err;
    return FL_OK;
}

static int64_t fp_now(struct fl_port *p)
{
    return ((struct fuzz_port *)p)->now;
}

static void fp_sleep(struct fl_port *p, int ms)
{
    ((struct fuzz_port *)p)->now += ms;
}

static void fp_close(struct fl_port *p)
{
    (void)p;
}

static const struct fl_port_ops fuzz_ops = {fp_read, fp_write, fp_baud,  fp_lines, fp_nop,
                                            fp_nop,  fp_now,   fp_sleep, fp_close};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_port port = {.data = data, .size = size, .now = 0};
    port.base.ops = &fuzz_ops;
    port.base.baud = 115200;
    strcpy(port.base.name, "fuzz");
    struct fl_options opt;
    fl_options_init(&opt);
    opt.before = FL_BEFORE_NO_RESET;
    opt.connect_attempts = 1;
    opt.log_level = FL_LOG_TRACE;
    struct fl_session s;
    struct fl_error err;
    if (fl_session_init(&s, &opt, NULL, &err) != FL_OK) {
        return 0;
    }
    fl_session_use_port(&s, &port.base);
    if (fl_connect(&s, &err) == FL_OK && fl_detect(&s, NULL, &err) == FL_OK) {
        uint8_t md5[16], buf[256];
        (void)fl_flash_md5(&s, 0, 4096, md5, &err);
        (void)fl_read(&s, 0x1000, buf, sizeof buf, &err);
    }
    fl_session_release(&s);
    return 0;
}
