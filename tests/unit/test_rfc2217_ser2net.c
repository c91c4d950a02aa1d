/*
 * The rfc2217:// port against a server nobody here wrote: Debian's ser2net,
 * started per test on 127.0.0.1 with a pseudo-terminal as its serial device.
 * The test holds the pty's master side, so it sees exactly what reached the
 * "device" (bytes and termios line rate).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "flasher/flasher.h"
#include "test.h"

struct server {
    pid_t pid;
    int master;
    int slave; /* kept open: tcgetattr, and no hangup when ser2net closes it */
    int port;
    char url[64];
};

static int free_tcp_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* accepter: "telnet(rfc2217)", "telnet" or "" (raw TCP). */
static bool server_start(struct server *s, const char *accepter)
{
    memset(s, 0, sizeof *s);
    s->pid = -1;
    s->master = posix_openpt(O_RDWR | O_NOCTTY);
    if (s->master < 0 || grantpt(s->master) != 0 || unlockpt(s->master) != 0) {
        return false;
    }
    struct termios tio;
    tcgetattr(s->master, &tio);
    cfmakeraw(&tio);
    tcsetattr(s->master, TCSANOW, &tio);
    const char *slave = ptsname(s->master);
    s->slave = open(slave, O_RDWR | O_NOCTTY);
    s->port = free_tcp_port();
    if (s->slave < 0 || s->port < 0) {
        return false;
    }
    char yaml[512];
    snprintf(yaml, sizeof yaml,
             "connection: &espprov\n  accepter: %s%stcp,127.0.0.1,%d\n"
             "  connector: serialdev,%s,115200n81,local\n",
             accepter, accepter[0] ? "," : "", s->port, slave);
    snprintf(s->url, sizeof s->url, "rfc2217://127.0.0.1:%d", s->port);
    s->pid = fork();
    if (s->pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 1);
        dup2(null, 2);
        execlp("ser2net", "ser2net", "-n", "-u", "-Y", yaml, (char *)NULL);
        _exit(127);
    }
    return s->pid > 0;
}

static void server_stop(struct server *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
        s->pid = -1;
    }
    if (s->slave > 0) {
        close(s->slave);
    }
    if (s->master > 0) {
        close(s->master);
    }
}

/* Opens the port, retrying while ser2net is still starting (refused). */
static int open_when_ready(struct server *s, struct fl_port **port, struct fl_error *err)
{
    int rc = FL_ERR_NOT_FOUND;
    for (int i = 0; i < 500 && rc == FL_ERR_NOT_FOUND; i++) {
        rc = fl_port_open(s->url, 115200, port, err);
        if (rc == FL_ERR_NOT_FOUND) {
            sleep_ms(20);
        }
    }
    return rc;
}

static size_t read_master(struct server *s, uint8_t *buf, size_t want)
{
    size_t got = 0;
    while (got < want) {
        struct pollfd pfd = {.fd = s->master, .events = POLLIN};
        if (poll(&pfd, 1, 10000) <= 0) {
            break;
        }
        ssize_t n = read(s->master, buf + got, want - got);
        if (n <= 0) {
            break;
        }
        got += (size_t)n;
    }
    return got;
}

static size_t read_port(struct fl_port *port, uint8_t *buf, size_t want, struct fl_error *err)
{
    size_t got = 0;
    while (got < want) {
        int n = port->ops->read(port, buf + got, want - got, 10000, err);
        if (n <= 0) {
            break;
        }
        got += (size_t)n;
    }
    return got;
}

static void write_master(struct server *s, const uint8_t *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(s->master, buf, len);
        if (n <= 0) {
            return;
        }
        buf += n;
        len -= (size_t)n;
    }
}

/* Every byte value, then long runs of the two bytes that need escaping
 * somewhere (0xFF for telnet, 0xC0 for SLIP). */
static size_t fill_pattern(uint8_t *buf)
{
    size_t n = 0;
    for (int i = 0; i < 256; i++) {
        buf[n++] = (uint8_t)i;
    }
    for (int i = 0; i < 700; i++) {
        buf[n++] = 0xFF;
    }
    for (int i = 0; i < 700; i++) {
        buf[n++] = 0xC0;
    }
    for (int i = 0; i < 300; i++) {
        buf[n++] = (uint8_t)(i & 1 ? 0xFF : 0x0D);
    }
    return n;
}

static speed_t device_speed(struct server *s)
{
    struct termios tio;
    tcgetattr(s->slave, &tio);
    return cfgetospeed(&tio);
}

TEST(opens_and_sets_the_line)
{
    struct server s;
    ASSERT(server_start(&s, "telnet(rfc2217)"));
    struct fl_port *port = NULL;
    struct fl_error err = {0};
    int rc = open_when_ready(&s, &port, &err);
    ASSERT_MSG(rc == FL_OK, "open: %d %s", rc, err.msg);
    EXPECT(strcmp(port->name, s.url) == 0);
    EXPECT(port->baud == 115200);
    EXPECT(port->usb_vid == 0);
    speed_t speed = device_speed(&s);
    fl_port_close(port);
    server_stop(&s);
    ASSERT_EQ_INT(speed, B115200);
}

TEST(bytes_travel_both_ways_intact)
{
    struct server s;
    ASSERT(server_start(&s, "telnet(rfc2217)"));
    struct fl_port *port = NULL;
    struct fl_error err = {0};
    ASSERT_MSG(open_when_ready(&s, &port, &err) == FL_OK, "open: %s", err.msg);
    static uint8_t pattern[4096], got[4096];
    size_t n = fill_pattern(pattern);
    int rc = port->ops->write(port, pattern, n, &err);
    size_t at_device = rc == FL_OK ? read_master(&s, got, n) : 0;
    bool down_ok = at_device == n && memcmp(got, pattern, n) == 0;
    write_master(&s, pattern, n);
    memset(got, 0, sizeof got);
    size_t at_host = read_port(port, got, n, &err);
    bool up_ok = at_host == n && memcmp(got, pattern, n) == 0;
    fl_port_close(port);
    server_stop(&s);
    ASSERT_MSG(down_ok, "host->device: write rc %d, %zu of %zu bytes, equal=%d", rc, at_device, n,
               at_device == n && memcmp(got, pattern, n) == 0);
    ASSERT_MSG(up_ok, "device->host: %zu of %zu bytes (%s)", at_host, n, err.msg);
}

TEST(baud_changes_reach_the_device)
{
    struct server s;
    ASSERT(server_start(&s, "telnet(rfc2217)"));
    struct fl_port *port = NULL;
    struct fl_error err = {0};
    ASSERT_MSG(open_when_ready(&s, &port, &err) == FL_OK, "open: %s", err.msg);
    int rc1 = port->ops->set_baud(port, 921600, &err);
    speed_t s1 = device_speed(&s);
    uint32_t b1 = port->baud;
    int rc2 = port->ops->set_baud(port, 230400, &err);
    speed_t s2 = device_speed(&s);
    fl_port_close(port);
    server_stop(&s);
    ASSERT_MSG(rc1 == FL_OK && rc2 == FL_OK, "set_baud: %d %d %s", rc1, rc2, err.msg);
    ASSERT_EQ_INT(s1, B921600);
    ASSERT_EQ_INT(b1, 921600);
    ASSERT_EQ_INT(s2, B230400);
}

/* ser2net on a pty: TIOCMSET fails, so it never confirms a line change.
 * That must read as "no modem lines", and leave the stream usable. */
TEST(lines_on_a_pty_server_report_no_lines_and_keep_the_stream)
{
    struct server s;
    ASSERT(server_start(&s, "telnet(rfc2217)"));
    struct fl_port *port = NULL;
    struct fl_error err = {0};
    ASSERT_MSG(open_when_ready(&s, &port, &err) == FL_OK, "open: %s", err.msg);
    int rc = port->ops->set_lines(port, true, false, &err);
    bool lines = port->has_lines;
    static const uint8_t msg[] = {0xC0, 0x00, 0x08, 0xFF, 0xFF, 0xC0};
    uint8_t got[sizeof msg] = {0};
    struct fl_error err2 = {0};
    int wrc = port->ops->write(port, msg, sizeof msg, &err2);
    size_t down = read_master(&s, got, sizeof msg);
    write_master(&s, msg, sizeof msg);
    uint8_t back[sizeof msg] = {0};
    size_t up = read_port(port, back, sizeof msg, &err2);
    fl_port_close(port);
    server_stop(&s);
    ASSERT_MSG(rc == FL_ERR_NO_LINES, "set_lines: %d %s", rc, err.msg);
    ASSERT_CONTAINS(err.msg, "DTR/RTS");
    EXPECT(err.hint[0] != '\0');
    EXPECT(!lines);
    ASSERT_EQ_INT(wrc, FL_OK);
    ASSERT_EQ_INT(down, sizeof msg);
    ASSERT_MEMEQ(got, msg, sizeof msg);
    ASSERT_EQ_INT(up, sizeof msg);
    ASSERT_MEMEQ(back, msg, sizeof msg);
}

TEST(flush_input_drops_stale_bytes_only)
{
    struct server s;
    ASSERT(server_start(&s, "telnet(rfc2217)"));
    struct fl_port *port = NULL;
    struct fl_error err = {0};
    ASSERT_MSG(open_when_ready(&s, &port, &err) == FL_OK, "open: %s", err.msg);
    /* One write on the pty travels as one piece (ser2net read, one TCP
     * segment): once its first byte is here, the rest waits in the port. */
    write_master(&s, (const uint8_t *)"STALE-BOOT-LOG", 14);
    uint8_t first = 0;
    size_t one = read_port(port, &first, 1, &err);
    int rc = port->ops->flush_input(port, &err);
    write_master(&s, (const uint8_t *)"FRESH", 5);
    uint8_t got[32] = {0};
    size_t n = read_port(port, got, 5, &err);
    int extra = port->ops->read(port, got + n, sizeof got - n, 200, &err);
    fl_port_close(port);
    server_stop(&s);
    ASSERT_MSG(one == 1 && first == 'S', "first stale byte: %zu 0x%02x", one, first);
    ASSERT_MSG(rc == FL_OK, "flush: %s", err.msg);
    ASSERT_EQ_INT(n, 5);
    ASSERT_MEMEQ(got, "FRESH", 5);
    ASSERT_EQ_INT(extra, 0);
}

TEST(server_dying_mid_stream_is_a_clean_error)
{
    struct server s;
    ASSERT(server_start(&s, "telnet(rfc2217)"));
    struct fl_port *port = NULL;
    struct fl_error err = {0};
    ASSERT_MSG(open_when_ready(&s, &port, &err) == FL_OK, "open: %s", err.msg);
    write_master(&s, (const uint8_t *)"partial", 7);
    uint8_t got[7];
    size_t n = read_port(port, got, 7, &err);
    kill(s.pid, SIGKILL);
    waitpid(s.pid, NULL, 0);
    s.pid = -1;
    uint8_t buf[16];
    int rc = port->ops->read(port, buf, sizeof buf, 5000, &err);
    struct fl_error err2 = {0};
    int wrc = FL_OK;
    for (int i = 0; i < 100 && wrc == FL_OK; i++) {
        wrc = port->ops->write(port, (const uint8_t *)"more", 4, &err2);
    }
    fl_port_close(port);
    server_stop(&s);
    ASSERT_EQ_INT(n, 7);
    ASSERT_MSG(rc == FL_ERR_IO, "read after death: %d %s", rc, err.msg);
    ASSERT_CONTAINS(err.msg, "rfc2217://127.0.0.1:");
    EXPECT(err.hint[0] != '\0');
    ASSERT_MSG(wrc == FL_ERR_IO, "write after death: %d %s", wrc, err2.msg);
}

TEST(plain_telnet_server_is_not_rfc2217)
{
    struct server s;
    ASSERT(server_start(&s, "telnet"));
    struct fl_port *port = NULL;
    struct fl_error err = {0};
    int rc = open_when_ready(&s, &port, &err);
    server_stop(&s);
    ASSERT(port == NULL);
    ASSERT_MSG(rc == FL_ERR_UNSUPPORTED || rc == FL_ERR_PROTO, "rc %d %s", rc, err.msg);
    ASSERT_CONTAINS(err.msg, "RFC 2217");
    ASSERT_CONTAINS(err.hint, "telnet(rfc2217)");
}

TEST(raw_tcp_server_is_not_rfc2217)
{
    struct server s;
    ASSERT(server_start(&s, ""));
    struct fl_port *port = NULL;
    struct fl_error err = {0};
    int rc = open_when_ready(&s, &port, &err);
    server_stop(&s);
    ASSERT(port == NULL);
    ASSERT_MSG(rc == FL_ERR_PROTO, "rc %d %s", rc, err.msg);
    ASSERT_CONTAINS(err.msg, "no answer");
    ASSERT_CONTAINS(err.hint, "raw TCP");
}

TEST_MAIN(RUN(opens_and_sets_the_line); RUN(bytes_travel_both_ways_intact);
          RUN(baud_changes_reach_the_device);
          RUN(lines_on_a_pty_server_report_no_lines_and_keep_the_stream);
          RUN(flush_input_drops_stale_bytes_only); RUN(server_dying_mid_stream_is_a_clean_error);
          RUN(plain_telnet_server_is_not_rfc2217); RUN(raw_tcp_server_is_not_rfc2217);)
