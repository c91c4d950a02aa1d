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

/* ===== Ports and USB discovery ========================================= */
/*
 * (Section owned by the ports work: flasher/rfc2217*.c, flasher/usb*.c.)
 *
 * Boards are found over USB with libusb (VID:PID, bus and port path) and
 * sysfs (strings, and the tty node the driver bound), which needs no access
 * to the USB device nodes. Linux only for the tty mapping. "rfc2217://" ports
 * are opened by fl_port_open() above.
 */
#include <stdatomic.h>

/* What a known VID:PID implies for flashing. */
enum fl_usb_model_flags {
    FL_USB_NATIVE = 1 << 0,       /* the ESP chip's own USB: re-enumerates on reset */
    FL_USB_JTAG_SERIAL = 1 << 1,  /* Espressif USB-Serial/JTAG: use its own reset sequence */
    FL_USB_ROM_OTG = 1 << 2,      /* ROM USB-OTG (CDC) download mode: smaller blocks */
    FL_USB_CTS_RTS_TIED = 1 << 3, /* CP2102C wiring: skip trailing IO0 writes, clear HUPCL */
};

struct fl_usb_model {
    uint16_t vid, pid;
    const char *kind; /* short stable name for scripts: "cp210x", "ch340", "esp-usb-jtag" */
    const char *name; /* for people: "Silicon Labs CP210x USB-UART bridge" */
    const char *chip; /* ESP chip the PID implies (native USB), else NULL */
    unsigned flags;   /* enum fl_usb_model_flags */
};

/* The known adapters and native ESP USB functions (static, never freed);
 * fl_usb_models returns the table and its length. */
const struct fl_usb_model *fl_usb_model_find(uint16_t vid, uint16_t pid);
const struct fl_usb_model *fl_usb_models(size_t *count);

/* One serial port of one USB device (a dual adapter gives two). */
struct fl_usb_port {
    uint16_t vid, pid;
    const struct fl_usb_model *model; /* NULL when the VID:PID is not known */
    char tty[64];                     /* "/dev/ttyUSB0", or "" when no driver bound a tty */
    bool tty_accessible;              /* this process may open it read/write */
    uint8_t bus;                      /* USB bus number */
    uint8_t address;                  /* device address on the bus (changes on replug) */
    int interface;                    /* USB interface of the tty, -1 when none */
    char usb_path[32]; /* sysfs name "1-2.3": bus 1, port 2 then 3 (stable per socket) */
    char serial[128];  /* USB strings, "" when absent */
    char manufacturer[128];
    char product[128];
};

struct fl_usb_list {
    struct fl_usb_port *ports; /* sorted by tty, then USB path; owned, see fl_usb_list_free */
    size_t count;
};

enum fl_usb_list_flags {
    /* Also list devices not in the table, when a tty is bound to them.
     * Without it: known devices only, with or without a tty. */
    FL_USB_LIST_ALL = 1 << 0,
};

/* Lists USB serial ports (enum fl_usb_list_flags). An empty list is not an
 * error. Fails (FL_ERR_IO/FL_ERR_PERM with a hint) when libusb cannot start. */
int fl_usb_list(unsigned flags, struct fl_usb_list *out, struct fl_error *err);
/* Frees the ports and zeroes the list; NULL-safe. */
void fl_usb_list_free(struct fl_usb_list *list);

/* What USB device a tty belongs to ("/dev/ttyUSB0", a /dev/serial/by-id link,
 * or "ttyACM0"; matched by device number): fills `out`, with tty set to the
 * kernel's name ("/dev/ttyUSB0"). For the tty port's usb_vid/usb_pid.
 * FL_ERR_NOT_FOUND when it does not exist or is not a USB tty (a pty, a
 * built-in UART). */
int fl_usb_identify_tty(const char *tty, struct fl_usb_port *out, struct fl_error *err);

/* Hotplug (station mode). Events arrive on the thread running
 * fl_usb_watch_run, in order; `port` is valid during the call only. */
enum fl_usb_event {
    FL_USB_ARRIVED, /* a port appeared (tty filled once it exists, see tty_wait_ms) */
    FL_USB_LEFT,    /* a port reported as arrived went away */
};
typedef void (*fl_usb_event_fn)(void *user, enum fl_usb_event event,
                                const struct fl_usb_port *port);

struct fl_usb_watch_opts {
    unsigned flags;      /* enum fl_usb_list_flags */
    bool report_present; /* report ports plugged in before the watch as arrivals */
    int tty_wait_ms;     /* after a device arrives, wait this long for its ttys to be
                          * usable (driver bound, /dev node readable and writable);
                          * 0: 5000. Then it is reported as it is: tty "" when none
                          * appeared (known devices only), tty_accessible false when
                          * the node stayed out of reach */
};

struct fl_usb_watch;

/* Starts watching, with its own libusb context (libusb itself shares one
 * udev monitor per process). Calls nothing yet: see fl_usb_watch_run. */
int fl_usb_watch_open(const struct fl_usb_watch_opts *opts, fl_usb_event_fn fn, void *user,
                      struct fl_usb_watch **out, struct fl_error *err);
/* Delivers events until *stop is true (checked at least every 100 ms), then
 * returns FL_OK; or fails on a libusb error. May be called again. */
int fl_usb_watch_run(struct fl_usb_watch *w, const atomic_bool *stop, struct fl_error *err);
/* Stops and frees; NULL-safe. */
void fl_usb_watch_close(struct fl_usb_watch *w);

/* ===== end of Ports and USB discovery ================================== */

#endif
