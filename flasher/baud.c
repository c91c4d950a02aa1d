/* CHANGE_BAUDRATE with the loaders' quirks (esp-protocol.md §2.2, §12.10),
 * and which rate "auto" asks for. */
#include "flasher/flasher_priv.h"

/* The most "auto" asks of the ESP side. Its UARTs divide an 80 MHz clock
 * and go well past this, but esptool's documentation names 1500000 as the
 * fast end that "some" boards reach; 2 Mbaud divides 80 MHz exactly (40) and
 * is the top rate of the common CH340 bridge. */
#define AUTO_BAUD_CAP 2000000u

uint32_t fl_auto_baud(struct fl_session *s, uint32_t fallback)
{
    struct fl_port *port = s->state->port;
    if (port->usb_vid == 0) {
        return fallback; /* a pty, a built-in UART, a remote port: not known */
    }
    const struct fl_usb_model *m = fl_usb_model_find(port->usb_vid, port->usb_pid);
    if (m != NULL && (m->flags & FL_USB_NATIVE)) {
        return port->baud; /* the chip's own USB: the rate means nothing */
    }
    const char *product = NULL;
    struct fl_usb_port up;
    struct fl_error e;
    if (fl_usb_identify_tty(port->name, &up, &e) == FL_OK) {
        product = up.product;
    }
    uint32_t max = fl_usb_max_baud(port->usb_vid, port->usb_pid, product);
    if (max == 0) {
        return fallback;
    }
    uint32_t pick = max < AUTO_BAUD_CAP ? max : AUTO_BAUD_CAP;
    fl_log(s, FL_LOG_INFO, "%s (%04x:%04x) does %u baud: using %u", m ? m->name : "the bridge",
           port->usb_vid, port->usb_pid, (unsigned)max, (unsigned)pick);
    return pick;
}

int fl_change_baud(struct fl_session *s, uint32_t baud, struct fl_error *err)
{
    struct fl_session_state *st = s->state;
    if (st == NULL || st->target == NULL) {
        return fl_error_set(err, FL_ERR_INVALID, NULL, "not connected (call fl_connect first)");
    }
    struct fl_port *port = st->port;
    if (baud == port->baud) {
        return FL_OK;
    }
    if (!fl_can(s, FL_ROM_CHANGE_BAUD)) {
        return fl_error_set(err, FL_ERR_UNSUPPORTED, "use --stub FILE to go faster",
                            "the %s ROM cannot change the baud rate", st->target->name);
    }
    uint32_t wire = baud;
    if (!st->stub && st->target->chip == FL_CHIP_ESP32C2) {
        /* The C2 ROM assumes a 40 MHz crystal; on 26 MHz boards it would
         * land at 26/40 of the asked rate. */
        TRY(fl_read_crystal(s, err));
        if (s->info.crystal_mhz == 26) {
            wire = (uint32_t)((uint64_t)baud * 40 / 26);
        }
    }
    /* The legacy stub derives the new divider from the current rate, so it
     * must be told; the ROM wants 0 there. */
    const uint32_t words[2] = {wire, st->stub ? port->baud : 0};
    TRY(fl_command_words(s, FL_OP_CHANGE_BAUDRATE, words, 2, FL_T_DEFAULT, err));
    uint32_t old = port->baud;
    TRY(port->ops->set_baud(port, baud, err));
    port->baud = baud;
    /* Let the chip switch, then drop the stray 0xC0s some ROMs emit. */
    port->ops->sleep_ms(port, 50);
    TRY(fl_flush_input(s, err));
    uint32_t magic;
    struct fl_error e2;
    if (fl_read_reg(s, FL_CHIP_DETECT_MAGIC_REG, &magic, &e2) != FL_OK) {
        return fl_error_set(err, FL_ERR_TIMEOUT,
                            "try a lower --baud: the adapter or the board may not do this rate",
                            "no answer after switching from %u to %u baud: %s", (unsigned)old,
                            (unsigned)baud, e2.msg);
    }
    s->info.baud = baud;
    fl_log(s, FL_LOG_INFO, "baud rate changed to %u", (unsigned)baud);
    return FL_OK;
}
