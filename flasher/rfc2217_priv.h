/*
 * flasher-internal: the telnet (RFC 854) and COM-port control (RFC 2217)
 * byte-stream codec used by the rfc2217:// port. Pure functions over caller
 * buffers: no sockets, no clock, no allocation, so it is fuzzed on its own
 * (tests/fuzz/fuzz_rfc2217.c).
 */
#ifndef ESPPROV_FLASHER_RFC2217_PRIV_H
#define ESPPROV_FLASHER_RFC2217_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Telnet commands (RFC 854) and the options we care about. */
enum {
    TN_SE = 240,
    TN_NOP = 241,
    TN_SB = 250,
    TN_WILL = 251,
    TN_WONT = 252,
    TN_DO = 253,
    TN_DONT = 254,
    TN_IAC = 255,
};
enum {
    TN_OPT_BINARY = 0,
    TN_OPT_ECHO = 1,
    TN_OPT_SGA = 3,
    TN_OPT_COMPORT = 44,
};

/* COM-PORT-OPTION commands, client to server; the server answers with the
 * same code + 100 (RFC 2217 section 2). */
enum {
    CPO_SIGNATURE = 0,
    CPO_SET_BAUDRATE = 1,
    CPO_SET_DATASIZE = 2,
    CPO_SET_PARITY = 3,
    CPO_SET_STOPSIZE = 4,
    CPO_SET_CONTROL = 5,
    CPO_NOTIFY_LINESTATE = 6,
    CPO_NOTIFY_MODEMSTATE = 7,
    CPO_FLOWCONTROL_SUSPEND = 8,
    CPO_FLOWCONTROL_RESUME = 9,
    CPO_SET_LINESTATE_MASK = 10,
    CPO_SET_MODEMSTATE_MASK = 11,
    CPO_PURGE_DATA = 12,
    CPO_SERVER_OFFSET = 100,
};
/* SET-CONTROL values used here. */
enum {
    CPO_CONTROL_NO_FLOW = 1,
    CPO_CONTROL_DTR_ON = 8,
    CPO_CONTROL_DTR_OFF = 9,
    CPO_CONTROL_RTS_ON = 11,
    CPO_CONTROL_RTS_OFF = 12,
};
enum { CPO_PARITY_NONE = 1, CPO_STOPSIZE_1 = 1, CPO_PURGE_RX = 1 };

/* Longest subnegotiation payload kept; longer ones (a chatty SIGNATURE) are
 * cut and flagged, never overflow. sb_total still counts every byte, so a
 * caller can give up on a subnegotiation that never ends. */
#define TN_SB_MAX 64

enum tn_state {
    TN_ST_DATA,   /* plain data */
    TN_ST_IAC,    /* saw IAC */
    TN_ST_VERB,   /* saw IAC WILL/WONT/DO/DONT, the option byte comes next */
    TN_ST_SB,     /* inside IAC SB ... */
    TN_ST_SB_IAC, /* saw IAC inside a subnegotiation */
};

/* Decoder state carried between calls, so a sequence split at any byte
 * boundary across reads decodes the same as in one piece. Zero-initialise. */
struct tn_decoder {
    enum tn_state state;
    uint8_t verb;
    uint8_t sb[TN_SB_MAX];
    size_t sb_len;
    bool sb_truncated;
    size_t sb_total; /* payload bytes of the current subnegotiation, kept or not */
};

enum tn_event_kind {
    TN_EV_OPTION,  /* WILL/WONT/DO/DONT <opt> from the peer */
    TN_EV_SUB,     /* a complete IAC SB <sb...> IAC SE */
    TN_EV_COMMAND, /* any other IAC <cmd> (NOP, GA, BRK...), ignored by callers */
};

struct tn_event {
    enum tn_event_kind kind;
    uint8_t verb;      /* TN_EV_OPTION: TN_WILL..TN_DONT; TN_EV_COMMAND: the command */
    uint8_t option;    /* TN_EV_OPTION */
    const uint8_t *sb; /* TN_EV_SUB: option byte first, IAC IAC already undone */
    size_t sb_len;
    bool sb_truncated; /* the payload was longer than TN_SB_MAX */
    size_t sb_total;   /* TN_EV_SUB: the payload's full length */
    size_t data_pos;   /* data bytes output by this call before the event */
};

typedef void (*tn_event_fn)(void *ctx, const struct tn_event *ev);

/*
 * Decodes `len` received bytes: data (with IAC IAC undone) goes to `out`
 * (which may be `in` itself: output never outruns input) and every telnet
 * command is reported to `on_event` in stream order. Returns the number of
 * data bytes written to `out`.
 */
size_t tn_decode(struct tn_decoder *dec, const uint8_t *in, size_t len, uint8_t *out,
                 tn_event_fn on_event, void *ctx);

/* Escapes data for sending (0xFF doubled). `out` must hold 2 * len bytes.
 * Returns the encoded length. */
size_t tn_escape(const uint8_t *in, size_t len, uint8_t *out);

/* Builds IAC SB COM-PORT-OPTION <cmd> <value, escaped> IAC SE into `out`
 * (at least 6 + 2 * vlen bytes). Returns its length. */
size_t tn_build_comport(uint8_t cmd, const uint8_t *value, size_t vlen, uint8_t *out);

/* Big-endian 32-bit value of a SET-BAUDRATE answer payload. */
uint32_t tn_get_be32(const uint8_t *p);

#endif
