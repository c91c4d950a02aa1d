/*
 * ledger — the record of every attempt on every board: one SQLite file, one
 * row per attempt moved forward step by step, so a crash never leaves it
 * saying more than happened (see the section comment below).
 *
 * Owns: struct pv_ledger and its rows, {seq} numbers, exports. May call:
 * core (and SQLite). Knows nothing of profiles, certificates or boards: the
 * caller hands it names, MACs, serials and digests.
 * Errors: the core contract; database failures are PV_ERR_DB.
 */
#ifndef ESPPROV_PROVISION_LEDGER_H
#define ESPPROV_PROVISION_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h> /* FILE, for pv_ledger_export() */

#include "provision/core/core.h"

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
 *     started -> connected -> minted -> write -> written -> verified -> provisioned
 * and of a factory reset:
 *     started -> connected -> erased -> write -> written -> verified -> reset
 * "write" is recorded just before the first byte goes to the board's flash,
 * so an attempt that stops after it ("interrupted at write") may have left
 * the flash half written, and one that stops before it left the board as it
 * was. "provisioned" and "reset" end the attempt. pv_ledger_fail() ends it at any
 * point with the step that could not be reached and the error text. An
 * attempt whose process died before it ended reads as "interrupted at
 * <step>" (the row names its owner: boot id, pid and process start time, so a
 * live process is never mistaken for a dead one); pv_ledger_close_interrupted()
 * records that for good. A certificate revocation is an event on the attempt
 * that minted it (revoked_at), shown as state "revoked"; a reset row names
 * the certificate its board held and says whether it is still live.
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
 * Schema (version 2; a version-1 file is upgraded in place when opened, see
 * ledger_migrate.c, unless it is read-only): table attempts (one row per attempt, see struct
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
    PV_STEP_WRITE,  /* about to write the board: its flash may be half written */
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
    PV_STATE_REVOKED,     /* provision: its certificate was revoked afterwards */
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

/* Opens or creates the ledger at `path` (mode 0600). A file that is not an
 * espprov ledger (another SQLite application, other tables, not SQLite) is
 * refused with PV_ERR_INVALID and left untouched. One written by an older
 * espprov is upgraded first (one transaction; PV_ERR_DB if it is
 * read-only), one by a newer espprov refused with PV_ERR_DB. Close with
 * pv_ledger_close(). */
int pv_ledger_open(const char *path, struct pv_ledger **out, struct pv_error *err);
/* The same for readers: never creates a file; PV_ERR_NOT_FOUND ("no ledger
 * at PATH yet") when there is none or it is empty. An older ledger that is
 * read-only is read as it is. */
int pv_ledger_open_existing(const char *path, struct pv_ledger **out, struct pv_error *err);
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
    int64_t not_after;       /* Unix time, seconds; INT64_MAX: never expires */
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
/* Moves to a step that carries no data: erased, write, verified, provisioned, reset.
 * Refuses a step of the other kind or one not after the current step. */
int pv_ledger_step(struct pv_ledger *lg, int64_t id, enum pv_ledger_step step,
                   struct pv_error *err);
/* Ends the attempt as failed at `failed_step` (the step it could not reach)
 * with `error` (a library message; cut to 511 bytes, secrets redacted). */
int pv_ledger_fail(struct pv_ledger *lg, int64_t id, enum pv_ledger_step failed_step,
                   const char *error, struct pv_error *err);
/* Marks every attempt that names certificate `serial` (provision rows that
 * minted or kept it, reset rows of the board that held it) as revoked, with a
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

#endif
