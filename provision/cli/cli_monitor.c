/* The board's serial console: reset into the app, then bytes both ways until Ctrl-]. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include "flasher/flasher.h"
#include "provision/cli/cli.h"

#define CTRL_RIGHT_BRACKET 0x1d

/* EN low with IO0 high, then both released: the app starts (esptool's hard
 * reset). RTS drives EN, DTR drives IO0 on the usual auto-reset circuit. */
static int reset_into_app(struct fl_port *port, struct fl_error *err)
{
    int rc = port->ops->set_lines(port, false, true, err);
    if (rc != FL_OK) {
        return rc;
    }
    port->ops->sleep_ms(port, 100);
    return port->ops->set_lines(port, false, false, err);
}

static bool write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return false;
        }
        p += w;
        n -= (size_t)w;
    }
    return true;
}

int cli_monitor(const struct cli_ctx *ctx, const char *name, uint32_t baud, bool reset, int seconds)
{
    struct fl_port *port = NULL;
    struct fl_error err = {0};
    if (fl_port_open(name, baud, &port, &err) != FL_OK) {
        return cli_fail(err.hint[0] ? err.hint : NULL, "%s", err.msg);
    }
    bool tty = ctx->stdin_tty;
    if (ctx->verbosity >= 0) {
        fprintf(stderr, "--- espprov monitor on %s at %u baud; %s ---\n", name, (unsigned)baud,
                tty ? "Ctrl-] to leave" : "Ctrl-C to leave");
    }
    if (reset) {
        int rc = reset_into_app(port, &err);
        if (rc == FL_ERR_NO_LINES) {
            if (ctx->verbosity >= 0) {
                fprintf(stderr, "--- %s has no DTR/RTS: not reset, showing what comes ---\n", name);
            }
        } else if (rc != FL_OK) {
            fl_port_close(port);
            return cli_fail(err.hint[0] ? err.hint : NULL, "%s", err.msg);
        }
    }
    /* Keys go to the board as typed (Ctrl-C too); only Ctrl-] is ours. */
    struct termios saved;
    bool raw = tty && tcgetattr(STDIN_FILENO, &saved) == 0;
    if (raw) {
        struct termios t = saved;
        t.c_lflag &= ~(tcflag_t)(ICANON | ECHO | ISIG | IEXTEN);
        t.c_iflag &= ~(tcflag_t)(IXON | ICRNL | INLCR);
        t.c_cc[VMIN] = 1;
        t.c_cc[VTIME] = 0;
        raw = tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0;
    }
    /* Without a terminal Ctrl-C and SIGTERM end it (read here, not handled). */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, NULL);
    int sfd = signalfd(-1, &set, SFD_CLOEXEC);
    int64_t start = port->ops->now_ms(port);
    bool stdin_open = true;
    int status = CLI_OK;
    uint8_t buf[4096];
    for (;;) {
        if (seconds > 0 && port->ops->now_ms(port) - start >= (int64_t)seconds * 1000) {
            break;
        }
        struct pollfd pfd[2] = {{.fd = stdin_open ? STDIN_FILENO : -1, .events = POLLIN},
                                {.fd = sfd, .events = POLLIN}};
        if (poll(pfd, 2, 0) > 0) {
            if (pfd[1].revents & POLLIN) {
                struct signalfd_siginfo si;
                (void)!read(sfd, &si, sizeof si); /* taken, so it is not delivered later */
                break;
            }
            if (pfd[0].revents & (POLLIN | POLLHUP)) {
                ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
                if (n <= 0) {
                    stdin_open = false; /* no more keys; the board may still talk */
                } else {
                    uint8_t *quit = memchr(buf, CTRL_RIGHT_BRACKET, (size_t)n);
                    size_t keep = quit ? (size_t)(quit - buf) : (size_t)n;
                    if (keep > 0 && port->ops->write(port, buf, keep, &err) != FL_OK) {
                        status = cli_fail(NULL, "%s", err.msg);
                        break;
                    }
                    if (quit != NULL) {
                        break;
                    }
                }
            }
        }
        int n = port->ops->read(port, buf, sizeof buf, 50, &err);
        if (n < 0) {
            status = cli_fail(err.hint[0] ? err.hint : NULL, "%s", err.msg);
            break;
        }
        if (n > 0 && !write_all(STDOUT_FILENO, buf, (size_t)n)) {
            break; /* the reader went away */
        }
    }
    if (raw) {
        tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    }
    if (sfd >= 0) {
        close(sfd);
    }
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    fl_port_close(port);
    if (ctx->verbosity >= 0 && status == CLI_OK) {
        fprintf(stderr, "\r\n--- left the monitor ---\n");
    }
    return status;
}
