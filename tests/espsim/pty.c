/* The pseudo-terminal the host opens as its serial port. */
#include "sim.h"

#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

int sim_pty_open(struct sim *s, char *err, size_t n)
{
    struct termios tio;
    memset(&tio, 0, sizeof tio);
    cfmakeraw(&tio);
    tio.c_cflag |= CLOCAL | CREAD;
    cfsetispeed(&tio, B115200);
    cfsetospeed(&tio, B115200);
    if (openpty(&s->pty_master, &s->pty_slave, s->pty_path, &tio, NULL) != 0) {
        snprintf(err, n, "cannot create a pseudo-terminal: %s", strerror(errno));
        return -1;
    }
    /* Holding the slave open keeps the master usable while no host has the
     * port open (no EIO/HUP between sessions), and keeps the host's termios. */
    fcntl(s->pty_master, F_SETFL, fcntl(s->pty_master, F_GETFL) | O_NONBLOCK);
    fcntl(s->pty_master, F_SETFD, FD_CLOEXEC);
    fcntl(s->pty_slave, F_SETFD, FD_CLOEXEC);
    s->side[SIM_SIDE_PTY].open = true;
    s->side[SIM_SIDE_PTY].baud = 115200;
    if (s->opt.pty_link != NULL) {
        struct stat st;
        if (lstat(s->opt.pty_link, &st) == 0 && S_ISLNK(st.st_mode)) {
            unlink(s->opt.pty_link);
        }
        if (symlink(s->pty_path, s->opt.pty_link) != 0) {
            snprintf(err, n, "cannot create link '%s': %s", s->opt.pty_link, strerror(errno));
            return -1;
        }
    }
    return 0;
}

void sim_pty_close(struct sim *s)
{
    if (s->opt.pty_link != NULL) {
        char target[sizeof s->pty_path];
        ssize_t len = readlink(s->opt.pty_link, target, sizeof target - 1);
        if (len > 0 && (size_t)len == strlen(s->pty_path) &&
            memcmp(target, s->pty_path, (size_t)len) == 0) {
            unlink(s->opt.pty_link);
        }
    }
    if (s->pty_master >= 0) {
        close(s->pty_master);
    }
    if (s->pty_slave >= 0) {
        close(s->pty_slave);
    }
    s->pty_master = s->pty_slave = -1;
}

void sim_pty_read(struct sim *s, int64_t now)
{
    uint8_t buf[4096];
    ssize_t n = read(s->pty_master, buf, sizeof buf);
    if (n > 0) {
        sim_rx(s, SIM_SIDE_PTY, buf, (size_t)n, now);
    }
}

void sim_pty_flush(struct sim *s)
{
    struct sim_side *sd = &s->side[SIM_SIDE_PTY];
    while (sd->out_len > 0) {
        ssize_t n = write(s->pty_master, sd->out, sd->out_len);
        if (n <= 0) {
            return; /* EAGAIN: the host is not reading; keep it for later */
        }
        memmove(sd->out, sd->out + n, sd->out_len - (size_t)n);
        sd->out_len -= (size_t)n;
    }
}
