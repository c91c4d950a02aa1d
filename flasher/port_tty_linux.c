/* termios2 and serial ioctls (no <termios.h> here: it clashes with these). */
#include <asm/termbits.h>
#include <errno.h>
#include <limits.h>
#include <linux/serial.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "flasher/port_tty_priv.h"

int fl_tty_apply_baud(int fd, uint32_t baud)
{
    struct termios2 tio;
    if (ioctl(fd, TCGETS2, &tio) != 0) {
        return errno;
    }
    /* BOTHER takes the rate as a number, so 921600 and 1500000 work the
     * same as rates with no B-constant. */
    tio.c_cflag &= ~(tcflag_t)(CBAUD | (CBAUD << IBSHIFT));
    tio.c_cflag |= BOTHER | (BOTHER << IBSHIFT);
    tio.c_ispeed = baud;
    tio.c_ospeed = baud;
    if (ioctl(fd, TCSETS2, &tio) != 0) {
        return errno;
    }
    return 0;
}

void fl_tty_low_latency(int fd)
{
    struct serial_struct ss;
    if (ioctl(fd, TIOCGSERIAL, &ss) == 0 && !(ss.flags & ASYNC_LOW_LATENCY)) {
        ss.flags |= ASYNC_LOW_LATENCY;
        (void)ioctl(fd, TIOCSSERIAL, &ss);
    }
}

static unsigned read_hex_file(const char *path)
{
    FILE *f = fopen(path, "r");
    unsigned v = 0;
    if (f != NULL) {
        if (fscanf(f, "%x", &v) != 1) {
            v = 0;
        }
        fclose(f);
    }
    return v;
}

void fl_tty_usb_ids(int fd, uint16_t *vid, uint16_t *pid)
{
    *vid = *pid = 0;
    /* By the open file's device number, not by re-resolving its name: the
     * name may be a symlink (by-id) or be gone by now, and resolving /dev
     * paths is what some LD_PRELOAD sandboxes (umockdev 0.17) cannot do. */
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISCHR(st.st_mode)) {
        return;
    }
    char dev[64];
    snprintf(dev, sizeof dev, "/sys/dev/char/%u:%u/device", major(st.st_rdev), minor(st.st_rdev));
    char resolved[PATH_MAX];
    if (realpath(dev, resolved) == NULL) {
        return;
    }
    /* Walk up from the tty's device to the USB device holding idVendor. */
    for (int depth = 0; depth < 6; depth++) {
        char file[PATH_MAX + 16];
        snprintf(file, sizeof file, "%s/idVendor", resolved);
        unsigned v = read_hex_file(file);
        if (v != 0) {
            snprintf(file, sizeof file, "%s/idProduct", resolved);
            *vid = (uint16_t)v;
            *pid = (uint16_t)read_hex_file(file);
            return;
        }
        char *slash = strrchr(resolved, '/');
        if (slash == NULL || slash == resolved) {
            return;
        }
        *slash = '\0';
    }
}
