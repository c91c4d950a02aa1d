/*
 * core — what every provision/ module stands on: the error record, sizes and
 * offsets, whole-file reads and atomic writes, wiping secrets, and the SQLite
 * helper that the ledger and the CA's issuance record share.
 *
 * Owns: struct pv_error / enum pv_err, pv_parse_size, pv_file_*, pv_dir_walk,
 * pv_secret_*, pv_escape / pv_devname_check, pv_db_*. May call: libc, SQLite
 * and OpenSSL's cleanse only; nothing else in provision/.
 *
 * The error contract of every provision/ module: a fallible function takes a
 * `struct pv_error *` and returns 0 (PV_OK) or a negative enum pv_err code.
 * The message says what failed and why; the hint, when set, says what to try.
 * Neither ever holds a secret. Nothing in provision/ outside cli/ prints,
 * exits, reads argv or reads the environment, except where a function says so
 * (profile loading expands ${NAME}).
 */
#ifndef ESPPROV_PROVISION_CORE_H
#define ESPPROV_PROVISION_CORE_H

#include <stdarg.h>
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

/* ===== Text from outside ============================================= */

/*
 * Copies `s` into out (at most cap bytes with the NUL) with everything a
 * terminal would act on made visible: C0 controls and DEL as "\xNN", bytes
 * that are not UTF-8 as "\xNN", C1 controls, line separators and bidi
 * overrides as "\uNNNN". Valid UTF-8 text passes unchanged. Stops before an
 * escape or character that does not fit. Returns out. For every name, id or
 * log line that came from a device, an image or a file before it is printed.
 */
const char *pv_escape(const char *s, char *out, size_t cap);
/* True when pv_escape would return `s` unchanged. */
bool pv_text_is_plain(const char *s);
/*
 * A device file name that may become a path below a host folder: "/" then
 * parts separated by single '/', none empty, "." or "..", no control
 * characters. PV_OK or PV_ERR_INVALID saying why. The one rule for names
 * going into an image (`spiffs build SRC=/name`) and coming out of one
 * (`spiffs extract`).
 */
int pv_devname_check(const char *name, struct pv_error *err);

/* ===== SQLite files (ledger, CA issuance record) ====================== */

struct sqlite3;

/* What kind of espprov database a file must be. */
struct pv_db_kind {
    const char *what;        /* "ledger", "issuance record": for messages */
    uint32_t application_id; /* stamped in the header; tells our files from others' */
    const char *schema;      /* run once, on a new file */
    int version;             /* user_version after `schema` */
    const char *missing_hint;
    const char *foreign_hint; /* what to do about a file that is not ours */
    /* Brings a file of an older user_version (1..version-1) up to `version`'s
     * schema; runs inside the caller's write transaction, which sets
     * user_version afterwards. NULL: older files are used as they are. */
    int (*migrate)(struct sqlite3 *db, int from_version, struct pv_error *err);
};

enum pv_db_flags {
    PV_DB_CREATE = 1 << 0, /* create the file when missing (else PV_ERR_NOT_FOUND) */
};

/*
 * Opens an SQLite database for records that must stay true across crashes:
 * WAL journal, synchronous=FULL, foreign keys on, a busy timeout so parallel
 * workers wait instead of failing.
 *
 * The file is identified before anything writes to it. Ours: its header
 * carries kind->application_id; or, made before espprov stamped ids, it has
 * application id 0, a user_version of 1..version and only objects `schema`
 * makes (stamped now when opened with PV_DB_CREATE). Anything else (another
 * application id, other tables, not SQLite, not a regular file) is refused
 * with PV_ERR_INVALID and left byte for byte as it was.
 *
 * A missing or empty (0 bytes, or SQLite with no tables) file is PV_ERR_NOT_FOUND
 * ("no <what> at PATH yet") unless PV_DB_CREATE, which creates it mode 0600
 * and runs `schema`, the application id and user_version in one transaction.
 * A newer user_version than kind->version is PV_ERR_DB. An older one is
 * upgraded with kind->migrate in one transaction (all or nothing), except
 * in a file this process may not write: a reader (no PV_DB_CREATE) then
 * reads it as it is, a writer gets PV_ERR_DB.
 */
int pv_db_open(const char *path, const struct pv_db_kind *kind, unsigned flags,
               struct sqlite3 **out, struct pv_error *err);
void pv_db_close(struct sqlite3 *db);
/* Runs SQL without results (BEGIN IMMEDIATE, COMMIT, DDL ...). */
int pv_db_exec(struct sqlite3 *db, const char *sql, struct pv_error *err);

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
/*
 * For several files that must appear together, or a file to check before it
 * replaces another: pv_file_stage writes the whole of `data` (mode `mode`,
 * fsync'd) to a temporary name next to `path` (s->tmp, a hidden file in the
 * same folder, which callers may open, e.g. to read back or to fill as a
 * database); pv_file_commit then gives it its name (rename over `path`, or
 * with PV_WRITE_EXCL a link that fails if `path` exists) and syncs the
 * folder. pv_file_discard removes the temporary file if it is still there
 * and frees the record (always call it, also after a commit).
 */
struct pv_staged {
    char *tmp;  /* NULL once committed */
    char *path; /* the final name */
};
int pv_file_stage(const char *path, const void *data, size_t len, unsigned mode,
                  struct pv_staged *out, struct pv_error *err);
int pv_file_commit(struct pv_staged *s, unsigned flags, struct pv_error *err);
void pv_file_discard(struct pv_staged *s);

/* Reads a whole regular file (at most `max` bytes, else PV_ERR_INVALID) into
 * a malloc'd buffer with a NUL after the last byte (*len excludes it). */
int pv_file_read(const char *path, size_t max, uint8_t **data, size_t *len, struct pv_error *err);

enum pv_walk_flags {
    PV_WALK_SKIP_HIDDEN = 1 << 0, /* leave out names starting with '.' */
};
/* Gets each file: its host path and its name below the root ("/a/b.txt").
 * A non-zero return stops the walk and is returned by pv_dir_walk. */
typedef int (*pv_walk_fn)(void *user, const char *path, const char *name, struct pv_error *err);
/*
 * Every regular file below the folder `root`, recursively, in bytewise name
 * order per folder. Symlinks to regular files are followed. Anything else is
 * refused with an error naming it: a FIFO, device or socket (also through a
 * symlink), a symlink to a folder (they can loop), a dangling symlink, a tree
 * deeper than `max_depth` folders. `root` itself may be a symlink.
 */
int pv_dir_walk(const char *root, unsigned flags, int max_depth, pv_walk_fn fn, void *user,
                struct pv_error *err);

/* Wipes then frees a buffer that held a secret (NULL is fine). */
void pv_secret_free(void *buf, size_t len);
/* Wipes and frees a NUL-terminated secret string (NULL is fine). */
void pv_secret_free_str(char *s);

#endif
