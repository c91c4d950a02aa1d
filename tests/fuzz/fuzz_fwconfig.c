/*
 * Fuzz target for the firmware's config reader (fwc_parse). Beyond "no crash,
 * no over-read" (the input is copied to an exact-size heap block), it checks:
 * a refused input leaves an all-zero config and a named error; an accepted one
 * satisfies every contract limit and survives a round trip through a
 * canonical writer (same config back).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/espprov_client/src/fwconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            __builtin_trap();                                                                      \
        }                                                                                          \
    } while (0)

struct out {
    char buf[16384];
    size_t len;
};

static void put(struct out *o, const char *s)
{
    size_t n = strlen(s);
    CHECK(o->len + n < sizeof o->buf);
    memcpy(o->buf + o->len, s, n);
    o->len += n;
}

static void put_str(struct out *o, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    put(o, "\"");
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[7] = {0};
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
        } else if (c < 0x20) {
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
        } else {
            esc[0] = (char)c;
        }
        put(o, esc);
    }
    put(o, "\"");
}

static void member(struct out *o, const char *key, const char *value)
{
    put(o, ",\"");
    put(o, key);
    put(o, "\":");
    put_str(o, value);
}

/* The contract's key order, optional members only when set. */
static void write_config(struct out *o, const struct fwc_config *c)
{
    char port[8];
    unsigned p = c->mqtt.port, k = sizeof port - 1;
    port[k] = '\0';
    do {
        port[--k] = (char)('0' + p % 10);
        p /= 10;
    } while (p != 0);
    o->len = 0;
    put(o, "{\"v\":1,\"id\":");
    put_str(o, c->id);
    put(o, ",\"wifi\":{\"ssid\":");
    put_str(o, c->wifi.ssid);
    member(o, "password", c->wifi.password);
    put(o, "},\"mqtt\":{\"host\":");
    put_str(o, c->mqtt.host);
    put(o, ",\"port\":");
    put(o, port + k);
    member(o, "client_id", c->mqtt.client_id);
    if (c->mqtt.username[0] != '\0') {
        member(o, "username", c->mqtt.username);
    }
    if (c->mqtt.password[0] != '\0') {
        member(o, "password", c->mqtt.password);
    }
    if (c->mqtt.token[0] != '\0') {
        member(o, "token", c->mqtt.token);
    }
    put(o, ",\"topics\":{");
    for (unsigned t = 0; t < c->mqtt.topic_count; t++) {
        put(o, t ? "," : "");
        put_str(o, c->mqtt.topics[t].name);
        put(o, ":");
        put_str(o, c->mqtt.topics[t].topic);
    }
    put(o, "}},\"tls\":{\"format\":");
    put(o, c->tls.format == FWC_TLS_DER ? "\"der\"" : "\"pem\"");
    member(o, "ca", c->tls.ca);
    member(o, "cert", c->tls.cert);
    member(o, "key", c->tls.key);
    put(o, "}");
    if (c->ntp_count > 0) {
        put(o, ",\"ntp\":[");
        for (unsigned i = 0; i < c->ntp_count; i++) {
            put(o, i ? "," : "");
            put_str(o, c->ntp[i]);
        }
        put(o, "]");
    }
    put(o, "}");
}

static int bounded(const char *s, size_t cap, size_t min)
{
    size_t n = strnlen(s, cap);
    return n < cap && n >= min;
}

static void check_accepted(const struct fwc_config *c)
{
    CHECK(bounded(c->id, sizeof c->id, 1));
    CHECK(bounded(c->wifi.ssid, sizeof c->wifi.ssid, 1));
    size_t wp = strnlen(c->wifi.password, sizeof c->wifi.password);
    CHECK(wp == 0 || (wp >= 8 && wp <= 64));
    CHECK(bounded(c->mqtt.host, sizeof c->mqtt.host, 1));
    CHECK(c->mqtt.port >= 1);
    CHECK(bounded(c->mqtt.client_id, sizeof c->mqtt.client_id, 1));
    CHECK(bounded(c->mqtt.username, sizeof c->mqtt.username, 0));
    CHECK(bounded(c->mqtt.password, sizeof c->mqtt.password, 0));
    CHECK(bounded(c->mqtt.token, sizeof c->mqtt.token, 0));
    CHECK(c->mqtt.topic_count >= 1 && c->mqtt.topic_count <= FWC_TOPICS_MAX);
    CHECK(fwc_topic(c, "status") != NULL);
    for (unsigned t = 0; t < c->mqtt.topic_count; t++) {
        CHECK(bounded(c->mqtt.topics[t].name, sizeof c->mqtt.topics[t].name, 1));
        CHECK(bounded(c->mqtt.topics[t].topic, sizeof c->mqtt.topics[t].topic, 1));
    }
    CHECK(c->tls.format == FWC_TLS_DER || c->tls.format == FWC_TLS_PEM);
    CHECK(bounded(c->tls.ca, sizeof c->tls.ca, 2) && c->tls.ca[0] == '/');
    CHECK(bounded(c->tls.cert, sizeof c->tls.cert, 2) && c->tls.cert[0] == '/');
    CHECK(bounded(c->tls.key, sizeof c->tls.key, 2) && c->tls.key[0] == '/');
    CHECK(c->ntp_count <= FWC_NTP_MAX);
    for (unsigned i = 0; i < c->ntp_count; i++) {
        CHECK(bounded(c->ntp[i], sizeof c->ntp[i], 1));
    }
    CHECK(fwc_ntp_server(c, 0) != NULL);
    CHECK(fwc_mqtt_buffer_size(c, 64, 256) >= 256);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fwc_config cfg, again;
    static const struct fwc_config zero;
    static struct out canon;
    struct fwc_error err;

    char *copy = malloc(size ? size : 1);
    if (copy == NULL) {
        return 0;
    }
    memcpy(copy, data, size);
    int rc = fwc_parse(copy, size, &cfg, &err);
    free(copy);

    CHECK(err.code == rc);
    CHECK(strnlen(err.msg, sizeof err.msg) < sizeof err.msg);
    if (rc != FWC_OK) {
        CHECK(rc >= FWC_ERR_VALUE && rc <= FWC_ERR_EMPTY);
        CHECK(err.msg[0] != '\0');
        CHECK(memcmp(&cfg, &zero, sizeof cfg) == 0);
        return 0;
    }
    check_accepted(&cfg);
    write_config(&canon, &cfg);
    if (canon.len <= FWC_FILE_MAX) {
        CHECK(fwc_parse(canon.buf, canon.len, &again, &err) == FWC_OK);
        CHECK(memcmp(&cfg, &again, sizeof cfg) == 0);
    }
    return 0;
}
