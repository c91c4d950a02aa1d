/* flasher-internal: pieces of the rfc2217:// port shared by its source files. */
#ifndef ESPPROV_FLASHER_RFC2217_PORT_H
#define ESPPROV_FLASHER_RFC2217_PORT_H

#include <stddef.h>
#include <stdint.h>

#include "flasher/port_priv.h"
#include "flasher/rfc2217_priv.h"

enum {
    RFC_CONNECT_TIMEOUT_MS = 5000, /* per address */
    RFC_CONNECT_ADDRS = 4,         /* addresses of a name tried at most */
    RFC_ANSWER_TIMEOUT_MS = 3000,  /* server answers to negotiation and COM-PORT commands */
    RFC_STALL_TIMEOUT_MS = 10000,  /* one write (at most 2 KiB on the wire), or a drain */
    RFC_REPLY_MAX = 1024,
    /* Serial data received and not read yet. Data piles up only while we
     * wait for an answer (3 s); even 2 Mbaud delivers 600 KB in that time. */
    RFC_RX_MAX = 1 << 20,
    /* Longest subnegotiation accepted: answers are a few bytes, a server's
     * SIGNATURE a line of text. */
    RFC_SB_MAX = 1024,
};

/* The time and size limits of one connection (the fuzz target shrinks them). */
struct rfc_limits {
    int answer_ms; /* the option negotiation, and each COM-PORT answer */
    int stall_ms;  /* one write, and a drain */
    size_t rx_max;
    size_t sb_max;
};
extern const struct rfc_limits rfc_default_limits;

/* RFC 1143 option states, per option and side. */
enum rfc_q_state { Q_NO, Q_WANT_YES, Q_YES };

struct rfc_port {
    struct fl_port base;
    int fd;
    struct rfc_limits lim;
    struct tn_decoder dec;
    uint8_t local[256];  /* enum rfc_q_state of options we perform (WILL) */
    uint8_t remote[256]; /* enum rfc_q_state of options the server performs (DO) */
    bool comport_refused;
    unsigned answers[CPO_PURGE_DATA + 1]; /* server answers seen, per command */
    uint32_t baud_answer;
    bool purging;
    bool purge_answered;
    size_t keep_from;
    uint8_t *rx; /* decoded data not yet read: rx[rx_off, rx_off + rx_len) */
    size_t rx_off, rx_len, rx_cap;
    uint8_t reply[RFC_REPLY_MAX]; /* option answers waiting for a safe point */
    size_t reply_len;
    const char *waiting_for; /* what the current wait is for, for errors */
    bool sb_too_long;        /* a subnegotiation longer than lim.sb_max ended */
    bool dead;
    int dead_errno;
    struct fl_error fatal; /* why the port is dead when the server broke the protocol */
};

/* --- the byte stream (rfc2217_stream.c) ---
 *
 * Every wait has one deadline on the monotonic clock, fixed when it starts:
 * whatever the server sends meanwhile (data nobody asked for, telnet
 * commands, subnegotiations) is decoded and stored but never extends it. */
extern const char rfc_dead_hint[];
int64_t rfc_mono_ms(void);
/* The error of a dead port: the connection lost or closed, or the protocol
 * violation that ended it. */
int rfc_conn_error(struct rfc_port *p, struct fl_error *err);
/* Waits until `deadline` for bytes from the server and decodes one batch
 * (data to rx, answers counted, option requests answered into reply).
 * Returns 1 when something arrived, 0 when nothing did, or a negative error
 * (a buffer limit passed: the port is dead from then on). */
int rfc_pump(struct rfc_port *p, int64_t deadline, struct fl_error *err);
/* Pumps until ready(p) holds or `deadline` passes; at least one batch is
 * read even when the deadline has passed already. `what` names the wait in
 * errors ("its answer to the baud rate change"). Returns 1 when ready, 0 at
 * the deadline, or a negative error. */
int rfc_wait(struct rfc_port *p, int64_t deadline, const char *what,
             bool (*ready)(const struct rfc_port *p, void *arg), void *arg, struct fl_error *err);
/* Sends buf (already telnet-encoded) after the queued option answers, all
 * within lim.stall_ms. Call only between whole writes. */
int rfc_send_commands(struct rfc_port *p, const uint8_t *buf, size_t len, struct fl_error *err);
/* Waits until answers[code] reaches target (lim.answer_ms), else
 * FL_ERR_TIMEOUT naming `what`. */
int rfc_wait_answers(struct rfc_port *p, unsigned code, unsigned target, const char *what,
                     struct fl_error *err);
/* IAC SB COM-PORT-OPTION cmd value IAC SE, returns its length (<= 8). */
size_t rfc_put_comport_byte(uint8_t cmd, uint8_t value, uint8_t *out);

/* --- set-up (rfc2217_setup.c) --- */
/* Telnet option negotiation: BINARY both ways, SGA, COM-PORT-OPTION. */
int rfc_negotiate(struct rfc_port *p, struct fl_error *err);
/* Rate, 8N1 and no flow control, each acknowledged. */
int rfc_configure(struct rfc_port *p, uint32_t baud, struct fl_error *err);

/* Splits "host:port" / "[v6]:port" into host and a validated decimal port. */
int rfc_parse_hostport(const char *hostport, char *host, size_t host_size, char *port,
                       size_t port_size, struct fl_error *err);

/* Resolves and connects (the first RFC_CONNECT_ADDRS addresses in turn,
 * each within timeout_ms);
 * the socket is non-blocking with TCP_NODELAY. */
int rfc_connect(const char *hostport, int timeout_ms, int *fd_out, struct fl_error *err);

/* Runs the telnet/RFC 2217 set-up on a connected stream socket (owned from
 * here on, closed on failure) and returns the port. Split from the connect
 * so the fuzz target can drive it over a socketpair. `lim` NULL: the
 * defaults. */
int rfc_attach(int fd, const char *name, uint32_t baud, const struct rfc_limits *lim,
               struct fl_port **out, struct fl_error *err);

#endif
