/* Station mode: every board plugged in gets a worker, until told to stop. */
#include <stdio.h>
#include <string.h>

#include "flasher/flasher.h"
#include "provision/core/core.h"
#include "provision/ledger/ledger.h"
#include "provision/jobs/jobs.h"

struct station {
    struct pv_batch *batch;
    void (*event)(void *user, enum pv_station_event ev, const char *tty, const char *why);
    void *user;
};

static void tell(struct station *st, enum pv_station_event ev, const char *tty, const char *why)
{
    if (st->event != NULL) {
        st->event(st->user, ev, tty, why);
    }
}

/* A native-USB board (its USB serial is its MAC) that this station already
 * provisioned comes back after the reset into its app: not a new board. */
static bool done_here(struct station *st, const struct fl_usb_port *port)
{
    char mac[PV_LEDGER_MAC_LEN];
    if (port->model == NULL || !(port->model->flags & FL_USB_NATIVE) ||
        pv_ledger_mac_normalize(port->serial, mac) != PV_OK) {
        return false;
    }
    return pv_batch_done_ok(st->batch, mac);
}

static void on_usb(void *user, enum fl_usb_event event, const struct fl_usb_port *port)
{
    struct station *st = user;
    const char *tty = port->tty[0] ? port->tty : port->usb_path;
    if (event == FL_USB_LEFT) {
        tell(st, PV_STATION_LEFT, tty, NULL);
        return;
    }
    if (port->tty[0] == '\0') {
        tell(st, PV_STATION_SKIPPED, tty, "no serial port appeared (is its driver loaded?)");
        return;
    }
    if (!port->tty_accessible) {
        tell(st, PV_STATION_SKIPPED, tty,
             "no permission to open it (add yourself to the dialout group)");
        return;
    }
    if (done_here(st, port)) {
        tell(st, PV_STATION_SKIPPED, tty, "provisioned by this station already (back after reset)");
        return;
    }
    struct pv_error err;
    if (pv_batch_start(st->batch, port->tty, &err) != PV_OK) {
        tell(st, PV_STATION_SKIPPED, tty, err.msg);
        return;
    }
    tell(st, PV_STATION_ARRIVED, tty, NULL);
}

int pv_station_run(struct pv_batch *b, const struct fl_usb_watch_opts *opts,
                   const atomic_bool *stop,
                   void (*event)(void *user, enum pv_station_event ev, const char *tty,
                                 const char *why),
                   void *user, struct pv_error *err)
{
    struct station st = {b, event, user};
    struct fl_usb_watch *w = NULL;
    struct fl_error fe;
    if (fl_usb_watch_open(opts, on_usb, &st, &w, &fe) != FL_OK) {
        return pv_error_set(err, PV_ERR_DEVICE, fe.hint[0] ? fe.hint : NULL, "%s", fe.msg);
    }
    int rc = fl_usb_watch_run(w, stop, &fe);
    fl_usb_watch_close(w);
    if (rc != FL_OK) {
        return pv_error_set(err, PV_ERR_DEVICE, fe.hint[0] ? fe.hint : NULL, "%s", fe.msg);
    }
    return PV_OK;
}
