/* flasher-internal: the Linux-specific pieces of the tty port, kept in
 * port_tty_linux.c because <asm/termbits.h> clashes with <termios.h>. */
#ifndef ESPPROV_FLASHER_PORT_TTY_PRIV_H
#define ESPPROV_FLASHER_PORT_TTY_PRIV_H

#include <stdint.h>

#include "flasher/port_priv.h"

/* Sets input and output rate to any `baud` (termios2/BOTHER). 0 or errno. */
int fl_tty_apply_baud(int fd, uint32_t baud);
/* Asks the driver for low latency (FTDI: 1 ms latency timer); best effort. */
void fl_tty_low_latency(int fd);
/* USB vendor/product of an open /dev/ttyUSBn or ttyACMn via sysfs; 0 when unknown. */
void fl_tty_usb_ids(int fd, uint16_t *vid, uint16_t *pid);

#endif
