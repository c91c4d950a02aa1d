/* Helpers around a parsed config: lookups, MQTT sizing, status text, back-off. */
#include <string.h>

#include "fwjson_priv.h"

const char *fwc_strerror(int code)
{
    static const char *const names[] = {
        "ok",
        "bad argument",
        "empty file",
        "file too big",
        "syntax error",
        "truncated",
        "trailing data",
        "nested too deep",
        "bad escape",
        "bad UTF-8",
        "unsupported version",
        "unknown key",
        "duplicate key",
        "missing key",
        "wrong type",
        "out of range",
        "bad length",
        "value not allowed",
    };
    if (code > 0 || -code >= (int)(sizeof names / sizeof names[0])) {
        return "unknown error";
    }
    return names[-code];
}

const char *fwc_topic(const struct fwc_config *cfg, const char *name)
{
    for (unsigned t = 0; t < cfg->mqtt.topic_count && t < FWC_TOPICS_MAX; t++) {
        if (strcmp(cfg->mqtt.topics[t].name, name) == 0) {
            return cfg->mqtt.topics[t].topic;
        }
    }
    return NULL;
}

const char *fwc_mqtt_password(const struct fwc_config *cfg)
{
    if (cfg->mqtt.password[0] != '\0') {
        return cfg->mqtt.password;
    }
    if (cfg->mqtt.token[0] != '\0') {
        return cfg->mqtt.token;
    }
    return NULL;
}

const char *fwc_ntp_server(const struct fwc_config *cfg, unsigned i)
{
    if (cfg->ntp_count == 0) {
        return i == 0 ? FWC_NTP_DEFAULT : NULL;
    }
    return i < cfg->ntp_count && i < FWC_NTP_MAX ? cfg->ntp[i] : NULL;
}

/* PubSubClient lays packets out as: 5 bytes reserved for the fixed header,
 * then each string as a 2-byte length and its bytes (MQTT 3.1.1). */
#define MQTT_HEADER_ROOM   5
#define MQTT_CONNECT_VHEAD 10 /* "MQTT" name (2+4), level, flags, keep-alive (2) */
#define MQTT_MIN_BUFFER    256

size_t fwc_mqtt_buffer_size(const struct fwc_config *cfg, size_t will_len, size_t payload_max)
{
    const char *status = fwc_topic(cfg, "status");
    const char *password = fwc_mqtt_password(cfg);
    size_t connect = MQTT_HEADER_ROOM + MQTT_CONNECT_VHEAD + 2 + strlen(cfg->mqtt.client_id);
    if (status != NULL) {
        connect += 2 + strlen(status) + 2 + will_len;
    }
    if (cfg->mqtt.username[0] != '\0') {
        connect += 2 + strlen(cfg->mqtt.username);
        if (password != NULL) {
            connect += 2 + strlen(password);
        }
    }
    size_t longest_topic = 0;
    for (unsigned t = 0; t < cfg->mqtt.topic_count && t < FWC_TOPICS_MAX; t++) {
        size_t n = strlen(cfg->mqtt.topics[t].topic);
        longest_topic = n > longest_topic ? n : longest_topic;
    }
    size_t publish = MQTT_HEADER_ROOM + 2 + longest_topic + payload_max;
    size_t need = connect > publish ? connect : publish;
    return need > MQTT_MIN_BUFFER ? need : MQTT_MIN_BUFFER;
}

static void put_json_string(struct fwj_out *o, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    fwj_out_str(o, "\"");
    for (; *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            char esc[2] = {'\\', (char)ch};
            fwj_out_mem(o, esc, 2);
        } else if (ch < 0x20) {
            char esc[6] = {'\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15]};
            fwj_out_mem(o, esc, 6);
        } else {
            fwj_out_mem(o, s, 1);
        }
    }
    fwj_out_str(o, "\"");
}

size_t fwc_status_json(char *out, size_t cap, const struct fwc_status *st)
{
    struct fwj_out o;
    fwj_out_init(&o, out, cap);
    fwj_out_str(&o, "{\"id\":");
    put_json_string(&o, st->id != NULL ? st->id : "");
    fwj_out_str(&o, ",\"state\":");
    put_json_string(&o, st->state != NULL ? st->state : "");
    if (st->ip != NULL) {
        fwj_out_str(&o, ",\"ip\":");
        put_json_string(&o, st->ip);
        fwj_out_str(&o, ",\"rssi\":");
        if (st->rssi < 0) {
            fwj_out_str(&o, "-");
            fwj_out_uint(&o, 0UL - (unsigned long)(long)st->rssi);
        } else {
            fwj_out_uint(&o, (unsigned long)st->rssi);
        }
        fwj_out_str(&o, ",\"uptime\":");
        fwj_out_uint(&o, st->uptime_s);
        fwj_out_str(&o, ",\"reconnects\":");
        fwj_out_uint(&o, st->reconnects);
    }
    fwj_out_str(&o, "}");
    if (o.overflow) {
        if (cap > 0) {
            out[0] = '\0';
        }
        return 0;
    }
    return o.len;
}

#define BACKOFF_FIRST_MS 1000UL
#define BACKOFF_MAX_MS   60000UL

uint32_t fwc_backoff_ms(uint32_t attempt, uint32_t random)
{
    uint32_t step = BACKOFF_FIRST_MS;
    for (uint32_t k = 0; k < attempt && step < BACKOFF_MAX_MS; k++) {
        step *= 2;
    }
    if (step > BACKOFF_MAX_MS) {
        step = BACKOFF_MAX_MS;
    }
    uint32_t half = step / 2;
    return half + (uint32_t)(((uint64_t)random * (half + 1)) >> 32);
}

/* A DER SEQUENCE (0x30) whose definite length accounts for exactly len bytes. */
static int is_der(const uint8_t *d, size_t len)
{
    if (len < 2 || d[0] != 0x30) {
        return 0;
    }
    size_t body, head;
    if (d[1] < 0x80) {
        body = d[1];
        head = 2;
    } else {
        size_t n = d[1] & 0x7F;
        if (n == 0 || n > 3 || len < 2 + n) {
            return 0;
        }
        body = 0;
        for (size_t k = 0; k < n; k++) {
            body = body << 8 | d[2 + k];
        }
        head = 2 + n;
    }
    return head + body == len;
}

static int starts_with(const uint8_t *d, size_t len, const char *s)
{
    size_t n = strlen(s);
    return len >= n && memcmp(d, s, n) == 0;
}

enum fwc_blob fwc_blob_kind(const uint8_t *data, size_t len)
{
    static const char begin[] = "-----BEGIN ";
    if (data == NULL) {
        return FWC_BLOB_UNKNOWN;
    }
    if (is_der(data, len)) {
        return FWC_BLOB_DER;
    }
    while (len > 0 && (*data == ' ' || *data == '\t' || *data == '\r' || *data == '\n')) {
        data++;
        len--;
    }
    if (!starts_with(data, len, begin)) {
        return FWC_BLOB_UNKNOWN;
    }
    data += sizeof begin - 1;
    len -= sizeof begin - 1;
    if (starts_with(data, len, "CERTIFICATE-----")) {
        return FWC_BLOB_PEM_CERT;
    }
    if (starts_with(data, len, "PRIVATE KEY-----") ||
        starts_with(data, len, "EC PRIVATE KEY-----") ||
        starts_with(data, len, "RSA PRIVATE KEY-----")) {
        return FWC_BLOB_PEM_KEY;
    }
    if (starts_with(data, len, "ENCRYPTED PRIVATE KEY-----")) {
        return FWC_BLOB_PEM_ENCRYPTED;
    }
    return FWC_BLOB_PEM_OTHER;
}

const char *fwc_blob_name(enum fwc_blob kind)
{
    switch (kind) {
    case FWC_BLOB_DER:
        return "DER";
    case FWC_BLOB_PEM_CERT:
        return "a PEM certificate";
    case FWC_BLOB_PEM_KEY:
        return "a PEM private key";
    case FWC_BLOB_PEM_ENCRYPTED:
        return "an encrypted PEM private key";
    case FWC_BLOB_PEM_OTHER:
        return "PEM of another kind";
    default:
        return "neither DER nor PEM";
    }
}
