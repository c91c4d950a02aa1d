/*
 * USB board discovery: libusb enumerates (VID:PID, bus, port chain, no
 * device access needed on Linux since it reads descriptors from sysfs), and
 * sysfs gives the strings and the tty the driver bound.
 */
#include <libusb.h>
#include <stdlib.h>
#include <string.h>

#include "flasher/port_priv.h"
#include "flasher/usb_priv.h"

enum { MAX_TTYS_PER_DEVICE = 8 };

static int libusb_failure(int code, const char *what, struct fl_error *err)
{
    if (code == LIBUSB_ERROR_ACCESS) {
        return fl_error_set(err, FL_ERR_PERM,
                            "allow access to USB devices (a udev rule, or the plugdev group)",
                            "%s: %s", what, libusb_strerror(code));
    }
    return fl_error_set(err, FL_ERR_IO,
                        "USB discovery needs /sys and /dev/bus/usb (in a container, pass the USB "
                        "bus through); or name the port directly with --port",
                        "%s: %s", what, libusb_strerror(code));
}

static int push(struct fl_usb_list *list, size_t *cap, const struct fl_usb_port *port,
                struct fl_error *err)
{
    if (list->count == *cap) {
        size_t grown = *cap ? *cap * 2 : 8;
        struct fl_usb_port *p = realloc(list->ports, grown * sizeof *p);
        if (p == NULL) {
            return fl_error_set(err, FL_ERR_NOMEM, NULL, "listing USB ports: out of memory");
        }
        list->ports = p;
        *cap = grown;
    }
    list->ports[list->count++] = *port;
    return FL_OK;
}

/* Ports with a tty first (by tty), then the rest by USB path. */
static int port_order(const void *a, const void *b)
{
    const struct fl_usb_port *x = a, *y = b;
    if ((x->tty[0] == '\0') != (y->tty[0] == '\0')) {
        return x->tty[0] == '\0' ? 1 : -1;
    }
    size_t lx = strlen(x->tty), ly = strlen(y->tty);
    if (lx != ly) {
        return lx < ly ? -1 : 1; /* ttyUSB2 before ttyUSB10 */
    }
    int c = strcmp(x->tty, y->tty);
    return c != 0 ? c : strcmp(x->usb_path, y->usb_path);
}

/* The ports one USB device contributes to the list. */
static int add_device(libusb_device *dev, unsigned flags, struct fl_usb_list *list, size_t *cap,
                      struct fl_error *err)
{
    struct libusb_device_descriptor desc;
    if (libusb_get_device_descriptor(dev, &desc) != 0) {
        return FL_OK;
    }
    const struct fl_usb_model *model = fl_usb_model_find(desc.idVendor, desc.idProduct);
    if (model == NULL && !(flags & FL_USB_LIST_ALL)) {
        return FL_OK;
    }
    uint8_t chain[8];
    int depth = libusb_get_port_numbers(dev, chain, sizeof chain);
    struct fl_usb_port port = {.interface = -1};
    if (depth <= 0 || !usb_path_format(libusb_get_bus_number(dev), chain, depth, port.usb_path,
                                       sizeof port.usb_path)) {
        return FL_OK; /* a root hub */
    }
    if (!usb_sysfs_read_device(port.usb_path, &port)) {
        /* No sysfs (not Linux): what libusb alone knows. */
        port.vid = desc.idVendor;
        port.pid = desc.idProduct;
        port.model = model;
    }
    port.bus = libusb_get_bus_number(dev);
    port.address = libusb_get_device_address(dev);
    struct usb_tty ttys[MAX_TTYS_PER_DEVICE];
    size_t n = usb_sysfs_ttys(port.usb_path, ttys, MAX_TTYS_PER_DEVICE);
    if (n == 0) {
        /* A known board without a tty: its driver is missing or still
         * binding; worth showing. Unknown devices without one are noise. */
        return model != NULL ? push(list, cap, &port, err) : FL_OK;
    }
    for (size_t i = 0; i < n; i++) {
        struct fl_usb_port one = port;
        usb_port_set_tty(&one, &ttys[i]);
        int rc = push(list, cap, &one, err);
        if (rc < 0) {
            return rc;
        }
    }
    return FL_OK;
}

int fl_usb_list(unsigned flags, struct fl_usb_list *out, struct fl_error *err)
{
    out->ports = NULL;
    out->count = 0;
    libusb_context *ctx = NULL;
    int rc = libusb_init(&ctx);
    if (rc != 0) {
        return libusb_failure(rc, "cannot start libusb", err);
    }
    libusb_device **devs = NULL;
    ssize_t n = libusb_get_device_list(ctx, &devs);
    if (n < 0) {
        libusb_exit(ctx);
        return libusb_failure((int)n, "cannot list USB devices", err);
    }
    size_t cap = 0;
    rc = FL_OK;
    for (ssize_t i = 0; i < n && rc == FL_OK; i++) {
        rc = add_device(devs[i], flags, out, &cap, err);
    }
    libusb_free_device_list(devs, 1);
    libusb_exit(ctx);
    if (rc < 0) {
        fl_usb_list_free(out);
        return rc;
    }
    if (out->count > 1) {
        qsort(out->ports, out->count, sizeof out->ports[0], port_order);
    }
    return FL_OK;
}

void fl_usb_list_free(struct fl_usb_list *list)
{
    if (list != NULL) {
        free(list->ports);
        list->ports = NULL;
        list->count = 0;
    }
}
