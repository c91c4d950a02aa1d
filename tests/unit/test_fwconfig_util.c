/* The helpers the sketch uses around a parsed config: credentials, NTP
 * servers, the MQTT buffer size, the status message and the back-off. */
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

TEST_MAIN(RUN(password_wins_over_token); RUN(mqtt_buffer_fits_connect_and_publish);
          RUN(status_message_is_escaped_json); RUN(status_message_that_does_not_fit_is_empty);
          RUN(backoff_doubles_with_jitter_up_to_a_minute); RUN(ntp_servers_default_and_order);)
