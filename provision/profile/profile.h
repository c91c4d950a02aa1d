/*
 * profile — a device profile loaded and validated (the JSON file a user
 * writes: chip, flash, firmware, filesystem, CA, device identity template,
 * WiFi, MQTT), the per-board values its templates expand with, and the
 * config file the firmware reads.
 *
 * Owns: struct pv_profile, struct pv_device, pv_template_expand, and the
 * device config file built from them (pv_devconfig_build). May call:
 * core, layout (filesystem regions from layouts and partition tables),
 * spiffsgen and lfsgen (preset names, geometry). Reads the profile's files and expands ${NAME}
 * from the environment (or a caller's lookup); nothing else touches the
 * outside world.
 * Errors: the core contract; every load error names the JSON path of the bad
 * field (".mqtt.port: ...") or the file:line:column of a syntax error, and
 * never a secret's value.
 */
#ifndef ESPPROV_PROVISION_PROFILE_H
#define ESPPROV_PROVISION_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "provision/core/core.h"
#include "provision/layout/layout.h"

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

/* The filesystem a profile's image is (.filesystem.type). */
enum pv_fs_type {
    PV_FS_SPIFFS = 0,
    PV_FS_LITTLEFS = 1,
};
/* "spiffs" or "littlefs". */
const char *pv_fs_type_name(enum pv_fs_type t);

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
        enum pv_fs_type type;          /* .filesystem.type: SPIFFS unless "littlefs" */
        char *preset;                  /* spiffsgen/lfsgen preset name (the same names) */
        char *layout;                  /* .filesystem.layout: ESP8266 layout name, or NULL */
        char *partition;               /* .filesystem.partition: label, or NULL */
        bool explicit_region;          /* .filesystem.offset and .size were given */
        uint32_t offset;               /* flash offset; 0 with .partitions "device" */
        uint32_t size;                 /* image size in bytes; 0 with .partitions "device" */
        uint32_t block_size;           /* FS block; 0: the preset's for `size` */
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

/* The ledger file, beside the profile, when it has no "ledger" key. Every
 * command that finds the ledger from a profile uses this name. */
#define PV_PROFILE_LEDGER_DEFAULT "ledger.db"

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
/* "a4:cf:12:34:56:78": lower case, colons (the ledger's and the record's spelling). */
void pv_format_mac(const uint8_t mac[6], char out[18]);

/*
 * Expands {mac} {mac_suffix} {seq} {seq:N} {chip} {id} {profile} ({{ and }}
 * for braces) into out (len bytes with the NUL). PV_ERR_INVALID when a value
 * the template uses is missing or the result does not fit.
 */
int pv_template_expand(const char *tmpl, const struct pv_profile *p, const struct pv_device *dev,
                       char *out, size_t len, struct pv_error *err);

/* ===== Device config file ============================================= */

/*
 * The device config file (contract in profiles/README.md) for `dev`:
 * compact JSON, stable key order, at most 2048 bytes. It holds the WiFi
 * password: free with pv_secret_free(*out, *len).
 */
int pv_devconfig_build(const struct pv_profile *p, const struct pv_device *dev, char **out,
                       size_t *len, struct pv_error *err);

#endif
