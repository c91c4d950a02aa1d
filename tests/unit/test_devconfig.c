/* The device config writer against the shared vectors in tests/data/devconfig/. */
#include <jansson.h>
#include <stdlib.h>

#include "test.h"
#include "provision/core/core.h"
#include "provision/profile/profile.h"

static const char *lookup(void *user, const char *name)
{
    (void)user;
    if (strcmp(name, "ESPPROV_TEST_WIFI_PASS") == 0) {
        return "correct horse battery";
    }
    if (strcmp(name, "ESPPROV_TEST_CA_PASS") == 0) {
        return "unit-ca-passphrase";
    }
    if (strcmp(name, "ESPPROV_TEST_MQTT_PASS") == 0) {
        return "p\\ss\"w0rd";
    }
    return NULL;
}

static const struct pv_env env = {lookup, NULL};

static char *slurp(const char *path, size_t *len)
{
    uint8_t *data = NULL;
    struct pv_error err;
    if (pv_file_read(path, 1 << 16, &data, len, &err) != PV_OK) {
        return NULL;
    }
    return (char *)data;
}

TEST(minimal_vector_byte_for_byte)
{
    struct pv_profile *p = NULL;
    struct pv_error err;
    int rc = pv_profile_load("tests/data/profiles/devconfig-minimal.json", 0, &env, &p, &err);
    ASSERT_MSG(rc == PV_OK, "%s", err.msg);
    uint8_t mac[6];
    ASSERT_EQ_INT(pv_parse_mac("a4:cf:12:34:56:78", mac), PV_OK);
    struct pv_device dev;
    ASSERT_EQ_INT(pv_device_init(&dev, p, NULL, mac, -1, NULL, &err), PV_OK);
    char *cfg = NULL;
    size_t len = 0;
    ASSERT_EQ_INT(pv_devconfig_build(p, &dev, &cfg, &len, &err), PV_OK);
    size_t want_len = 0;
    char *want = slurp("tests/data/devconfig/minimal.json", &want_len);
    ASSERT(want != NULL);
    /* The vector file may end with a newline; the config never does. */
    while (want_len > 0 && want[want_len - 1] == '\n') {
        want[--want_len] = '\0';
    }
    ASSERT_MSG(len == want_len && memcmp(cfg, want, len) == 0, "got  %s\nwant %s", cfg, want);
    free(want);
    pv_secret_free(cfg, len);
    pv_profile_free(p);
}

TEST(full_profile_config_parses_with_every_key_in_order)
{
    struct pv_profile *p = NULL;
    struct pv_error err;
    ASSERT(pv_profile_load("tests/data/profiles/full.json", 0, &env, &p, &err) == PV_OK);
    struct pv_device dev;
    uint8_t mac[6] = {0x24, 0x0a, 0xc4, 0x01, 0x02, 0x03};
    ASSERT_EQ_INT(pv_device_init(&dev, p, NULL, mac, 12, NULL, &err), PV_OK);
    char *cfg = NULL;
    size_t len = 0;
    ASSERT_EQ_INT(pv_devconfig_build(p, &dev, &cfg, &len, &err), PV_OK);
    ASSERT(strchr(cfg, ' ') == strstr(cfg, " \\\"2.4")); /* no space outside strings */
    ASSERT_CONTAINS(cfg, "\"ssid\":\"Lab \\\"2.4\\\"\"");
    ASSERT_CONTAINS(cfg, "\"username\":\"node-010203-0012\",\"password\":\"p\\\\ss\\\"w0rd\"");
    ASSERT_CONTAINS(cfg, "\"topics\":{\"status\":\"devices/node-010203-0012/status\","
                         "\"cmd\":\"devices/node-010203-0012/cmd\",\"chip\":\"chips/esp32\"}");
    ASSERT_CONTAINS(cfg, "\"tls\":{\"format\":\"pem\",\"ca\":\"/ca.pem\","
                         "\"cert\":\"/client.crt.pem\",\"key\":\"/client.key.pem\"},"
                         "\"ntp\":[\"pool.ntp.org\",\"time.nist.gov\"]}");
    json_error_t jerr;
    json_t *root = json_loadb(cfg, len, JSON_REJECT_DUPLICATES, &jerr);
    ASSERT_MSG(root != NULL, "not JSON: %s", jerr.text);
    const char *order[] = {"v", "id", "wifi", "mqtt", "tls", "ntp"};
    size_t i = 0;
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v)
    {
        ASSERT_MSG(i < 6 && strcmp(key, order[i]) == 0, "key %zu is %s", i, key);
        i++;
    }
    ASSERT_EQ_INT(json_integer_value(json_object_get(root, "v")), 1);
    json_decref(root);
    pv_secret_free(cfg, len);
    pv_profile_free(p);
}

TEST(long_explicit_id_breaks_a_limit_clearly)
{
    static const char json[] =
        "{\"name\":\"t\",\"chip\":\"esp8266\",\"filesystem\":{\"offset\":\"0x200000\","
        "\"size\":\"0x1FA000\"},\"wifi\":{\"ssid\":\"Lab\",\"password\":\"\"},"
        "\"mqtt\":{\"host\":\"b\",\"client_id\":\"x-{id}\",\"topics\":{\"status\":\"s\"}}}";
    struct pv_profile *p = NULL;
    struct pv_error err;
    ASSERT_EQ_INT(pv_profile_parse(json, strlen(json), "/", "t.json", 0, &env, &p, &err), PV_OK);
    struct pv_device dev;
    char id[65];
    memset(id, 'a', 64);
    id[64] = '\0';
    /* The id template's ids (16 bytes) fit; an explicit 64-byte id cannot. */
    ASSERT_EQ_INT(pv_device_init(&dev, p, id, NULL, -1, NULL, &err), PV_OK);
    char *cfg = NULL;
    size_t len = 0;
    ASSERT_EQ_INT(pv_devconfig_build(p, &dev, &cfg, &len, &err), PV_ERR_INVALID);
    ASSERT_CONTAINS(err.msg, "config value \"client_id\" for device aaaa");
    ASSERT_CONTAINS(err.msg, "is 66 bytes (allowed 1-64)");
    pv_profile_free(p);
}

TEST_MAIN(RUN(minimal_vector_byte_for_byte);
          RUN(full_profile_config_parses_with_every_key_in_order);
          RUN(long_explicit_id_breaks_a_limit_clearly);)
