/*
 * The firmware's config reader against the shared vectors in
 * tests/data/devconfig/: the files espprov writes parse to exactly these
 * values, every bad-*.json is refused with its own error, and no prefix of a
 * valid file is ever accepted.
 */
#include <dirent.h>

#include "firmware/espprov_client/src/fwconfig.h"
#include "test.h"

#define VECTORS "tests/data/devconfig/"

static struct fwc_config cfg;

/* Whole file into a fresh heap block of exactly its size (so ASan sees any
 * read past the end). Returns NULL if unreadable; *len gets the size. */
static char *load(const char *name, size_t *len)
{
    char path[256];
    snprintf(path, sizeof path, VECTORS "%s", name);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    char tmp[8192];
    *len = fread(tmp, 1, sizeof tmp, f);
    fclose(f);
    char *buf = malloc(*len ? *len : 1);
    if (buf != NULL) {
        memcpy(buf, tmp, *len);
    }
    return buf;
}

TEST(minimal_vector_parses_to_its_values)
{
    size_t len;
    char *text = load("minimal.json", &len);
    ASSERT(text != NULL);
    struct fwc_error err;
    int rc = fwc_parse(text, len, &cfg, &err);
    free(text);
    ASSERT_MSG(rc == FWC_OK, "rejected: %s", err.msg);
    ASSERT_EQ_INT(err.code, FWC_OK);
    ASSERT_STREQ(cfg.id, "esp-a4cf12345678");
    ASSERT_STREQ(cfg.wifi.ssid, "Lab");
    ASSERT_STREQ(cfg.wifi.password, "correct horse battery");
    ASSERT_STREQ(cfg.mqtt.host, "broker.local");
    ASSERT_EQ_INT(cfg.mqtt.port, 8883);
    ASSERT_STREQ(cfg.mqtt.client_id, "esp-a4cf12345678");
    ASSERT_STREQ(cfg.mqtt.username, "");
    ASSERT_STREQ(cfg.mqtt.password, "");
    ASSERT_STREQ(cfg.mqtt.token, "");
    ASSERT(fwc_mqtt_password(&cfg) == NULL);
    ASSERT_EQ_INT(cfg.mqtt.topic_count, 1);
    ASSERT_STREQ(cfg.mqtt.topics[0].name, "status");
    ASSERT_STREQ(cfg.mqtt.topics[0].topic, "dev/esp-a4cf12345678/status");
    ASSERT_STREQ(fwc_topic(&cfg, "status"), "dev/esp-a4cf12345678/status");
    ASSERT(fwc_topic(&cfg, "cmd") == NULL);
    ASSERT_EQ_INT(cfg.tls.format, FWC_TLS_DER);
    ASSERT_STREQ(cfg.tls.ca, "/ca.der");
    ASSERT_STREQ(cfg.tls.cert, "/client.crt.der");
    ASSERT_STREQ(cfg.tls.key, "/client.key.der");
    ASSERT_EQ_INT(cfg.ntp_count, 0);
    ASSERT_STREQ(fwc_ntp_server(&cfg, 0), "pool.ntp.org");
    ASSERT(fwc_ntp_server(&cfg, 1) == NULL);
}

TEST(full_vector_parses_to_its_values)
{
    size_t len;
    char *text = load("full.json", &len);
    ASSERT(text != NULL);
    struct fwc_error err;
    int rc = fwc_parse(text, len, &cfg, &err);
    free(text);
    ASSERT_MSG(rc == FWC_OK, "rejected: %s", err.msg);
    ASSERT_STREQ(cfg.id, "esp-0a1b2c");
    /* \u00e9 decodes to UTF-8 C3 A9; \" to a quote. */
    ASSERT_STREQ(cfg.wifi.ssid, "Caf\xc3\xa9 \"Lab\" 2.4");
    ASSERT_STREQ(cfg.wifi.password,
                 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    ASSERT_STREQ(cfg.mqtt.host, "10.0.0.5");
    ASSERT_EQ_INT(cfg.mqtt.port, 18883);
    ASSERT_STREQ(cfg.mqtt.client_id, "esp-0a1b2c");
    ASSERT_STREQ(cfg.mqtt.username, "esp-0a1b2c");
    /* "p\\ss\/w0rd": an escaped backslash and an escaped solidus. */
    ASSERT_STREQ(cfg.mqtt.password, "p\\ss/w0rd");
    ASSERT_STREQ(cfg.mqtt.token, "");
    ASSERT_STREQ(fwc_mqtt_password(&cfg), "p\\ss/w0rd");
    ASSERT_EQ_INT(cfg.mqtt.topic_count, 3);
    ASSERT_STREQ(cfg.mqtt.topics[0].name, "status");
    ASSERT_STREQ(cfg.mqtt.topics[0].topic, "devices/esp-0a1b2c/status");
    ASSERT_STREQ(cfg.mqtt.topics[1].name, "cmd");
    ASSERT_STREQ(cfg.mqtt.topics[1].topic, "devices/esp-0a1b2c/cmd");
    ASSERT_STREQ(cfg.mqtt.topics[2].name, "telemetry");
    ASSERT_STREQ(cfg.mqtt.topics[2].topic, "devices/esp-0a1b2c/t");
    ASSERT_EQ_INT(cfg.tls.format, FWC_TLS_PEM);
    ASSERT_STREQ(cfg.tls.ca, "/ca.pem");
    ASSERT_STREQ(cfg.tls.cert, "/client.crt.pem");
    ASSERT_STREQ(cfg.tls.key, "/client.key.pem");
    ASSERT_EQ_INT(cfg.ntp_count, 2);
    ASSERT_STREQ(cfg.ntp[0], "pool.ntp.org");
    ASSERT_STREQ(cfg.ntp[1], "time.nist.gov");
    ASSERT_STREQ(fwc_ntp_server(&cfg, 1), "time.nist.gov");
    ASSERT(fwc_ntp_server(&cfg, 2) == NULL);
}

struct bad_vector {
    const char *file;
    enum fwc_err code;
    const char *msg; /* must appear in err.msg */
};

static const struct bad_vector bad_vectors[] = {
    {"bad-empty.json", FWC_ERR_EMPTY, "empty file"},
    {"bad-not-object.json", FWC_ERR_SYNTAX, "byte 0: the file must hold one JSON object"},
    {"bad-truncated.json", FWC_ERR_TRUNCATED, "file ends early"},
    {"bad-trailing.json", FWC_ERR_TRAILING, "data after the config object"},
    {"bad-nesting.json", FWC_ERR_DEPTH, "nested deeper than the format allows"},
    {"bad-version.json", FWC_ERR_VERSION,
     "v: unsupported format version 2 (this firmware reads 1)"},
    {"bad-unknown-key.json", FWC_ERR_UNKNOWN, "mqtt.qos: unknown key"},
    {"bad-duplicate-key.json", FWC_ERR_DUPLICATE, "mqtt.port: duplicate key"},
    {"bad-missing-key.json", FWC_ERR_MISSING, "mqtt.client_id: missing"},
    {"bad-missing-status.json", FWC_ERR_MISSING, "mqtt.topics.status: missing"},
    {"bad-port-type.json", FWC_ERR_TYPE, "mqtt.port: must be an integer"},
    {"bad-port-float.json", FWC_ERR_TYPE, "mqtt.port: must be an integer"},
    {"bad-port-range.json", FWC_ERR_RANGE, "mqtt.port: out of range (1-65535)"},
    {"bad-ssid-too-long.json", FWC_ERR_LENGTH, "wifi.ssid: too long (max 32 bytes)"},
    {"bad-wifi-password.json", FWC_ERR_LENGTH,
     "wifi.password: must be empty, 8-63 characters or 64 hex digits"},
    {"bad-tls-format.json", FWC_ERR_VALUE, "tls.format: must be \"der\" or \"pem\""},
    {"bad-tls-path.json", FWC_ERR_VALUE, "tls.ca: must be a file name starting with '/'"},
    {"bad-topic-name.json", FWC_ERR_VALUE, "mqtt.topics.Cmd: topic names use only a-z, 0-9 and _"},
    {"bad-too-many-topics.json", FWC_ERR_LENGTH, "mqtt.topics: more than 8 topics"},
    {"bad-ntp-empty.json", FWC_ERR_LENGTH, "ntp: must list 1-3 servers"},
    {"bad-escape.json", FWC_ERR_ESCAPE, "unknown escape"},
    {"bad-surrogate.json", FWC_ERR_ESCAPE, "high surrogate not followed by a low one"},
    {"bad-utf8.json", FWC_ERR_UTF8, "invalid UTF-8"},
    {"bad-nul.json", FWC_ERR_VALUE, "id: contains a NUL character"},
    {"bad-too-big.json", FWC_ERR_TOO_BIG, "file is 2100 bytes, the format allows at most 2048"},
    {"bad-wifi-type.json", FWC_ERR_TYPE, "wifi: must be an object"},
    {"bad-control-char.json", FWC_ERR_SYNTAX, "control character in a string"},
};
#define N_BAD (sizeof bad_vectors / sizeof bad_vectors[0])

TEST(every_bad_vector_is_refused_with_its_error)
{
    for (size_t i = 0; i < N_BAD; i++) {
        const struct bad_vector *b = &bad_vectors[i];
        size_t len;
        char *text = load(b->file, &len);
        ASSERT_MSG(text != NULL, "cannot read %s", b->file);
        struct fwc_error err;
        memset(&cfg, 0x55, sizeof cfg);
        int rc = fwc_parse(text, len, &cfg, &err);
        free(text);
        ASSERT_MSG(rc == (int)b->code, "%s: got %d (%s: %s), expected %d (%s)", b->file, rc,
                   fwc_strerror(rc), err.msg, b->code, fwc_strerror(b->code));
        ASSERT_EQ_INT(err.code, b->code);
        ASSERT_MSG(strstr(err.msg, b->msg) != NULL, "%s: message \"%s\" lacks \"%s\"", b->file,
                   err.msg, b->msg);
        /* A refused file leaves nothing half-read behind. */
        ASSERT_MSG(cfg.id[0] == '\0' && cfg.mqtt.port == 0 && cfg.tls.format == 0 &&
                       cfg.mqtt.topic_count == 0,
                   "%s: config not cleared", b->file);
    }
}

/* A bad-*.json file added without an expectation here would test nothing. */
TEST(every_bad_vector_file_has_an_expectation)
{
    DIR *d = opendir(VECTORS);
    ASSERT(d != NULL);
    struct dirent *e;
    size_t seen = 0;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "bad-", 4) != 0) {
            continue;
        }
        size_t i;
        for (i = 0; i < N_BAD && strcmp(bad_vectors[i].file, e->d_name) != 0; i++) {
        }
        if (i == N_BAD) {
            closedir(d);
            ASSERT_MSG(0, "%s has no entry in bad_vectors[]", e->d_name);
        }
        seen++;
    }
    closedir(d);
    ASSERT_EQ_INT(seen, N_BAD);
}

/* Every proper prefix of a valid file is an incomplete object: it must be
 * reported as truncated (empty for zero bytes), never accepted or crashed on. */
static void check_prefixes(struct t_ctx *t_, const char *file)
{
    size_t len;
    char *text = load(file, &len);
    ASSERT_MSG(text != NULL, "cannot read %s", file);
    size_t end = len;
    while (end > 0 && text[end - 1] != '}') {
        end--;
    }
    for (size_t n = 0; n < end; n++) {
        char *cut = malloc(n ? n : 1);
        ASSERT(cut != NULL);
        memcpy(cut, text, n);
        struct fwc_error err;
        int rc = fwc_parse(cut, n, &cfg, &err);
        free(cut);
        int want = n == 0 ? FWC_ERR_EMPTY : FWC_ERR_TRUNCATED;
        if (rc != want || err.msg[0] == '\0' || cfg.id[0] != '\0') {
            free(text);
            ASSERT_MSG(0, "%s cut to %zu bytes: got %d (%s)", file, n, rc, err.msg);
        }
    }
    struct fwc_error err;
    int rc = fwc_parse(text, end, &cfg, &err);
    free(text);
    ASSERT_MSG(rc == FWC_OK, "%s whole: %s", file, err.msg);
}

TEST(every_prefix_of_minimal_is_truncated)
{
    check_prefixes(t_, "minimal.json");
}

TEST(every_prefix_of_full_is_truncated)
{
    check_prefixes(t_, "full.json");
}

TEST(error_codes_have_distinct_names)
{
    for (int a = FWC_ERR_VALUE; a <= FWC_OK; a++) {
        const char *na = fwc_strerror(a);
        ASSERT(na != NULL && na[0] != '\0');
        ASSERT_MSG(strcmp(na, "unknown error") != 0, "code %d has no name", a);
        for (int b = a + 1; b <= FWC_OK; b++) {
            ASSERT_MSG(strcmp(na, fwc_strerror(b)) != 0, "codes %d and %d share a name", a, b);
        }
    }
    ASSERT_STREQ(fwc_strerror(-100), "unknown error");
    ASSERT_STREQ(fwc_strerror(3), "unknown error");
}

TEST(null_arguments_are_refused)
{
    struct fwc_error err;
    ASSERT_EQ_INT(fwc_parse("{}", 2, NULL, &err), FWC_ERR_ARG);
    ASSERT_EQ_INT(err.code, FWC_ERR_ARG);
    ASSERT_EQ_INT(fwc_parse(NULL, 5, &cfg, &err), FWC_ERR_ARG);
    ASSERT_EQ_INT(fwc_parse(NULL, 0, &cfg, &err), FWC_ERR_EMPTY);
    /* err is optional. */
    ASSERT_EQ_INT(fwc_parse("[]", 2, &cfg, NULL), FWC_ERR_SYNTAX);
}

TEST_MAIN(RUN(minimal_vector_parses_to_its_values); RUN(full_vector_parses_to_its_values);
          RUN(every_bad_vector_is_refused_with_its_error);
          RUN(every_bad_vector_file_has_an_expectation); RUN(every_prefix_of_minimal_is_truncated);
          RUN(every_prefix_of_full_is_truncated); RUN(error_codes_have_distinct_names);
          RUN(null_arguments_are_refused);)
