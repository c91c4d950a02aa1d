/*
 * rfc2217:// costs on loopback through ser2net (pty as its device, an echo
 * thread on the pty's master): open (connect + negotiation + line set-up),
 * a baud change round trip, a 64-byte request/echo round trip (the shape of
 * a ROM command), and bulk throughput host -> device -> host.
 * Prints medians; run with `make bench`.
 */
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "flasher/flasher.h"

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int64_t median(int64_t *v, size_t n)
{
    qsort(v, n, sizeof v[0], cmp64);
    return v[n / 2];
}

static void *echo(void *arg)
{
    int fd = *(int *)arg;
    uint8_t buf[65536];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0) {
            return NULL;
        }
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(fd, buf + off, (size_t)(n - off));
            if (w <= 0) {
                return NULL;
            }
            off += w;
        }
    }
}

static int read_exact(struct fl_port *p, uint8_t *buf, size_t len)
{
    struct fl_error err = {0};
    for (size_t got = 0; got < len;) {
        int n = p->ops->read(p, buf + got, len - got, 5000, &err);
        if (n <= 0) {
            fprintf(stderr, "read: %s\n", err.msg);
            return -1;
        }
        got += (size_t)n;
    }
    return 0;
}

int main(void)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) {
        return 1;
    }
    struct termios tio;
    tcgetattr(master, &tio);
    cfmakeraw(&tio);
    tcsetattr(master, TCSANOW, &tio);
    const char *slave = ptsname(master);
    int keep = open(slave, O_RDWR | O_NOCTTY);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    bind(s, (struct sockaddr *)&a, sizeof a);
    getsockname(s, (struct sockaddr *)&a, &alen);
    close(s);
    char yaml[512], url[64];
    snprintf(yaml, sizeof yaml,
             "connection: &b\n  accepter: telnet(rfc2217),tcp,127.0.0.1,%d\n"
             "  connector: serialdev,%s,115200n81,local\n",
             ntohs(a.sin_port), slave);
    snprintf(url, sizeof url, "rfc2217://127.0.0.1:%d", ntohs(a.sin_port));
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 1);
        dup2(null, 2);
        execlp("ser2net", "ser2net", "-n", "-u", "-Y", yaml, (char *)NULL);
        _exit(127);
    }
    pthread_t thread;
    pthread_create(&thread, NULL, echo, &master);
    struct fl_port *port = NULL;
    struct fl_error err = {0};
    enum { OPENS = 15, ROUNDS = 200 };
    int64_t t[ROUNDS];
    int opened = 0;
    for (int i = 0; i < 500 && opened < OPENS; i++) {
        int64_t t0 = now_us();
        int rc = fl_port_open(url, 115200, &port, &err);
        if (rc == FL_ERR_NOT_FOUND && opened == 0) {
            usleep(20000); /* ser2net still starting */
            continue;
        }
        if (rc != FL_OK) {
            fprintf(stderr, "open: %s\n", err.msg);
            kill(pid, SIGTERM);
            return 1;
        }
        t[opened++] = now_us() - t0;
        if (opened < OPENS) {
            fl_port_close(port);
        }
    }
    printf("open (connect, negotiate, 8N1 at 115200): median %.2f ms over %d\n",
           (double)median(t, OPENS) / 1000.0, OPENS);
    for (int i = 0; i < ROUNDS; i++) {
        int64_t t0 = now_us();
        if (port->ops->set_baud(port, i % 2 ? 115200 : 921600, &err) != FL_OK) {
            fprintf(stderr, "set_baud: %s\n", err.msg);
            return 1;
        }
        t[i] = now_us() - t0;
    }
    printf("set_baud round trip: median %.3f ms over %d\n", (double)median(t, ROUNDS) / 1000.0,
           ROUNDS);
    uint8_t req[64], back[64];
    memset(req, 0xC0, sizeof req);
    for (int i = 0; i < ROUNDS; i++) {
        int64_t t0 = now_us();
        port->ops->write(port, req, sizeof req, &err);
        if (read_exact(port, back, sizeof back) != 0) {
            return 1;
        }
        t[i] = now_us() - t0;
    }
    printf("64-byte request/echo round trip: median %.3f ms over %d\n",
           (double)median(t, ROUNDS) / 1000.0, ROUNDS);
    static uint8_t bulk[1 << 20], in[1 << 20];
    for (size_t i = 0; i < sizeof bulk; i++) {
        bulk[i] = (uint8_t)(i * 31 + (i >> 8)); /* 1/256 of it is 0xFF */
    }
    int64_t runs[5];
    for (int r = 0; r < 5; r++) {
        int64_t t0 = now_us();
        size_t sent = 0, got = 0;
        while (got < sizeof in) {
            if (sent < sizeof bulk) {
                size_t chunk = sizeof bulk - sent < 16384 ? sizeof bulk - sent : 16384;
                port->ops->write(port, bulk + sent, chunk, &err);
                sent += chunk;
            }
            int n = port->ops->read(port, in + got, sizeof in - got, sent < sizeof bulk ? 0 : 5000,
                                    &err);
            if (n < 0 || (n == 0 && sent == sizeof bulk)) {
                fprintf(stderr, "bulk: %s\n", err.msg);
                return 1;
            }
            got += (size_t)n;
        }
        runs[r] = now_us() - t0;
        if (memcmp(bulk, in, sizeof in) != 0) {
            fprintf(stderr, "bulk data differs\n");
            return 1;
        }
    }
    printf("1 MiB host -> device -> host (echoed, verified): median %.1f MB/s over 5\n",
           (double)(sizeof bulk) / (double)median(runs, 5));
    fl_port_close(port);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    close(keep);
    close(master);
    pthread_join(thread, NULL);
    printf("command: make bench (tests/bench/bench_rfc2217.c)\n");
    return 0;
}
