/*
 * fwconfig: the device side of the espprov config file contract
 * (profiles/README.md, "The device config file").
 *
 * A strict, bounded JSON reader for the one file espprov writes into each
 * board's filesystem, plus the few helpers the sketch needs around it. It is
 * portable C99/C11 with no heap, no stdio and no recursion deeper than the
 * contract's nesting, so the same code is unit-tested on the host and built
 * for the ESP8266 (xtensa-lx106) and ESP32 Arduino cores.
 *
 * Memory: struct fwc_config is about 3 KB. The ESP8266 loop() stack is only
 * 4 KB, so keep the config (and the file buffer) in static storage, never on
 * the stack. fwc_parse() itself uses a few hundred bytes of stack.
 *
 *   static char text[FWC_FILE_MAX + 1];
 *   static struct fwc_config cfg;
 *   struct fwc_error err;
 *   size_t n = read_file("/config.json", text, sizeof text);
 *   if (fwc_parse(text, n, &cfg, &err) != FWC_OK)
 *       Serial.println(err.msg);        // e.g. "mqtt.port: out of range (1-65535)"
 *
 * Key order: the writer emits keys in the contract's fixed order so its
 * output is byte-for-byte reproducible; this reader accepts members in any
 * order (order carries no meaning, and a hand-edited file still works) and
 * therefore rejects duplicate keys, which would otherwise be ambiguous.
 * Insignificant JSON whitespace and a leading UTF-8 byte order mark are
 * accepted for the same reason. Everything else outside the contract is an
 * error: unknown keys, wrong types, out-of-range numbers, over-long strings,
 * nesting deeper than the format, trailing data, v != 1.
 */
#ifndef ESPPROV_FWCONFIG_H
#define ESPPROV_FWCONFIG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Limits from the contract, in bytes of UTF-8 (buffers add one for the NUL). */
#define FWC_FILE_MAX       2048 /* whole config file */
#define FWC_ID_MAX         64
#define FWC_SSID_MAX       32
#define FWC_WIFI_PASS_MAX  64 /* 8-63 byte passphrase, or 64 hex digits (PSK) */
#define FWC_HOST_MAX       253
#define FWC_CLIENT_ID_MAX  64
#define FWC_USERNAME_MAX   64
#define FWC_MQTT_PASS_MAX  128
#define FWC_TOKEN_MAX      1024
#define FWC_TOPICS_MAX     8
#define FWC_TOPIC_NAME_MAX 16 /* [a-z0-9_] */
#define FWC_TOPIC_MAX      128
#define FWC_PATH_MAX       31 /* SPIFFS object name limit, including the leading '/' */
#define FWC_NTP_MAX        3
#define FWC_NTP_HOST_MAX   64
/* Objects nest at most this deep: root -> mqtt -> topics. */
#define FWC_DEPTH_MAX 3
#define FWC_MSG_MAX   112

/* Used when the config names no NTP server (the contract's default). */
#define FWC_NTP_DEFAULT "pool.ntp.org"
/* A clock before this (2024-01-01T00:00:00Z) has not been set by NTP yet. */
#define FWC_MIN_EPOCH 1704067200L

/* Result codes: 0 or negative, each a different kind of bad input. */
enum fwc_err {
    FWC_OK = 0,
    FWC_ERR_ARG = -1,        /* NULL argument (a programming error) */
    FWC_ERR_EMPTY = -2,      /* no bytes, or only whitespace */
    FWC_ERR_TOO_BIG = -3,    /* more than FWC_FILE_MAX bytes */
    FWC_ERR_SYNTAX = -4,     /* not JSON, or not one JSON object */
    FWC_ERR_TRUNCATED = -5,  /* the text ends inside the object */
    FWC_ERR_TRAILING = -6,   /* data after the closing brace */
    FWC_ERR_DEPTH = -7,      /* objects/arrays nested deeper than the format */
    FWC_ERR_ESCAPE = -8,     /* bad backslash escape or lone UTF-16 surrogate */
    FWC_ERR_UTF8 = -9,       /* invalid UTF-8 in a string */
    FWC_ERR_VERSION = -10,   /* "v" is not 1 */
    FWC_ERR_UNKNOWN = -11,   /* unknown key */
    FWC_ERR_DUPLICATE = -12, /* key given twice */
    FWC_ERR_MISSING = -13,   /* required key absent */
    FWC_ERR_TYPE = -14,      /* wrong JSON type (string for number, 1.5 for integer...) */
    FWC_ERR_RANGE = -15,     /* number out of range */
    FWC_ERR_LENGTH = -16,    /* string or list too long or too short */
    FWC_ERR_VALUE = -17,     /* value not allowed (format, path, topic name, NUL...) */
};

enum fwc_tls_format {
    FWC_TLS_DER = 1, /* ESP8266 BearSSL */
    FWC_TLS_PEM = 2, /* Arduino-ESP32 (mbedTLS wants NUL-terminated PEM) */
};

struct fwc_topic {
    char name[FWC_TOPIC_NAME_MAX + 1];
    char topic[FWC_TOPIC_MAX + 1];
};

/* One parsed config. Every string is NUL-terminated; optional strings that
 * were not in the file are "" (the contract forbids empty optional values). */
struct fwc_config {
    char id[FWC_ID_MAX + 1];
    struct {
        char ssid[FWC_SSID_MAX + 1];
        char password[FWC_WIFI_PASS_MAX + 1]; /* "" = open network */
    } wifi;
    struct {
        char host[FWC_HOST_MAX + 1];
        uint16_t port;
        char client_id[FWC_CLIENT_ID_MAX + 1];
        char username[FWC_USERNAME_MAX + 1];
        char password[FWC_MQTT_PASS_MAX + 1];
        char token[FWC_TOKEN_MAX + 1];
        uint8_t topic_count; /* 1..FWC_TOPICS_MAX, in file order */
        struct fwc_topic topics[FWC_TOPICS_MAX];
    } mqtt;
    struct {
        enum fwc_tls_format format;
        char ca[FWC_PATH_MAX + 1];
        char cert[FWC_PATH_MAX + 1];
        char key[FWC_PATH_MAX + 1];
    } tls;
    uint8_t ntp_count; /* 0 = not given (use FWC_NTP_DEFAULT) */
    char ntp[FWC_NTP_MAX][FWC_NTP_HOST_MAX + 1];
};

/* Why parsing failed. msg names the field and the problem, never a value
 * (values may be secrets): "mqtt.port: out of range (1-65535)",
 * "wifi.ssid: too long (max 32 bytes)", "syntax error at byte 17: expected ':'". */
struct fwc_error {
    enum fwc_err code;
    uint16_t offset; /* byte offset in the input where the problem was found */
    char msg[FWC_MSG_MAX];
};

/*
 * Parses len bytes at json (need not be NUL-terminated) into *cfg.
 * Returns FWC_OK, or a negative code with *err filled in and *cfg zeroed, so
 * a half-read config can never be used. err may be NULL. Reads at most len
 * bytes; keeps no pointer into json; no allocation; stack use is bounded.
 */
enum fwc_err fwc_parse(const char *json, size_t len, struct fwc_config *cfg, struct fwc_error *err);

/* Short English name of a result code ("unknown key"); never NULL. */
const char *fwc_strerror(int code);

/* The topic called name ("status"), or NULL if the config has none. */
const char *fwc_topic(const struct fwc_config *cfg, const char *name);

/* What to send as the MQTT password: mqtt.password, else mqtt.token, else NULL. */
const char *fwc_mqtt_password(const struct fwc_config *cfg);

/* NTP server i (0-based): the configured ones, or FWC_NTP_DEFAULT as server 0
 * when none is configured; NULL past the end. Pointers stay valid as long as
 * *cfg (the ESP8266 SNTP client keeps the pointer, so keep cfg static). */
const char *fwc_ntp_server(const struct fwc_config *cfg, unsigned i);

/*
 * Smallest PubSubClient buffer (setBufferSize) that fits both the CONNECT
 * packet for this config (client id, will topic = the status topic, a will
 * message of will_len bytes, user name, password/token) and a PUBLISH of
 * payload_max bytes to the longest configured topic. At least 256 (the
 * library's default), so it never shrinks the buffer.
 */
size_t fwc_mqtt_buffer_size(const struct fwc_config *cfg, size_t will_len, size_t payload_max);

/* Fields of the status message. ip == NULL gives the short form used as the
 * MQTT last will: {"id":"...","state":"offline"}. */
struct fwc_status {
    const char *id;
    const char *state; /* "online", "offline" */
    const char *ip;    /* dotted quad, or NULL */
    int32_t rssi;      /* dBm */
    uint32_t uptime_s;
    uint32_t reconnects;
};

/*
 * Writes the status message as compact JSON into out (cap bytes) and returns
 * its length, or 0 if it does not fit (out is then "" when cap > 0). Strings
 * are JSON-escaped. Example:
 * {"id":"esp-1","state":"online","ip":"10.0.0.7","rssi":-61,"uptime":12,"reconnects":0}
 */
size_t fwc_status_json(char *out, size_t cap, const struct fwc_status *st);

/*
 * Delay before reconnect attempt number attempt (0 = first retry): doubles
 * from 1 s up to 60 s, with "equal jitter": half the step fixed, the other
 * half scaled by random (any 32-bit value, e.g. from the hardware RNG), so a
 * fleet that lost its broker does not reconnect in lockstep. In ms.
 */
uint32_t fwc_backoff_ms(uint32_t attempt, uint32_t random);

/* What a certificate or key file holds, judged from its first bytes. */
enum fwc_blob {
    FWC_BLOB_UNKNOWN = 0,
    FWC_BLOB_DER,           /* one ASN.1 SEQUENCE whose length matches the file */
    FWC_BLOB_PEM_CERT,      /* -----BEGIN CERTIFICATE----- */
    FWC_BLOB_PEM_KEY,       /* PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY */
    FWC_BLOB_PEM_ENCRYPTED, /* ENCRYPTED PRIVATE KEY: no device TLS stack takes it */
    FWC_BLOB_PEM_OTHER,     /* some other PEM label */
};

/*
 * Classifies len bytes at data so the sketch can say "tls.format is der but
 * /ca.der holds PEM text" instead of a bare parse failure. Leading
 * whitespace before a PEM header is allowed. Reads at most len bytes.
 */
enum fwc_blob fwc_blob_kind(const uint8_t *data, size_t len);

/* Short description of a blob kind ("DER", "PEM certificate"...); never NULL. */
const char *fwc_blob_name(enum fwc_blob kind);

#ifdef __cplusplus
}
#endif

#endif
