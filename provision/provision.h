/*
 * provision — the espprov library: profiles, identities and certificates,
 * the device config file, the ledger, flash layouts and the batch jobs.
 *
 * This is the one public header of provision/. It sits on top of flasher/ and
 * spiffsgen/ and is used by the command layer (provision/main.c, cmd_*.c).
 * Nothing declared here prints, exits, reads argv or reads the environment
 * except where a function says so (profile loading expands ${NAME}).
 *
 * Errors: every fallible function takes a `struct pv_error *` and returns 0 on
 * success or a negative `enum pv_err` code. The message says what failed and
 * why; the hint, when set, says what to try. Neither ever holds a secret.
 */
#ifndef ESPPROV_PROVISION_H
#define ESPPROV_PROVISION_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ===== Errors ========================================================== */

enum pv_err {
    PV_OK = 0,
    PV_ERR_INVALID = -1, /* bad input: profile field, argument, file content */
    PV_ERR_IO = -2,      /* a file could not be read or written */
    PV_ERR_CRYPTO = -3,  /* OpenSSL refused (wrong passphrase, mismatched key, ...) */
    PV_ERR_NOMEM = -4,
    PV_ERR_EXISTS = -5, /* refusing to overwrite */
    PV_ERR_NOT_FOUND = -6,
    PV_ERR_DEVICE = -7, /* the board or the flasher failed */
    PV_ERR_DB = -8,     /* the ledger database failed */
    PV_ERR_CANCELLED = -9,
};

struct pv_error {
    int code;       /* enum pv_err */
    char msg[512];  /* "what failed: why", lowercase, no trailing full stop */
    char hint[256]; /* "what to try", or empty */
};

/* Sets code, message and hint (hint may be NULL). Returns `code`. */
int pv_error_set(struct pv_error *err, int code, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int pv_error_setv(struct pv_error *err, int code, const char *hint, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));
/* Prefixes the existing message with "<context>: ". Returns err->code. */
int pv_error_prefix(struct pv_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void pv_error_clear(struct pv_error *err);

/* ===== Units =========================================================== */

/*
 * Parses a size or offset: decimal ("4096"), hex ("0x1000"), or with a
 * binary suffix K/KB/KiB or M/MB/MiB ("64K" = 65536, "4MB" = 4194304), case
 * insensitive. Rejects negatives, junk and values above 2^32-1 when
 * `max` is 0 (otherwise above `max`). Returns 0 or PV_ERR_INVALID.
 */
int pv_parse_size(const char *text, uint64_t max, uint64_t *out);

/* ===== SQLite files (ledger, CA issuance record) ====================== */

struct sqlite3;

/*
 * Opens (creating if needed) an SQLite database for records that must stay
 * true across crashes: WAL journal, synchronous=FULL, foreign keys on, a busy
 * timeout so parallel workers wait instead of failing. `schema` is run in one
 * transaction when the file's user_version is below `version`, then
 * user_version is set to `version`. The file is created mode 0600.
 */
int pv_db_open(const char *path, const char *schema, int version, struct sqlite3 **out,
               struct pv_error *err);
void pv_db_close(struct sqlite3 *db);
/* Runs SQL without results (BEGIN IMMEDIATE, COMMIT, DDL ...). */
int pv_db_exec(struct sqlite3 *db, const char *sql, struct pv_error *err);

/* ===== Ledger ========================================================== */
/*
 * The ledger is one SQLite file (the profile's "ledger" key) with a row per
 * attempt on a board. The row is created before the board is touched and moved
 * forward one step at a time, each step one short transaction (WAL,
 * synchronous=FULL), so after a crash, a pulled cable or kill -9 the file
 * still says exactly how far every attempt got.
 *
 * Steps of a provisioning attempt, in order (each may be skipped, never
 * revisited):
 *     started -> connected -> minted -> written -> verified -> provisioned
 * and of a factory reset:
 *     started -> connected -> erased -> written -> verified -> reset
 * "provisioned" and "reset" end the attempt. pv_ledger_fail() ends it at any
 * point with the step that could not be reached and the error text. An
 * attempt whose process died before it ended reads as "interrupted at
 * <step>" (the row names its owner: boot id, pid and process start time, so a
 * live process is never mistaken for a dead one); pv_ledger_close_interrupted()
 * records that for good. A certificate revocation is an event on the attempt
 * that minted it (revoked_at), shown as state "revoked".
 *
 * Order of writes at mint time: the CA records the new certificate in its own
 * file first, then pv_ledger_minted() records serial and fingerprint here,
 * and only after that may the certificate be written to a board. So every
 * certificate that can be on a board is in the ledger; a CA record without a
 * ledger row is a certificate that never left the host.
 *
 * {seq} numbers: pv_ledger_take_seq() hands out a per-profile running number
 * (from 1) and ties it to the board's MAC for good: the same board asking
 * again (a retry, a re-run, a renewal) gets its number back; no number is ever
 * given to two boards, across crashes, threads and processes.
 *
 * Secrets: the ledger has no field for a key, passphrase or password, and
 * every text it stores (error messages included) first has each secret
 * registered with pv_ledger_add_secret() and any PEM private key block replaced
 * by "[redacted]".
 *
 * Threads: a handle may be shared by threads (an internal mutex serialises
 * its calls); several handles, threads or processes may use the same file at
 * once (writers queue on SQLite's lock for up to 10 s).
 *
 * Schema (version 1): table attempts (one row per attempt, see struct
 * pv_ledger_row for the columns), table seq_numbers (profile, seq, mac),
 * view devices (the latest attempt of each MAC).
 *
 *     struct pv_ledger *lg;
 *     int64_t id, seq;
 *     if (pv_ledger_open("provisioned.db", &lg, &err) != PV_OK) ...
 *     pv_ledger_begin(lg, PV_LEDGER_PROVISION, "workshop", "/dev/ttyUSB0", &id, &err);
 *     pv_ledger_connected(lg, id, "esp8266", "a4:cf:12:00:00:01", 4 << 20, &err);
 *     pv_ledger_take_seq(lg, id, &seq, &err);
 *     ...
 *     pv_ledger_step(lg, id, PV_STEP_PROVISIONED, &err);
 *     pv_ledger_close(lg);
 */

#include <stdio.h> /* FILE, for pv_ledger_export() */

struct pv_ledger;

enum pv_ledger_kind {
    PV_LEDGER_PROVISION = 0,
    PV_LEDGER_RESET = 1,
};

/* In the order an attempt moves through them. */
enum pv_ledger_step {
    PV_STEP_STARTED = 0,
    PV_STEP_CONNECTED,
    PV_STEP_MINTED, /* provision only */
    PV_STEP_ERASED, /* reset only */
    PV_STEP_WRITTEN,
    PV_STEP_VERIFIED,
    PV_STEP_PROVISIONED, /* provision only, final */
    PV_STEP_RESET,       /* reset only, final */
};

/* What a row says as read now. */
enum pv_ledger_state {
    PV_STATE_RUNNING = 0, /* not ended, its process is alive */
    PV_STATE_INTERRUPTED, /* not ended, its process is gone */
    PV_STATE_FAILED,      /* ended by pv_ledger_fail() */
    PV_STATE_PROVISIONED, /* provisioning finished */
    PV_STATE_RESET,       /* factory reset finished */
    PV_STATE_REVOKED,     /* its certificate was revoked afterwards */
};

enum pv_ledger_reprovision {
    PV_REPROVISION_NONE = 0, /* a board the ledger had not provisioned */
    PV_REPROVISION_RENEW,    /* new key and certificate; the old one revoked */
    PV_REPROVISION_KEEP,     /* the board's key and certificate kept */
};

#define PV_LEDGER_MAC_LEN 24 /* "aa:bb:cc:dd:ee:ff" or 8-octet EUI-64, + NUL */

/* One attempt as stored. Text fields are NUL-terminated, "" when not known
 * yet; numbers are 0 when not known. Times are UTC, ISO 8601 with
 * milliseconds ("2024-05-01T12:00:00.000Z"). */
struct pv_ledger_row {
    int64_t id; /* attempt number, never reused */
    enum pv_ledger_kind kind;
    enum pv_ledger_state state;      /* derived at read time */
    enum pv_ledger_step step;        /* the last step reached */
    enum pv_ledger_step failed_step; /* the step that failed (state FAILED) */
    enum pv_ledger_reprovision reprovision;
    char profile[128]; /* the profile's "name" */
    char port[256];
    char owner[80];              /* "<boot id>:<pid>:<start time>" */
    char mac[PV_LEDGER_MAC_LEN]; /* lower case, colon separated */
    char chip[32];
    uint64_t flash_size; /* bytes */
    int64_t seq;         /* {seq} number, 0 if none */
    char device_id[128];
    char cert_serial[65];       /* upper-case hex, no separators or leading zeros */
    char cert_sha256[65];       /* lower-case hex of the DER's SHA-256 */
    char cert_not_after[32];    /* "2034-05-01T12:00:00Z" */
    char firmware_sha256[1024]; /* see pv_ledger_written() */
    char fs_sha256[65];
    char error[512]; /* state FAILED: why */
    char started_at[32];
    char updated_at[32];
    char ended_at[32];
    char revoked_at[32];
    char revoke_reason[128];
};

/* Opens or creates the ledger at `path` (mode 0600) and upgrades its schema.
 * Close with pv_ledger_close(). */
int pv_ledger_open(const char *path, struct pv_ledger **out, struct pv_error *err);
/* Closes and frees; wipes the registered secrets from memory. NULL is a no-op. */
void pv_ledger_close(struct pv_ledger *lg);
/* Registers a secret (passphrase, password; copied, wiped on close) that
 * must never reach the file: every text stored afterwards has it replaced
 * by "[redacted]" (longest secrets first). "" and NULL are ignored; at most
 * 16 secrets. */
int pv_ledger_add_secret(struct pv_ledger *lg, const char *secret, struct pv_error *err);

/* Creates the attempt row (state running, step started) and returns its
 * number in *id. `profile` is the profile name, `port` the serial port. */
int pv_ledger_begin(struct pv_ledger *lg, enum pv_ledger_kind kind, const char *profile,
                    const char *port, int64_t *id, struct pv_error *err);
/* Step connected: what the board said. `mac` in any common notation
 * (aa:bb:.., AA-BB-.., aabb..); `flash_size` in bytes (0 = unknown). For a
 * reset attempt, the device id and certificate of the MAC's latest
 * provisioned identity are copied into the row. */
int pv_ledger_connected(struct pv_ledger *lg, int64_t id, const char *chip, const char *mac,
                        uint64_t flash_size, struct pv_error *err);
/* Gives the attempt its profile's {seq} number (see above): the MAC's
 * number if it has one, else the next free one. Needs step connected. */
int pv_ledger_take_seq(struct pv_ledger *lg, int64_t id, int64_t *seq, struct pv_error *err);

/* The {seq} number pv_ledger_take_seq() would give `mac` under `profile`
 * now, without taking it (for --dry-run): its own (*assigned true) or the
 * next free one, which another board may still take first. */
int pv_ledger_peek_seq(struct pv_ledger *lg, const char *profile, const char *mac, int64_t *seq,
                       bool *assigned, struct pv_error *err);

struct pv_ledger_identity {
    const char *device_id;   /* required */
    const char *cert_serial; /* hex, colons allowed; required */
    const char *cert_sha256; /* 64 hex digits, colons allowed; required */
    int64_t not_after;       /* Unix time, seconds */
    enum pv_ledger_reprovision reprovision;
};
/* Step minted: the identity now meant for the board (a new one, or with
 * PV_REPROVISION_KEEP the one read back from it). */
int pv_ledger_minted(struct pv_ledger *lg, int64_t id, const struct pv_ledger_identity *ident,
                     struct pv_error *err);
/* Step written. `firmware_sha256` is one SHA-256 (64 hex digits) or, for
 * several images, "0xOFFSET:SHA256" items joined by ',' (at most 1023
 * characters); `fs_sha256` the filesystem image's. Either may be NULL. */
int pv_ledger_written(struct pv_ledger *lg, int64_t id, const char *firmware_sha256,
                      const char *fs_sha256, struct pv_error *err);
/* Moves to a step that carries no data: erased, verified, provisioned, reset.
 * Refuses a step of the other kind or one not after the current step. */
int pv_ledger_step(struct pv_ledger *lg, int64_t id, enum pv_ledger_step step,
                   struct pv_error *err);
/* Ends the attempt as failed at `failed_step` (the step it could not reach)
 * with `error` (a library message; cut to 511 bytes, secrets redacted). */
int pv_ledger_fail(struct pv_ledger *lg, int64_t id, enum pv_ledger_step failed_step,
                   const char *error, struct pv_error *err);
/* Marks every attempt that minted certificate `serial` as revoked, with a
 * short reason ("renewed", "factory reset", ...). *count (may be NULL) gets
 * the number of rows marked; 0 is not an error. */
int pv_ledger_revoke(struct pv_ledger *lg, const char *serial, const char *reason, int *count,
                     struct pv_error *err);
/* Ends every attempt whose process is gone as interrupted (it keeps its
 * step; the error says "interrupted"). *count (may be NULL) gets how many. */
int pv_ledger_close_interrupted(struct pv_ledger *lg, int *count, struct pv_error *err);

/* Reads attempt `id`; PV_ERR_NOT_FOUND if there is none. */
int pv_ledger_get(struct pv_ledger *lg, int64_t id, struct pv_ledger_row *row,
                  struct pv_error *err);
/* The MAC's latest attempt, whatever its state; PV_ERR_NOT_FOUND if none. */
int pv_ledger_latest(struct pv_ledger *lg, const char *mac, struct pv_ledger_row *row,
                     struct pv_error *err);
/* The MAC's current identity: its latest provisioned attempt whose
 * certificate is not revoked; PV_ERR_NOT_FOUND if none. */
int pv_ledger_identity(struct pv_ledger *lg, const char *mac, struct pv_ledger_row *row,
                       struct pv_error *err);

/* Selects rows for pv_ledger_foreach(); zero/NULL fields match everything. */
struct pv_ledger_filter {
    const char *mac; /* any notation */
    const char *device_id;
    const char *profile;
    int64_t id;    /* one attempt */
    bool by_state; /* match `state` only when set */
    enum pv_ledger_state state;
};
/* Calls fn for each matching row, oldest first; a non-zero return from fn
 * stops the walk and is returned. `filter` may be NULL. Rows are read in
 * small batches and fn runs without the handle's lock, so fn may call other
 * pv_ledger functions on the same handle. Unfinished attempts of a re-run:
 * filter by_state PV_STATE_INTERRUPTED. */
int pv_ledger_foreach(struct pv_ledger *lg, const struct pv_ledger_filter *filter,
                      int (*fn)(const struct pv_ledger_row *row, void *arg), void *arg,
                      struct pv_error *err);

/* Names for display and parsing ("provisioned", "failed", ...). */
const char *pv_ledger_step_name(enum pv_ledger_step step);
const char *pv_ledger_state_name(enum pv_ledger_state state);
const char *pv_ledger_kind_name(enum pv_ledger_kind kind);
const char *pv_ledger_reprovision_name(enum pv_ledger_reprovision mode);
/* Parses a state name; PV_ERR_INVALID if unknown. */
int pv_ledger_state_parse(const char *name, enum pv_ledger_state *out);
/* "failed at write: <error>", "interrupted at minted", "provisioned", ...
 * (the one-line status a person reads). */
void pv_ledger_describe(const struct pv_ledger_row *row, char *buf, size_t cap);
/* Normalises a MAC (6 or 8 octets, ':' or '-' separated or bare hex) to
 * lower-case colon form. Returns PV_OK or PV_ERR_INVALID. */
int pv_ledger_mac_normalize(const char *text, char out[PV_LEDGER_MAC_LEN]);

enum pv_ledger_format {
    PV_LEDGER_CSV = 0,  /* header row, RFC 4180 quoting, CRLF line ends */
    PV_LEDGER_JSON = 1, /* an array of objects, one per attempt */
};
/* Writes the rows matching `filter` (may be NULL) to `out`. */
int pv_ledger_export(struct pv_ledger *lg, const struct pv_ledger_filter *filter,
                     enum pv_ledger_format format, FILE *out, struct pv_error *err);
/* The same into `path`, atomically (a temp file renamed over it; nothing is
 * left behind on failure). The file is created 0600. */
int pv_ledger_export_file(struct pv_ledger *lg, const struct pv_ledger_filter *filter,
                          enum pv_ledger_format format, const char *path, struct pv_error *err);

/* ===== Flash layouts =================================================== */
/*
 * Where the filesystem sits in flash.
 *
 * ESP8266 (Arduino core): the "Flash Size" menu fixes the FS region. Each
 * menu entry is a row of one table, named like the core's linker scripts
 * (eagle.flash.4m2m.ld): the flash size with its unit, then the menu's FS
 * size, in KB without a unit below 1 MB and in MB with "M" from 1 MB:
 *     512K32 512K64 512K128, 1M64 1M128 1M144 1M160 1M192 1M256 1M512,
 *     2M64 2M128 2M256 2M512 2M1M, 4M1M 4M2M 4M3M, 8M6M 8M7M, 16M14M 16M15M
 * ("4M2M" = 4 MB flash with the 2 MB FS entry). Lookups ignore case and also
 * take "eagle.flash.4m2m.ld", "4M(2M)", "4MB-FS2MB", "4M (FS:2MB OTA:~1019KB)".
 * Above 1 MB the real FS is 20 or 24 KB smaller than the menu says (it ends
 * below the SDK's settings sectors, in whole blocks): fs_size is the truth.
 *
 * ESP32 family: an ESP-IDF partition table (CSV as gen_esp32part.py reads it,
 * or the 0xC00-byte binary at flash offset 0x8000). The filesystem is the
 * first data/spiffs partition or the one with a given label; build its image
 * for the partition size rounded down to 4 KB.
 */

struct pv_esp8266_layout {
    const char *name;    /* canonical name, e.g. "4M2M" */
    uint32_t flash_size; /* bytes */
    uint32_t fs_label;   /* the FS size the menu names, bytes */
    uint32_t fs_offset;  /* absolute flash offset of the FS, bytes */
    uint32_t fs_size;    /* FS length in bytes, a whole number of blocks */
    uint32_t block_size; /* FS block, bytes (4096 below 512 KB, else 8192) */
    uint32_t page_size;  /* SPIFFS page, bytes */
};

/* Finds a layout by name or alias (see above). *out points into a static
 * table. PV_ERR_NOT_FOUND (with the known names in the hint) if unknown. */
int pv_layout_find(const char *name, const struct pv_esp8266_layout **out, struct pv_error *err);
/* The i-th layout, ordered by flash size then FS size; NULL past the end. */
const struct pv_esp8266_layout *pv_layout_get(size_t i);

#define PV_PARTITION_TABLE_OFFSET 0x8000u /* default CONFIG_PARTITION_TABLE_OFFSET */
#define PV_PARTITION_TABLE_SIZE   0xC00u  /* bytes of the binary table */
#define PV_PARTITION_SECTOR       0x1000u /* flash the table owns */
#define PV_PARTITION_MAX          95      /* entries that fit (94 with the MD5 record) */
#define PV_PARTITION_LABEL_MAX    16

enum pv_partition_type {
    PV_PART_APP = 0x00,
    PV_PART_DATA = 0x01,
    PV_PART_BOOTLOADER = 0x02,
    PV_PART_PARTITION_TABLE = 0x03,
};
#define PV_PART_SUBTYPE_OTA      0x00 /* data/ota (otadata) */
#define PV_PART_SUBTYPE_SPIFFS   0x82 /* data/spiffs */
#define PV_PART_SUBTYPE_LITTLEFS 0x83 /* data/littlefs */

enum pv_partition_flags {
    PV_PART_ENCRYPTED = 1 << 0,
    PV_PART_READONLY = 1 << 1,
};

struct pv_partition {
    char label[PV_PARTITION_LABEL_MAX + 1]; /* NUL-terminated */
    uint8_t type;                           /* enum pv_partition_type or 0x40..0xFE */
    uint8_t subtype;
    uint32_t offset; /* absolute flash offset, bytes */
    uint32_t size;   /* bytes */
    uint32_t flags;  /* enum pv_partition_flags; unknown bits from a binary kept */
    int line;        /* CSV line (from 1), 0 when read from a binary */
};

struct pv_partition_table {
    uint32_t table_offset; /* where the table sits in flash */
    bool has_md5;          /* a binary carried the MD5 record */
    size_t count;
    struct pv_partition entries[PV_PARTITION_MAX];
};

/*
 * Parses a partition table CSV (`len` bytes of `text`, no NUL needed) the
 * way gen_esp32part.py does: '#' comment lines; Name, Type, SubType, Offset,
 * Size, Flags; type and subtype by keyword or number; offset and size decimal
 * or 0x hex with an optional K/M suffix; a negative size "-X" means "up to
 * address X"; an empty offset places the partition after the previous one
 * (64 KB aligned for app, 4 KB otherwise; the first free address is
 * `table_offset` + 0x1000); flags "encrypted" and "readonly", ':' separated.
 * `table_offset` 0 means 0x8000. The result is validated (flash size not
 * checked). Errors name the line: "line 4: ...".
 */
int pv_partitions_parse_csv(const char *text, size_t len, uint32_t table_offset,
                            struct pv_partition_table *out, struct pv_error *err);
/*
 * Parses a binary table as read from flash at `table_offset` (0 = 0x8000):
 * 32-byte entries with magic AA 50, an optional MD5 record (EB EB) that must
 * match, ending at an all-0xFF slot. `len` may be the 0xC00 table or the
 * whole sector. Validated like a CSV. PV_ERR_NOT_FOUND if the first slot is
 * erased (no table there).
 */
int pv_partitions_parse_binary(const uint8_t *data, size_t len, uint32_t table_offset,
                               struct pv_partition_table *out, struct pv_error *err);
/* Reads a CSV or binary table from a file (binary if it starts AA 50). */
int pv_partitions_load(const char *path, uint32_t table_offset, struct pv_partition_table *out,
                       struct pv_error *err);
/*
 * Checks a table: labels (1-16 bytes, unique), offsets aligned (app 64 KB,
 * others 4 KB), app sizes 4 KB multiples, no size 0, no overlap, nothing
 * inside or below the table's sector (bootloader and partition_table entries
 * excepted), everything below `flash_size` (bytes; 0 = not checked), at most
 * one otadata of 0x2000 bytes, readonly not on otadata/coredump, whole table
 * fits 0xC00 bytes.
 */
int pv_partitions_validate(const struct pv_partition_table *t, uint32_t flash_size,
                           struct pv_error *err);
/* Builds the 0xC00-byte binary: entries, the MD5 record when `md5`, 0xFF
 * fill. Validates first. */
int pv_partitions_to_binary(const struct pv_partition_table *t, bool md5,
                            uint8_t out[PV_PARTITION_TABLE_SIZE], struct pv_error *err);
/* The filesystem partition: the one labelled `label`, or with label NULL the
 * first data/spiffs. *out points into `t`. PV_ERR_NOT_FOUND otherwise, with
 * the data partitions in the hint. */
int pv_partitions_find_fs(const struct pv_partition_table *t, const char *label,
                          const struct pv_partition **out, struct pv_error *err);
/* Keyword for a type ("app", "data", ...) or subtype ("spiffs", "ota_0",
 * ...); NULL when the number has none. */
const char *pv_partition_type_name(uint8_t type);
const char *pv_partition_subtype_name(uint8_t type, uint8_t subtype);

/* ######################################################################
 * ===== BEGIN profiles, certificates, device config, images (issue 3) ===
 * Files: profile*.c, template.c, secret.c, fileio.c, ca.c, cert*.c,
 * issued.c, crl.c, keypool.c, devconfig.c, devimage.c.
 * ###################################################################### */

/* ===== Files ========================================================== */

enum pv_write_flags {
    PV_WRITE_EXCL = 1 << 0, /* refuse to replace an existing file (PV_ERR_EXISTS) */
};

/*
 * Writes `len` bytes to `path` with permission `mode` (e.g. 0600 for keys)
 * through a temporary file in the same folder, fsync and rename, so `path`
 * either keeps its old content or holds all of the new one; the temporary
 * file is removed on failure. With PV_WRITE_EXCL the final step fails if
 * `path` exists (checked atomically, not before writing).
 */
int pv_file_write(const char *path, const void *data, size_t len, unsigned mode, unsigned flags,
                  struct pv_error *err);
/* Reads a whole regular file (at most `max` bytes, else PV_ERR_INVALID) into
 * a malloc'd buffer with a NUL after the last byte (*len excludes it). */
int pv_file_read(const char *path, size_t max, uint8_t **data, size_t *len, struct pv_error *err);

/* Wipes then frees a buffer that held a secret (NULL is fine). */
void pv_secret_free(void *buf, size_t len);
/* Wipes and frees a NUL-terminated secret string (NULL is fine). */
void pv_secret_free_str(char *s);

/* ===== Profiles ======================================================= */

#define PV_ID_MAX     64   /* bytes in a device id (the certificate CN) */
#define PV_DAYS_NEVER (-1) /* validity "never": notAfter 99991231235959Z */

enum pv_key_type {
    PV_KEY_EC_P256 = 0, /* "ec-p256" (default) */
    PV_KEY_RSA2048 = 1, /* "rsa2048": devices and servers */
    PV_KEY_RSA3072 = 2, /* "rsa3072": CAs */
};
/* "ec-p256", "rsa2048", "rsa3072". */
const char *pv_key_type_name(enum pv_key_type type);

enum pv_format {
    PV_FORMAT_DER = 0, /* ESP8266 BearSSL, ESP-IDF */
    PV_FORMAT_PEM = 1, /* Arduino-ESP32 (NUL-terminated text APIs) */
};
const char *pv_format_name(enum pv_format format); /* "der", "pem" */

/* A name and a (template) value, kept in profile order. */
struct pv_kv {
    char *name;
    char *value;
};

/* One firmware file and where it is flashed. */
struct pv_profile_firmware {
    uint32_t offset; /* flash offset, a multiple of 4096 */
    uint32_t size;   /* the file's size in bytes when the profile was loaded */
    char *file;      /* absolute path */
};

/* One extra file for the device filesystem, read when the profile loads. */
struct pv_profile_file {
    char *name;    /* SPIFFS name, "/index.html" */
    char *path;    /* absolute path on the host */
    uint8_t *data; /* its bytes (owned by the profile) */
    size_t size;
};

/*
 * A loaded, validated profile (see profiles/README.md for every key). All
 * paths are absolute; strings are NUL-terminated and owned by the profile;
 * template fields (marked T) hold the unexpanded text, already checked for
 * unknown placeholders and worst-case lengths. Fields marked S are secrets:
 * never print them. A string is NULL when the profile leaves it out, or
 * (with PV_PROFILE_DEFER_ENV) when it names an unset environment variable;
 * the functions that need such a field then fail naming the variable.
 */
struct pv_profile {
    char *file; /* the profile path as given */
    char *dir;  /* absolute folder that relative paths resolve against */
    char *name; /* .name: 1-32 of [A-Za-z0-9._-] */
    char *chip; /* .chip: "esp8266", "esp32", "esp32s3", ... */
    struct {
        uint32_t size; /* bytes; 0 when the profile leaves it to detection */
        char *mode;    /* "qio" "qout" "dio" "dout" or NULL */
        char *freq;    /* "80m" "40m" "26m" "20m" or NULL */
        uint32_t baud; /* 0 when not set */
        char *stub;    /* flasher stub (esptool JSON), absolute path, or NULL: ROM only */
    } flash;
    struct pv_profile_firmware *firmware;
    size_t firmware_count;
    struct {
        char *preset;                  /* spiffsgen preset name */
        char *layout;                  /* .filesystem.layout: ESP8266 layout name, or NULL */
        char *partition;               /* .filesystem.partition: label, or NULL */
        bool explicit_region;          /* .filesystem.offset and .size were given */
        uint32_t offset;               /* flash offset; 0 with .partitions "device" */
        uint32_t size;                 /* image size in bytes; 0 with .partitions "device" */
        uint32_t block_size;           /* SPIFFS block; 0: the preset's for `size` */
        struct pv_profile_file *files; /* extra files, sorted by name */
        size_t file_count;
    } fs;
    struct {
        char *cert;                /* PEM certificate */
        char *key;                 /* PEM PKCS#8 key, encrypted */
        char *db;                  /* issuance record (SQLite) */
        char *crl;                 /* where `ca crl` writes the PEM CRL */
        char *passphrase;          /* S: from the profile (usually "${NAME}") or NULL */
        char *passphrase_file;     /* first line holds the passphrase, or NULL */
        enum pv_key_type key_type; /* for `ca init` */
        int32_t days;              /* CA validity for `ca init`, or PV_DAYS_NEVER */
        int32_t crl_days;          /* CRL nextUpdate distance */
        struct pv_kv *subject;     /* for `ca init` ({profile} only) */
        size_t subject_count;
    } ca;
    struct {
        char *id; /* T: the device id template, e.g. "esp-{mac}" */
        enum pv_key_type key_type;
        int32_t days; /* > 0, or PV_DAYS_NEVER */
        enum pv_format format;
        struct pv_kv *subject; /* T values; attribute names C ST L O OU CN serialNumber */
        size_t subject_count;
        char **san_dns; /* T */
        size_t san_dns_count;
    } device;
    struct {
        char *ssid;
        char *password; /* S: "" for an open network */
    } wifi;
    struct {
        char *host;
        uint32_t port;
        char *client_id;      /* T */
        char *username;       /* T, or NULL */
        char *password;       /* S, or NULL */
        char *token;          /* S, or NULL */
        struct pv_kv *topics; /* T values; "status" always present */
        size_t topic_count;
    } mqtt;
    char **ntp; /* NTP servers, or NULL (firmware default) */
    size_t ntp_count;
    struct {
        char *ca, *cert, *key, *config; /* SPIFFS names */
    } paths;
    struct {
        char *file;       /* .partitions: CSV or binary table, absolute path, or NULL */
        bool from_device; /* .partitions "device": each board's table at 0x8000 */
        struct pv_partition_table *table; /* parsed `file` (NULL under NO_FILES) */
    } partitions;
    char *ledger; /* absolute path of the provisioning ledger */
    struct pv_profile_priv *priv;
};

enum pv_profile_flags {
    /* An unset ${NAME} leaves the field NULL instead of failing the load
     * (commands that never use it: `ca crl`, `cert revoke`, ...). */
    PV_PROFILE_DEFER_ENV = 1 << 0,
    /* Skip every check and read of a file on the host (fuzzing, dry syntax
     * checks); fs.files stay empty and firmware sizes 0. */
    PV_PROFILE_NO_FILES = 1 << 1,
};

/* How ${NAME} is looked up; NULL (or a NULL fn) means getenv. */
struct pv_env {
    const char *(*lookup)(void *user, const char *name);
    void *user;
};

/*
 * Loads and validates a profile. Every error names the JSON path
 * (".mqtt.port: expected an integer 1-65535, got \"8883x\"") or, for a
 * syntax error, "<file>:<line>:<column>". Values of secret fields never
 * appear in errors. On success *out is owned by the caller (pv_profile_free).
 */
int pv_profile_load(const char *path, unsigned flags, const struct pv_env *env,
                    struct pv_profile **out, struct pv_error *err);
/* The same from a buffer; `dir` is what relative paths resolve against
 * and `name` labels syntax errors. */
int pv_profile_parse(const char *json, size_t len, const char *dir, const char *name,
                     unsigned flags, const struct pv_env *env, struct pv_profile **out,
                     struct pv_error *err);
/* Frees everything, wiping secrets. NULL is fine. */
void pv_profile_free(struct pv_profile *p);
/*
 * The resolved profile as indented JSON (defaults filled in, absolute
 * paths, sizes as hex), secrets replaced by "<redacted>" and the names of
 * the environment variables they come from. Caller frees *out with free().
 */
int pv_profile_dump(const struct pv_profile *p, char **out, struct pv_error *err);
/*
 * The CA passphrase from the profile (ca.passphrase, else the first line of
 * ca.passphrase_file) into buf (NUL-terminated). *found is false when the
 * profile names neither: the caller then asks the user. Wipe buf after use.
 */
int pv_profile_ca_passphrase(const struct pv_profile *p, char *buf, size_t len, bool *found,
                             struct pv_error *err);

/*
 * The filesystem region partition table `t` gives for profile `p`: the
 * partition labelled .filesystem.partition, else the first data/spiffs one,
 * its size rounded down to 4 KB. When the profile also gives
 * .filesystem.offset and .size, they must agree (else PV_ERR_INVALID naming
 * both). For .partitions "device", with the table read from each board.
 */
int pv_profile_fs_from_table(const struct pv_profile *p, const struct pv_partition_table *t,
                             uint32_t *offset, uint32_t *size, struct pv_error *err);

/* ===== Devices and templates ========================================== */

/* What one board's template values come from. */
struct pv_device {
    char id[PV_ID_MAX + 1];
    bool has_mac;
    uint8_t mac[6];
    bool has_seq;
    uint32_t seq;
    char chip[24]; /* the profile's chip unless detected otherwise */
};

/*
 * Fills *dev: `id` when given (checked: 1-64 of [A-Za-z0-9._-]), else the
 * profile's id template expanded with `mac` (6 bytes, or NULL) and `seq`
 * (< 0: none). `chip` NULL means the profile's. Fails naming the missing
 * value when the template needs one ("needs {mac}: pass --mac or --id").
 */
int pv_device_init(struct pv_device *dev, const struct pv_profile *p, const char *id,
                   const uint8_t *mac, int64_t seq, const char *chip, struct pv_error *err);
/* Parses "a4:cf:12:34:56:78", "a4-cf-..." or "a4cf12345678". 0 or PV_ERR_INVALID. */
int pv_parse_mac(const char *text, uint8_t mac[6]);

/*
 * Expands {mac} {mac_suffix} {seq} {seq:N} {chip} {id} {profile} ({{ and }}
 * for braces) into out (len bytes with the NUL). PV_ERR_INVALID when a value
 * the template uses is missing or the result does not fit.
 */
int pv_template_expand(const char *tmpl, const struct pv_profile *p, const struct pv_device *dev,
                       char *out, size_t len, struct pv_error *err);

/* ===== Certificate authority and identities =========================== */

struct pv_ca; /* opaque: CA certificate + key + issuance record, thread-safe */

/*
 * `ca init`: creates the CA key (profile ca.key_type, encrypted with
 * `passphrase`, AES-256 PKCS#8 PEM, mode 0600), its self-signed certificate
 * and an empty issuance record. Refuses (PV_ERR_EXISTS) when the key or the
 * certificate exists. Creates the CA folder (0755) if missing.
 */
int pv_ca_create(const struct pv_profile *p, const char *passphrase, struct pv_error *err);
/* True when the CA key file is an encrypted PEM (a passphrase is needed). */
bool pv_ca_key_is_encrypted(const struct pv_profile *p);
/*
 * Loads the CA once per run: certificate, key (decrypted with `passphrase`,
 * may be NULL for an unencrypted key), checks they match, the certificate is
 * a CA and is valid now, and opens the issuance record (ca.db). The handle
 * may be shared by threads minting in parallel.
 */
int pv_ca_open(const struct pv_profile *p, const char *passphrase, struct pv_ca **out,
               struct pv_error *err);
void pv_ca_free(struct pv_ca *ca);
/* The CA certificate (DER), owned by the handle. */
void pv_ca_cert_der(const struct pv_ca *ca, const uint8_t **der, size_t *len);
/* The CA certificate alone (no key, no passphrase), as DER in a malloc'd buffer. */
int pv_ca_cert_read(const struct pv_profile *p, uint8_t **der, size_t *len, struct pv_error *err);

/* A certificate and its private key, in memory. */
struct pv_identity {
    char id[PV_ID_MAX + 1]; /* device id, or the server's CN */
    enum pv_key_type key_type;
    uint8_t *cert_der; /* malloc'd */
    size_t cert_der_len;
    uint8_t *key_der; /* secret: PKCS#8 DER, malloc'd, wiped by pv_identity_release */
    size_t key_der_len;
    char serial[41];   /* uppercase hex without separators */
    char sha256[65];   /* lowercase hex SHA-256 of cert_der */
    int64_t not_after; /* Unix seconds; INT64_MAX for "never" */
};
/* Wipes the key and frees both buffers; leaves *id zeroed. NULL is fine. */
void pv_identity_release(struct pv_identity *id);

struct pv_keypool; /* background key generation, see below */

/*
 * Mints a device identity: a key (from `pool` when given and of the profile's
 * type, else generated here), a certificate per the profile (subject and SAN
 * templates expanded for `dev`), signed by the CA. The certificate is
 * committed to the issuance record before this returns; nothing touches the
 * disk otherwise. Safe to call from several threads on one `ca`.
 */
int pv_mint_device(struct pv_ca *ca, const struct pv_profile *p, const struct pv_device *dev,
                   struct pv_keypool *pool, struct pv_identity *out, struct pv_error *err);

/*
 * The same for n devices (devs[i] -> out[i]), recorded in one transaction:
 * one disk sync for the batch, and none of them is returned unless all are
 * recorded. On failure every out[i] is released.
 */
int pv_mint_devices(struct pv_ca *ca, const struct pv_profile *p, const struct pv_device *devs,
                    size_t n, struct pv_keypool *pool, struct pv_identity *out,
                    struct pv_error *err);

/*
 * For --dry-run: the identity pv_mint_device would make for `dev` (subject,
 * SANs, extensions, key type, validity), but signed by its own key instead of
 * the CA and recorded nowhere. It does not verify against the CA, so it can
 * never pass for an issued certificate; it exists only to build a
 * representative image. Release with pv_identity_release.
 */
int pv_mint_preview(struct pv_ca *ca, const struct pv_profile *p, const struct pv_device *dev,
                    struct pv_identity *out, struct pv_error *err);

/* A broker certificate request. */
struct pv_server_req {
    const char *const *dns; /* DNS names (at least one name or address) */
    size_t dns_count;
    const char *const *ips; /* IPv4/IPv6 text; each also goes in as a DNS name */
    size_t ip_count;
    enum pv_key_type key_type; /* PV_KEY_EC_P256 or PV_KEY_RSA2048 */
    int32_t days;              /* > 0 or PV_DAYS_NEVER */
};
/* Mints and records a broker certificate (serverAuth, CN = first name). */
int pv_mint_server(struct pv_ca *ca, const struct pv_server_req *req, struct pv_identity *out,
                   struct pv_error *err);

/*
 * An existing identity (e.g. read back from a board) from its certificate
 * and key, DER or PEM, key PKCS#8, SEC1 or PKCS#1; checks that they match.
 * id is the certificate's CN.
 */
int pv_identity_load(const uint8_t *cert, size_t cert_len, const uint8_t *key, size_t key_len,
                     struct pv_identity *out, struct pv_error *err);
/* DER -> DER copy or PEM text ("CERTIFICATE" / "PRIVATE KEY"), malloc'd. The
 * key form is a secret: free it with pv_secret_free. */
int pv_encode_cert(const uint8_t *der, size_t len, enum pv_format f, uint8_t **out, size_t *out_len,
                   struct pv_error *err);
int pv_encode_key(const uint8_t *der, size_t len, enum pv_format f, uint8_t **out, size_t *out_len,
                  struct pv_error *err);

/* What a certificate says, for display and checks. */
struct pv_cert_info {
    char subject[256]; /* RFC 2253 form, "CN=esp-...,O=Acme" */
    char issuer[256];
    char serial[41];
    char sha256[65];
    int64_t not_before, not_after; /* Unix seconds; not_after INT64_MAX for "never" */
};
/* Parses a DER certificate. */
int pv_cert_info(const uint8_t *der, size_t len, struct pv_cert_info *out, struct pv_error *err);
/* PV_OK when `ident`'s certificate was signed by the CA certificate `ca_der`,
 * else PV_ERR_INVALID saying so. */
int pv_identity_issued_by(const struct pv_identity *ident, const uint8_t *ca_der, size_t ca_len,
                          struct pv_error *err);

/*
 * Pre-generates keys of one type on `threads` background threads, keeping
 * up to `capacity` ready, so RSA minting never waits for a prime search.
 * pv_mint_device takes a ready key or, when none is, generates its own.
 */
int pv_keypool_new(enum pv_key_type type, unsigned threads, size_t capacity,
                   struct pv_keypool **out, struct pv_error *err);
/* Stops the threads and frees every unused key. NULL is fine. */
void pv_keypool_free(struct pv_keypool *pool);
/* Blocks until at least `n` keys are ready (n <= capacity): for benchmarks. */
void pv_keypool_wait(struct pv_keypool *pool, size_t n);

/* ===== Issuance record and revocation ================================= */

/* One issued certificate as recorded (never a key). */
struct pv_issued {
    char serial[41];
    char kind[8]; /* "device" or "server" */
    char id[PV_ID_MAX + 1];
    char sha256[65];
    int64_t issued_at;  /* Unix seconds */
    int64_t not_after;  /* INT64_MAX for never */
    int64_t revoked_at; /* 0 when not revoked */
    int reason;         /* CRL reason code when revoked */
};

/* CRL reason from its name ("unspecified", "keyCompromise", "superseded",
 * "cessationOfOperation", "affiliationChanged"); -1 when unknown. */
int pv_crl_reason(const char *name);

/*
 * Revokes by serial (hex, colons allowed) or, when serial is NULL, every
 * unrevoked certificate of device `id`. Needs only the record, not the CA
 * key. *count gets how many were revoked; PV_ERR_NOT_FOUND when none matched.
 */
int pv_revoke(const struct pv_profile *p, const char *serial, const char *id, int reason,
              size_t *count, struct pv_error *err);
/* Calls fn for each recorded certificate in issue order; a non-zero return
 * from fn stops the walk and is returned. */
int pv_issued_list(const struct pv_profile *p, int (*fn)(void *user, const struct pv_issued *row),
                   void *user, struct pv_error *err);
/*
 * Writes a PEM CRL of every revoked certificate to `path` (NULL: the
 * profile's ca.crl), signed by the CA, nextUpdate ca.crl_days ahead (never
 * past the CA's own expiry), with an increasing CRL number. *revoked gets the
 * entry count and *next_update the
 * nextUpdate time in Unix seconds (either may be NULL).
 */
int pv_ca_write_crl(struct pv_ca *ca, const char *path, size_t *revoked, int64_t *next_update,
                    struct pv_error *err);

/* ===== Device config file and filesystem image ======================= */

/*
 * The device config file (contract in profiles/README.md) for `dev`:
 * compact JSON, stable key order, at most 2048 bytes. It holds the WiFi
 * password: free with pv_secret_free(*out, *len).
 */
int pv_devconfig_build(const struct pv_profile *p, const struct pv_device *dev, char **out,
                       size_t *len, struct pv_error *err);

/*
 * The complete filesystem image for one device in memory: CA certificate
 * (`ca_der`), the identity's certificate and key and the config file in the
 * profile's format and names, plus the profile's extra files, built with its
 * filesystem parameters. *image holds the key: free with pv_secret_free.
 */
int pv_image_build(const struct pv_profile *p, const struct pv_device *dev,
                   const struct pv_identity *ident, const uint8_t *ca_der, size_t ca_len,
                   uint8_t **image, size_t *size, struct pv_error *err);
/* Reads the identity stored in an image built for this profile (to rebuild
 * the rest around it). */
int pv_image_read_identity(const struct pv_profile *p, const uint8_t *image, size_t size,
                           struct pv_identity *out, struct pv_error *err);

/* ===== END profiles, certificates, device config, images ============= */

/* ######################################################################
 * ===== Jobs: provisioning, filesystem rebuild, factory reset ==========
 * Files: jobs.c, job*.c, flashplan.c, factory.c, batch.c, station.c.
 * ###################################################################### */

/*
 * One job is one board on one serial port, run on the caller's thread
 * (pv_batch runs one thread per port). A provisioning job, in this order so
 * that a crash or kill -9 at any moment leaves a ledger that tells the truth:
 *
 *   ledger row (before the board is touched) -> connect + detect -> ledger
 *   connected -> checks (chip, flash size, regions; with .partitions
 *   "device" the board's table) -> device id ({seq} taken) -> reprovision
 *   policy -> identity: mint (recorded by the CA first) or keep (read back)
 *   -> ledger minted -> revoke certificates of this MAC's unfinished
 *   attempts (superseded) -> config + filesystem image in memory -> write
 *   firmware, table and filesystem (compressed, MD5 verified) -> ledger
 *   written, verified -> revoke the certificate a renewal replaced -> hard
 *   reset -> ledger provisioned.
 *
 * A failure ends the row as "failed at <step>" with the reason. A board whose
 * previous attempt failed or was interrupted is simply provisioned again: it
 * counts as "seen before" only once an attempt reached provisioned.
 *
 * --dry-run: everything up to the write, nothing written: no ledger row, no
 * {seq} taken, no certificate issued. The identity is a preview
 * (pv_mint_preview: same shape, self-signed, recorded nowhere), so the CA
 * record keeps holding exactly the certificates that may be on a board.
 *
 * Cancelling: `abort` (when raised) stops a job at the next safe point, i.e.
 * between two flash blocks or two steps; its row then says "failed at <step>:
 * cancelled". Not starting new boards is the batch's business.
 *
 * A factory reset: ledger row -> connect -> connected (the row gets the MAC's
 * identity) -> [revoke every unrevoked certificate of the MAC] -> erase
 * (the data regions, or the whole chip) -> erased -> [write the profile's
 * firmware back -> written, verified] -> hard reset -> reset. Data regions:
 * the filesystem; on ESP32 chips every data partition of the partition table
 * (the profile's, else the one read from the board) except phy and efuse
 * (nvs, otadata, coredump, nvs_keys, fat, spiffs, littlefs, undefined
 * subtypes of type data); on the ESP8266 also everything from the end of the
 * filesystem to the end of the flash (EEPROM, RF calibration, SDK WiFi
 * settings), as Arduino's "Sketch + WiFi Settings" erase does.
 */
struct fl_stub;
struct fl_stub_set;

enum pv_job_mode {
    PV_JOB_PROVISION = 0, /* firmware + filesystem, a new or kept identity */
    PV_JOB_ONLY_FS,       /* only the filesystem, keeping the board's identity */
    PV_JOB_RESET,         /* factory reset */
};

enum pv_reprovision_policy {
    PV_POLICY_ASK = 0, /* call `ask`; without it, refuse */
    PV_POLICY_RENEW,   /* new key and certificate; the old one revoked */
    PV_POLICY_KEEP,    /* keep the key and certificate read back from the board */
};

enum pv_reset_flags {
    PV_RESET_FULL = 1 << 0,    /* erase the whole chip */
    PV_RESET_RESTORE = 1 << 1, /* write the profile's firmware (and table) back */
    PV_RESET_REVOKE = 1 << 2,  /* revoke the MAC's certificates */
};

enum pv_job_phase {
    PV_PHASE_CONNECT = 0,
    PV_PHASE_CHECK,
    PV_PHASE_READ, /* reading the filesystem or partition table back */
    PV_PHASE_MINT,
    PV_PHASE_BUILD,
    PV_PHASE_ERASE,
    PV_PHASE_WRITE,
    PV_PHASE_RESET,
    PV_PHASE_DONE,
};
/* "connect", "check", ... */
const char *pv_job_phase_name(enum pv_job_phase phase);

/* A snapshot for progress displays; pointers valid during the call only. */
struct pv_job_progress {
    const char *port;
    enum pv_job_phase phase;
    uint64_t done, total; /* bytes while reading, erasing, writing; else 0 */
    const char *mac;      /* "" until connected */
    const char *id;       /* "" until known */
};

/* How a job ended. Text fields are NUL-terminated, "" when unknown. */
struct pv_job_result {
    char port[256];
    char mac[PV_LEDGER_MAC_LEN];
    char chip[24]; /* "esp32" */
    char id[PV_ID_MAX + 1];
    int64_t attempt; /* ledger row; 0 in a dry run or when none was made */
    bool ok;
    bool dry_run;
    bool cancelled;                  /* stopped by `abort` */
    bool verified;                   /* every written region's MD5 matched */
    enum pv_ledger_step failed_step; /* when !ok */
    char error[512];
    char hint[256];
    char note[256];  /* what the user should know even on success, or "" */
    char serial[41]; /* the certificate on the board (new or kept) */
    char sha256[65];
    enum pv_ledger_reprovision reprovision;
    unsigned revoked; /* certificates this job revoked (CRL needs rewriting) */
    uint64_t bytes;   /* bytes written (before compression) or erased */
    double seconds;
};

struct pv_jobs_priv;

/* What every job of a run shares. Fill the public part, then
 * pv_jobs_prepare(); read-only while jobs run. Callbacks come from the jobs'
 * threads, concurrently; each may be NULL. */
struct pv_jobs {
    enum pv_job_mode mode;
    const struct pv_profile *profile;
    struct pv_ca *ca;                /* required except for a reset without REVOKE */
    struct pv_ledger *ledger;        /* required */
    struct pv_keypool *pool;         /* RSA keys made ahead, or NULL */
    const struct fl_stub *stub;      /* flasher stub to run, or NULL: ROM loader */
    const struct fl_stub_set *stubs; /* else the board's chip's stub from these (or NULL) */
    uint32_t baud;                   /* 0: .flash.baud, else 460800 */
    bool dry_run;
    enum pv_reprovision_policy reprovision;
    unsigned reset_flags; /* enum pv_reset_flags */
    int log_level;        /* enum fl_log_level passed to `log` (default 0: errors) */
    const atomic_bool *abort;

    void *user;
    void (*progress)(void *user, const struct pv_job_progress *p);
    void (*log)(void *user, const char *port, int level, const char *msg);
    /* A board with a current identity under PV_POLICY_ASK: returns
     * PV_REPROVISION_RENEW, _KEEP, or _NONE to refuse. Called one at a time
     * per job; the callee serialises prompts. */
    enum pv_ledger_reprovision (*ask)(void *user, const char *port,
                                      const struct pv_ledger_row *identity);

    struct pv_jobs_priv *priv; /* set by pv_jobs_prepare */
};

/*
 * Loads and checks what does not depend on the board, once: firmware files
 * (image headers built for the profile's chip), their SHA-256, the partition
 * table binary, the CA certificate. Registers the profile's secrets with the
 * ledger and, unless dry_run, closes the attempts of dead processes
 * (pv_ledger_close_interrupted).
 */
int pv_jobs_prepare(struct pv_jobs *jobs, struct pv_error *err);
void pv_jobs_release(struct pv_jobs *jobs);

/* Runs one job on `port` and fills *out. Returns PV_OK when the board ended
 * as asked (out->ok), else the error code (details in *out). */
int pv_job_run(const struct pv_jobs *jobs, const char *port, struct pv_job_result *out);

/* ===== Batches and station mode ====================================== */

struct pv_batch; /* one worker thread per port */
struct fl_usb_watch_opts;
struct fl_usb_port;

/* `done` runs on the worker's thread as each job ends (may be NULL). */
int pv_batch_new(const struct pv_jobs *jobs,
                 void (*done)(void *user, const struct pv_job_result *r), void *user,
                 struct pv_batch **out, struct pv_error *err);
/* Starts a worker for `port`. PV_ERR_EXISTS while a worker holds that port;
 * PV_ERR_CANCELLED after pv_batch_stop. */
int pv_batch_start(struct pv_batch *b, const char *port, struct pv_error *err);
/* No new workers from now on (the running ones go on). */
void pv_batch_stop(struct pv_batch *b);
/* Workers still running. */
size_t pv_batch_running(struct pv_batch *b);
/* Waits for every worker. */
void pv_batch_wait(struct pv_batch *b);
/* Results of the finished jobs, in the order they ended. Only once no
 * worker runs (after pv_batch_wait); valid until the next pv_batch_start or
 * pv_batch_free. */
const struct pv_job_result *pv_batch_results(struct pv_batch *b, size_t *count);
/* Whether a finished job of this batch provisioned (or reset) the board with
 * this MAC (normalised form, "aa:bb:..."). Safe while workers run. */
bool pv_batch_done_ok(struct pv_batch *b, const char *mac);
/* Waits, then frees. NULL is fine. */
void pv_batch_free(struct pv_batch *b);

/* What the station reports besides job results. */
enum pv_station_event {
    PV_STATION_ARRIVED, /* a board arrived; a worker started on its tty */
    PV_STATION_SKIPPED, /* a board arrived but was not started (see `why`) */
    PV_STATION_LEFT,    /* a board went away */
};

/*
 * Station mode: watches USB (fl_usb_watch_*) until *stop, starting a worker
 * in `b` for each board that arrives with a usable tty (and, with
 * opts->report_present, for those already plugged in). Skipped: a board
 * without a usable tty, a tty whose worker still runs, and a native-USB
 * board whose serial (its MAC) was provisioned by this station, since its
 * reset into the app makes it arrive again. Returns when *stop is raised
 * (workers keep running: pv_batch_wait) or on a USB error.
 */
int pv_station_run(struct pv_batch *b, const struct fl_usb_watch_opts *opts,
                   const atomic_bool *stop,
                   void (*event)(void *user, enum pv_station_event ev, const char *tty,
                                 const char *why),
                   void *user, struct pv_error *err);

#endif
