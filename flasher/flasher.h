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
 *
 * Typical use (one thread per board):
 *
 *   struct fl_options opt;
 *   fl_options_init(&opt);
 *   opt.baud = 921600;
 *   struct fl_session s;
 *   struct fl_error err;
 *   if (fl_session_init(&s, &opt, &hooks, &err) == FL_OK &&
 *       fl_session_open(&s, "/dev/ttyUSB0", &err) == FL_OK &&
 *       fl_connect(&s, &err) == FL_OK && fl_detect(&s, NULL, &err) == FL_OK) {
 *       struct fl_region r = {.addr = 0x10000, .data = app, .len = app_len};
 *       struct fl_region_result res;
 *       if (fl_write_regions(&s, &r, 1, &res, &err) == FL_OK)
 *           fl_finish(&s, &err);
 *   }
 *   fl_session_release(&s);
 */
#ifndef ESPPROV_FLASHER_H
#define ESPPROV_FLASHER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fl_port; /* a serial link (see Transport, at the end) */

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
    FL_ERR_CANCELLED = -13, /* the caller's cancel flag was raised */
};

struct fl_error {
    int code;          /* enum fl_err */
    char msg[256];     /* "what failed: why" */
    char hint[256];    /* what to try, or empty */
    uint8_t opcode;    /* last command sent, when relevant */
    uint8_t status[2]; /* loader status bytes (ROM: 1/code; stub: code/0) */
};

/* Stable text for a ROM (0x00-0x69) or stub (0xC0-0xFF) error code. */
const char *fl_status_text(bool stub, uint8_t code);
/* A short name for an enum fl_err value ("timeout", "ROM error", ...). */
const char *fl_strerror(int code);

/* ===== Chips =========================================================== */

enum fl_chip {
    FL_CHIP_AUTO = 0, /* "detect it" in options; "unknown" in results */
    FL_CHIP_ESP8266,
    FL_CHIP_ESP32,
    FL_CHIP_ESP32S2,
    FL_CHIP_ESP32S3,
    FL_CHIP_ESP32C2,
    FL_CHIP_ESP32C3,
    FL_CHIP_ESP32C6,
    FL_CHIP_ESP32H2,
    FL_CHIP_COUNT
};

/* Display name ("ESP32-S3"); "auto" for FL_CHIP_AUTO. Never NULL. */
const char *fl_chip_name(enum fl_chip chip);
/* Parses "auto", "esp32s3", "esp32-s3", "ESP32-S3" (case-insensitive). */
bool fl_chip_parse(const char *text, enum fl_chip *out);
/* Flash offset of the second-stage bootloader (where flash parameters are
 * patched): 0x1000 on ESP32/S2, 0x0 elsewhere. */
uint32_t fl_chip_bootloader_offset(enum fl_chip chip);

/* ===== Protocol building blocks ======================================== */
/* Exposed for tests, fuzzers and tools; a session uses them internally. */

enum fl_op {
    FL_OP_FLASH_BEGIN = 0x02,
    FL_OP_FLASH_DATA = 0x03,
    FL_OP_FLASH_END = 0x04,
    FL_OP_MEM_BEGIN = 0x05,
    FL_OP_MEM_END = 0x06,
    FL_OP_MEM_DATA = 0x07,
    FL_OP_SYNC = 0x08,
    FL_OP_WRITE_REG = 0x09,
    FL_OP_READ_REG = 0x0A,
    FL_OP_SPI_SET_PARAMS = 0x0B,
    FL_OP_SPI_ATTACH = 0x0D,
    FL_OP_READ_FLASH_SLOW = 0x0E,
    FL_OP_CHANGE_BAUDRATE = 0x0F,
    FL_OP_FLASH_DEFL_BEGIN = 0x10,
    FL_OP_FLASH_DEFL_DATA = 0x11,
    FL_OP_FLASH_DEFL_END = 0x12,
    FL_OP_SPI_FLASH_MD5 = 0x13,
    FL_OP_GET_SECURITY_INFO = 0x14,
    FL_OP_ERASE_FLASH = 0xD0,
    FL_OP_ERASE_REGION = 0xD1,
    FL_OP_READ_FLASH = 0xD2,
    FL_OP_RUN_USER_CODE = 0xD3,
};

/* "FLASH_BEGIN", ...; "0xNN" style text is not produced: unknown -> "?". */
const char *fl_op_name(uint8_t op);

/* SLIP: 0xC0 frames, 0xDB escapes. `out` must hold 2 * len + 2 bytes.
 * Returns the number of bytes written. */
size_t fl_slip_encode(const uint8_t *in, size_t len, uint8_t *out);

enum fl_slip_event {
    FL_SLIP_NONE,  /* all input consumed, no frame finished yet */
    FL_SLIP_FRAME, /* a frame is in buf[0..len) until the next call */
    FL_SLIP_JUNK,  /* the consumed bytes were outside any frame (boot log, noise) */
    FL_SLIP_BAD,   /* a frame was dropped: bad escape or longer than cap */
};

/* An incremental decoder over a caller-provided buffer (the frame limit). */
struct fl_slip_decoder {
    uint8_t *buf;
    size_t cap;
    size_t len;
    int state;
};
void fl_slip_decoder_init(struct fl_slip_decoder *dec, uint8_t *buf, size_t cap);
/* Consumes input up to and including the next event; returns the number of
 * bytes consumed (for FL_SLIP_JUNK: exactly the junk bytes, in[0..n)). */
size_t fl_slip_decode(struct fl_slip_decoder *dec, const uint8_t *in, size_t len,
                      enum fl_slip_event *event);

/* The 8-bit data checksum: 0xEF XOR every byte. */
uint8_t fl_checksum(const uint8_t *data, size_t len);

/* Builds an unescaped request (direction 0, op, size, checksum, data) in
 * `out` (8 + len bytes). Returns 8 + len; len must be <= 65535. */
size_t fl_request_encode(uint8_t op, const uint8_t *data, size_t len, uint32_t checksum,
                         uint8_t *out);

/* A parsed response frame. */
struct fl_reply {
    uint8_t op;
    uint16_t size;       /* the size field */
    uint32_t value;      /* READ_REG result, SYNC magic */
    const uint8_t *data; /* payload (points into the frame) */
    size_t data_len;     /* bytes after the 8-byte header */
    size_t payload_len;  /* bytes before the status (as expected by the caller) */
    uint8_t status[2];   /* status bytes 0 and 1 */
    bool failed;         /* status byte 0 != 0 */
    uint8_t code;        /* the error code: ROM byte 1, or the stub's byte 0 */
    bool stub_code;      /* code is a stub code (0xC0..0xFF) */
};

/*
 * Parses a decoded frame as a response carrying `payload_len` bytes before
 * its status. The status is read at data[payload_len] (so trailing bytes and
 * 2- vs 4-byte status both work); a frame too short for that has its status
 * at data[0] (an error reply without payload). Returns FL_OK, or FL_ERR_PROTO
 * for anything that is not a response (direction != 1, < 10 bytes).
 */
int fl_reply_parse(const uint8_t *frame, size_t len, size_t payload_len, struct fl_reply *out);

/*
 * The ESP8266 ROM erase-size workaround (esptool's formula): the ROM erases
 * min(x, t) + x sectors for x requested; this returns the erase size to send
 * so that `size` bytes at `offset` are covered.
 */
uint32_t fl_esp8266_erase_size(uint32_t offset, uint32_t size);

/*
 * Write planning: how a region is covered by writes (each FLASH_BEGIN erases
 * the sectors it covers, then programs what is sent) and erase-only runs,
 * leaving alone the sectors the flash already holds right. A cost model of
 * the line (rate, round trips, compression) and the flash chip (sector and
 * 64 KiB block erase, page program) picks the cheapest cover. Items come
 * erases first, then writes, each kind in ascending order. A write's `len`
 * ends at its last non-0xFF byte (rounded to 4; to 1 KiB for a ROM).
 */
struct fl_plan_item {
    uint32_t addr; /* sector aligned */
    uint32_t len;  /* erase: whole sectors; write: bytes sent */
    bool write;    /* false: erase only */
};
/* What the flash holds in a sector, as the loader's MD5s told (one byte per
 * sector of the region). */
enum fl_sector_state {
    FL_SECTOR_UNKNOWN = 0, /* not known: must be erased or written */
    FL_SECTOR_BLANK,       /* all 0xFF */
    FL_SECTOR_SAME,        /* exactly what the image holds there */
};
struct fl_plan_params {
    uint32_t baud;          /* line rate, for the wire time */
    uint32_t round_trip_us; /* a command's turnaround beyond its bytes */
    bool stub;              /* lazy erase and writes overlap the wire; else a ROM */
    bool compressed;        /* the loader inflates: zlib where it is shorter */
    bool esp8266_rom;       /* keep the ROM's erase-size bug from erasing past the end */
};
void fl_plan_params_init(struct fl_plan_params *p); /* 115200, 2 ms, ROM, raw */
/* `state`: nsec bytes of enum fl_sector_state, or NULL (all unknown).
 * `items` must hold fl_plan_max_items(len) entries. Returns the count. */
size_t fl_plan_region(const uint8_t *data, size_t len, uint32_t addr, const uint8_t *state,
                      const struct fl_plan_params *p, struct fl_plan_item *items);
size_t fl_plan_max_items(size_t len);

/* Timeout for an operation over `bytes` at `ms_per_mb` (min 3 s). */
int fl_timeout_for(int ms_per_mb, uint64_t bytes);

/* ===== Flash parameters and firmware images ============================ */

#define FL_PARAM_KEEP   (-1) /* leave the image header as it is */
#define FL_PARAM_DETECT (-2) /* flash size: from the JEDEC id */

enum fl_flash_mode { FL_MODE_QIO = 0, FL_MODE_QOUT = 1, FL_MODE_DIO = 2, FL_MODE_DOUT = 3 };

/* "qio"... or NULL for an unknown value. */
const char *fl_flash_mode_name(int mode);
bool fl_flash_mode_parse(const char *text, int *mode);
/* "40m" -> 40 (MHz). Accepted values depend on the chip (see image.c). */
bool fl_flash_freq_parse(const char *text, int *mhz);
/* "4MB", "512KB", "4M" -> bytes (power of two, 256 KiB..128 MiB). */
bool fl_flash_size_parse(const char *text, uint32_t *bytes);

#define FL_IMAGE_MAX_SEGMENTS 16

struct fl_image_segment {
    uint32_t load_addr;
    uint32_t len;
    uint32_t file_offset; /* of the segment data */
};

struct fl_image_info {
    enum fl_chip chip;  /* the format it parsed as (AUTO: guessed) */
    uint8_t magic;      /* 0xE9, or 0xEA for an ESP8266 "v2" image */
    uint8_t flash_mode; /* header byte 2 */
    uint8_t size_freq;  /* header byte 3: size << 4 | freq */
    uint32_t entry;
    bool has_ext;     /* extended header (all chips but ESP8266) */
    uint16_t chip_id; /* image chip id (ext header) */
    uint8_t wp_pin;
    uint16_t min_rev_full, max_rev_full;
    bool hash_appended;
    size_t nseg;
    struct fl_image_segment seg[FL_IMAGE_MAX_SEGMENTS];
    uint8_t checksum;      /* stored */
    uint8_t checksum_calc; /* computed */
    size_t digest_offset;  /* where the SHA-256 starts (= length it covers) */
    bool sha_ok;           /* digest matches (when hash_appended) */
    size_t image_len;      /* bytes the image occupies (checksum and digest included) */
    bool valid;            /* checksum (and digest) correct */
    uint32_t v2_irom_len;  /* ESP8266 v2 only: the irom segment's length */
};

/*
 * Parses an image in memory. `chip` selects the header layout; FL_CHIP_AUTO
 * guesses (extended header with a known chip id, else ESP8266). Fails only
 * when the structure is unreadable (bad magic, truncated); checksum and
 * digest results are in `out` (`valid`).
 */
int fl_image_parse(const uint8_t *data, size_t len, enum fl_chip chip, struct fl_image_info *out,
                   struct fl_error *err);

/*
 * Whether `data` may be written to a `chip` board: FL_OK for anything that is
 * no firmware image (no 0xE9/0xEA magic) and for an image whose header is
 * that chip's; FL_ERR_INVALID otherwise, the message naming both chips. The
 * header tells: ESP32-family images carry an extended header with a chip id,
 * ESP8266 images have none (and 0xEA is the ESP8266's v2 format). An image
 * that parses as neither cannot be told apart and passes (the write checks
 * nothing more than the loader would).
 */
int fl_image_check_chip(const uint8_t *data, size_t len, enum fl_chip chip, uint32_t addr,
                        struct fl_error *err);

/* Human text for the header's size and frequency nibbles for `chip`
 * ("4MB", "40m"); "?" when unknown. */
const char *fl_image_size_text(enum fl_chip chip, uint8_t size_freq);
const char *fl_image_freq_text(enum fl_chip chip, uint8_t size_freq);

/*
 * Rewrites flash mode/frequency/size in a bootloader image (bytes 2-3) and,
 * when a SHA-256 is appended, recomputes it. `mode`, `freq_mhz`: FL_PARAM_KEEP
 * or a value; `size_bytes`: 0 to keep. Only a valid image of `chip` is
 * changed; `*changed` says whether any byte changed. FL_ERR_INVALID when a
 * value cannot be encoded for this chip or the image does not validate.
 */
int fl_image_patch(uint8_t *data, size_t len, enum fl_chip chip, int mode, int freq_mhz,
                   uint32_t size_bytes, bool *changed, struct fl_error *err);

/* ===== Flasher stub ==================================================== */

/* A flasher stub as esptool ships it in JSON (text/data base64). */
struct fl_stub {
    uint32_t entry;
    uint32_t text_start;
    uint8_t *text;
    size_t text_len;
    uint32_t data_start;
    uint8_t *data; /* may be NULL (no data segment) */
    size_t data_len;
};

/* Parses esptool-format stub JSON: entry, text, text_start, [data,
 * data_start]. The stub owns its buffers: release with fl_stub_release. */
int fl_stub_parse(const char *json, size_t len, struct fl_stub *out, struct fl_error *err);
/* Reads and parses a stub JSON file. */
int fl_stub_load(const char *path, struct fl_stub *out, struct fl_error *err);
void fl_stub_release(struct fl_stub *stub);

/*
 * Stub families espprov can find by itself (tools/stubs.lock fetches them):
 * LEGACY is esptool's long-established stub (the default); NEW is
 * espressif/esp-flasher-stub. Both use esptool's JSON format, one file per
 * chip, named by the chip's key ("esp32s3.json").
 */
enum fl_stub_family { FL_STUB_LEGACY, FL_STUB_NEW };
#define FL_STUB_FAMILY_DEFAULT FL_STUB_LEGACY
const char *fl_stub_family_name(enum fl_stub_family family); /* "legacy", "new" */
bool fl_stub_family_parse(const char *text, enum fl_stub_family *out);
/* "esp32s3": the chip's stub file name without ".json" (NULL for AUTO). */
const char *fl_chip_key(enum fl_chip chip);

/* One family's stubs for every chip it has, as found in one directory. */
struct fl_stub_set {
    enum fl_stub_family family;
    char dir[1024];    /* the directory they came from */
    char package[192]; /* its PACKAGE line ("name version sha256:... license"), or "" */
    struct fl_stub stub[FL_CHIP_COUNT];
    bool have[FL_CHIP_COUNT];
};

/* Where stubs are looked for, first match wins (each place holds
 * <family>/<chip>.json):
 *   env_dir              ($ESPPROV_STUB_DIR: the caller reads it; NULL/"" skips)
 *   <exe dir>/stubs      (the build tree: build/espprov next to build/stubs)
 *   <exe dir>/../share/espprov/stubs   (after `make install`)
 * exe_path is the running program (/proc/self/exe); NULL skips both. */
struct fl_stub_search {
    const char *env_dir;
    const char *exe_path;
    enum fl_stub_family family;
};

/* Loads every <chip>.json of `family` in `dir` (a missing chip is not an
 * error; a broken file is, naming it). FL_ERR_NOT_FOUND when the directory
 * holds none. Release with fl_stub_set_release. */
int fl_stub_set_load(struct fl_stub_set *set, const char *dir, enum fl_stub_family family,
                     struct fl_error *err);
/* Searches the places above and loads the first that holds the family.
 * FL_ERR_NOT_FOUND (err lists the places) when none does. */
int fl_stub_set_find(struct fl_stub_set *set, const struct fl_stub_search *search,
                     struct fl_error *err);
/* The stub for `chip`, or NULL when the set has none. */
const struct fl_stub *fl_stub_set_get(const struct fl_stub_set *set, enum fl_chip chip);
void fl_stub_set_release(struct fl_stub_set *set);

/* ===== Sessions ======================================================== */

enum fl_before {
    FL_BEFORE_DEFAULT_RESET,    /* DTR/RTS reset into the bootloader, then SYNC */
    FL_BEFORE_USB_RESET,        /* the chip's own USB-Serial/JTAG reset */
    FL_BEFORE_NO_RESET,         /* board already in download mode: SYNC only */
    FL_BEFORE_NO_RESET_NO_SYNC, /* loader (or stub) already synced: no SYNC */
};
enum fl_after {
    FL_AFTER_HARD_RESET,    /* pulse EN: the app starts */
    FL_AFTER_SOFT_RESET,    /* ask the loader to run the app */
    FL_AFTER_NO_RESET,      /* stay in the ROM loader (a stub reboots into it) */
    FL_AFTER_NO_RESET_STUB, /* leave a running stub running */
};
/* "default-reset", ... (esptool's names; '_' accepted for '-'). */
bool fl_before_parse(const char *text, enum fl_before *out);
bool fl_after_parse(const char *text, enum fl_after *out);
const char *fl_before_name(enum fl_before before);
const char *fl_after_name(enum fl_after after);

enum fl_log_level { FL_LOG_ERROR, FL_LOG_WARN, FL_LOG_INFO, FL_LOG_DEBUG, FL_LOG_TRACE };

enum fl_frame_kind {
    FL_FRAME_SENT,     /* a request (unescaped) */
    FL_FRAME_RECEIVED, /* a decoded frame */
    FL_FRAME_JUNK,     /* bytes outside frames, discarded (boot log, noise) */
};

/* Callbacks; every member may be NULL. Called on the session's thread. */
struct fl_hooks {
    void *user;
    /* One message (no newline) at `level` (only levels <= options.log_level). */
    void (*log)(void *user, enum fl_log_level level, const char *msg);
    /* Every frame, when options.log_level is FL_LOG_TRACE. */
    void (*frame)(void *user, enum fl_frame_kind kind, const uint8_t *data, size_t len);
    /* Progress of region `region` (index into the caller's array; 0 for read,
     * erase, verify): `done` of `total` bytes (uncompressed). */
    void (*progress)(void *user, size_t region, uint64_t done, uint64_t total);
    /* When non-NULL and raised, long operations stop between blocks with
     * FL_ERR_CANCELLED. */
    const atomic_bool *cancel;
};

struct fl_options {
    enum fl_chip chip; /* FL_CHIP_AUTO: detect; else the board must be this */
    enum fl_before before;
    enum fl_after after;
    uint32_t connect_baud;           /* rate for SYNC (default 115200) */
    uint32_t baud;                   /* raise to this after connecting (0: stay); with
                                      * baud_auto, the rate when the bridge is unknown */
    bool baud_auto;                  /* the fastest rate the USB bridge and the chip both
                                      * do (fl_usb_max_baud), else `baud` */
    const struct fl_stub *stub;      /* upload and use this stub whatever the chip; a
                                      * failure to start it fails the connect.
                                      * Borrowed: must outlive the session. */
    const struct fl_stub_set *stubs; /* else the detected chip's stub from this set
                                      * (NULL, or none for the chip: ROM only);
                                      * borrowed, shareable between sessions */
    unsigned needs;                  /* FL_NEED_*: what the caller will ask for. A
                                      * stub from `stubs` that does not start falls
                                      * back to the ROM (with a warning) only when
                                      * the ROM can do all of it */
    bool no_compress;                /* never send zlib streams */
    bool skip_unchanged;             /* do not write a region whose flash MD5 matches
                                      * (default true) */
    bool full_image;                 /* one erase+write per region, no MD5 probes and no
                                      * sparse plan: how esptool writes (baselines) */
    bool force;                      /* write images built for another chip */
    int connect_attempts;            /* reset+sync rounds (default 7) */
    int flash_mode;                  /* FL_PARAM_KEEP or enum fl_flash_mode */
    int flash_freq;                  /* FL_PARAM_KEEP or MHz */
    int64_t flash_size;              /* FL_PARAM_KEEP, FL_PARAM_DETECT or bytes: patched
                                      * into bootloaders and told to the loader */
    enum fl_log_level log_level;     /* most verbose level passed to hooks.log */
};

/* What a job needs from the loader (fl_options.needs). */
enum fl_need {
    FL_NEED_VERIFY = 1 << 0,     /* an MD5 of flash (verify, skip-unchanged) */
    FL_NEED_READ = 1 << 1,       /* reading flash back */
    FL_NEED_ERASE_CHIP = 1 << 2, /* erasing the whole chip */
};

/* Defaults: auto chip, default-reset, hard-reset, 115200, no stub, compress,
 * skip unchanged, params kept, 7 attempts, FL_LOG_INFO. */
void fl_options_init(struct fl_options *opt);

struct fl_chip_info {
    enum fl_chip chip;
    const char *name;       /* fl_chip_name(chip) */
    uint32_t magic;         /* CHIP_DETECT_MAGIC value (0 when not read) */
    bool has_security_info; /* GET_SECURITY_INFO answered */
    uint32_t security_flags;
    uint8_t flash_crypt_cnt;
    bool secure_download; /* Secure Download Mode (flags bit 2) */
    bool mac_valid;
    uint8_t mac[6];
    uint32_t jedec_id;       /* manufacturer | device << 8 (0: not read) */
    uint32_t flash_size;     /* bytes (0: unknown) */
    bool flash_size_guessed; /* unknown JEDEC id: assumed 4 MB */
    uint32_t crystal_mhz;    /* 0: unknown */
    bool stub_running;       /* the flasher stub answers, not the ROM */
    uint32_t baud;           /* current line rate */
};

/* Counters for diagnostics (what a trace would show in aggregate). */
struct fl_stats {
    uint64_t frames_sent;
    uint64_t frames_received;
    uint64_t frames_skipped; /* replies that did not match the request */
    uint64_t frames_bad;     /* bad escapes, oversized frames */
    uint64_t junk_bytes;     /* bytes outside frames, discarded */
    uint64_t retries;        /* blocks sent again */
    uint64_t bytes_sent;     /* on the wire, framing included */
    uint64_t bytes_received;
};

struct fl_session_state;

/* One board. Fields are read-only for the caller; `state` is private. */
struct fl_session {
    struct fl_options opt;
    struct fl_hooks hooks;
    struct fl_chip_info info;
    struct fl_stats stats;
    struct fl_session_state *state;
};

/* Prepares a session (copies opt and hooks; hooks may be NULL). */
int fl_session_init(struct fl_session *s, const struct fl_options *opt,
                    const struct fl_hooks *hooks, struct fl_error *err);
/* Closes the port if the session opened it and frees the state. Safe on a
 * zeroed or failed-init session. */
void fl_session_release(struct fl_session *s);
/* Opens `port_name` (fl_port_open) at the connect baud; the session owns it. */
int fl_session_open(struct fl_session *s, const char *port_name, struct fl_error *err);
/* Uses an already open port; the caller keeps ownership (closes it after
 * fl_session_release). */
void fl_session_use_port(struct fl_session *s, struct fl_port *port);

/*
 * Resets the board into its ROM loader (opt.before), SYNCs, identifies the
 * chip, uploads opt.stub when given, and raises the rate to opt.baud. A port
 * without modem lines is reported once (FL_LOG_WARN) and then needs the board
 * in download mode already. Failures say what the boot log showed (wrong
 * boot mode, no data at all, ...).
 */
int fl_connect(struct fl_session *s, struct fl_error *err);

/* Reads MAC, flash JEDEC id and size, crystal; tells the loader the flash
 * size. Fills s->info and, when `out` is non-NULL, a copy. */
int fl_detect(struct fl_session *s, struct fl_chip_info *out, struct fl_error *err);

/* Uploads and starts a stub (fl_connect does this for opt.stub). */
int fl_run_stub(struct fl_session *s, const struct fl_stub *stub, struct fl_error *err);
/* Changes the line rate on both ends (CHANGE_BAUDRATE, with the loader's
 * quirks). The ESP8266 ROM cannot: FL_ERR_UNSUPPORTED. */
int fl_change_baud(struct fl_session *s, uint32_t baud, struct fl_error *err);

/* One region to write: `len` bytes at flash offset `addr`. Borrowed. */
struct fl_region {
    uint32_t addr;
    const uint8_t *data;
    size_t len;
};

enum fl_verify_result {
    FL_VERIFY_MD5,         /* flash MD5 matched what was written */
    FL_VERIFY_UNAVAILABLE, /* the loader cannot compute an MD5 (ESP8266 ROM) */
    FL_VERIFY_UNCHANGED,   /* not written: the flash already held it (MD5) */
};

struct fl_region_result {
    uint32_t addr;        /* as given */
    uint64_t len;         /* as given */
    uint32_t erase_start; /* sector-aligned range that was erased */
    uint64_t erase_len;
    uint64_t written;    /* bytes sent in FLASH(_DEFL)_DATA before compression */
    uint64_t sent;       /* data bytes actually sent (compressed or raw) */
    uint64_t wire_bytes; /* everything sent on the line for it (framing included) */
    bool compressed;     /* at least part went as a zlib stream */
    bool patched;        /* flash parameters in the header were rewritten */
    enum fl_verify_result verify;
    uint8_t md5[16]; /* MD5 of the data as written (padded) */
    double seconds;
};

/*
 * Writes regions in address order. Each region's sectors are erased as a
 * whole, but runs of whole 0xFF sectors inside it are erased, never sent.
 * Data goes compressed where the loader inflates (ESP32+ ROM, any stub)
 * unless opt.no_compress, in 1 KiB (ROM) or 16 KiB (stub) blocks, and is
 * checked by MD5 afterwards where the loader can. Regions must not overlap
 * or share a 4 KiB sector. The bootloader image at the chip's bootloader
 * offset gets opt.flash_mode/freq/size patched in (a copy; `data` is not
 * modified). `results` has n entries, filled as regions complete.
 */
int fl_write_regions(struct fl_session *s, const struct fl_region *regions, size_t n,
                     struct fl_region_result *results, struct fl_error *err);

/* Reads len bytes at addr into buf (stub: READ_FLASH with an MD5 check;
 * ESP32+ ROM: READ_FLASH_SLOW, 64 B per round trip; ESP8266 ROM: cannot). */
int fl_read(struct fl_session *s, uint32_t addr, uint8_t *buf, size_t len, struct fl_error *err);

/* Erases [addr, addr+len), both 4 KiB aligned (stub: ERASE_REGION; ROM:
 * FLASH_BEGIN without data). */
int fl_erase_region(struct fl_session *s, uint32_t addr, uint32_t len, struct fl_error *err);
/* Erases the whole chip (needs the stub). */
int fl_erase_chip(struct fl_session *s, struct fl_error *err);

/* MD5 of len bytes of flash at addr (loader-computed). */
int fl_flash_md5(struct fl_session *s, uint32_t addr, uint32_t len, uint8_t md5[16],
                 struct fl_error *err);
/* Compares flash at addr with data: FL_OK, or FL_ERR_VERIFY (with where the
 * difference is when the loader can read flash). */
int fl_verify(struct fl_session *s, uint32_t addr, const uint8_t *data, size_t len,
              struct fl_error *err);

/* Does opt.after (hard reset, run the app, reboot to ROM, or nothing). When
 * the loader keeps running (no-reset, no-reset-stub, or a port without modem
 * lines), the rate is set back to the connect rate so that the next session
 * can reach it. */
int fl_finish(struct fl_session *s, struct fl_error *err);
/* After a failure: sets board and port back to the connect rate (when they
 * were raised) without resetting anything. Best effort; FL_OK if nothing to do. */
int fl_restore_baud(struct fl_session *s, struct fl_error *err);

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
    char name[256];   /* what the user typed: /dev/ttyUSB0, rfc2217://host:port */
    uint32_t baud;    /* current line rate */
    bool has_lines;   /* false once set_lines reported FL_ERR_NO_LINES */
    uint16_t usb_vid; /* 0 when unknown (not USB, or remote) */
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
    const char *kind;  /* short stable name for scripts: "cp210x", "ch340", "esp-usb-jtag" */
    const char *name;  /* for people: "Silicon Labs CP210x USB-UART bridge" */
    const char *chip;  /* ESP chip the PID implies (native USB), else NULL */
    unsigned flags;    /* enum fl_usb_model_flags */
    uint32_t max_baud; /* fastest rate its datasheet gives (0: unknown, or a USB
                        * function where the rate means nothing) */
};

/* The known adapters and native ESP USB functions (static, never freed);
 * fl_usb_models returns the table and its length. */
const struct fl_usb_model *fl_usb_model_find(uint16_t vid, uint16_t pid);
const struct fl_usb_model *fl_usb_models(size_t *count);
/* The fastest rate a bridge does: the table's, refined by the USB product
 * string where one VID:PID covers parts of different speeds ("CP2102N" vs
 * CP2102); 0 when unknown. `product` may be NULL. */
uint32_t fl_usb_max_baud(uint16_t vid, uint16_t pid, const char *product);

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
