/*
 * The sysfs half of USB discovery: device strings, the ttys a driver bound
 * to a device's interfaces, and the way back from a tty to its device. Plain
 * file reads, so no access to /dev/bus/usb is needed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "flasher/port_priv.h"
#include "flasher/usb_priv.h"

static bool read_attr(const char *dir, const char *name, char *buf, size_t size)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return false;
    }
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    if (n < 0) {
        return false;
    }
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ')) {
        buf[--n] = '\0';
    }
    return true;
}

/* USB strings come from the device: never let one drive the terminal. */
static void read_string(const char *dir, const char *name, char *buf, size_t size)
{
    if (!read_attr(dir, name, buf, size)) {
        buf[0] = '\0';
        return;
    }
    for (char *c = buf; *c; c++) {
        if ((unsigned char)*c < 0x20 || *c == 0x7f) {
            *c = '?';
        }
    }
}

static bool read_number(const char *dir, const char *name, int base, unsigned long max,
                        unsigned long *out)
{
    char buf[32];
    if (!read_attr(dir, name, buf, sizeof buf) || buf[0] == '\0') {
        return false;
    }
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(buf, &end, base);
    if (errno != 0 || *end != '\0' || v > max) {
        return false;
    }
    *out = v;
    return true;
}

bool usb_path_format(uint8_t bus, const uint8_t *ports, int nports, char *out, size_t size)
{
    int n = snprintf(out, size, "%u", bus);
    for (int i = 0; i < nports && n > 0 && (size_t)n < size; i++) {
        n += snprintf(out + n, size - (size_t)n, "%c%u", i == 0 ? '-' : '.', ports[i]);
    }
    return nports > 0 && n > 0 && (size_t)n < size;
}

static bool read_device_dir(const char *dir, const char *usb_path, struct fl_usb_port *port)
{
    unsigned long vid, pid, bus = 0, addr = 0;
    if (!read_number(dir, "idVendor", 16, 0xffff, &vid) ||
        !read_number(dir, "idProduct", 16, 0xffff, &pid)) {
        return false;
    }
    port->vid = (uint16_t)vid;
    port->pid = (uint16_t)pid;
    port->model = fl_usb_model_find(port->vid, port->pid);
    (void)read_number(dir, "busnum", 10, 255, &bus);
    (void)read_number(dir, "devnum", 10, 255, &addr);
    port->bus = (uint8_t)bus;
    port->address = (uint8_t)addr;
    if (usb_path != port->usb_path) {
        snprintf(port->usb_path, sizeof port->usb_path, "%s", usb_path);
    }
    read_string(dir, "serial", port->serial, sizeof port->serial);
    read_string(dir, "manufacturer", port->manufacturer, sizeof port->manufacturer);
    read_string(dir, "product", port->product, sizeof port->product);
    return true;
}

bool usb_sysfs_read_device(const char *usb_path, struct fl_usb_port *port)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/%s", USB_SYSFS_DEVICES, usb_path);
    return read_device_dir(dir, usb_path, port);
}

static void add_tty(struct usb_tty *ttys, size_t max, size_t *count, int interface,
                    const char *name)
{
    if (*count < max && strlen(name) < sizeof ttys[0].name) {
        ttys[*count].interface = interface;
        snprintf(ttys[*count].name, sizeof ttys[0].name, "%s", name);
        (*count)++;
    }
}

/* ttyUSB2 before ttyUSB10. */
static int tty_order(const void *a, const void *b)
{
    const char *x = ((const struct usb_tty *)a)->name;
    const char *y = ((const struct usb_tty *)b)->name;
    size_t px = strcspn(x, "0123456789"), py = strcspn(y, "0123456789");
    int c = px == py ? strncmp(x, y, px) : strcmp(x, y);
    if (c != 0 || px != py) {
        return c;
    }
    long nx = strtol(x + px, NULL, 10), ny = strtol(y + py, NULL, 10);
    return (nx > ny) - (nx < ny);
}

/* An interface directory holds ttyUSB<n> (usb-serial drivers) or
 * tty/tty<name> (cdc_acm and other tty class devices). */
static void scan_interface(const char *ifdir, int interface, struct usb_tty *ttys, size_t max,
                           size_t *count)
{
    DIR *d = opendir(ifdir);
    if (d == NULL) {
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "ttyUSB", 6) == 0) {
            add_tty(ttys, max, count, interface, e->d_name);
        } else if (strcmp(e->d_name, "tty") == 0) {
            char sub[PATH_MAX];
            snprintf(sub, sizeof sub, "%s/tty", ifdir);
            DIR *t = opendir(sub);
            struct dirent *te;
            while (t != NULL && (te = readdir(t)) != NULL) {
                if (strncmp(te->d_name, "tty", 3) == 0) {
                    add_tty(ttys, max, count, interface, te->d_name);
                }
            }
            if (t != NULL) {
                closedir(t);
            }
        }
    }
    closedir(d);
}

size_t usb_sysfs_ttys(const char *usb_path, struct usb_tty *ttys, size_t max)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/%s", USB_SYSFS_DEVICES, usb_path);
    DIR *d = opendir(dir);
    if (d == NULL) {
        return 0;
    }
    size_t count = 0;
    size_t plen = strlen(usb_path);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        /* Interface directories: "<usb_path>:<config>.<interface>". */
        if (strncmp(e->d_name, usb_path, plen) != 0 || e->d_name[plen] != ':') {
            continue;
        }
        const char *dot = strrchr(e->d_name + plen, '.');
        int interface = dot ? atoi(dot + 1) : -1;
        char ifdir[PATH_MAX];
        snprintf(ifdir, sizeof ifdir, "%s/%s", dir, e->d_name);
        scan_interface(ifdir, interface, ttys, max, &count);
    }
    closedir(d);
    qsort(ttys, count, sizeof ttys[0], tty_order);
    return count;
}

void usb_port_set_tty(struct fl_usb_port *port, const struct usb_tty *tty)
{
    snprintf(port->tty, sizeof port->tty, "/dev/%s", tty->name);
    port->interface = tty->interface;
    port->tty_accessible = access(port->tty, R_OK | W_OK) == 0;
}

/* Drops "." and resolves ".." textually (sysfs and /dev link targets are
 * relative paths through real directories). */
static void normalize(char *path)
{
    char out[PATH_MAX];
    size_t len = 0;
    char *save = NULL;
    for (char *part = strtok_r(path, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
        if (strcmp(part, ".") == 0) {
            continue;
        }
        if (strcmp(part, "..") == 0) {
            while (len > 0 && out[len - 1] != '/') {
                len--;
            }
            if (len > 0) {
                len--;
            }
            continue;
        }
        size_t plen = strlen(part);
        if (len + 1 + plen >= sizeof out) {
            break;
        }
        out[len++] = '/';
        memcpy(out + len, part, plen);
        len += plen;
    }
    out[len] = '\0';
    strcpy(path, len ? out : "/");
}

/* Follows a chain of symlinks at the last component; false on a loop. */
static bool resolve_links(char *path, size_t size)
{
    for (int hops = 0; hops < 16; hops++) {
        char target[PATH_MAX];
        ssize_t n = readlink(path, target, sizeof target - 1);
        if (n < 0) {
            normalize(path);
            return true;
        }
        target[n] = '\0';
        if (target[0] == '/') {
            snprintf(path, size, "%s", target);
        } else {
            char *slash = strrchr(path, '/');
            size_t keep = slash ? (size_t)(slash - path) + 1 : 0;
            char joined[PATH_MAX];
            snprintf(joined, sizeof joined, "%.*s%s", (int)keep, path, target);
            snprintf(path, size, "%s", joined);
        }
        normalize(path);
    }
    return false;
}

int fl_usb_identify_tty(const char *tty, struct fl_usb_port *out, struct fl_error *err)
{
    memset(out, 0, sizeof *out);
    out->interface = -1;
    char dev[PATH_MAX];
    snprintf(dev, sizeof dev, "%s%s", strchr(tty, '/') ? "" : "/dev/", tty);
    /* By device number, not by name: /dev/serial/by-id links and udev
     * aliases all lead to the same /sys/dev/char/MAJOR:MINOR. */
    struct stat st;
    if (stat(dev, &st) != 0) {
        return fl_error_set(err, FL_ERR_NOT_FOUND,
                            "is the board plugged in? `espprov ports` lists the boards found",
                            "%s: no such serial port", tty);
    }
    char sys[PATH_MAX];
    snprintf(sys, sizeof sys, "/sys/dev/char/%u:%u", major(st.st_rdev), minor(st.st_rdev));
    if (!S_ISCHR(st.st_mode) || !resolve_links(sys, sizeof sys)) {
        return fl_error_set(err, FL_ERR_NOT_FOUND, NULL, "%s is not a USB serial port", tty);
    }
    const char *name = strrchr(sys, '/') + 1;
    struct usb_tty t = {.interface = -1};
    snprintf(t.name, sizeof t.name, "%s", name);
    /* Walk up from the tty class device to the first directory that is a
     * USB device (it has idVendor); the one below it is the interface. */
    char child[NAME_MAX + 1] = "";
    for (char *slash = strrchr(sys, '/'); slash != NULL && slash != sys;
         slash = strrchr(sys, '/')) {
        char attr[PATH_MAX];
        snprintf(attr, sizeof attr, "%s/idVendor", sys);
        if (access(attr, F_OK) == 0) {
            if (!read_device_dir(sys, slash + 1, out)) {
                break;
            }
            const char *dot = strrchr(child, '.');
            t.interface = dot != NULL && strchr(child, ':') != NULL ? atoi(dot + 1) : -1;
            usb_port_set_tty(out, &t);
            return FL_OK;
        }
        snprintf(child, sizeof child, "%s", slash + 1);
        *slash = '\0';
    }
    memset(out, 0, sizeof *out);
    out->interface = -1;
    return fl_error_set(err, FL_ERR_NOT_FOUND, NULL, "%s is not a USB serial port", tty);
}
