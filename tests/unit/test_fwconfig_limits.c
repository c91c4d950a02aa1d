/*
 * The config reader at the edges of the contract (profiles/README.md): each
 * limit exactly at and one past its bound, escapes and UTF-8, key order,
 * nesting, versions, and which error each malformed input gets.
 */
#include <stddef.h>

#include "firmware/espprov_client/src/fwconfig.h"
#include "test.h"

static struct fwc_config cfg;
static struct fwc_error err;

/* Parses a copy of exactly len bytes (so ASan catches over-reads). */
static int parse_n(const char *text, size_t len)
{
    char *copy = malloc(len ? len : 1);
    if (copy == NULL) {
        return 1;
    }
    memcpy(copy, text, len);
    int rc = fwc_parse(copy, len, &cfg, &err);
    free(copy);
    return rc;
}

static int parse(const char *text)
{
    return parse_n(text, strlen(text));
}

/* Values spliced raw (already JSON text) into a compact config. */
struct spec {
    const char *id, *ssid, *wpass, *host, *port, *client_id, *mqtt_extra, *topics, *ca, *tail;
};

static const struct spec base = {
    "esp-1", "Lab", "correct horse",        "broker.local", "8883",
    "esp-1", "",    "\"status\":\"dev/s\"", "/ca.der",      "",
};

static char text[8192];

static const char *build(const struct spec *s)
{
    snprintf(text, sizeof text,
             "{\"v\":1,\"id\":\"%s\",\"wifi\":{\"ssid\":\"%s\",\"password\":\"%s\"},"
             "\"mqtt\":{\"host\":\"%s\",\"port\":%s,\"client_id\":\"%s\"%s,\"topics\":{%s}},"
             "\"tls\":{\"format\":\"der\",\"ca\":\"%s\",\"cert\":\"/c.der\",\"key\":\"/k.der\"}%s}",
             s->id, s->ssid, s->wpass, s->host, s->port, s->client_id, s->mqtt_extra, s->topics,
             s->ca, s->tail);
    return text;
}

/* prefix + n copies of c + suffix, in one of a few rotating buffers. */
static const char *rep(const char *prefix, char c, size_t n, const char *suffix)
{
    static char bufs[3][1200];
    static int next;
    char *b = bufs[next++ % 3];
    size_t p = strlen(prefix);
    memcpy(b, prefix, p);
    memset(b + p, c, n);
    strcpy(b + p + n, suffix);
    return b;
}

#define EXPECT_RC(call, want)                                                                      \
    do {                                                                                           \
        int rc_ = (call);                                                                          \
        ASSERT_MSG(rc_ == (want), "%s: got %d (%s), expected %s", #call, rc_, err.msg, #want);     \
    } while (0)

struct limit {
    const char *what;
    size_t member; /* offset of the const char * in struct spec */
    const char *prefix, *suffix;
    size_t fixed; /* bytes of prefix/suffix inside the decoded value */
    size_t min, max;
    const char *path;
};

#define M(f) offsetof(struct spec, f)

static const struct limit limits[] = {
    {"id", M(id), "", "", 0, 1, 64, "id"},
    {"ssid", M(ssid), "", "", 0, 1, 32, "wifi.ssid"},
    {"host", M(host), "", "", 0, 1, 253, "mqtt.host"},
    {"client_id", M(client_id), "", "", 0, 1, 64, "mqtt.client_id"},
    {"username", M(mqtt_extra), ",\"username\":\"", "\"", 0, 1, 64, "mqtt.username"},
    {"password", M(mqtt_extra), ",\"password\":\"", "\"", 0, 1, 128, "mqtt.password"},
    {"token", M(mqtt_extra), ",\"token\":\"", "\"", 0, 1, 1024, "mqtt.token"},
    {"topic", M(topics), "\"status\":\"", "\"", 0, 1, 128, "mqtt.topics.status"},
    {"ntp", M(tail), ",\"ntp\":[\"", "\"]", 0, 1, 64, "ntp[0]"},
    {"ca", M(ca), "/", "", 1, 2, 31, "tls.ca"},
};

static void set(struct spec *s, size_t member, const char *value)
{
    memcpy((char *)s + member, &value, sizeof value);
}

TEST(every_string_limit_at_and_one_past)
{
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
        const struct limit *l = &limits[i];
        struct spec s = base;
        char want[200];

        set(&s, l->member, rep(l->prefix, 'a', l->max - l->fixed, l->suffix));
        ASSERT_MSG(parse(build(&s)) == FWC_OK, "%s at max %zu: %s", l->what, l->max, err.msg);

        set(&s, l->member, rep(l->prefix, 'a', l->max - l->fixed + 1, l->suffix));
        ASSERT_MSG(parse(build(&s)) == FWC_ERR_LENGTH, "%s at max+1: %d", l->what, err.code);
        snprintf(want, sizeof want, "%s: too long (max %zu bytes)", l->path, l->max);
        ASSERT_STREQ(err.msg, want);

        set(&s, l->member, rep(l->prefix, 'a', l->min - l->fixed - 1, l->suffix));
        ASSERT_MSG(parse(build(&s)) == FWC_ERR_LENGTH, "%s at min-1: %d", l->what, err.code);
        if (l->min == 1) {
            snprintf(want, sizeof want, "%s: must not be empty", l->path);
        } else {
            snprintf(want, sizeof want, "%s: too short (min %zu bytes)", l->path, l->min);
        }
        ASSERT_STREQ(err.msg, want);
    }
}

TEST(values_at_max_length_are_kept_whole)
{
    struct spec s = base;
    s.mqtt_extra = rep(",\"token\":\"", 't', 1024, "\"");
    s.host = rep("", 'h', 253, "");
    ASSERT_EQ_INT(parse(build(&s)), FWC_OK);
    ASSERT_EQ_INT(strlen(cfg.mqtt.token), 1024);
    ASSERT_EQ_INT(strlen(cfg.mqtt.host), 253);
    ASSERT_STREQ(fwc_mqtt_password(&cfg), cfg.mqtt.token);
}

TEST(topic_and_ntp_counts)
{
    struct spec s = base;
    char topics[512] = "\"status\":\"s\"";
    for (int k = 1; k < 8; k++) {
        snprintf(topics + strlen(topics), sizeof topics - strlen(topics), ",\"t%d\":\"x\"", k);
    }
    s.topics = topics;
    EXPECT_RC(parse(build(&s)), FWC_OK);
    ASSERT_EQ_INT(cfg.mqtt.topic_count, 8);
    ASSERT_STREQ(fwc_topic(&cfg, "t7"), "x");
    strcat(topics, ",\"t8\":\"x\"");
    EXPECT_RC(parse(build(&s)), FWC_ERR_LENGTH);
    ASSERT_STREQ(err.msg, "mqtt.topics: more than 8 topics");

    s = base;
    s.topics = rep("\"status\":\"s\",\"", 'n', 16, "\":\"x\"");
    EXPECT_RC(parse(build(&s)), FWC_OK);
    s.topics = rep("\"status\":\"s\",\"", 'n', 17, "\":\"x\"");
    EXPECT_RC(parse(build(&s)), FWC_ERR_LENGTH);
    ASSERT_CONTAINS(err.msg, "topic name too long (max 16 bytes)");
    s.topics = "\"status\":\"s\",\"\":\"x\"";
    EXPECT_RC(parse(build(&s)), FWC_ERR_LENGTH);
    ASSERT_STREQ(err.msg, "mqtt.topics: empty topic name");
    s.topics = "\"status\":\"s\",\"a-b\":\"x\"";
    EXPECT_RC(parse(build(&s)), FWC_ERR_VALUE);
    s.topics = "\"status\":\"s\",\"status\":\"t\"";
    EXPECT_RC(parse(build(&s)), FWC_ERR_DUPLICATE);
    ASSERT_STREQ(err.msg, "mqtt.topics.status: duplicate key");
    s.topics = "";
    EXPECT_RC(parse(build(&s)), FWC_ERR_MISSING);
    ASSERT_CONTAINS(err.msg, "mqtt.topics.status: missing");

    s = base;
    s.tail = ",\"ntp\":[\"a\",\"b\",\"c\"]";
    EXPECT_RC(parse(build(&s)), FWC_OK);
    ASSERT_EQ_INT(cfg.ntp_count, 3);
    ASSERT_STREQ(fwc_ntp_server(&cfg, 2), "c");
    s.tail = ",\"ntp\":[\"a\",\"b\",\"c\",\"d\"]";
    EXPECT_RC(parse(build(&s)), FWC_ERR_LENGTH);
    ASSERT_STREQ(err.msg, "ntp: more than 3 servers");
    s.tail = ",\"ntp\":[\"a\",7]";
    EXPECT_RC(parse(build(&s)), FWC_ERR_TYPE);
    ASSERT_STREQ(err.msg, "ntp[1]: must be a string");
}

TEST(port_range_and_number_forms)
{
    static const struct {
        const char *port;
        int rc;
    } cases[] = {
        {"1", FWC_OK},
        {"65535", FWC_OK},
        {"0", FWC_ERR_RANGE},
        {"65536", FWC_ERR_RANGE},
        {"-1", FWC_ERR_RANGE},
        {"-0", FWC_ERR_RANGE},
        {"99999999999999999999", FWC_ERR_RANGE},
        {"01", FWC_ERR_SYNTAX},
        {"8883.0", FWC_ERR_TYPE},
        {"8.883e3", FWC_ERR_TYPE},
        {"1E2", FWC_ERR_TYPE},
        {"true", FWC_ERR_TYPE},
        {"null", FWC_ERR_TYPE},
        {"\"8883\"", FWC_ERR_TYPE},
        {"+1", FWC_ERR_SYNTAX},
        {"1.", FWC_ERR_SYNTAX},
        {"1e", FWC_ERR_SYNTAX},
        {"-", FWC_ERR_SYNTAX},
        {"tru", FWC_ERR_SYNTAX},
        {"nul", FWC_ERR_SYNTAX},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct spec s = base;
        s.port = cases[i].port;
        int rc = parse(build(&s));
        ASSERT_MSG(rc == cases[i].rc, "port %s: got %d (%s), expected %d", cases[i].port, rc,
                   err.msg, cases[i].rc);
    }
    struct spec s = base;
    s.port = "65535";
    ASSERT_EQ_INT(parse(build(&s)), FWC_OK);
    ASSERT_EQ_INT(cfg.mqtt.port, 65535);
    s.port = "65536";
    ASSERT_EQ_INT(parse(build(&s)), FWC_ERR_RANGE);
    ASSERT_STREQ(err.msg, "mqtt.port: out of range (1-65535)");
}

TEST(wifi_password_rules)
{
    static const char hex64[] = "0123456789abcdefABCDEF0123456789abcdef0123456789abcdef0123456789";
    struct spec s = base;
    s.wpass = "";
    EXPECT_RC(parse(build(&s)), FWC_OK);
    ASSERT_STREQ(cfg.wifi.password, "");
    s.wpass = rep("", 'p', 7, "");
    EXPECT_RC(parse(build(&s)), FWC_ERR_LENGTH);
    s.wpass = rep("", 'p', 8, "");
    EXPECT_RC(parse(build(&s)), FWC_OK);
    s.wpass = rep("", 'p', 63, "");
    EXPECT_RC(parse(build(&s)), FWC_OK);
    s.wpass = hex64;
    EXPECT_RC(parse(build(&s)), FWC_OK);
    ASSERT_STREQ(cfg.wifi.password, hex64);
    s.wpass = rep("", 'g', 64, "");
    EXPECT_RC(parse(build(&s)), FWC_ERR_VALUE);
    ASSERT_STREQ(err.msg, "wifi.password: must be empty, 8-63 characters or 64 hex digits");
    s.wpass = rep("", 'a', 65, "");
    EXPECT_RC(parse(build(&s)), FWC_ERR_LENGTH);
}

TEST(lengths_count_decoded_utf8_bytes)
{
    char ssid[200] = "";
    struct spec s = base;
    s.ssid = ssid;
    for (int k = 0; k < 16; k++) {
        strcat(ssid, "\\u00e9"); /* 2 bytes each once decoded */
    }
    EXPECT_RC(parse(build(&s)), FWC_OK);
    ASSERT_EQ_INT(strlen(cfg.wifi.ssid), 32);
    ASSERT_MEMEQ(cfg.wifi.ssid, "\xc3\xa9\xc3\xa9", 4);
    strcat(ssid, "a");
    EXPECT_RC(parse(build(&s)), FWC_ERR_LENGTH);

    ssid[0] = '\0';
    for (int k = 0; k < 16; k++) {
        strcat(ssid, "\xc3\xa9"); /* raw UTF-8 */
    }
    EXPECT_RC(parse(build(&s)), FWC_OK);
    ASSERT_EQ_INT(strlen(cfg.wifi.ssid), 32);

    ssid[0] = '\0';
    for (int k = 0; k < 8; k++) {
        strcat(ssid, "\\ud83d\\ude00"); /* U+1F600 as a surrogate pair: 4 bytes */
    }
    EXPECT_RC(parse(build(&s)), FWC_OK);
    ASSERT_EQ_INT(strlen(cfg.wifi.ssid), 32);
    ASSERT_MEMEQ(cfg.wifi.ssid + 28, "\xf0\x9f\x98\x80", 4);
}

TEST(file_size_limit)
{
    char big[FWC_FILE_MAX + 2];
    const char *t = build(&base);
    size_t n = strlen(t);
    memcpy(big, t, n);
    memset(big + n, ' ', sizeof big - n);
    EXPECT_RC(parse_n(big, FWC_FILE_MAX), FWC_OK);
    EXPECT_RC(parse_n(big, FWC_FILE_MAX + 1), FWC_ERR_TOO_BIG);
    ASSERT_STREQ(err.msg, "file is 2049 bytes, the format allows at most 2048");
}

TEST_MAIN(RUN(every_string_limit_at_and_one_past); RUN(values_at_max_length_are_kept_whole);
          RUN(topic_and_ntp_counts); RUN(port_range_and_number_forms); RUN(wifi_password_rules);
          RUN(lengths_count_decoded_utf8_bytes); RUN(file_size_limit);)
