/*
 * The config reader's JSON handling: key order, whitespace, escapes, UTF-8,
 * nesting, versions, unknown/duplicate/missing keys, and that error messages
 * name fields without ever echoing a value.
 */
#include "firmware/espprov_client/src/fwconfig.h"
#include "test.h"

static struct fwc_config cfg;
static struct fwc_error err;

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

#define WIFI "\"wifi\":{\"ssid\":\"Lab\",\"password\":\"\"}"
#define MQTT                                                                                       \
    "\"mqtt\":{\"host\":\"h\",\"port\":1,\"client_id\":\"c\",\"topics\":{\"status\":\"s\"}}"
#define TLS  "\"tls\":{\"format\":\"pem\",\"ca\":\"/a\",\"cert\":\"/b\",\"key\":\"/c\"}"
#define GOOD "{\"v\":1,\"id\":\"d\"," WIFI "," MQTT "," TLS "}"

/* GOOD with one member replaced: "{" A "," ... "}". */
static char text[4096];
static const char *with(const char *id, const char *wifi, const char *mqtt, const char *tls,
                        const char *extra)
{
    snprintf(text, sizeof text, "{\"v\":1,\"id\":%s,%s,%s,%s%s}", id, wifi, mqtt, tls, extra);
    return text;
}

#define EXPECT_RC(call, want)                                                                      \
    do {                                                                                           \
        int rc_ = (call);                                                                          \
        ASSERT_MSG(rc_ == (want), "%s: got %d (%s), expected %s", #call, rc_, err.msg, #want);     \
    } while (0)

TEST(keys_in_any_order_and_free_whitespace)
{
    EXPECT_RC(parse(GOOD), FWC_OK);
    EXPECT_RC(parse("{" TLS "," MQTT ",\"id\":\"d\"," WIFI ",\"v\":1}"), FWC_OK);
    ASSERT_STREQ(cfg.id, "d");
    ASSERT_EQ_INT(cfg.tls.format, FWC_TLS_PEM);
    EXPECT_RC(parse("{\"v\":1,\"id\":\"d\",\"wifi\":{\"password\":\"\",\"ssid\":\"Lab\"},"
                    "\"mqtt\":{\"topics\":{\"status\":\"s\"},\"client_id\":\"c\",\"port\":1,"
                    "\"host\":\"h\"}," TLS "}"),
              FWC_OK);
    ASSERT_STREQ(cfg.mqtt.host, "h");
    EXPECT_RC(parse(" \r\n\t{ \"v\" : 1 ,\n \"id\" :\"d\" , \"wifi\" : { \"ssid\" : \"Lab\" ,"
                    " \"password\" : \"\" } , \"mqtt\" : { \"host\" : \"h\" , \"port\" : 1 ,"
                    " \"client_id\" : \"c\" , \"topics\" : { \"status\" : \"s\" } } ,"
                    " \"tls\" : { \"format\" : \"pem\" , \"ca\" : \"/a\" , \"cert\" : \"/b\" ,"
                    " \"key\" : \"/c\" } , \"ntp\" : [ \"a\" , \"b\" ] }\n\n"),
              FWC_OK);
    ASSERT_EQ_INT(cfg.ntp_count, 2);
    EXPECT_RC(parse("\xef\xbb\xbf" GOOD), FWC_OK);
    EXPECT_RC(parse("\xef\xbb\xbf"), FWC_ERR_EMPTY);
    EXPECT_RC(parse(" \n "), FWC_ERR_EMPTY);
}

TEST(data_after_the_object_is_refused)
{
    EXPECT_RC(parse(GOOD "x"), FWC_ERR_TRAILING);
    EXPECT_RC(parse(GOOD " {}"), FWC_ERR_TRAILING);
    EXPECT_RC(parse(GOOD ","), FWC_ERR_TRAILING);
    EXPECT_RC(parse_n(GOOD "\0", sizeof GOOD), FWC_ERR_TRAILING);
    ASSERT_EQ_INT(err.offset, sizeof GOOD - 1);
    char want[64];
    snprintf(want, sizeof want, "byte %zu: data after the config object", sizeof GOOD - 1);
    ASSERT_STREQ(err.msg, want);
}

TEST(syntax_errors_say_where)
{
    EXPECT_RC(parse("{\"v\" 1}"), FWC_ERR_SYNTAX);
    ASSERT_STREQ(err.msg, "byte 5: expected ':' after a key");
    ASSERT_EQ_INT(err.offset, 5);
    EXPECT_RC(parse("{\"v\":1 \"id\":\"d\"}"), FWC_ERR_SYNTAX);
    ASSERT_STREQ(err.msg, "byte 7: expected ',' or '}'");
    EXPECT_RC(parse("{\"v\":1,}"), FWC_ERR_SYNTAX);
    EXPECT_RC(parse("{v:1}"), FWC_ERR_SYNTAX);
    EXPECT_RC(parse("{'v':1}"), FWC_ERR_SYNTAX);
    EXPECT_RC(parse("{\"v\":1,\"ntp\":[\"a\",]}"), FWC_ERR_SYNTAX);
    EXPECT_RC(parse("{\"v\":1,\"ntp\":[\"a\"}"), FWC_ERR_SYNTAX);
    EXPECT_RC(parse("\"v\""), FWC_ERR_SYNTAX);
    EXPECT_RC(parse("1"), FWC_ERR_SYNTAX);
}

TEST(nesting_beyond_the_format)
{
    /* Three levels are the format's own depth; a fourth is refused before any
     * field is judged, even under an unknown key. */
    EXPECT_RC(parse("{\"v\":1,\"x\":{\"y\":{\"z\":{}}}}"), FWC_ERR_DEPTH);
    EXPECT_RC(parse("{\"v\":1,\"x\":[[[1]]]}"), FWC_ERR_DEPTH);
    ASSERT_STREQ(err.msg, "byte 13: nested deeper than the format allows");
    EXPECT_RC(parse("{\"v\":1,\"x\":[[1]]}"), FWC_ERR_UNKNOWN);
    EXPECT_RC(parse(with("\"d\"", WIFI, MQTT, TLS, ",\"ntp\":[[\"a\"]]")), FWC_ERR_TYPE);
    ASSERT_STREQ(err.msg, "ntp[0]: must be a string");
}

TEST(version_is_judged_before_anything_else)
{
    EXPECT_RC(parse("{\"v\":2,\"future\":true}"), FWC_ERR_VERSION);
    ASSERT_STREQ(err.msg, "v: unsupported format version 2 (this firmware reads 1)");
    EXPECT_RC(parse("{\"id\":\"d\",\"new\":{},\"v\":3}"), FWC_ERR_VERSION);
    EXPECT_RC(parse("{\"v\":-1}"), FWC_ERR_VERSION);
    ASSERT_STREQ(err.msg, "v: unsupported format version -1 (this firmware reads 1)");
    EXPECT_RC(parse("{\"v\":0}"), FWC_ERR_VERSION);
    EXPECT_RC(parse("{\"v\":\"1\"}"), FWC_ERR_TYPE);
    ASSERT_STREQ(err.msg, "v: must be an integer");
    EXPECT_RC(parse("{\"v\":1.0}"), FWC_ERR_TYPE);
    EXPECT_RC(parse("{\"id\":\"d\"}"), FWC_ERR_MISSING);
    ASSERT_STREQ(err.msg, "v: missing (not an espprov device config?)");
    EXPECT_RC(parse("{}"), FWC_ERR_MISSING);
    /* A nested "v" is not the version. */
    EXPECT_RC(parse("{\"wifi\":{\"v\":1}}"), FWC_ERR_MISSING);
    EXPECT_RC(parse("{\"v\":1,\"v\":1," WIFI "," MQTT "," TLS ",\"id\":\"d\"}"), FWC_ERR_DUPLICATE);
    ASSERT_STREQ(err.msg, "v: duplicate key");
}

TEST(unknown_keys_at_every_level)
{
    EXPECT_RC(parse(with("\"d\"", WIFI, MQTT, TLS, ",\"extra\":1")), FWC_ERR_UNKNOWN);
    ASSERT_STREQ(err.msg, "extra: unknown key");
    EXPECT_RC(parse(with("\"d\"", "\"wifi\":{\"ssid\":\"L\",\"password\":\"\",\"bssid\":\"x\"}",
                         MQTT, TLS, "")),
              FWC_ERR_UNKNOWN);
    ASSERT_STREQ(err.msg, "wifi.bssid: unknown key");
    EXPECT_RC(parse(with("\"d\"", WIFI, MQTT,
                         "\"tls\":{\"format\":\"der\",\"ca\":\"/a\",\"cert\":\"/b\",\"key\":\"/c\","
                         "\"crl\":\"/d\"}",
                         "")),
              FWC_ERR_UNKNOWN);
    ASSERT_STREQ(err.msg, "tls.crl: unknown key");
    /* Keys are compared whole: no prefix, case or NUL tricks. */
    EXPECT_RC(parse(with("\"d\"", WIFI, MQTT, TLS, ",\"ntpx\":[]")), FWC_ERR_UNKNOWN);
    EXPECT_RC(parse(with("\"d\"", WIFI, MQTT, TLS, ",\"NTP\":[\"a\"]")), FWC_ERR_UNKNOWN);
    EXPECT_RC(parse(with("\"d\"", WIFI, MQTT, TLS, ",\"ntp\\u0000\":[\"a\"]")), FWC_ERR_UNKNOWN);
    ASSERT_STREQ(err.msg, "ntp?: unknown key");
    /* Long or non-ASCII names are shown cut short and printable. */
    EXPECT_RC(
        parse(with("\"d\"", WIFI, MQTT, TLS, ",\"a_very_long_key_name_that_goes_on_and_on\":1")),
        FWC_ERR_UNKNOWN);
    ASSERT_STREQ(err.msg, "a_very_long_key_name_tha...: unknown key");
    EXPECT_RC(parse(with("\"d\"", WIFI, MQTT, TLS, ",\"caf\\u00e9\\n\":1")), FWC_ERR_UNKNOWN);
    ASSERT_STREQ(err.msg, "caf???: unknown key");
}

TEST(every_required_key_is_required)
{
    static const struct {
        const char *text, *msg;
    } cases[] = {
        {"{\"v\":1," WIFI "," MQTT "," TLS "}", "id: missing"},
        {"{\"v\":1,\"id\":\"d\"," MQTT "," TLS "}", "wifi: missing"},
        {"{\"v\":1,\"id\":\"d\"," WIFI "," TLS "}", "mqtt: missing"},
        {"{\"v\":1,\"id\":\"d\"," WIFI "," MQTT "}", "tls: missing"},
        {"{\"v\":1,\"id\":\"d\",\"wifi\":{\"password\":\"\"}," MQTT "," TLS "}",
         "wifi.ssid: missing"},
        {"{\"v\":1,\"id\":\"d\",\"wifi\":{\"ssid\":\"L\"}," MQTT "," TLS "}",
         "wifi.password: missing"},
        {"{\"v\":1,\"id\":\"d\"," WIFI
         ",\"mqtt\":{\"port\":1,\"client_id\":\"c\",\"topics\":{\"status\":\"s\"}}," TLS "}",
         "mqtt.host: missing"},
        {"{\"v\":1,\"id\":\"d\"," WIFI
         ",\"mqtt\":{\"host\":\"h\",\"client_id\":\"c\",\"topics\":{\"status\":\"s\"}}," TLS "}",
         "mqtt.port: missing"},
        {"{\"v\":1,\"id\":\"d\"," WIFI
         ",\"mqtt\":{\"host\":\"h\",\"port\":1,\"topics\":{\"status\":\"s\"}}," TLS "}",
         "mqtt.client_id: missing"},
        {"{\"v\":1,\"id\":\"d\"," WIFI
         ",\"mqtt\":{\"host\":\"h\",\"port\":1,\"client_id\":\"c\"}," TLS "}",
         "mqtt.topics: missing"},
        {"{\"v\":1,\"id\":\"d\"," WIFI "," MQTT
         ",\"tls\":{\"ca\":\"/a\",\"cert\":\"/b\",\"key\":\"/c\"}}",
         "tls.format: missing"},
        {"{\"v\":1,\"id\":\"d\"," WIFI "," MQTT
         ",\"tls\":{\"format\":\"der\",\"cert\":\"/b\",\"key\":\"/c\"}}",
         "tls.ca: missing"},
        {"{\"v\":1,\"id\":\"d\"," WIFI "," MQTT
         ",\"tls\":{\"format\":\"der\",\"ca\":\"/a\",\"key\":\"/c\"}}",
         "tls.cert: missing"},
        {"{\"v\":1,\"id\":\"d\"," WIFI "," MQTT
         ",\"tls\":{\"format\":\"der\",\"ca\":\"/a\",\"cert\":\"/b\"}}",
         "tls.key: missing"},
        {"{\"v\":1,\"id\":\"d\"," WIFI "," MQTT ",\"tls\":{}}", "tls.format: missing"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = parse(cases[i].text);
        ASSERT_MSG(rc == FWC_ERR_MISSING, "case %zu: got %d (%s)", i, rc, err.msg);
        ASSERT_STREQ(err.msg, cases[i].msg);
    }
}

TEST(duplicate_keys_at_every_level)
{
    EXPECT_RC(parse(with("\"d\",\"id\":\"e\"", WIFI, MQTT, TLS, "")), FWC_ERR_DUPLICATE);
    ASSERT_STREQ(err.msg, "id: duplicate key");
    EXPECT_RC(parse(with("\"d\"", "\"wifi\":{\"ssid\":\"a\",\"ssid\":\"b\",\"password\":\"\"}",
                         MQTT, TLS, "")),
              FWC_ERR_DUPLICATE);
    ASSERT_STREQ(err.msg, "wifi.ssid: duplicate key");
    EXPECT_RC(parse(with("\"d\"", WIFI, MQTT,
                         "\"tls\":{\"format\":\"der\",\"format\":\"pem\",\"ca\":\"/a\","
                         "\"cert\":\"/b\",\"key\":\"/c\"}",
                         "")),
              FWC_ERR_DUPLICATE);
    EXPECT_RC(parse(with("\"d\"", WIFI, MQTT, TLS, ",\"ntp\":[\"a\"],\"ntp\":[\"b\"]")),
              FWC_ERR_DUPLICATE);
    EXPECT_RC(parse(with("\"d\"", WIFI, MQTT, TLS, "," WIFI)), FWC_ERR_DUPLICATE);
    ASSERT_STREQ(err.msg, "wifi: duplicate key");
}

TEST(wrong_types_name_the_expected_one)
{
    EXPECT_RC(parse(with("\"d\"", "\"wifi\":[]", MQTT, TLS, "")), FWC_ERR_TYPE);
    ASSERT_STREQ(err.msg, "wifi: must be an object");
    EXPECT_RC(parse(with("5", WIFI, MQTT, TLS, "")), FWC_ERR_TYPE);
    ASSERT_STREQ(err.msg, "id: must be a string");
    EXPECT_RC(parse(with("null", WIFI, MQTT, TLS, "")), FWC_ERR_TYPE);
    EXPECT_RC(parse(with("{}", WIFI, MQTT, TLS, "")), FWC_ERR_TYPE);
    EXPECT_RC(parse(with("\"d\"", WIFI,
                         "\"mqtt\":{\"host\":\"h\",\"port\":1,\"client_id\":\"c\",\"topics\":[]}",
                         TLS, "")),
              FWC_ERR_TYPE);
    ASSERT_STREQ(err.msg, "mqtt.topics: must be an object of named topics");
    EXPECT_RC(parse(with("\"d\"", WIFI, MQTT, TLS, ",\"ntp\":\"pool.ntp.org\"")), FWC_ERR_TYPE);
    ASSERT_STREQ(err.msg, "ntp: must be an array of strings");
    EXPECT_RC(parse(with("\"d\"", WIFI,
                         "\"mqtt\":{\"host\":\"h\",\"port\":1,\"client_id\":\"c\",\"topics\":"
                         "{\"status\":1}}",
                         TLS, "")),
              FWC_ERR_TYPE);
    ASSERT_STREQ(err.msg, "mqtt.topics.status: must be a string");
    EXPECT_RC(
        parse(with("\"d\"", WIFI, MQTT,
                   "\"tls\":{\"format\":1,\"ca\":\"/a\",\"cert\":\"/b\",\"key\":\"/c\"}", "")),
        FWC_ERR_TYPE);
}

TEST(escapes_decode_to_utf8)
{
    EXPECT_RC(parse(with("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\\u00e9\\u20ac\\ud83d\\ude00\"", WIFI,
                         MQTT, TLS, "")),
              FWC_OK);
    ASSERT_STREQ(cfg.id, "\"\\/\b\f\n\r\tA\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    EXPECT_RC(parse(with("\"\\uD83D\\uDE00\"", WIFI, MQTT, TLS, "")), FWC_OK);
    ASSERT_STREQ(cfg.id, "\xf0\x9f\x98\x80");
    EXPECT_RC(parse(with("\"\\udbff\\udfff\"", WIFI, MQTT, TLS, "")), FWC_OK);
    ASSERT_STREQ(cfg.id, "\xf4\x8f\xbf\xbf");
    EXPECT_RC(parse(with("\"\xf4\x8f\xbf\xbf\xe2\x82\xac\"", WIFI, MQTT, TLS, "")), FWC_OK);
}

TEST(bad_escapes_and_utf8)
{
    static const struct {
        const char *id;
        int rc;
    } cases[] = {
        {"\"\\x\"", FWC_ERR_ESCAPE},
        {"\"\\u12\"", FWC_ERR_ESCAPE},
        {"\"\\u12G4\"", FWC_ERR_ESCAPE},
        {"\"\\ud800\"", FWC_ERR_ESCAPE},
        {"\"\\ude00\"", FWC_ERR_ESCAPE},
        {"\"\\ud800\\u0041\"", FWC_ERR_ESCAPE},
        {"\"\\ud800\\ud800\"", FWC_ERR_ESCAPE},
        {"\"\\ud800a\"", FWC_ERR_ESCAPE},
        {"\"\xc0\xaf\"", FWC_ERR_UTF8},
        {"\"\xc1\xbf\"", FWC_ERR_UTF8},
        {"\"\xe0\x80\xaf\"", FWC_ERR_UTF8},
        {"\"\xed\xa0\x80\"", FWC_ERR_UTF8},
        {"\"\xf0\x80\x80\xaf\"", FWC_ERR_UTF8},
        {"\"\xf4\x90\x80\x80\"", FWC_ERR_UTF8},
        {"\"\xf5\x80\x80\x80\"", FWC_ERR_UTF8},
        {"\"\x80\"", FWC_ERR_UTF8},
        {"\"\xe2\x82\"", FWC_ERR_UTF8},
        {"\"\xff\"", FWC_ERR_UTF8},
        {"\"a\x01\"", FWC_ERR_SYNTAX},
        {"\"a\x1f\"", FWC_ERR_SYNTAX},
        {"\"a\\u0000b\"", FWC_ERR_VALUE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = parse(with(cases[i].id, WIFI, MQTT, TLS, ""));
        ASSERT_MSG(rc == cases[i].rc, "case %zu: got %d (%s), expected %d", i, rc, err.msg,
                   cases[i].rc);
    }
    /* Cut inside an escape or a multi-byte character: truncated, not bad. */
    EXPECT_RC(parse("{\"v\":1,\"id\":\"\\u00"), FWC_ERR_TRUNCATED);
    EXPECT_RC(parse("{\"v\":1,\"id\":\"\\ud83d\\u"), FWC_ERR_TRUNCATED);
    EXPECT_RC(parse("{\"v\":1,\"id\":\"\\"), FWC_ERR_TRUNCATED);
    EXPECT_RC(parse("{\"v\":1,\"id\":\"\xf0\x9f\x98"), FWC_ERR_TRUNCATED);
}

TEST(values_not_allowed)
{
    EXPECT_RC(parse(with(
                  "\"d\"", WIFI, MQTT,
                  "\"tls\":{\"format\":\"DER\",\"ca\":\"/a\",\"cert\":\"/b\",\"key\":\"/c\"}", "")),
              FWC_ERR_VALUE);
    EXPECT_RC(
        parse(with("\"d\"", WIFI, MQTT,
                   "\"tls\":{\"format\":\"derp\",\"ca\":\"/a\",\"cert\":\"/b\",\"key\":\"/c\"}",
                   "")),
        FWC_ERR_VALUE);
    EXPECT_RC(parse(with(
                  "\"d\"", WIFI, MQTT,
                  "\"tls\":{\"format\":\"der\",\"ca\":\"/a\",\"cert\":\"b/\",\"key\":\"/c\"}", "")),
              FWC_ERR_VALUE);
    ASSERT_STREQ(err.msg, "tls.cert: must be a file name starting with '/'");
}

/* Messages go to a serial console anyone can read: never a value. */
TEST(messages_never_echo_values)
{
    EXPECT_RC(
        parse(with("\"d\"", "\"wifi\":{\"ssid\":\"L\",\"password\":\"SECRET7\"}", MQTT, TLS, "")),
        FWC_ERR_LENGTH);
    ASSERT(strstr(err.msg, "SECRET") == NULL);
    char mqtt[400];
    snprintf(mqtt, sizeof mqtt,
             "\"mqtt\":{\"host\":\"h\",\"port\":1,\"client_id\":\"c\",\"username\":\"u\","
             "\"password\":\"%0129d\",\"topics\":{\"status\":\"s\"}}",
             7);
    EXPECT_RC(parse(with("\"d\"", WIFI, mqtt, TLS, "")), FWC_ERR_LENGTH);
    ASSERT_STREQ(err.msg, "mqtt.password: too long (max 128 bytes)");
}

TEST_MAIN(RUN(keys_in_any_order_and_free_whitespace); RUN(data_after_the_object_is_refused);
          RUN(syntax_errors_say_where); RUN(nesting_beyond_the_format);
          RUN(version_is_judged_before_anything_else); RUN(unknown_keys_at_every_level);
          RUN(every_required_key_is_required); RUN(duplicate_keys_at_every_level);
          RUN(wrong_types_name_the_expected_one); RUN(escapes_decode_to_utf8);
          RUN(bad_escapes_and_utf8); RUN(values_not_allowed); RUN(messages_never_echo_values);)
