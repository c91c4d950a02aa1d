/*
 * USB hotplug for station mode. libusb reports a device when it enumerates,
 * but the serial driver binds its tty a little later, and udev sets up the
 * node after that; so an arrival waits in `pending` until its ttys are
 * usable (or tty_wait_ms passes) and only then reaches the caller. libusb's callback only queues:
 * every caller event is delivered from fl_usb_watch_run, outside libusb's locks.
 */
#include <libusb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "flasher/port_priv.h"
#include "flasher/usb_priv.h"

enum { DEFAULT_TTY_WAIT_MS = 5000, POLL_MS = 100, PENDING_POLL_MS = 20 };
/* Most devices (or events between two polls) kept in each list: 8 buses of
 * 127 devices. More is a device re-enumerating in a loop, not a station. */
enum { MAX_TRACKED = 1024 };

struct arrival {
    struct fl_usb_port port; /* device fields; tty filled on delivery */
    int64_t deadline_ms;
};

struct departure {
    char usb_path[32];
    uint8_t address;
};

struct fl_usb_watch {
    libusb_context *ctx;
    libusb_hotplug_callback_handle handle;
    bool registered;
    struct fl_usb_watch_opts opts;
    fl_usb_event_fn fn;
    void *user;
    struct arrival *pending;
    size_t n_pending, cap_pending;
    struct departure *gone;
    size_t n_gone, cap_gone;
    struct fl_usb_port *reported; /* delivered arrivals, for their departures */
    size_t n_reported, cap_reported;
    bool out_of_memory;
    bool too_many;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Appends one element to a growable array of at most MAX_TRACKED; false
 * when out of memory or full (w->too_many). */
static bool grow(struct fl_usb_watch *w, void **items, size_t *count, size_t *cap, size_t size,
                 const void *item)
{
    if (*count >= MAX_TRACKED) {
        w->too_many = true;
        return false;
    }
    if (*count == *cap) {
        size_t n = *cap ? *cap * 2 : 4;
        void *p = realloc(*items, n * size);
        if (p == NULL) {
            return false;
        }
        *items = p;
        *cap = n;
    }
    memcpy((char *)*items + *count * size, item, size);
    (*count)++;
    return true;
}

static bool device_path(libusb_device *dev, char *out, size_t size)
{
    uint8_t chain[8];
    int depth = libusb_get_port_numbers(dev, chain, sizeof chain);
    return depth > 0 && usb_path_format(libusb_get_bus_number(dev), chain, depth, out, size);
}

static int LIBUSB_CALL on_hotplug(libusb_context *ctx, libusb_device *dev,
                                  libusb_hotplug_event event, void *arg)
{
    (void)ctx;
    struct fl_usb_watch *w = arg;
    char path[32];
    if (!device_path(dev, path, sizeof path)) {
        return 0;
    }
    if (event == LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT) {
        struct departure d = {.address = libusb_get_device_address(dev)};
        snprintf(d.usb_path, sizeof d.usb_path, "%s", path);
        if (!grow(w, (void **)&w->gone, &w->n_gone, &w->cap_gone, sizeof d, &d) && !w->too_many) {
            w->out_of_memory = true;
        }
        return 0;
    }
    struct libusb_device_descriptor desc;
    if (libusb_get_device_descriptor(dev, &desc) != 0) {
        return 0;
    }
    const struct fl_usb_model *model = fl_usb_model_find(desc.idVendor, desc.idProduct);
    if (model == NULL && !(w->opts.flags & FL_USB_LIST_ALL)) {
        return 0;
    }
    struct arrival a = {.port = {.vid = desc.idVendor,
                                 .pid = desc.idProduct,
                                 .model = model,
                                 .interface = -1,
                                 .bus = libusb_get_bus_number(dev),
                                 .address = libusb_get_device_address(dev)},
                        .deadline_ms = mono_ms() + w->opts.tty_wait_ms};
    snprintf(a.port.usb_path, sizeof a.port.usb_path, "%s", path);
    if (!grow(w, (void **)&w->pending, &w->n_pending, &w->cap_pending, sizeof a, &a) &&
        !w->too_many) {
        w->out_of_memory = true;
    }
    return 0;
}

static void deliver(struct fl_usb_watch *w, enum fl_usb_event event, const struct fl_usb_port *p)
{
    if (event == FL_USB_ARRIVED &&
        !grow(w, (void **)&w->reported, &w->n_reported, &w->cap_reported, sizeof *p, p) &&
        !w->too_many) {
        w->out_of_memory = true;
    }
    w->fn(w->user, event, p);
}

static void handle_departures(struct fl_usb_watch *w)
{
    for (size_t g = 0; g < w->n_gone; g++) {
        const struct departure *d = &w->gone[g];
        /* Never delivered: forget it quietly. */
        for (size_t i = 0; i < w->n_pending;) {
            const struct fl_usb_port *p = &w->pending[i].port;
            if (strcmp(p->usb_path, d->usb_path) == 0 && p->address == d->address) {
                w->pending[i] = w->pending[--w->n_pending];
            } else {
                i++;
            }
        }
        for (size_t i = 0; i < w->n_reported;) {
            struct fl_usb_port p = w->reported[i];
            if (strcmp(p.usb_path, d->usb_path) == 0 && p.address == d->address) {
                memmove(&w->reported[i], &w->reported[i + 1], (w->n_reported - i - 1) * sizeof p);
                w->n_reported--;
                w->fn(w->user, FL_USB_LEFT, &p);
            } else {
                i++;
            }
        }
    }
    w->n_gone = 0;
}

/* Ready for the caller: the driver bound its ttys, and udev made the nodes
 * and gave them their group (a node opened a moment too early can still be
 * root-only). */
static bool ttys_ready(const struct usb_tty *ttys, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char dev[64];
        snprintf(dev, sizeof dev, "/dev/%s", ttys[i].name);
        if (access(dev, R_OK | W_OK) != 0) {
            return false;
        }
    }
    return n > 0;
}

static void handle_arrivals(struct fl_usb_watch *w)
{
    int64_t now = mono_ms();
    for (size_t i = 0; i < w->n_pending;) {
        struct arrival a = w->pending[i];
        struct usb_tty ttys[8];
        size_t n = usb_sysfs_ttys(a.port.usb_path, ttys, 8);
        if (!ttys_ready(ttys, n) && now < a.deadline_ms) {
            i++;
            continue;
        }
        memmove(&w->pending[i], &w->pending[i + 1], (w->n_pending - i - 1) * sizeof a);
        w->n_pending--;
        /* Strings and the bus address as sysfs has them now. */
        struct fl_usb_port port = a.port;
        (void)usb_sysfs_read_device(a.port.usb_path, &port);
        port.address = a.port.address;
        if (n == 0) {
            if (port.model != NULL) {
                deliver(w, FL_USB_ARRIVED, &port); /* known, but no tty came */
            }
            continue;
        }
        for (size_t t = 0; t < n; t++) {
            struct fl_usb_port one = port;
            usb_port_set_tty(&one, &ttys[t]);
            deliver(w, FL_USB_ARRIVED, &one);
        }
    }
}

int fl_usb_watch_open(const struct fl_usb_watch_opts *opts, fl_usb_event_fn fn, void *user,
                      struct fl_usb_watch **out, struct fl_error *err)
{
    *out = NULL;
    struct fl_usb_watch *w = calloc(1, sizeof *w);
    if (w == NULL) {
        return fl_error_set(err, FL_ERR_NOMEM, NULL, "USB watch: out of memory");
    }
    if (opts != NULL) {
        w->opts = *opts;
    }
    if (w->opts.tty_wait_ms <= 0) {
        w->opts.tty_wait_ms = DEFAULT_TTY_WAIT_MS;
    }
    w->fn = fn;
    w->user = user;
    int rc = libusb_init(&w->ctx);
    if (rc != 0) {
        free(w);
        return fl_error_set(err, FL_ERR_IO, "USB discovery needs /sys and /dev/bus/usb",
                            "cannot start libusb: %s", libusb_strerror(rc));
    }
    if (!libusb_has_capability(LIBUSB_CAP_HAS_HOTPLUG)) {
        fl_usb_watch_close(w);
        return fl_error_set(err, FL_ERR_UNSUPPORTED, "name the ports with --port instead",
                            "this libusb cannot report USB hotplug events");
    }
    rc = libusb_hotplug_register_callback(
        w->ctx, LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED | LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT,
        w->opts.report_present ? LIBUSB_HOTPLUG_ENUMERATE : 0, LIBUSB_HOTPLUG_MATCH_ANY,
        LIBUSB_HOTPLUG_MATCH_ANY, LIBUSB_HOTPLUG_MATCH_ANY, on_hotplug, w, &w->handle);
    if (rc != LIBUSB_SUCCESS) {
        fl_usb_watch_close(w);
        return fl_error_set(err, FL_ERR_IO, NULL, "cannot watch USB hotplug events: %s",
                            libusb_strerror(rc));
    }
    w->registered = true;
    *out = w;
    return FL_OK;
}

int fl_usb_watch_run(struct fl_usb_watch *w, const atomic_bool *stop, struct fl_error *err)
{
    for (;;) {
        handle_departures(w);
        handle_arrivals(w);
        if (w->out_of_memory) {
            w->out_of_memory = false;
            return fl_error_set(err, FL_ERR_NOMEM, NULL, "USB watch: out of memory");
        }
        if (w->too_many) {
            w->too_many = false;
            return fl_error_set(err, FL_ERR_IO,
                                "look for a device that keeps disconnecting and reconnecting "
                                "(dmesg shows it), unplug it, and start again",
                                "USB watch: over %d USB devices arrived or left at once",
                                MAX_TRACKED);
        }
        if (stop != NULL && atomic_load(stop)) {
            return FL_OK;
        }
        int wait = w->n_pending > 0 ? PENDING_POLL_MS : POLL_MS;
        struct timeval tv = {.tv_sec = 0, .tv_usec = wait * 1000};
        int rc = libusb_handle_events_timeout_completed(w->ctx, &tv, NULL);
        if (rc != LIBUSB_SUCCESS && rc != LIBUSB_ERROR_INTERRUPTED) {
            return fl_error_set(err, FL_ERR_IO, NULL, "USB watch: %s", libusb_strerror(rc));
        }
    }
}

void fl_usb_watch_close(struct fl_usb_watch *w)
{
    if (w == NULL) {
        return;
    }
    if (w->registered) {
        libusb_hotplug_deregister_callback(w->ctx, w->handle);
    }
    if (w->ctx != NULL) {
        libusb_exit(w->ctx);
    }
    free(w->pending);
    free(w->gone);
    free(w->reported);
    free(w);
}
