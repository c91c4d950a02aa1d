/*
 * The rfc2217:// port against servers that misbehave on purpose (build/espsim
 * --hostile): every wait ends at its own deadline whatever the server streams
 * (telnet NOPs, a subnegotiation that never ends, data nobody asked for), and
 * what it sends is kept in bounded memory, with a clear error past the bound.
 */
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "flasher/flasher.h"
#include "support/simproc.h"
#include "test.h"

struct hostile {
    struct simproc sp;
    char flash[64];
    char url[64];
};

static bool hostile_start(struct hostile *h, const char *mode)
{
    memset(h, 0, sizeof *h);
    snprintf(h->flash, sizeof h->flash, "/tmp/espprov-hostile-XXXXXX");
    int fd = mkstemp(h->flash);
    if (fd < 0) {
        return false;
    }
    close(fd);
    char err[256];
    const char *args[] = {"--chip",       "esp32", "--flash",   h->flash,
                          "--flash-size", "1MB",   "--rfc2217", "0",
                          "--hostile",    mode,    NULL};
    if (simproc_start(&h->sp, args, 15000, err, sizeof err) != 0 || h->sp.rfc2217_port == 0) {
        printf("# espsim: %s\n", err);
        unlink(h->flash);
        return false;
    }
    snprintf(h->url, sizeof h->url, "rfc2217://127.0.0.1:%d", h->sp.rfc2217_port);
    return true;
}

static void hostile_stop(struct hostile *h)
{
    simproc_stop(&h->sp);
    unlink(h->flash);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

TEST(nop_stream_reads_end_at_their_deadline)
{
    struct hostile h;
    ASSERT(hostile_start(&h, "nop-stream"));
    struct fl_port *port = NULL;
    struct fl_error err = {0};
    int rc = fl_port_open(h.url, 115200, &port, &err);
    int lines = rc == FL_OK ? port->ops->set_lines(port, true, false, &err) : rc;
    uint8_t buf[64];
    int64_t t0 = now_ms();
    int n300 = lines == FL_OK ? port->ops->read(port, buf, sizeof buf, 300, &err) : -1;
    int64_t t1 = now_ms();
    int n0 = lines == FL_OK ? port->ops->read(port, buf, sizeof buf, 0, &err) : -1;
    int64_t t2 = now_ms();
    fl_port_close(port);
    hostile_stop(&h);
    /* The answers still arrive between the NOPs... */
    ASSERT_MSG(rc == FL_OK, "open: %s", err.msg);
    ASSERT_MSG(lines == FL_OK, "set_lines: %s", err.msg);
    /* ...and a read ends when its time is up, with nothing. */
    ASSERT_EQ_INT(n300, 0);
    ASSERT_MSG(t1 - t0 >= 299 && t1 - t0 < 1300, "a 300 ms read took %lld ms",
               (long long)(t1 - t0));
    ASSERT_EQ_INT(n0, 0);
    ASSERT_MSG(t2 - t1 < 200, "a read that may not wait took %lld ms", (long long)(t2 - t1));
}

TEST(endless_subnegotiation_is_a_clear_error)
{
    struct hostile h;
    ASSERT(hostile_start(&h, "endless-sb"));
    struct fl_port *port = NULL;
    struct fl_error err = {0}, again = {0};
    int rc = fl_port_open(h.url, 115200, &port, &err);
    /* The server opens its endless subnegotiation once data flows. */
    int wrc = rc == FL_OK ? port->ops->write(port, (const uint8_t *)"\xC0", 1, &err) : rc;
    uint8_t buf[64];
    int64_t t0 = now_ms();
    int n = wrc == FL_OK ? port->ops->read(port, buf, sizeof buf, 5000, &err) : wrc;
    int64_t t1 = now_ms();
    int n2 = wrc == FL_OK ? port->ops->read(port, buf, sizeof buf, 5000, &again) : wrc;
    fl_port_close(port);
    hostile_stop(&h);
    ASSERT_MSG(rc == FL_OK && wrc == FL_OK, "open/write: %s", err.msg);
    ASSERT_EQ_INT(n, FL_ERR_PROTO);
    ASSERT_CONTAINS(err.msg, "telnet subnegotiation of over 1024 bytes");
    ASSERT_CONTAINS(err.msg, "is it an RFC 2217 server?");
    ASSERT_CONTAINS(err.hint, "ser2net");
    ASSERT_MSG(t1 - t0 < 2000, "the error took %lld ms", (long long)(t1 - t0));
    /* The stream lost its framing: the port stays failed, with the reason. */
    ASSERT_EQ_INT(n2, FL_ERR_PROTO);
    ASSERT_STREQ(again.msg, err.msg);
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    long kb = -1;
    char line[256];
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1) {
            break;
        }
    }
    if (f != NULL) {
        fclose(f);
    }
    return kb;
}

TEST(flood_during_negotiation_is_a_clear_error_in_bounded_memory)
{
    struct hostile h;
    ASSERT(hostile_start(&h, "flood"));
    int pipefd[2];
    ASSERT(pipe(pipefd) == 0);
    long before_kb = rss_kb();
    int64_t t0 = now_ms();
    pid_t pid = fork();
    if (pid == 0) {
        /* The child's peak RSS is the measure: it opens the port and exits. */
        close(pipefd[0]);
        struct fl_port *port = NULL;
        struct fl_error err = {0};
        int rc = fl_port_open(h.url, 115200, &port, &err);
        fl_port_close(port);
        ssize_t w = write(pipefd[1], err.msg, strlen(err.msg));
        (void)w;
        _exit(rc == FL_OK ? 0 : -rc);
    }
    close(pipefd[1]);
    char msg[512] = {0};
    size_t got = 0;
    ssize_t r;
    while (got < sizeof msg - 1 && (r = read(pipefd[0], msg + got, sizeof msg - 1 - got)) > 0) {
        got += (size_t)r;
    }
    close(pipefd[0]);
    int status = 0;
    struct rusage ru = {0};
    pid_t waited = wait4(pid, &status, 0, &ru);
    int64_t elapsed = now_ms() - t0;
    hostile_stop(&h);
    ASSERT(pid > 0 && waited == pid && WIFEXITED(status));
    ASSERT_EQ_INT(WEXITSTATUS(status), -FL_ERR_PROTO);
    ASSERT_CONTAINS(msg, "sent over 1048576 bytes of serial data while we waited for its answer "
                         "to the option negotiation: is it an RFC 2217 server?");
    /* Well before the negotiation's own 3 s timeout... */
    ASSERT_MSG(elapsed < 2500, "the error took %lld ms", (long long)elapsed);
    /* ...and with the receive buffer capped at 1 MiB (it grew by hundreds
     * of MB in those 3 s without the cap). */
    ASSERT_MSG(before_kb > 0 && ru.ru_maxrss - before_kb < 24 * 1024,
               "peak RSS grew by %ld kB (from %ld kB)", ru.ru_maxrss - before_kb, before_kb);
}

TEST_MAIN(RUN(nop_stream_reads_end_at_their_deadline); RUN(endless_subnegotiation_is_a_clear_error);
          RUN(flood_during_negotiation_is_a_clear_error_in_bounded_memory);)
