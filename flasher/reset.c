/*
 * DTR/RTS pulse trains (esp-protocol.md §4.1, §4.2). Dev boards wire the two
 * lines through cross-coupled transistors: (DTR, RTS) asserted = (1, 0)
 * pulls IO0 low, (0, 1) pulls EN low (reset); (0, 0) and (1, 1) leave both high.
 */
#include "flasher/flasher_priv.h"

struct step {
    bool dtr, rts;
    int wait_ms; /* -1: the caller's reset delay */
};

/* esptool ClassicReset. */
static const struct step classic[] = {
    {false, true, 100}, /* EN low: chip in reset */
    {true, false, -1},  /* EN high, IO0 low: the chip samples download mode */
    {false, false, 0},  /* IO0 released */
};

/* esptool UnixTightReset: both lines in one ioctl each step. */
static const struct step tight[] = {
    {false, false, 0},  {true, true, 0}, /* idle, through (1,1) so EN never glitches */
    {false, true, 100},                  /* EN low */
    {true, false, -1},                   /* EN high with IO0 low */
    {false, false, 0},                   /* IO0 released */
    {false, false, 0},                   /* again: some adapters drop the last edge */
};

/* The chip's own USB-Serial/JTAG peripheral decodes the lines itself. */
static const struct step usb_jtag[] = {
    {false, false, 100}, /* idle */
    {true, false, 100},  /* IO0 low */
    {true, true, 0},     /* through (1,1), never (0,0) */
    {false, true, 100},  /* reset with IO0 held */
    {false, false, 0},   /* run: the ROM waits for download */
};

/* Leave the loader: a plain EN pulse with IO0 high. */
static const struct step hard[] = {
    {false, true, 100}, /* EN low */
    {false, false, 0},  /* EN high, IO0 high: boots the app */
};

int fl_reset(struct fl_session *s, enum fl_reset_kind kind, int delay_ms, struct fl_error *err)
{
    struct fl_port *port = s->state->port;
    const struct step *seq;
    size_t n;
    switch (kind) {
    case FL_RESET_CLASSIC:
        seq = classic;
        n = sizeof classic / sizeof classic[0];
        break;
    case FL_RESET_TIGHT:
        seq = tight;
        n = sizeof tight / sizeof tight[0];
        break;
    case FL_RESET_USB_JTAG:
        seq = usb_jtag;
        n = sizeof usb_jtag / sizeof usb_jtag[0];
        break;
    default:
        seq = hard;
        n = sizeof hard / sizeof hard[0];
        break;
    }
    for (size_t i = 0; i < n; i++) {
        int rc = port->ops->set_lines(port, seq[i].dtr, seq[i].rts, err);
        if (rc != FL_OK) {
            if (rc == FL_ERR_NO_LINES) {
                port->has_lines = false;
            }
            return rc;
        }
        int wait = seq[i].wait_ms < 0 ? delay_ms : seq[i].wait_ms;
        if (wait > 0) {
            port->ops->sleep_ms(port, wait);
        }
    }
    return FL_OK;
}
