/*
 * flasher — the ESP ROM serial bootloader protocol (and the flasher stub's),
 * serial ports behind a small transport interface, and USB board discovery.
 *
 * The one public header of flasher/. A library: it never prints, exits or
 * reads argv/the environment. All state lives in caller-owned structures, so
 * N boards can be driven from N threads at once. It knows nothing about
 * profiles, certificates or filesystems.
 *
 * Errors: fallible functions return 0 (FL_OK) or a negative `enum fl_err`,
 * and fill a `struct fl_error` with what failed, why, and (hint) what to try.
 * ROM and stub status bytes are kept, never collapsed into "bad response".
 */
#ifndef ESPPROV_FLASHER_H
#define ESPPROV_FLASHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ===== Errors ========================================================== */

enum fl_err {
    FL_OK = 0,
    FL_ERR_IO = -1,          /* the port failed (errno in the message) */
    FL_ERR_TIMEOUT = -2,     /* the board did not answer in time */
    FL_ERR_PROTO = -3,       /* a malformed or unexpected frame */
    FL_ERR_ROM = -4,         /* the loader answered with a failure status */
    FL_ERR_UNSUPPORTED = -5, /* this loader/chip cannot do that */
    FL_ERR_INVALID = -6,     /* bad argument (alignment, size, file) */
    FL_ERR_VERIFY = -7,      /* MD5 of flash differs from what was written */
    FL_ERR_NO_LINES = -8,    /* the port cannot drive DTR/RTS (e.g. a pty) */
    FL_ERR_NOT_FOUND = -9,   /* no such port / device */
    FL_ERR_PERM = -10,       /* permission denied opening the port */
    FL_ERR_BUSY = -11,       /* the port is held by another process */
    FL_ERR_NOMEM = -12,
    FL_ERR_CANCELLED = -13,  /* the caller's cancel flag was raised */
};

struct fl_error {
    int code;             /* enum fl_err */
    char msg[256];        /* "what failed: why" */
    char hint[256];       /* what to try, or empty */
    uint8_t opcode;       /* last command sent, when relevant */
    uint8_t status[2];    /* loader status bytes (ROM: 1/code; stub: code/0) */
};

/* Stable text for a ROM (0x00-0x69) or stub (0xC0-0xFF) error code. */
const char *fl_status_text(bool stub, uint8_t code);

/* ===== Transport ======================================================= */

/*
 * A serial link to one board. Concrete ports embed `struct fl_port` as their
 * first member. Time belongs to the port so a test transport controls the
 * clock. All functions return FL_OK or a negative fl_err and fill `err`.
 */
struct fl_port;
struct fl_error;

struct fl_port_ops {
    /* Reads up to len bytes, waiting at most timeout_ms for the first one.
     * Returns the number of bytes read (0 = timed out) or a negative error. */
    int (*read)(struct fl_port *port, uint8_t *buf, size_t len, int timeout_ms,
                struct fl_error *err);
    /* Writes all len bytes (blocking) or fails. */
    int (*write)(struct fl_port *port, const uint8_t *buf, size_t len, struct fl_error *err);
    /* Changes the line rate (any rate the port can do, not only Bxxx). */
    int (*set_baud)(struct fl_port *port, uint32_t baud, struct fl_error *err);
    /* Sets DTR and RTS together (asserted = true = line driven low), in one
     * step where the port allows. FL_ERR_NO_LINES when it has no modem lines. */
    int (*set_lines)(struct fl_port *port, bool dtr, bool rts, struct fl_error *err);
    /* Discards unread input. */
    int (*flush_input)(struct fl_port *port, struct fl_error *err);
    /* Waits until written bytes have left the host. */
    int (*drain)(struct fl_port *port, struct fl_error *err);
    /* Monotonic milliseconds, and a sleep on the same clock. */
    int64_t (*now_ms)(struct fl_port *port);
    void (*sleep_ms)(struct fl_port *port, int ms);
    /* Closes and frees the port. */
    void (*close)(struct fl_port *port);
};

struct fl_port {
    const struct fl_port_ops *ops;
    char name[256];     /* what the user typed: /dev/ttyUSB0, rfc2217://host:port */
    uint32_t baud;      /* current line rate */
    bool has_lines;     /* false once set_lines reported FL_ERR_NO_LINES */
    uint16_t usb_vid;   /* 0 when unknown (not USB, or remote) */
    uint16_t usb_pid;
};

/*
 * Opens a port: "rfc2217://host:port" for a remote serial server (baud and
 * DTR/RTS travel over the telnet COM-port option), anything else as a local
 * tty (raw 8N1, no flow control, HUPCL off). Starts at `baud`. The port's
 * errors carry the known fixes (permission: the dialout group; busy: which
 * process holds it).
 */
int fl_port_open(const char *name, uint32_t baud, struct fl_port **out, struct fl_error *err);
void fl_port_close(struct fl_port *port);

#endif
