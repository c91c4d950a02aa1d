/* Test helpers around build/espsim. See simproc.h. */
#include "support/simproc.h"

#include <asm/termbits.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *simproc_binary(void)
{
    const char *e = getenv("ESPSIM");
    if (e != NULL && *e != '\0') {
        return e;
    }
    return "build/espsim";
}

static void reap(struct simproc *sp)
{
    if (sp->out_fd >= 0) {
        close(sp->out_fd);
        sp->out_fd = -1;
    }
    if (sp->pid > 0) {
        kill(sp->pid, SIGKILL);
        waitpid(sp->pid, NULL, 0);
        sp->pid = 0;
    }
}

/* Reads one line of espsim's stdout before the deadline. */
static int read_line(struct simproc *sp, char *line, size_t cap, int64_t deadline)
{
    size_t n = 0;
    while (n + 1 < cap) {
        int64_t left = deadline - now_ms();
        struct pollfd p = {.fd = sp->out_fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
            return -1;
        }
        char c;
        if (read(sp->out_fd, &c, 1) != 1) {
            return -1;
        }
        if (c == '\n') {
            break;
        }
        line[n++] = c;
    }
    line[n] = '\0';
    return 0;
}

int simproc_start(struct simproc *sp, const char *const *args, int timeout_ms, char *err,
                  size_t errlen)
{
    int pipefd[2];
    const char *bin = simproc_binary();
    memset(sp, 0, sizeof *sp);
    sp->out_fd = -1;
    if (access(bin, X_OK) != 0) {
        snprintf(err, errlen, "cannot run espsim '%s': %s (set ESPSIM, or run through make)",
                 bin, strerror(errno));
        return -1;
    }
    if (pipe2(pipefd, O_CLOEXEC) != 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        return -1;
    }
    size_t argc = 0;
    while (args[argc] != NULL) {
        argc++;
    }
    char **argv = calloc(argc + 2, sizeof *argv);
    if (argv == NULL) {
        close(pipefd[0]);
        close(pipefd[1]);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    argv[0] = (char *)(uintptr_t)bin;
    for (size_t i = 0; i < argc; i++) {
        argv[i + 1] = (char *)(uintptr_t)args[i];
    }
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pipefd[1], STDOUT_FILENO);
        execv(bin, argv);
        _exit(127);
    }
    free(argv);
    close(pipefd[1]);
    if (pid < 0) {
        close(pipefd[0]);
        snprintf(err, errlen, "fork: %s", strerror(errno));
        return -1;
    }
    sp->pid = pid;
    sp->out_fd = pipefd[0];
    int64_t deadline = now_ms() + timeout_ms;
    char line[256];
    for (;;) {
        if (read_line(sp, line, sizeof line, deadline) != 0) {
            int status = 0;
            pid_t done = waitpid(pid, &status, WNOHANG);
            snprintf(err, errlen, "espsim %s before printing 'ready'",
                     done == pid ? "exited" : "timed out");
            reap(sp);
            return -1;
        }
        if (strncmp(line, "pty ", 4) == 0) {
            snprintf(sp->pty, sizeof sp->pty, "%s", line + 4);
        } else if (strncmp(line, "rfc2217 127.0.0.1:", 18) == 0) {
            sp->rfc2217_port = atoi(line + 18);
        } else if (strcmp(line, "ready") == 0) {
            break;
        }
    }
    if (sp->pty[0] == '\0') {
        snprintf(err, errlen, "espsim printed no 'pty' line");
        reap(sp);
        return -1;
    }
    return 0;
}

int simproc_reset(struct simproc *sp, bool download)
{
    if (sp->pid <= 0) {
        return -1;
    }
    return kill(sp->pid, download ? SIGUSR1 : SIGUSR2);
}

int simproc_stop(struct simproc *sp)
{
    int status = 0, rc = -1;
    if (sp->pid <= 0) {
        return 0;
    }
    kill(sp->pid, SIGTERM);
    for (int i = 0; i < 500; i++) {
        pid_t done = waitpid(sp->pid, &status, WNOHANG);
        if (done == sp->pid) {
            rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            sp->pid = 0;
            break;
        }
        usleep(10000);
    }
    reap(sp);
    return rc;
}

int simproc_set_baud(int fd, uint32_t baud)
{
    struct termios2 t;
    if (ioctl(fd, TCGETS2, &t) != 0) {
        return -1;
    }
    t.c_cflag &= ~(tcflag_t)CBAUD;
    t.c_cflag |= BOTHER;
    t.c_ispeed = t.c_ospeed = baud;
    return ioctl(fd, TCSETS2, &t);
}

int simproc_open_pty(const struct simproc *sp, uint32_t baud)
{
    int fd = open(sp->pty, O_RDWR | O_NOCTTY | O_CLOEXEC);
    struct termios2 t;
    if (fd < 0 || ioctl(fd, TCGETS2, &t) != 0) {
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    /* cfmakeraw, spelled out for termios2. */
    t.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON |
                             IXOFF | IXANY);
    t.c_oflag &= ~(tcflag_t)OPOST;
    t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
    t.c_cflag &= ~(tcflag_t)(CSIZE | PARENB | CRTSCTS | CBAUD);
    t.c_cflag |= CS8 | CLOCAL | CREAD | BOTHER;
    t.c_ispeed = t.c_ospeed = baud;
    t.c_cc[VMIN] = 0;
    t.c_cc[VTIME] = 0;
    if (ioctl(fd, TCSETS2, &t) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

size_t simproc_read_for(int fd, uint8_t *buf, size_t cap, int ms)
{
    size_t n = 0;
    int64_t deadline = now_ms() + ms;
    while (n < cap) {
        int64_t left = deadline - now_ms();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
            break;
        }
        ssize_t got = read(fd, buf + n, cap - n);
        if (got <= 0) {
            break;
        }
        n += (size_t)got;
    }
    return n;
}

static int write_all(int fd, const uint8_t *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

int simproc_send_frame(int fd, const uint8_t *body, size_t len)
{
    uint8_t *enc = malloc(2 * len + 2);
    size_t o = 0;
    if (enc == NULL) {
        return -1;
    }
    enc[o++] = 0xC0;
    for (size_t i = 0; i < len; i++) {
        if (body[i] == 0xC0 || body[i] == 0xDB) {
            enc[o++] = 0xDB;
            enc[o++] = body[i] == 0xC0 ? 0xDC : 0xDD;
        } else {
            enc[o++] = body[i];
        }
    }
    enc[o++] = 0xC0;
    int rc = write_all(fd, enc, o);
    free(enc);
    return rc;
}

int simproc_send_cmd(int fd, uint8_t op, const uint8_t *data, size_t len, uint32_t checksum)
{
    uint8_t *body = malloc(8 + len);
    if (body == NULL) {
        return -1;
    }
    body[0] = 0;
    body[1] = op;
    body[2] = (uint8_t)len;
    body[3] = (uint8_t)(len >> 8);
    for (int i = 0; i < 4; i++) {
        body[4 + i] = (uint8_t)(checksum >> (8 * i));
    }
    if (len > 0) {
        memcpy(body + 8, data, len);
    }
    int rc = simproc_send_frame(fd, body, 8 + len);
    free(body);
    return rc;
}

/* Next byte from the reader's buffer, refilling within the deadline. */
static int next_byte(struct simproc_reader *r, int64_t deadline)
{
    if (r->pos == r->len) {
        int64_t left = deadline - now_ms();
        struct pollfd p = {.fd = r->fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
            return -1;
        }
        ssize_t n = read(r->fd, r->buf, sizeof r->buf);
        if (n <= 0) {
            return -1;
        }
        r->len = (size_t)n;
        r->pos = 0;
    }
    return r->buf[r->pos++];
}

int simproc_read_frame(struct simproc_reader *r, uint8_t *out, size_t cap, int ms)
{
    int64_t deadline = now_ms() + ms;
    int c;
    size_t n = 0;
    bool in = false, esc = false;
    while ((c = next_byte(r, deadline)) >= 0) {
        if (c == 0xC0) {
            if (in && n > 0) {
                return (int)n;
            }
            in = true;
            n = 0;
            continue;
        }
        if (!in) {
            continue;
        }
        if (esc) {
            c = c == 0xDC ? 0xC0 : c == 0xDD ? 0xDB : c;
            esc = false;
        } else if (c == 0xDB) {
            esc = true;
            continue;
        }
        if (n < cap) {
            out[n++] = (uint8_t)c;
        }
    }
    return -1;
}
