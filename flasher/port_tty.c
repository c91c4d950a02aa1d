/*
 * A local serial port through termios (esp-protocol.md §4.5): raw 8N1, no
 * flow control of either kind (payloads contain 0x11/0x13 and RTS is a reset
 * line), HUPCL off, poll()-based timeouts, both modem lines in one ioctl.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "flasher/port_tty_priv.h"

#define WRITE_TIMEOUT_MS 10000

struct tty_port {
    struct fl_port base;
    int fd;
};

static struct tty_port *tty_of(struct fl_port *port)
{
    return (struct tty_port *)port;
}

static int64_t tty_now_ms(struct fl_port *port)
{
    (void)port;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void tty_sleep_ms(struct fl_port *port, int ms)
{
    (void)port;
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static int io_error(struct fl_port *port, const char *what, struct fl_error *err)
{
    int e = errno;
    const char *hint = NULL;
    if (e == EIO || e == ENODEV || e == ENXIO) {
        hint = "the device went away: was the board unplugged or did it re-enumerate?";
    }
    return fl_error_set(err, FL_ERR_IO, hint, "%s on %s: %s", what, port->name, strerror(e));
}

static int tty_read(struct fl_port *port, uint8_t *buf, size_t len, int timeout_ms,
                    struct fl_error *err)
{
    struct tty_port *t = tty_of(port);
    int64_t deadline = tty_now_ms(port) + (timeout_ms > 0 ? timeout_ms : 0);
    bool readable = false;
    for (;;) {
        ssize_t n = read(t->fd, buf, len);
        if (n > 0) {
            return (int)n;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            return io_error(port, "read", err);
        }
        /* With VMIN = VTIME = 0 an empty tty reads 0; only "poll said
         * readable, yet nothing came" is an end of file (pty peer gone). */
        if (n == 0 && readable) {
            errno = EIO;
            return io_error(port, "read", err);
        }
        int64_t left = deadline - tty_now_ms(port);
        if (left <= 0) {
            return 0;
        }
        struct pollfd p = {.fd = t->fd, .events = POLLIN};
        int rc = poll(&p, 1, (int)left);
        if (rc < 0 && errno != EINTR) {
            return io_error(port, "poll", err);
        }
        if (rc > 0 && !(p.revents & POLLIN) && (p.revents & (POLLERR | POLLNVAL | POLLHUP))) {
            errno = EIO;
            return io_error(port, "read", err);
        }
        readable = rc > 0 && (p.revents & POLLIN);
    }
}

static int tty_write(struct fl_port *port, const uint8_t *buf, size_t len, struct fl_error *err)
{
    struct tty_port *t = tty_of(port);
    int64_t deadline = tty_now_ms(port) + WRITE_TIMEOUT_MS;
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(t->fd, buf + done, len - done);
        if (n > 0) {
            done += (size_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            return io_error(port, "write", err);
        }
        int64_t left = deadline - tty_now_ms(port);
        if (left <= 0) {
            return fl_error_set(err, FL_ERR_TIMEOUT,
                                "the adapter is not sending: is hardware flow control wired "
                                "or the device stuck?",
                                "write to %s timed out", port->name);
        }
        struct pollfd p = {.fd = t->fd, .events = POLLOUT};
        if (poll(&p, 1, (int)left) < 0 && errno != EINTR) {
            return io_error(port, "poll", err);
        }
    }
    return FL_OK;
}

static int tty_set_baud(struct fl_port *port, uint32_t baud, struct fl_error *err)
{
    struct tty_port *t = tty_of(port);
    int rc = fl_tty_apply_baud(t->fd, baud);
    if (rc != 0) {
        errno = rc;
        return fl_error_set(err, FL_ERR_INVALID, "choose a rate the adapter supports",
                            "cannot set %u baud on %s: %s", (unsigned)baud, port->name,
                            strerror(rc));
    }
    port->baud = baud;
    return FL_OK;
}

static int tty_set_lines(struct fl_port *port, bool dtr, bool rts, struct fl_error *err)
{
    struct tty_port *t = tty_of(port);
    int bits;
    if (ioctl(t->fd, TIOCMGET, &bits) != 0) {
        goto fail;
    }
    bits = dtr ? bits | TIOCM_DTR : bits & ~TIOCM_DTR;
    bits = rts ? bits | TIOCM_RTS : bits & ~TIOCM_RTS;
    if (ioctl(t->fd, TIOCMSET, &bits) != 0) {
        goto fail;
    }
    return FL_OK;
fail:
    if (errno == ENOTTY || errno == EINVAL) {
        port->has_lines = false;
        return fl_error_set(err, FL_ERR_NO_LINES,
                            "put the board in download mode by hand and use --before no-reset",
                            "%s has no DTR/RTS lines", port->name);
    }
    return io_error(port, "setting DTR/RTS", err);
}

static int tty_flush_input(struct fl_port *port, struct fl_error *err)
{
    if (tcflush(tty_of(port)->fd, TCIFLUSH) != 0) {
        return io_error(port, "flush", err);
    }
    return FL_OK;
}

static int tty_drain(struct fl_port *port, struct fl_error *err)
{
    struct tty_port *t = tty_of(port);
    /* tcdrain() has no timeout: on an adapter that stopped sending it waits
     * forever. So first wait for the kernel's queue to empty, on a deadline
     * (the queued bytes at the line rate, plus the write timeout); tcdrain
     * then only waits for the adapter's own FIFO. */
    int queued = 0;
    if (ioctl(t->fd, TIOCOUTQ, &queued) == 0 && queued > 0) {
        uint32_t baud = port->baud ? port->baud : 9600;
        int64_t start = tty_now_ms(port);
        int64_t deadline = start + WRITE_TIMEOUT_MS + (int64_t)queued * 10 * 1000 / baud;
        while (ioctl(t->fd, TIOCOUTQ, &queued) == 0 && queued > 0) {
            int64_t now = tty_now_ms(port);
            if (now >= deadline) {
                return fl_error_set(err, FL_ERR_TIMEOUT,
                                    "the adapter is not sending: is hardware flow control wired "
                                    "or the device stuck?",
                                    "%s: %d bytes still queued for the line after %lld ms",
                                    port->name, queued, (long long)(now - start));
            }
            tty_sleep_ms(port, 1);
        }
    }
    if (tcdrain(t->fd) != 0 && errno != EINTR) {
        return io_error(port, "drain", err);
    }
    return FL_OK;
}

static void tty_close(struct fl_port *port)
{
    struct tty_port *t = tty_of(port);
    if (t->fd >= 0) {
        close(t->fd);
    }
    free(t);
}

static const struct fl_port_ops tty_ops = {
    .read = tty_read,
    .write = tty_write,
    .set_baud = tty_set_baud,
    .set_lines = tty_set_lines,
    .flush_input = tty_flush_input,
    .drain = tty_drain,
    .now_ms = tty_now_ms,
    .sleep_ms = tty_sleep_ms,
    .close = tty_close,
};

static void comm_of(long pid, char *out, size_t cap)
{
    char comm_path[64], comm[64] = "?";
    snprintf(comm_path, sizeof comm_path, "/proc/%ld/comm", pid);
    FILE *f = fopen(comm_path, "r");
    if (f != NULL) {
        if (fgets(comm, sizeof comm, f) != NULL) {
            comm[strcspn(comm, "\n")] = '\0';
        }
        fclose(f);
    }
    snprintf(out, cap, "%s (pid %ld)", comm, pid);
}

/* Names the process (other than us) that has `path` open, via /proc/<pid>/fd. */
static bool find_holder(const char *path, char *out, size_t cap)
{
    char real[PATH_MAX];
    if (realpath(path, real) == NULL) {
        return false;
    }
    DIR *proc = opendir("/proc");
    if (proc == NULL) {
        return false;
    }
    bool found = false;
    struct dirent *de;
    pid_t self = getpid();
    while (!found && (de = readdir(proc)) != NULL) {
        char *end;
        long pid = strtol(de->d_name, &end, 10);
        if (*end != '\0' || pid <= 0 || pid == self) {
            continue;
        }
        char fddir[64];
        snprintf(fddir, sizeof fddir, "/proc/%ld/fd", pid);
        DIR *fds = opendir(fddir);
        if (fds == NULL) {
            continue;
        }
        struct dirent *fe;
        while (!found && (fe = readdir(fds)) != NULL) {
            char link[64 + 256], target[PATH_MAX];
            snprintf(link, sizeof link, "%s/%s", fddir, fe->d_name);
            ssize_t n = readlink(link, target, sizeof target - 1);
            if (n > 0) {
                target[n] = '\0';
                found = strcmp(target, real) == 0;
            }
        }
        closedir(fds);
        if (found) {
            comm_of(pid, out, cap);
        }
    }
    closedir(proc);
    return found;
}

/* Names the process holding a flock() on `path`, via /proc/locks. */
static bool find_locker(const char *path, char *out, size_t cap)
{
    struct stat st;
    FILE *f = fopen("/proc/locks", "r");
    if (f == NULL || stat(path, &st) != 0) {
        if (f != NULL) {
            fclose(f);
        }
        return false;
    }
    char line[256];
    bool found = false;
    while (!found && fgets(line, sizeof line, f) != NULL) {
        char kind[16];
        long pid;
        unsigned maj, min;
        unsigned long ino;
        /* "1: FLOCK  ADVISORY  WRITE 1234 00:05:567 0 EOF" */
        if (sscanf(line, "%*d: %15s %*s %*s %ld %x:%x:%lu", kind, &pid, &maj, &min, &ino) == 5 &&
            strcmp(kind, "FLOCK") == 0 && ino == st.st_ino && maj == major(st.st_dev) &&
            min == minor(st.st_dev)) {
            comm_of(pid, out, cap);
            found = true;
        }
    }
    fclose(f);
    return found;
}

static int busy_error(const char *path, bool locked, struct fl_error *err)
{
    char who[128];
    if ((locked && find_locker(path, who, sizeof who)) ||
        (!locked && find_holder(path, who, sizeof who))) {
        return fl_error_set(err, FL_ERR_BUSY, "close that program (a serial monitor?) and retry",
                            "%s is in use by %s", path, who);
    }
    return fl_error_set(err, FL_ERR_BUSY,
                        "another program (a serial monitor?) has it open; close it and retry",
                        "%s is in use", path);
}

static int open_error(const char *path, struct fl_error *err)
{
    int e = errno;
    switch (e) {
    case ENOENT:
    case ENODEV:
    case ENXIO:
        return fl_error_set(err, FL_ERR_NOT_FOUND,
                            "is the board plugged in? 'espprov ports' lists the serial boards",
                            "cannot open '%s': %s", path, strerror(e));
    case EACCES:
    case EPERM:
        return fl_error_set(err, FL_ERR_PERM,
                            "add your user to the 'dialout' group ('uucp' on Arch): sudo usermod "
                            "-aG dialout $USER, then log in again",
                            "cannot open '%s': %s", path, strerror(e));
    case EBUSY:
        return busy_error(path, false, err);
    default:
        return fl_error_set(err, FL_ERR_IO, NULL, "cannot open '%s': %s", path, strerror(e));
    }
}

int fl_tty_open(const char *path, uint32_t baud, struct fl_port **out, struct fl_error *err)
{
    *out = NULL;
    int fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        return open_error(path, err);
    }
    if (!isatty(fd)) {
        close(fd);
        return fl_error_set(err, FL_ERR_INVALID, "name a serial device such as /dev/ttyUSB0",
                            "'%s' is not a serial port", path);
    }
    /* Two espprov workers (or esptool) on one port would steal each other's
     * replies: take an advisory lock and exclusive mode. */
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        return busy_error(path, true, err);
    }
    struct termios tio;
    if (tcgetattr(fd, &tio) != 0) {
        int e = errno;
        close(fd);
        return fl_error_set(err, FL_ERR_IO, NULL, "cannot configure '%s': %s", path, strerror(e));
    }
    cfmakeraw(&tio);
    tio.c_iflag &= ~(tcflag_t)(IXON | IXOFF | IXANY | ICRNL | INLCR | IGNCR);
    tio.c_oflag &= ~(tcflag_t)OPOST;
    tio.c_cflag &= ~(tcflag_t)(CRTSCTS | HUPCL | CSTOPB | PARENB | CSIZE);
    tio.c_cflag |= CS8 | CLOCAL | CREAD;
    tio.c_cc[VMIN] = 0;
    tio.c_cc[VTIME] = 0;
    if (tcsetattr(fd, TCSANOW, &tio) != 0) {
        int e = errno;
        close(fd);
        return fl_error_set(err, FL_ERR_IO, NULL, "cannot configure '%s': %s", path, strerror(e));
    }
    ioctl(fd, TIOCEXCL);
    struct tty_port *t = calloc(1, sizeof *t);
    if (t == NULL) {
        close(fd);
        return fl_error_set(err, FL_ERR_NOMEM, NULL, "out of memory");
    }
    t->fd = fd;
    t->base.ops = &tty_ops;
    snprintf(t->base.name, sizeof t->base.name, "%s", path);
    int bits;
    t->base.has_lines = ioctl(fd, TIOCMGET, &bits) == 0;
    fl_tty_low_latency(fd);
    fl_tty_usb_ids(fd, &t->base.usb_vid, &t->base.usb_pid);
    int rc = tty_set_baud(&t->base, baud, err);
    if (rc != FL_OK) {
        tty_close(&t->base);
        return rc;
    }
    tcflush(fd, TCIOFLUSH);
    *out = &t->base;
    return FL_OK;
}
