/*
 * The rfc2217:// port against a small scripted RFC 2217 server (a thread in
 * this program) for what ser2net cannot be made to do on demand: answers cut
 * into single bytes, option requests to refuse, notifications between data,
 * a purge with stale bytes before its answer, refusals and wrong answers.
 * The server decodes the client with its own parser, not the flasher's.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "flasher/flasher.h"
#include "test.h"

enum { IAC = 255, DONT = 254, DO = 253, WONT = 252, WILL = 251, SB = 250, SE = 240 };
enum { OPT_BINARY = 0, OPT_ECHO = 1, OPT_SGA = 3, OPT_COMPORT = 44 };

struct srv {
    /* script */
    bool byte_by_byte;    /* every byte in its own send() */
    bool greet_strangers; /* ask for ECHO and unknown options, send a long signature */
    bool refuse_comport;
    bool refuse_binary;
    bool echo_with_notes; /* echo data back between NOTIFY subnegotiations */
    uint32_t max_baud;    /* answer min(asked, max_baud) when non-zero */
    int close_on_baud;    /* hang up on the Nth SET-BAUDRATE */
    /* what the client sent */
    uint8_t refusals[32][2];
    int n_refusals;
    uint8_t controls[64];
    int n_controls;
    uint8_t settings[16]; /* last value per command (data size, parity, stop size) */
    uint32_t bauds[8];
    int n_bauds;
    uint8_t data[8192];
    size_t n_data;
    uint8_t raw[16384];
    size_t n_raw;
    /* plumbing */
    int listen_fd, fd, port;
    pthread_t thread;
    char url[64];
    int state;
    uint8_t verb, sb[64];
    size_t sb_len;
    bool hung_up;
};

static void srv_send(struct srv *s, const uint8_t *buf, size_t len)
{
    if (s->hung_up) {
        return;
    }
    size_t step = s->byte_by_byte ? 1 : len;
    for (size_t off = 0; off < len; off += step) {
        size_t n = len - off < step ? len - off : step;
        if (send(s->fd, buf + off, n, MSG_NOSIGNAL) != (ssize_t)n) {
            return;
        }
        if (s->byte_by_byte) {
            struct timespec ts = {0, 200000};
            nanosleep(&ts, NULL);
        }
    }
}

static void srv_opt(struct srv *s, uint8_t verb, uint8_t opt)
{
    uint8_t msg[3] = {IAC, verb, opt};
    srv_send(s, msg, 3);
}

static void srv_sb(struct srv *s, uint8_t cmd, const uint8_t *val, size_t len)
{
    uint8_t msg[96];
    size_t n = 0;
    msg[n++] = IAC;
    msg[n++] = SB;
    msg[n++] = OPT_COMPORT;
    msg[n++] = cmd;
    for (size_t i = 0; i < len; i++) {
        msg[n++] = val[i];
        if (val[i] == IAC) {
            msg[n++] = IAC;
        }
    }
    msg[n++] = IAC;
    msg[n++] = SE;
    srv_send(s, msg, n);
}

static void srv_data(struct srv *s, const uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        uint8_t two[2] = {buf[i], IAC};
        srv_send(s, two, buf[i] == IAC ? 2 : 1);
    }
}

static void on_option(struct srv *s, uint8_t verb, uint8_t opt)
{
    if (verb == WONT || verb == DONT) {
        if (s->n_refusals < 32) {
            s->refusals[s->n_refusals][0] = verb;
            s->refusals[s->n_refusals][1] = opt;
            s->n_refusals++;
        }
        return;
    }
    bool refuse = (opt == OPT_COMPORT && s->refuse_comport) ||
                  (opt == OPT_BINARY && s->refuse_binary) ||
                  (opt != OPT_COMPORT && opt != OPT_BINARY && opt != OPT_SGA);
    if (verb == WILL) {
        srv_opt(s, refuse ? DONT : DO, opt);
    } else {
        srv_opt(s, refuse ? WONT : WILL, opt);
    }
}

static void on_sub(struct srv *s)
{
    if (s->sb_len < 2 || s->sb[0] != OPT_COMPORT) {
        return;
    }
    uint8_t cmd = s->sb[1];
    const uint8_t *val = s->sb + 2;
    size_t vlen = s->sb_len - 2;
    if (cmd == 1 && vlen == 4) {
        uint32_t baud =
            (uint32_t)val[0] << 24 | (uint32_t)val[1] << 16 | (uint32_t)val[2] << 8 | val[3];
        if (s->n_bauds < 8) {
            s->bauds[s->n_bauds++] = baud;
        }
        if (s->close_on_baud && s->n_bauds == s->close_on_baud) {
            shutdown(s->fd, SHUT_RDWR);
            s->hung_up = true;
            return;
        }
        if (s->max_baud && baud > s->max_baud) {
            baud = s->max_baud;
        }
        uint8_t be[4] = {(uint8_t)(baud >> 24), (uint8_t)(baud >> 16), (uint8_t)(baud >> 8),
                         (uint8_t)baud};
        srv_sb(s, 101, be, 4);
        return;
    }
    if (cmd == 5 && vlen == 1 && s->n_controls < 64) {
        s->controls[s->n_controls++] = val[0];
    } else if (cmd < 16 && vlen == 1) {
        s->settings[cmd] = val[0];
    }
    if (cmd == 12) {
        /* Bytes the device produced before the purge reached it... */
        srv_data(s, (const uint8_t *)"STALE", 5);
        srv_sb(s, 112, val, vlen);
        /* ...and after. */
        srv_data(s, (const uint8_t *)"FRESH", 5);
        return;
    }
    srv_sb(s, (uint8_t)(cmd + 100), val, vlen);
}

static void on_data(struct srv *s, const uint8_t *buf, size_t len)
{
    if (s->n_data + len <= sizeof s->data) {
        memcpy(s->data + s->n_data, buf, len);
        s->n_data += len;
    }
    if (s->echo_with_notes) {
        static const uint8_t modem[] = {0xFF}; /* every modem bit: an escaped value */
        static const uint8_t line[] = {0x60};
        srv_sb(s, 107, modem, 1);
        srv_data(s, buf, len);
        srv_sb(s, 106, line, 1);
    }
}

/* The server's own decoder for what the client sends. */
static void srv_feed(struct srv *s, const uint8_t *buf, size_t len)
{
    if (s->n_raw + len <= sizeof s->raw) {
        memcpy(s->raw + s->n_raw, buf, len);
        s->n_raw += len;
    }
    for (size_t i = 0; i < len; i++) {
        uint8_t c = buf[i];
        switch (s->state) {
        case 0:
            if (c == IAC) {
                s->state = 1;
            } else {
                on_data(s, &c, 1);
            }
            break;
        case 1:
            if (c == IAC) {
                on_data(s, &c, 1);
                s->state = 0;
            } else if (c == SB) {
                s->sb_len = 0;
                s->state = 3;
            } else if (c >= WILL) {
                s->verb = c;
                s->state = 2;
            } else {
                s->state = 0;
            }
            break;
        case 2:
            on_option(s, s->verb, c);
            s->state = 0;
            break;
        case 3:
            if (c == IAC) {
                s->state = 4;
            } else if (s->sb_len < sizeof s->sb) {
                s->sb[s->sb_len++] = c;
            }
            break;
        case 4:
            if (c == SE) {
                on_sub(s);
                s->state = 0;
            } else {
                if (s->sb_len < sizeof s->sb) {
                    s->sb[s->sb_len++] = c;
                }
                s->state = 3;
            }
            break;
        }
    }
}

static void *srv_main(void *arg)
{
    struct srv *s = arg;
    s->fd = accept(s->listen_fd, NULL, NULL);
    if (s->fd < 0) {
        return NULL;
    }
    int one = 1;
    setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (s->greet_strangers) {
        srv_opt(s, DO, OPT_ECHO);
        srv_opt(s, WILL, OPT_ECHO);
        srv_opt(s, DO, 99);
        srv_opt(s, WILL, 200);
        uint8_t sig[150];
        memset(sig, 'x', sizeof sig);
        sig[10] = IAC;
        srv_sb(s, 100, sig, 60); /* a signature, with an escaped IAC in it */
    }
    uint8_t buf[4096];
    for (;;) {
        ssize_t n = recv(s->fd, buf, sizeof buf, 0);
        if (n <= 0) {
            break;
        }
        srv_feed(s, buf, (size_t)n);
    }
    close(s->fd);
    return NULL;
}

static bool srv_start(struct srv *s)
{
    s->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (s->listen_fd < 0 || bind(s->listen_fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(s->listen_fd, 1) != 0 ||
        getsockname(s->listen_fd, (struct sockaddr *)&a, &len) != 0) {
        return false;
    }
    s->port = ntohs(a.sin_port);
    snprintf(s->url, sizeof s->url, "rfc2217://127.0.0.1:%d", s->port);
    return pthread_create(&s->thread, NULL, srv_main, s) == 0;
}

/* After the client closed: the server thread sees EOF and ends. */
static void srv_join(struct srv *s)
{
    pthread_join(s->thread, NULL);
    close(s->listen_fd);
}

static bool refused(const struct srv *s, uint8_t verb, uint8_t opt)
{
    for (int i = 0; i < s->n_refusals; i++) {
        if (s->refusals[i][0] == verb && s->refusals[i][1] == opt) {
            return true;
        }
    }
    return false;
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

TEST(bad_addresses_are_usage_errors)
{
    static const char *const bad[] = {
        "rfc2217://localhost", "rfc2217://:4000", "rfc2217://host:0",   "rfc2217://host:65536",
        "rfc2217://host:12ab", "rfc2217://[::1",  "rfc2217://::1:4000", "rfc2217://host:-5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct fl_port *port = NULL;
        struct fl_error err = {0};
        int rc = fl_port_open(bad[i], 115200, &port, &err);
        ASSERT_MSG(rc == FL_ERR_INVALID && port == NULL, "%s: %d %s", bad[i], rc, err.msg);
        ASSERT_CONTAINS(err.hint, "rfc2217://HOST:PORT");
    }
}

TEST(refused_connection_names_the_server)
{
    struct srv s = {0};
    ASSERT(srv_start(&s));
    /* A port nobody listens on: the server's, once it is closed. */
    shutdown(s.listen_fd, SHUT_RDWR);
    pthread_join(s.thread, NULL);
    close(s.listen_fd);
    struct fl_port *port = NULL;
    struct fl_error err = {0};
    int rc = fl_port_open(s.url, 115200, &port, &err);
    ASSERT_EQ_INT(rc, FL_ERR_NOT_FOUND);
    ASSERT_CONTAINS(err.msg, "connection refused");
    ASSERT_CONTAINS(err.hint, "ser2net");
}

TEST(unknown_host_is_not_found)
{
    struct fl_port *port = NULL;
    struct fl_error err = {0};
    int rc = fl_port_open("rfc2217://no-such-board.invalid:4000", 115200, &port, &err);
    ASSERT_EQ_INT(rc, FL_ERR_NOT_FOUND);
    ASSERT_CONTAINS(err.msg, "unknown host 'no-such-board.invalid'");
}

TEST(negotiation_survives_single_byte_answers_and_strangers)
{
    struct srv s = {.byte_by_byte = true, .greet_strangers = true};
    ASSERT(srv_start(&s));
    struct fl_port *port = NULL;
    struct fl_error err = {0};
    int rc = fl_port_open(s.url, 74880, &port, &err);
    uint32_t baud = port ? port->baud : 0;
    fl_port_close(port);
    srv_join(&s);
    ASSERT_MSG(rc == FL_OK, "open: %d %s", rc, err.msg);
    ASSERT_EQ_INT(baud, 74880);
    ASSERT_EQ_INT(s.n_bauds, 1);
    ASSERT_EQ_INT(s.bauds[0], 74880);
    ASSERT_EQ_INT(s.settings[2], 8); /* data size */
    ASSERT_EQ_INT(s.settings[3], 1); /* no parity */
    ASSERT_EQ_INT(s.settings[4], 1); /* 1 stop bit */
    ASSERT_EQ_INT(s.n_controls, 1);
    ASSERT_EQ_INT(s.controls[0], 1); /* no flow control */
    EXPECT(refused(&s, WONT, OPT_ECHO));
    EXPECT(refused(&s, DONT, OPT_ECHO));
    EXPECT(refused(&s, WONT, 99));
    EXPECT(refused(&s, DONT, 200));
    ASSERT_EQ_INT(s.n_refusals, 4);
}

TEST(data_is_escaped_and_survives_notifications)
{
    struct srv s = {.echo_with_notes = true};
    ASSERT(srv_start(&s));
    struct fl_port *port = NULL;
    struct fl_error err = {0};
    ASSERT_MSG(fl_port_open(s.url, 115200, &port, &err) == FL_OK, "open: %s", err.msg);
    uint8_t pattern[1024];
    for (size_t i = 0; i < sizeof pattern; i++) {
        pattern[i] = i % 3 == 0 ? 0xFF : (uint8_t)(i * 7);
    }
    int wrc = port->ops->write(port, pattern, sizeof pattern, &err);
    uint8_t back[sizeof pattern];
    size_t n = read_port(port, back, sizeof back, &err);
    fl_port_close(port);
    srv_join(&s);
    ASSERT_EQ_INT(wrc, FL_OK);
    ASSERT_EQ_INT(s.n_data, sizeof pattern);
    ASSERT_MEMEQ(s.data, pattern, sizeof pattern);
    ASSERT_MSG(n == sizeof pattern, "read back %zu bytes: %s", n, err.msg);
    ASSERT_MEMEQ(back, pattern, sizeof pattern);
    /* On the wire, the data's first 0xFF went out doubled. */
    static const uint8_t doubled[] = {0xFF, 0xFF, 0x07, 0x0E, 0xFF, 0xFF};
    ASSERT(memmem(s.raw, s.n_raw, doubled, sizeof doubled) != NULL);
}

TEST(lines_go_dtr_first_and_are_confirmed)
{
    struct srv s = {0};
    ASSERT(srv_start(&s));
    struct fl_port *port = NULL;
    struct fl_error err = {0};
    ASSERT_MSG(fl_port_open(s.url, 115200, &port, &err) == FL_OK, "open: %s", err.msg);
    int rc1 = port->ops->set_lines(port, true, false, &err);
    int rc2 = port->ops->set_lines(port, false, true, &err);
    int rc3 = port->ops->set_lines(port, false, false, &err);
    bool lines = port->has_lines;
    fl_port_close(port);
    srv_join(&s);
    ASSERT_MSG(rc1 == FL_OK && rc2 == FL_OK && rc3 == FL_OK, "set_lines: %s", err.msg);
    EXPECT(lines);
    static const uint8_t want[] = {1, 8, 12, 9, 11, 9, 12};
    ASSERT_EQ_INT(s.n_controls, sizeof want);
    ASSERT_MEMEQ(s.controls, want, sizeof want);
}

TEST(purge_drops_only_what_came_before_the_answer)
{
    struct srv s = {0};
    ASSERT(srv_start(&s));
    struct fl_port *port = NULL;
    struct fl_error err = {0};
    ASSERT_MSG(fl_port_open(s.url, 115200, &port, &err) == FL_OK, "open: %s", err.msg);
    int rc = port->ops->flush_input(port, &err);
    uint8_t got[16] = {0};
    size_t n = read_port(port, got, 5, &err);
    int extra = port->ops->read(port, got + n, sizeof got - n, 100, &err);
    fl_port_close(port);
    srv_join(&s);
    ASSERT_MSG(rc == FL_OK, "flush: %s", err.msg);
    ASSERT_EQ_INT(n, 5);
    ASSERT_MEMEQ(got, "FRESH", 5);
    ASSERT_EQ_INT(extra, 0);
}

TEST(server_refusing_comport_is_not_rfc2217)
{
    struct srv s = {.refuse_comport = true};
    ASSERT(srv_start(&s));
    struct fl_port *port = NULL;
    struct fl_error err = {0};
    int rc = fl_port_open(s.url, 115200, &port, &err);
    srv_join(&s);
    ASSERT_EQ_INT(rc, FL_ERR_UNSUPPORTED);
    ASSERT(port == NULL);
    ASSERT_CONTAINS(err.msg, "does not speak RFC 2217");
}

TEST(server_refusing_binary_is_refused)
{
    struct srv s = {.refuse_binary = true};
    ASSERT(srv_start(&s));
    struct fl_port *port = NULL;
    struct fl_error err = {0};
    int rc = fl_port_open(s.url, 115200, &port, &err);
    srv_join(&s);
    ASSERT_EQ_INT(rc, FL_ERR_UNSUPPORTED);
    ASSERT_CONTAINS(err.msg, "BINARY");
}

TEST(rate_the_server_cannot_do_is_an_error)
{
    struct srv s = {.max_baud = 921600};
    ASSERT(srv_start(&s));
    struct fl_port *port = NULL;
    struct fl_error err = {0};
    ASSERT_MSG(fl_port_open(s.url, 115200, &port, &err) == FL_OK, "open: %s", err.msg);
    int rc = port->ops->set_baud(port, 2000000, &err);
    uint32_t baud = port->baud;
    fl_port_close(port);
    srv_join(&s);
    ASSERT_EQ_INT(rc, FL_ERR_UNSUPPORTED);
    ASSERT_CONTAINS(err.msg, "asked for 2000000 baud, the server set 921600");
    ASSERT_EQ_INT(baud, 115200);
}

TEST(hangup_while_waiting_for_an_answer)
{
    struct srv s = {.close_on_baud = 2};
    ASSERT(srv_start(&s));
    struct fl_port *port = NULL;
    struct fl_error err = {0};
    ASSERT_MSG(fl_port_open(s.url, 115200, &port, &err) == FL_OK, "open: %s", err.msg);
    int rc = port->ops->set_baud(port, 460800, &err);
    fl_port_close(port);
    srv_join(&s);
    ASSERT_EQ_INT(rc, FL_ERR_IO);
    ASSERT_CONTAINS(err.msg, "closed the connection");
}

TEST_MAIN(RUN(bad_addresses_are_usage_errors); RUN(refused_connection_names_the_server);
          RUN(unknown_host_is_not_found);
          RUN(negotiation_survives_single_byte_answers_and_strangers);
          RUN(data_is_escaped_and_survives_notifications);
          RUN(lines_go_dtr_first_and_are_confirmed);
          RUN(purge_drops_only_what_came_before_the_answer);
          RUN(server_refusing_comport_is_not_rfc2217); RUN(server_refusing_binary_is_refused);
          RUN(rate_the_server_cannot_do_is_an_error); RUN(hangup_while_waiting_for_an_answer);)
