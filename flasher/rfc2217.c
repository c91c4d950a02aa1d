/*
 * rfc2217://HOST:PORT — a serial port behind a network serial server (ser2net,
 * esptool's esp_rfc2217_server, the test simulator) spoken to over telnet with
 * the COM-PORT-OPTION (RFC 2217). This file: the port operations.
 *
 * Every line-rate and DTR/RTS change waits for the server's answer, so a
 * reset sequence's sleeps start only once the lines really moved.
 */
#include <errno.h>
#include <linux/sockios.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "flasher/rfc2217_port.h"

enum { WRITE_CHUNK = 1024 };

static int op_set_baud(struct fl_port *port, uint32_t baud, struct fl_error *err)
{
    struct rfc_port *p = (struct rfc_port *)port;
    if (baud == 0) {
        return fl_error_set(err, FL_ERR_INVALID, NULL, "%s: a line rate of 0 baud", port->name);
    }
    uint8_t be[4] = {(uint8_t)(baud >> 24), (uint8_t)(baud >> 16), (uint8_t)(baud >> 8),
                     (uint8_t)baud};
    uint8_t cmd[16];
    size_t len = tn_build_comport(CPO_SET_BAUDRATE, be, sizeof be, cmd);
    unsigned target = p->answers[CPO_SET_BAUDRATE] + 1;
    int rc = rfc_send_commands(p, cmd, len, err);
    if (rc == FL_OK) {
        rc = rfc_wait_answers(p, CPO_SET_BAUDRATE, target, "the baud rate change", err);
    }
    if (rc < 0) {
        return rc;
    }
    if (p->baud_answer != baud) {
        return fl_error_set(err, FL_ERR_UNSUPPORTED,
                            "the server's serial port cannot use that rate; choose another --baud",
                            "%s: asked for %u baud, the server set %u", port->name, baud,
                            p->baud_answer);
    }
    port->baud = baud;
    return FL_OK;
}

static int op_set_lines(struct fl_port *port, bool dtr, bool rts, struct fl_error *err)
{
    struct rfc_port *p = (struct rfc_port *)port;
    /* DTR before RTS, in one TCP segment: the order of esptool's classic
     * reset, and the in-between state lasts only as long as the server
     * takes between two ioctls. */
    uint8_t cmd[16];
    size_t len =
        rfc_put_comport_byte(CPO_SET_CONTROL, dtr ? CPO_CONTROL_DTR_ON : CPO_CONTROL_DTR_OFF, cmd);
    len += rfc_put_comport_byte(CPO_SET_CONTROL, rts ? CPO_CONTROL_RTS_ON : CPO_CONTROL_RTS_OFF,
                                cmd + len);
    unsigned before = p->answers[CPO_SET_CONTROL];
    int rc = rfc_send_commands(p, cmd, len, err);
    if (rc == FL_OK) {
        rc = rfc_wait_answers(p, CPO_SET_CONTROL, before + 2, "the DTR/RTS change", err);
    }
    if (rc == FL_OK) {
        port->has_lines = true;
    } else if (rc == FL_ERR_TIMEOUT) {
        /* Servers answer a line change once the device took it; ser2net on
         * a device without modem lines (a pty) never does. */
        port->has_lines = false;
        return fl_error_set(
            err, FL_ERR_NO_LINES,
            "the server's serial device may have no DTR/RTS lines (a pty, or a "
            "3-wire adapter); put the board in download mode by hand (hold BOOT, tap EN)",
            "%s: the server did not confirm the DTR/RTS change (%u of 2 answers "
            "within %g s)",
            port->name, p->answers[CPO_SET_CONTROL] - before, p->lim.answer_ms / 1000.0);
    }
    return rc;
}

static int op_flush_input(struct fl_port *port, struct fl_error *err)
{
    struct rfc_port *p = (struct rfc_port *)port;
    uint8_t cmd[8];
    size_t len = rfc_put_comport_byte(CPO_PURGE_DATA, CPO_PURGE_RX, cmd);
    unsigned target = p->answers[CPO_PURGE_DATA] + 1;
    p->rx_len = 0;
    p->rx_off = 0;
    p->purging = true;
    int rc = rfc_send_commands(p, cmd, len, err);
    if (rc == FL_OK) {
        rc = rfc_wait_answers(p, CPO_PURGE_DATA, target, "the input purge", err);
    }
    p->purging = false;
    return rc;
}

static bool all_sent(const struct rfc_port *p, void *arg)
{
    int *queued = arg;
    return p->dead || ioctl(p->fd, SIOCOUTQ, queued) != 0 || *queued == 0;
}

static int op_drain(struct fl_port *port, struct fl_error *err)
{
    struct rfc_port *p = (struct rfc_port *)port;
    /* All we can know remotely: the server's TCP stack has every byte. The
     * kernel does not tell when that happens: look every 2 ms. */
    int64_t deadline = rfc_mono_ms() + p->lim.stall_ms;
    int queued = 0;
    for (;;) {
        int64_t step = rfc_mono_ms() + 2;
        int rc = rfc_wait(p, step < deadline ? step : deadline, "our data to leave", all_sent,
                          &queued, err);
        if (rc < 0) {
            return rc;
        }
        if (rc == 1) {
            return p->dead ? rfc_conn_error(p, err) : FL_OK;
        }
        if (rfc_mono_ms() >= deadline) {
            return fl_error_set(err, FL_ERR_TIMEOUT, rfc_dead_hint,
                                "%s: %d bytes still unsent after %g s", port->name, queued,
                                p->lim.stall_ms / 1000.0);
        }
    }
}

static bool has_data(const struct rfc_port *p, void *arg)
{
    (void)arg;
    return p->rx_len > 0;
}

static int op_read(struct fl_port *port, uint8_t *buf, size_t len, int timeout_ms,
                   struct fl_error *err)
{
    struct rfc_port *p = (struct rfc_port *)port;
    int64_t deadline = rfc_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    int rc = rfc_wait(p, deadline, "serial data", has_data, NULL, err);
    if (rc <= 0) {
        return rc;
    }
    size_t n = len < p->rx_len ? len : p->rx_len;
    if (n > (size_t)INT32_MAX) {
        n = INT32_MAX;
    }
    memcpy(buf, p->rx + p->rx_off, n);
    p->rx_off += n;
    p->rx_len -= n;
    if (p->rx_len == 0) {
        p->rx_off = 0;
    }
    return (int)n;
}

static int op_write(struct fl_port *port, const uint8_t *buf, size_t len, struct fl_error *err)
{
    struct rfc_port *p = (struct rfc_port *)port;
    uint8_t escaped[2 * WRITE_CHUNK];
    while (len > 0) {
        size_t chunk = len < WRITE_CHUNK ? len : WRITE_CHUNK;
        size_t n = tn_escape(buf, chunk, escaped);
        int rc = rfc_send_commands(p, escaped, n, err);
        if (rc < 0) {
            return rc;
        }
        buf += chunk;
        len -= chunk;
    }
    return FL_OK;
}

static int64_t op_now_ms(struct fl_port *port)
{
    (void)port;
    return rfc_mono_ms();
}

static void op_sleep_ms(struct fl_port *port, int ms)
{
    (void)port;
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (ms > 0 && nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void op_close(struct fl_port *port)
{
    struct rfc_port *p = (struct rfc_port *)port;
    if (p->fd >= 0) {
        close(p->fd);
    }
    free(p->rx);
    free(p);
}

static const struct fl_port_ops rfc2217_port_ops = {
    .read = op_read,
    .write = op_write,
    .set_baud = op_set_baud,
    .set_lines = op_set_lines,
    .flush_input = op_flush_input,
    .drain = op_drain,
    .now_ms = op_now_ms,
    .sleep_ms = op_sleep_ms,
    .close = op_close,
};

int rfc_attach(int fd, const char *name, uint32_t baud, const struct rfc_limits *lim,
               struct fl_port **out, struct fl_error *err)
{
    *out = NULL;
    struct rfc_port *p = calloc(1, sizeof *p);
    if (p == NULL) {
        close(fd);
        return fl_error_set(err, FL_ERR_NOMEM, NULL, "%s: out of memory", name);
    }
    p->base.ops = &rfc2217_port_ops;
    snprintf(p->base.name, sizeof p->base.name, "%s", name);
    p->base.has_lines = true;
    p->fd = fd;
    p->lim = lim != NULL ? *lim : rfc_default_limits;
    int rc = rfc_negotiate(p, err);
    if (rc == FL_OK) {
        rc = rfc_configure(p, baud, err);
    }
    if (rc < 0) {
        op_close(&p->base);
        return rc;
    }
    *out = &p->base;
    return FL_OK;
}

int fl_rfc2217_open(const char *hostport, uint32_t baud, struct fl_port **out, struct fl_error *err)
{
    *out = NULL;
    if (baud == 0) {
        return fl_error_set(err, FL_ERR_INVALID, NULL, "rfc2217://%s: a line rate of 0 baud",
                            hostport);
    }
    char name[sizeof((struct fl_port *)0)->name];
    snprintf(name, sizeof name, "rfc2217://%s", hostport);
    int fd = -1;
    int rc = rfc_connect(hostport, RFC_CONNECT_TIMEOUT_MS, &fd, err);
    return rc < 0 ? rc : rfc_attach(fd, name, baud, NULL, out, err);
}
