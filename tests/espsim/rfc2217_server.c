/*
 * RFC 2217 (telnet COM-PORT-OPTION) on 127.0.0.1: one client at a time, as
 * one serial adapter. SET-BAUDRATE sets this side's line rate; SET-CONTROL
 * DTR/RTS drive the board's EN and IO0 (board.c). Options follow RFC 1143's
 * rule of never answering a request that does not change a state, so
 * negotiation cannot loop.
 *
 * --hostile turns it into a server a client must survive: one that streams
 * telnet commands and no data, one that opens a subnegotiation and never
 * closes it, one that floods data instead of negotiating. The stream is
 * topped up whenever the socket takes more, as fast as the client reads.
 */
#include "sim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { SE = 240, NOP = 241, SB = 250, WILL = 251, WONT = 252, DO = 253, DONT = 254, IAC = 255 };
enum { OPT_BINARY = 0, OPT_SGA = 3, OPT_COM_PORT = 44 };
enum { TN_DATA, TN_IAC, TN_VERB, TN_SB, TN_SB_IAC };
enum { ST_NO = 0, ST_YES = 1, ST_WANT = 2 };
enum { CPO_SERVER = 100 }; /* server replies carry the client code + 100 */

int sim_net_open(struct sim *s, int port, char *err, size_t n)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    s->net.fd = -1;
    s->net.listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s->net.listen_fd < 0 ||
        setsockopt(s->net.listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(s->net.listen_fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(s->net.listen_fd, 4) != 0) {
        snprintf(err, n, "cannot listen on 127.0.0.1:%d: %s", port, strerror(errno));
        return -1;
    }
    socklen_t len = sizeof a;
    getsockname(s->net.listen_fd, (struct sockaddr *)&a, &len);
    s->net.port = ntohs(a.sin_port);
    return 0;
}

/* Raw bytes to the client, capped like the data path. */
static void send_raw(struct sim *s, const uint8_t *buf, size_t len)
{
    struct sim_side *sd = &s->side[SIM_SIDE_NET];
    size_t need = sd->out_len + len;
    if (need > SIM_SIDE_OUT_CAP) {
        sd->out_dropped += len;
        return;
    }
    if (need > sd->out_cap) {
        size_t ncap = sd->out_cap ? sd->out_cap : 4096;
        while (ncap < need) {
            ncap *= 2;
        }
        uint8_t *nb = realloc(sd->out, ncap);
        if (nb == NULL) {
            return;
        }
        sd->out = nb;
        sd->out_cap = ncap;
    }
    memcpy(sd->out + sd->out_len, buf, len);
    sd->out_len += len;
}

/* Telnet control bytes: appended without the data path's 0xFF doubling. */
static void send_ctl(struct sim *s, const uint8_t *buf, size_t len)
{
    /* Inside the endless subnegotiation an answer's IAC SE would end it. */
    if (s->net.hostile_on && s->opt.hostile == SIM_HOSTILE_ENDLESS_SB) {
        return;
    }
    send_raw(s, buf, len);
}

/* Starts the --hostile misbehaviour: from here on the board's serial data
 * no longer reaches the client (only the hostile stream does). */
static void hostile_start(struct sim *s, const char *what)
{
    if (s->net.hostile_on) {
        return;
    }
    s->net.hostile_on = true;
    s->side[SIM_SIDE_NET].open = false;
    sim_log(s, "rfc2217: hostile: %s", what);
}

void sim_net_hostile_tick(struct sim *s)
{
    struct sim_side *sd = &s->side[SIM_SIDE_NET];
    if (s->net.fd < 0 || !s->net.hostile_on || sd->out_len >= 16384) {
        return;
    }
    uint8_t chunk[65536];
    if (s->opt.hostile == SIM_HOSTILE_NOP_STREAM) {
        for (size_t i = 0; i < sizeof chunk; i += 2) {
            chunk[i] = IAC;
            chunk[i + 1] = NOP;
        }
    } else {
        /* Subnegotiation payload or serial data: anything but IAC and SLIP's END. */
        memset(chunk, 'U', sizeof chunk);
    }
    send_raw(s, chunk, sizeof chunk);
}

static void send_verb(struct sim *s, uint8_t verb, uint8_t opt)
{
    uint8_t b[3] = {IAC, verb, opt};
    send_ctl(s, b, 3);
}

/* IAC SB COM-PORT-OPTION code value... IAC SE, with 0xFF doubled inside. */
static void send_cpo(struct sim *s, uint8_t code, const uint8_t *val, size_t len)
{
    uint8_t b[32];
    size_t o = 0;
    b[o++] = IAC;
    b[o++] = SB;
    b[o++] = OPT_COM_PORT;
    b[o++] = code;
    for (size_t i = 0; i < len && o < sizeof b - 4; i++) {
        b[o++] = val[i];
        if (val[i] == IAC) {
            b[o++] = IAC;
        }
    }
    b[o++] = IAC;
    b[o++] = SE;
    send_ctl(s, b, o);
}

static bool acceptable(uint8_t opt)
{
    return opt == OPT_BINARY || opt == OPT_SGA || opt == OPT_COM_PORT;
}

void sim_net_accept(struct sim *s, int64_t now)
{
    int fd = accept4(s->net.listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
        return;
    }
    if (s->net.fd >= 0) {
        close(fd); /* one adapter, one user */
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    s->net.fd = fd;
    s->net.tn_state = TN_DATA;
    s->net.sb_len = 0;
    s->net.hostile_on = false;
    memset(s->net.us, ST_NO, sizeof s->net.us);
    memset(s->net.them, ST_NO, sizeof s->net.them);
    struct sim_side *sd = &s->side[SIM_SIDE_NET];
    sd->open = true;
    sd->baud = 115200;
    sd->out_len = 0;
    sd->rx_line_free = now;
    if (s->opt.hostile == SIM_HOSTILE_FLOOD) {
        sim_log(s, "rfc2217: client connected");
        hostile_start(s, "flooding data instead of negotiating");
        return;
    }
    static const uint8_t offer[][2] = {
        {WILL, OPT_BINARY}, {DO, OPT_BINARY}, {WILL, OPT_SGA}, {DO, OPT_SGA}, {WILL, OPT_COM_PORT}};
    for (size_t i = 0; i < sizeof offer / sizeof offer[0]; i++) {
        send_verb(s, offer[i][0], offer[i][1]);
        if (offer[i][0] == WILL) {
            s->net.us[offer[i][1]] = ST_WANT;
        } else {
            s->net.them[offer[i][1]] = ST_WANT;
        }
    }
    sim_log(s, "rfc2217: client connected");
}

static void disconnect(struct sim *s, int64_t now)
{
    close(s->net.fd);
    s->net.fd = -1;
    s->side[SIM_SIDE_NET].open = false;
    s->side[SIM_SIDE_NET].out_len = 0;
    /* Closing a port drops DTR and RTS (HUPCL): EN and IO0 float high. */
    sim_board_set_lines(s, false, false, now);
    s->board.lines_driven = false;
    sim_log(s, "rfc2217: client disconnected");
}

static void verb(struct sim *s, uint8_t v, uint8_t opt)
{
    uint8_t *st = (v == WILL || v == WONT) ? &s->net.them[opt] : &s->net.us[opt];
    bool enable = v == WILL || v == DO;
    uint8_t yes = v == WILL ? DO : WILL, no = (v == WILL || v == WONT) ? DONT : WONT;
    if (enable) {
        if (*st == ST_YES) {
            return;
        }
        if (*st == ST_WANT) {
            *st = ST_YES;
        } else if (acceptable(opt)) {
            *st = ST_YES;
            send_verb(s, yes, opt);
        } else {
            send_verb(s, no, opt);
        }
    } else if (*st != ST_NO) {
        if (*st == ST_YES) {
            send_verb(s, no, opt);
        }
        *st = ST_NO;
    }
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void set_control(struct sim *s, uint8_t v, int64_t now)
{
    struct sim_board *b = &s->board;
    uint8_t reply = v;
    bool dtr = b->dtr, rts = b->rts;
    switch (v) {
    case 0:
        reply = 1;
        break; /* outbound flow: none */
    case 4:
        reply = 6;
        break; /* BREAK: off */
    case 7:
        reply = b->dtr ? 8 : 9;
        break; /* DTR state */
    case 8:
        dtr = true;
        break;
    case 9:
        dtr = false;
        break;
    case 10:
        reply = b->rts ? 11 : 12;
        break;
    case 11:
        rts = true;
        break;
    case 12:
        rts = false;
        break;
    case 13:
        reply = 14;
        break; /* inbound flow: none */
    default:
        break;
    }
    if (dtr != b->dtr || rts != b->rts || !b->lines_driven) {
        b->lines_driven = true;
        sim_board_set_lines(s, dtr, rts, now);
    }
    send_cpo(s, CPO_SERVER + 5, &reply, 1);
}

static void subneg(struct sim *s, int64_t now)
{
    const uint8_t *sb = s->net.sb;
    size_t len = s->net.sb_len;
    if (len < 2 || sb[0] != OPT_COM_PORT) {
        return;
    }
    if (s->opt.hostile == SIM_HOSTILE_NOP_STREAM) {
        /* Answers keep coming, between NOPs; serial data never does. */
        hostile_start(s, "telnet NOPs instead of data");
    }
    uint8_t code = sb[1];
    const uint8_t *val = sb + 2;
    size_t vlen = len - 2;
    switch (code) {
    case 1: /* SET-BAUDRATE */
        if (vlen == 4) {
            uint32_t baud = be32(val);
            if (baud != 0) {
                s->side[SIM_SIDE_NET].baud = baud;
                sim_log(s, "rfc2217: baud %u", baud);
            }
            uint32_t cur = s->side[SIM_SIDE_NET].baud;
            uint8_t out[4] = {(uint8_t)(cur >> 24), (uint8_t)(cur >> 16), (uint8_t)(cur >> 8),
                              (uint8_t)cur};
            send_cpo(s, CPO_SERVER + 1, out, 4);
        }
        break;
    case 2: /* SET-DATASIZE: only 8 bits */
    case 3: /* SET-PARITY: none */
    case 4: /* SET-STOPSIZE: 1 */
        if (vlen == 1) {
            static const uint8_t current[] = {0, 0, 8, 1, 1};
            uint8_t r = current[code];
            send_cpo(s, (uint8_t)(CPO_SERVER + code), &r, 1);
        }
        break;
    case 5:
        if (vlen == 1) {
            set_control(s, val[0], now);
        }
        break;
    case 10: /* SET-LINESTATE-MASK */
    case 11: /* SET-MODEMSTATE-MASK */
        if (vlen == 1) {
            send_cpo(s, (uint8_t)(CPO_SERVER + code), val, 1);
        }
        break;
    case 12: /* PURGE-DATA: 1 = data towards the client, 2 = towards the port */
        if (vlen == 1) {
            if (val[0] == 1 || val[0] == 3) {
                s->side[SIM_SIDE_NET].out_len = 0;
            }
            send_cpo(s, CPO_SERVER + 12, val, 1);
        }
        break;
    default:
        break;
    }
}

/* Serial data from the client, towards the chip. */
static void net_rx(struct sim *s, const uint8_t *data, size_t len, int64_t now)
{
    if (len > 0 && s->opt.hostile == SIM_HOSTILE_ENDLESS_SB && !s->net.hostile_on) {
        /* The client has set everything up and talks to the board (every
         * option answered): now a subnegotiation that never ends. */
        static const uint8_t open_sb[] = {IAC, SB, OPT_COM_PORT};
        send_raw(s, open_sb, sizeof open_sb);
        hostile_start(s, "an endless subnegotiation");
    }
    sim_rx(s, SIM_SIDE_NET, data, len, now);
}

static void parse(struct sim *s, const uint8_t *buf, size_t len, int64_t now)
{
    struct sim_net *n = &s->net;
    uint8_t data[4096];
    size_t dl = 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = buf[i];
        switch (n->tn_state) {
        case TN_DATA:
            if (c == IAC) {
                n->tn_state = TN_IAC;
            } else {
                data[dl++] = c;
            }
            break;
        case TN_IAC:
            n->tn_state = TN_DATA;
            if (c == IAC) {
                data[dl++] = c;
            } else if (c >= WILL) {
                n->tn_opt = c;
                n->tn_state = TN_VERB;
            } else if (c == SB) {
                n->sb_len = 0;
                n->tn_state = TN_SB;
            }
            break;
        case TN_VERB:
            verb(s, n->tn_opt, c);
            n->tn_state = TN_DATA;
            break;
        case TN_SB:
            if (c == IAC) {
                n->tn_state = TN_SB_IAC;
            } else if (n->sb_len < sizeof n->sb) {
                n->sb[n->sb_len++] = c;
            }
            break;
        case TN_SB_IAC:
            if (c == SE) {
                /* Data before a control goes first: order matters for resets. */
                net_rx(s, data, dl, now);
                dl = 0;
                subneg(s, now);
                n->tn_state = TN_DATA;
            } else {
                if (n->sb_len < sizeof n->sb) {
                    n->sb[n->sb_len++] = c;
                }
                n->tn_state = TN_SB;
            }
            break;
        default:
            n->tn_state = TN_DATA;
        }
    }
    net_rx(s, data, dl, now);
}

void sim_net_read(struct sim *s, int64_t now)
{
    uint8_t buf[4096];
    ssize_t n = read(s->net.fd, buf, sizeof buf);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        disconnect(s, now);
        return;
    }
    if (n > 0 && s->opt.hostile != SIM_HOSTILE_FLOOD) {
        parse(s, buf, (size_t)n, now);
    }
}

void sim_net_flush(struct sim *s)
{
    struct sim_side *sd = &s->side[SIM_SIDE_NET];
    while (s->net.fd >= 0 && sd->out_len > 0) {
        ssize_t n = send(s->net.fd, sd->out, sd->out_len, MSG_NOSIGNAL);
        if (n <= 0) {
            return;
        }
        memmove(sd->out, sd->out + n, sd->out_len - (size_t)n);
        sd->out_len -= (size_t)n;
    }
}

void sim_net_close(struct sim *s)
{
    if (s->net.fd >= 0) {
        close(s->net.fd);
    }
    if (s->net.listen_fd >= 0) {
        close(s->net.listen_fd);
    }
    s->net.fd = s->net.listen_fd = -1;
}
