/* flasher-internal: sysfs side of USB discovery, shared by usb.c and usb_watch.c. */
#ifndef ESPPROV_FLASHER_USB_PRIV_H
#define ESPPROV_FLASHER_USB_PRIV_H

#include <stddef.h>

#include "flasher/flasher.h"

/* Where the kernel lists USB devices by their bus-port name ("1-2.3"). */
#define USB_SYSFS_DEVICES "/sys/bus/usb/devices"

/* A tty bound to one interface of a USB device. */
struct usb_tty {
    int interface;
    char name[32]; /* "ttyUSB0", "ttyACM1" */
};

/* "1-2.3" from a bus number and the port chain; false when it does not fit. */
bool usb_path_format(uint8_t bus, const uint8_t *ports, int nports, char *out, size_t size);

/* Fills vid/pid/bus/address/strings/usb_path/model of `port` from the
 * device's sysfs directory (USB_SYSFS_DEVICES "/<usb_path>"); false when it
 * is not a USB device directory. tty fields are left alone. */
bool usb_sysfs_read_device(const char *usb_path, struct fl_usb_port *port);

/* Ttys bound to the device's interfaces, sorted by name; returns how many
 * (at most max). */
size_t usb_sysfs_ttys(const char *usb_path, struct usb_tty *ttys, size_t max);

/* Sets tty ("/dev/<name>"), tty_accessible and interface from `tty`. */
void usb_port_set_tty(struct fl_usb_port *port, const struct usb_tty *tty);

#endif
