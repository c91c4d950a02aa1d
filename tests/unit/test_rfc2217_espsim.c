/*
 * The rfc2217:// port driving the simulated board (build/espsim --rfc2217):
 * DTR/RTS reset sequences sent as RFC 2217 SET-CONTROL commands must move
 * the board's EN and IO0 lines like a USB-UART's auto-reset circuit does,
 * and the ROM's answer to SYNC must come back through telnet unharmed.
 */
#include <stdlib.h>
#include <unistd.h>

#include "flasher/flasher.h"
#include "support/simproc.h"
#include "test.h"

struct sim {
    struct simproc sp;
    char flash[64];
    char err[256];
    struct fl_port *port;
    struct fl_error ferr;
};

/* Starts an ESP32 that powers up into its flashed app (IO0 high), served
 * over RFC 2217, and opens the port. */
static bool sim_start(struct sim *s)
{
    memset(s, 0, sizeof *s);
    snprintf(s->flash, sizeof s->flash, "/tmp/espprov-rfcsim-XXXXXX");
    int fd = mkstemp(s->flash);
    if (fd < 0) {
        return false;
    }
    close(fd);
    const char *args[] = {"--chip",       "esp32", "--flash",   s->flash,
                          "--flash-size", "1MB",   "--rfc2217", "0",
                          "--boot",       "flash", NULL};
    if (simproc_start(&s->sp, args, 15000, s->err, sizeof s->err) != 0 || s->sp.rfc2217_port == 0) {
        printf("# espsim: %s\n", s->err);
        unlink(s->flash);
        return false;
    }
    char url[64];
    snprintf(url, sizeof url, "rfc2217://127.0.0.1:%d", s->sp.rfc2217_port);
    if (fl_port_open(url, 115200, &s->port, &s->ferr) != FL_OK) {
        printf("# open: %s\n", s->ferr.msg);
        simproc_stop(&s->sp);
        unlink(s->flash);
        return false;
    }
    return true;
}

static void sim_stop(struct sim *s)
{
    fl_port_close(s->port);
    simproc_stop(&s->sp);
    unlink(s->flash);
}

/* Collects what the board prints until `until` shows up (at most 10 s). */
static size_t read_until(struct fl_port *port, char *buf, size_t cap, const char *until)
{
    size_t n = 0;
    struct fl_error err = {0};
    int64_t end = port->ops->now_ms(port) + 10000;
    buf[0] = '\0';
    while (n + 1 < cap && strstr(buf, until) == NULL && port->ops->now_ms(port) < end) {
        int got = port->ops->read(port, (uint8_t *)buf + n, cap - 1 - n, 200, &err);
        if (got < 0) {
            break;
        }
        n += (size_t)got;
        buf[n] = '\0';
    }
    return n;
}

/* esptool's classic reset into the ROM loader: EN low, then IO0 low while
 * EN rises, then release. */
static int classic_reset(struct fl_port *port, struct fl_error *err)
{
    int rc = port->ops->set_lines(port, false, true, err);
    if (rc == FL_OK) {
        port->ops->sleep_ms(port, 100);
        rc = port->ops->set_lines(port, true, false, err);
    }
    if (rc == FL_OK) {
        port->ops->sleep_ms(port, 50);
        rc = port->ops->set_lines(port, false, false, err);
    }
    return rc;
}

TEST(classic_reset_over_rfc2217_enters_download_mode)
{
    struct sim s;
    ASSERT(sim_start(&s));
    int rc = classic_reset(s.port, &s.ferr);
    char text[4096];
    read_until(s.port, text, sizeof text, "waiting for download");
    bool lines = s.port->has_lines;
    sim_stop(&s);
    ASSERT_MSG(rc == FL_OK, "reset: %s", s.ferr.msg);
    EXPECT(lines);
    ASSERT_CONTAINS(text, "rst:0x1");
    ASSERT_CONTAINS(text, "DOWNLOAD");
    ASSERT_CONTAINS(text, "waiting for download");
}

TEST(rts_pulse_alone_boots_the_app)
{
    struct sim s;
    ASSERT(sim_start(&s));
    int rc = s.port->ops->set_lines(s.port, false, true, &s.ferr);
    if (rc == FL_OK) {
        s.port->ops->sleep_ms(s.port, 100);
        rc = s.port->ops->set_lines(s.port, false, false, &s.ferr);
    }
    char text[4096];
    read_until(s.port, text, sizeof text, "boot:");
    /* Whatever the app prints after the banner line. */
    size_t n = strlen(text);
    read_until(s.port, text + n, sizeof text - n, "\n");
    sim_stop(&s);
    ASSERT_MSG(rc == FL_OK, "reset: %s", s.ferr.msg);
    ASSERT_CONTAINS(text, "boot:");
    ASSERT(strstr(text, "waiting for download") == NULL);
    ASSERT(strstr(text, "DOWNLOAD") == NULL);
}

TEST(rom_answers_sync_through_the_telnet_stream)
{
    struct sim s;
    ASSERT(sim_start(&s));
    int rc = classic_reset(s.port, &s.ferr);
    char text[4096];
    read_until(s.port, text, sizeof text, "waiting for download");
    if (rc == FL_OK) {
        rc = s.port->ops->flush_input(s.port, &s.ferr);
    }
    /* SYNC: direction 0, op 0x08, 36 data bytes 07 07 12 20 55*32, SLIP-framed. */
    uint8_t frame[64];
    size_t n = 0;
    static const uint8_t head[] = {0xC0, 0x00, 0x08, 0x24, 0x00, 0x00, 0x00,
                                   0x00, 0x00, 0x07, 0x07, 0x12, 0x20};
    memcpy(frame, head, sizeof head);
    n = sizeof head;
    memset(frame + n, 0x55, 32);
    n += 32;
    frame[n++] = 0xC0;
    if (rc == FL_OK) {
        rc = s.port->ops->write(s.port, frame, n, &s.ferr);
    }
    uint8_t reply[256];
    size_t got = 0;
    int64_t end = s.port->ops->now_ms(s.port) + 10000;
    while (rc == FL_OK && got < 14 && s.port->ops->now_ms(s.port) < end) {
        int r = s.port->ops->read(s.port, reply + got, sizeof reply - got, 200, &s.ferr);
        if (r < 0) {
            rc = r;
        } else {
            got += (size_t)r;
        }
    }
    sim_stop(&s);
    ASSERT_MSG(rc == FL_OK, "%s", s.ferr.msg);
    ASSERT_MSG(got >= 14, "only %zu reply bytes", got);
    /* c0 01 08 04 00 <value:4> <status 00 00 ...> */
    static const uint8_t want[] = {0xC0, 0x01, 0x08, 0x04, 0x00};
    ASSERT_MEMEQ(reply, want, sizeof want);
}

TEST_MAIN(RUN(classic_reset_over_rfc2217_enters_download_mode); RUN(rts_pulse_alone_boots_the_app);
          RUN(rom_answers_sync_through_the_telnet_stream);)
