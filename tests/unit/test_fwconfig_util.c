/* The helpers the sketch uses around a parsed config: credentials, NTP
 * servers, the MQTT buffer size, the status message and the back-off. */
#include <unistd.h>

#include "firmware/espprov_client/src/fwconfig.h"
#include "test.h"

static struct fwc_config cfg;

static int parse(const char *text)
{
    struct fwc_error err;
    return fwc_parse(text, strlen(text), &cfg, &err);
}

#define HEAD "{\"v\":1,\"id\":\"esp-1\",\"wifi\":{\"ssid\":\"L\",\"password\":\"\"},"
#define TLS  ",\"tls\":{\"format\":\"der\",\"ca\":\"/a\",\"cert\":\"/b\",\"key\":\"/c\"}}"

TEST(password_wins_over_token)
{
    ASSERT_EQ_INT(parse(HEAD "\"mqtt\":{\"host\":\"h\",\"port\":1,\"client_id\":\"c\","
                             "\"username\":\"u\",\"password\":\"pw\",\"token\":\"tk\","
                             "\"topics\":{\"status\":\"s\"}}" TLS),
                  FWC_OK);
    ASSERT_STREQ(fwc_mqtt_password(&cfg), "pw");
    ASSERT_EQ_INT(parse(HEAD "\"mqtt\":{\"host\":\"h\",\"port\":1,\"client_id\":\"c\","
                             "\"token\":\"tk\",\"topics\":{\"status\":\"s\"}}" TLS),
                  FWC_OK);
    ASSERT_STREQ(fwc_mqtt_password(&cfg), "tk");
    ASSERT_STREQ(cfg.mqtt.username, "");
}

TEST(mqtt_buffer_fits_connect_and_publish)
{
    /* Small config: the library's default 256 is enough and is kept. */
    ASSERT_EQ_INT(parse(HEAD "\"mqtt\":{\"host\":\"h\",\"port\":1,\"client_id\":\"c\","
                             "\"topics\":{\"status\":\"s\"}}" TLS),
                  FWC_OK);
    ASSERT_EQ_INT(fwc_mqtt_buffer_size(&cfg, 40, 120), 256);

    /* A 1024-byte token: CONNECT = 5 header + 10 variable header + 2+2 id
     * + 2+1 will topic + 2+40 will message + 2+1 user + 2+1024 token. */
    char text[2048];
    snprintf(text, sizeof text,
             HEAD "\"mqtt\":{\"host\":\"h\",\"port\":1,\"client_id\":\"cc\",\"username\":\"u\","
                  "\"token\":\"%01024d\",\"topics\":{\"status\":\"s\"}}" TLS,
             0);
    ASSERT_EQ_INT(parse(text), FWC_OK);
    ASSERT_EQ_INT(fwc_mqtt_buffer_size(&cfg, 40, 120), 5 + 10 + 4 + 3 + 42 + 3 + 1026);
    /* Without a user name PubSubClient sends no password, so none is counted. */
    cfg.mqtt.username[0] = '\0';
    ASSERT_EQ_INT(fwc_mqtt_buffer_size(&cfg, 40, 120), 256);

    /* A long topic and payload: PUBLISH = 5 + 2 + topic + payload. */
    snprintf(text, sizeof text,
             HEAD "\"mqtt\":{\"host\":\"h\",\"port\":1,\"client_id\":\"c\","
                  "\"topics\":{\"status\":\"s\",\"t\":\"%0128d\"}}" TLS,
             0);
    ASSERT_EQ_INT(parse(text), FWC_OK);
    ASSERT_EQ_INT(fwc_mqtt_buffer_size(&cfg, 40, 300), 5 + 2 + 128 + 300);
}

TEST(status_message_is_escaped_json)
{
    char out[256];
    struct fwc_status st = {"esp-1", "online", "10.0.0.7", -61, 12, 3};
    size_t n = fwc_status_json(out, sizeof out, &st);
    ASSERT_STREQ(out, "{\"id\":\"esp-1\",\"state\":\"online\",\"ip\":\"10.0.0.7\",\"rssi\":-61,"
                      "\"uptime\":12,\"reconnects\":3}");
    ASSERT_EQ_INT(n, strlen(out));

    struct fwc_status will = {"a\"b\\c\n\x01\xc3\xa9", "offline", NULL, 0, 0, 0};
    n = fwc_status_json(out, sizeof out, &will);
    ASSERT_STREQ(out, "{\"id\":\"a\\\"b\\\\c\\u000a\\u0001\xc3\xa9\",\"state\":\"offline\"}");
    ASSERT_EQ_INT(n, strlen(out));

    struct fwc_status extremes = {"x", "online", "1.2.3.4", INT32_MIN, UINT32_MAX, 0};
    fwc_status_json(out, sizeof out, &extremes);
    ASSERT_CONTAINS(out, "\"rssi\":-2147483648,\"uptime\":4294967295,");
    extremes.rssi = 5;
    fwc_status_json(out, sizeof out, &extremes);
    ASSERT_CONTAINS(out, "\"rssi\":5,");
}

TEST(status_message_that_does_not_fit_is_empty)
{
    char out[64];
    struct fwc_status st = {"esp-1", "online", "10.0.0.7", -61, 12, 3};
    ASSERT_EQ_INT(fwc_status_json(out, sizeof out, &st), 0);
    ASSERT_STREQ(out, "");
    char exact[40];
    struct fwc_status will = {"esp-1", "offline", NULL, 0, 0, 0};
    size_t need = strlen("{\"id\":\"esp-1\",\"state\":\"offline\"}");
    ASSERT_EQ_INT(fwc_status_json(exact, need + 1, &will), need);
    ASSERT_EQ_INT(fwc_status_json(exact, need, &will), 0);
    ASSERT_EQ_INT(fwc_status_json(NULL, 0, &will), 0);
}

TEST(backoff_doubles_with_jitter_up_to_a_minute)
{
    ASSERT_EQ_INT(fwc_backoff_ms(0, 0), 500);
    ASSERT_EQ_INT(fwc_backoff_ms(0, UINT32_MAX), 1000);
    ASSERT_EQ_INT(fwc_backoff_ms(1, 0), 1000);
    ASSERT_EQ_INT(fwc_backoff_ms(1, UINT32_MAX), 2000);
    ASSERT_EQ_INT(fwc_backoff_ms(5, 0), 16000);
    ASSERT_EQ_INT(fwc_backoff_ms(6, 0), 30000);
    ASSERT_EQ_INT(fwc_backoff_ms(6, UINT32_MAX), 60000);
    ASSERT_EQ_INT(fwc_backoff_ms(1000, UINT32_MAX), 60000);
    ASSERT_EQ_INT(fwc_backoff_ms(UINT32_MAX, 0), 30000);
    uint32_t prev_low = 0;
    for (uint32_t a = 0; a < 40; a++) {
        uint32_t low = fwc_backoff_ms(a, 0), high = fwc_backoff_ms(a, UINT32_MAX);
        uint32_t mid = fwc_backoff_ms(a, 0x80000000u);
        ASSERT(low >= prev_low && low <= mid && mid <= high && high <= 60000);
        ASSERT(high <= 2 * low);
        prev_low = low;
    }
}

TEST(ntp_servers_default_and_order)
{
    ASSERT_EQ_INT(parse(HEAD "\"mqtt\":{\"host\":\"h\",\"port\":1,\"client_id\":\"c\","
                             "\"topics\":{\"status\":\"s\"}}" TLS),
                  FWC_OK);
    ASSERT_STREQ(fwc_ntp_server(&cfg, 0), FWC_NTP_DEFAULT);
    ASSERT(fwc_ntp_server(&cfg, 1) == NULL);
    ASSERT(fwc_ntp_server(&cfg, 99) == NULL);
    ASSERT(FWC_MIN_EPOCH == 1704067200L); /* 2024-01-01T00:00:00Z */
}

TEST(blob_kinds_tell_der_from_pem)
{
    static uint8_t der[260] = {0x30, 0x82, 0x01, 0x00};
    ASSERT_EQ_INT(fwc_blob_kind(der, sizeof der), FWC_BLOB_DER);
    ASSERT_EQ_INT(fwc_blob_kind(der, sizeof der - 1), FWC_BLOB_UNKNOWN); /* cut short */
    static const uint8_t short_form[] = {0x30, 0x03, 0x02, 0x01, 0x00};
    ASSERT_EQ_INT(fwc_blob_kind(short_form, sizeof short_form), FWC_BLOB_DER);
    static const uint8_t long1[] = {0x30, 0x81, 0x01, 0x05};
    ASSERT_EQ_INT(fwc_blob_kind(long1, sizeof long1), FWC_BLOB_DER);
    static const uint8_t not_seq[] = {0x31, 0x00};
    ASSERT_EQ_INT(fwc_blob_kind(not_seq, sizeof not_seq), FWC_BLOB_UNKNOWN);
    static const uint8_t indefinite[] = {0x30, 0x80, 0x00, 0x00};
    ASSERT_EQ_INT(fwc_blob_kind(indefinite, sizeof indefinite), FWC_BLOB_UNKNOWN);

    static const struct {
        const char *text;
        enum fwc_blob kind;
    } pem[] = {
        {"-----BEGIN CERTIFICATE-----\nMIIB\n", FWC_BLOB_PEM_CERT},
        {"\r\n  -----BEGIN CERTIFICATE-----\n", FWC_BLOB_PEM_CERT},
        {"-----BEGIN PRIVATE KEY-----\n", FWC_BLOB_PEM_KEY},
        {"-----BEGIN EC PRIVATE KEY-----\n", FWC_BLOB_PEM_KEY},
        {"-----BEGIN RSA PRIVATE KEY-----\n", FWC_BLOB_PEM_KEY},
        {"-----BEGIN ENCRYPTED PRIVATE KEY-----\n", FWC_BLOB_PEM_ENCRYPTED},
        {"-----BEGIN X509 CRL-----\n", FWC_BLOB_PEM_OTHER},
        {"-----BEGIN CERTIFICATE", FWC_BLOB_PEM_OTHER},
        {"-----BEG", FWC_BLOB_UNKNOWN},
        {"", FWC_BLOB_UNKNOWN},
        {"{\"v\":1}", FWC_BLOB_UNKNOWN},
    };
    for (size_t i = 0; i < sizeof pem / sizeof pem[0]; i++) {
        enum fwc_blob got = fwc_blob_kind((const uint8_t *)pem[i].text, strlen(pem[i].text));
        ASSERT_MSG(got == pem[i].kind, "case %zu: %d", i, got);
        ASSERT(fwc_blob_name(got)[0] != '\0');
    }
    ASSERT_EQ_INT(fwc_blob_kind(NULL, 0), FWC_BLOB_UNKNOWN);
    ASSERT_STREQ(fwc_blob_name(FWC_BLOB_DER), "DER");
}

/* Real files as openssl writes them, so the DER rule is checked against the
 * encoder the provisioning side uses. */
TEST(blob_kinds_of_openssl_output)
{
    char dir[] = "/tmp/fwblobXXXXXX";
    ASSERT(mkdtemp(dir) != NULL);
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
             "-keyout k.pem -out c.pem -subj /CN=t -days 1 2>/dev/null && "
             "openssl x509 -in c.pem -outform der -out c.der && "
             "openssl pkey -in k.pem -outform der -out k.der && "
             "openssl pkey -in k.pem -aes256 -passout pass:x -out e.pem",
             dir);
    ASSERT_MSG(system(cmd) == 0, "openssl failed");
    static const struct {
        const char *name;
        enum fwc_blob kind;
    } files[] = {{"c.pem", FWC_BLOB_PEM_CERT},
                 {"c.der", FWC_BLOB_DER},
                 {"k.pem", FWC_BLOB_PEM_KEY},
                 {"k.der", FWC_BLOB_DER},
                 {"e.pem", FWC_BLOB_PEM_ENCRYPTED}};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[128];
        static uint8_t buf[8192];
        snprintf(path, sizeof path, "%s/%s", dir, files[i].name);
        FILE *f = fopen(path, "rb");
        ASSERT(f != NULL);
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        remove(path);
        ASSERT_MSG(fwc_blob_kind(buf, n) == files[i].kind, "%s: %s", files[i].name,
                   fwc_blob_name(fwc_blob_kind(buf, n)));
    }
    rmdir(dir);
}

TEST_MAIN(RUN(password_wins_over_token); RUN(blob_kinds_tell_der_from_pem);
          RUN(blob_kinds_of_openssl_output); RUN(mqtt_buffer_fits_connect_and_publish);
          RUN(status_message_is_escaped_json); RUN(status_message_that_does_not_fit_is_empty);
          RUN(backoff_doubles_with_jitter_up_to_a_minute); RUN(ntp_servers_default_and_order);)
