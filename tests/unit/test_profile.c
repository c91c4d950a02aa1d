/* Profile loader: typed values, defaults, paths, templates, env secrets, redaction. */
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include "test.h"
#include "provision/core/core.h"
#include "provision/profile/profile.h"

static const char wifi_pass[] = "correct horse battery";
static const char ca_pass[] = "unit-ca-passphrase";
static const char mqtt_pass[] = "mq-secret-77";

static const char *lookup(void *user, const char *name)
{
    (void)user;
    if (strcmp(name, "ESPPROV_TEST_WIFI_PASS") == 0) {
        return wifi_pass;
    }
    if (strcmp(name, "ESPPROV_TEST_CA_PASS") == 0) {
        return ca_pass;
    }
    if (strcmp(name, "ESPPROV_TEST_MQTT_PASS") == 0) {
        return mqtt_pass;
    }
    return NULL;
}

static const struct pv_env env = {lookup, NULL};

TEST(loads_full_profile_with_defaults_and_absolute_paths)
{
    struct pv_profile *p = NULL;
    struct pv_error err;
    int rc = pv_profile_load("tests/data/profiles/full.json", 0, &env, &p, &err);
    ASSERT_MSG(rc == PV_OK, "load failed: %s", err.msg);
    char *dir = realpath("tests/data/profiles", NULL);
    ASSERT(dir != NULL);
    ASSERT_STREQ(p->dir, dir);
    ASSERT_STREQ(p->name, "unit-full");
    ASSERT_STREQ(p->chip, "esp32");
    ASSERT_EQ_UINT(p->flash.size, 4u << 20);
    ASSERT_STREQ(p->flash.mode, "dio");
    ASSERT_EQ_UINT(p->flash.baud, 921600);
    ASSERT_EQ_INT(p->firmware_count, 2);
    ASSERT_EQ_UINT(p->firmware[1].offset, 0x10000);
    ASSERT_EQ_UINT(p->firmware[1].size, 70000);
    char want[PATH_MAX + 32];
    snprintf(want, sizeof want, "%s/fw/app.bin", dir);
    ASSERT_STREQ(p->firmware[1].file, want);
    ASSERT_EQ_UINT(p->fs.offset, 0x290000);
    ASSERT_EQ_UINT(p->fs.size, 0x160000);
    ASSERT_EQ_INT(p->fs.file_count, 1);
    ASSERT_STREQ(p->fs.files[0].name, "/index.html");
    ASSERT_EQ_INT(p->fs.files[0].size, 19);
    ASSERT_MEMEQ(p->fs.files[0].data, "<html>", 6);
    snprintf(want, sizeof want, "%s/ca/ca.db", dir);
    ASSERT_STREQ(p->ca.db, want);
    snprintf(want, sizeof want, "%s/ca/ca.crl.pem", dir);
    ASSERT_STREQ(p->ca.crl, want);
    snprintf(want, sizeof want, "%s/out/ledger.db", dir);
    ASSERT_STREQ(p->ledger, want);
    ASSERT_STREQ(p->ca.passphrase, ca_pass);
    ASSERT_EQ_INT(p->ca.key_type, PV_KEY_EC_P256);
    ASSERT_EQ_INT(p->ca.crl_days, 365);
    ASSERT_EQ_INT(p->device.days, PV_DAYS_NEVER);
    ASSERT_EQ_INT(p->device.format, PV_FORMAT_PEM);
    ASSERT_EQ_INT(p->device.subject_count, 3);
    ASSERT_STREQ(p->device.subject[2].name, "CN");
    ASSERT_STREQ(p->paths.ca, "/ca.pem");
    ASSERT_STREQ(p->paths.key, "/client.key.pem");
    ASSERT_STREQ(p->wifi.password, wifi_pass);
    ASSERT_EQ_UINT(p->mqtt.port, 18883);
    ASSERT_STREQ(p->mqtt.client_id, "{id}");
    ASSERT_EQ_INT(p->mqtt.topic_count, 3);
    ASSERT_STREQ(p->mqtt.topics[1].name, "cmd");
    ASSERT_EQ_INT(p->ntp_count, 2);
    free(dir);
    pv_profile_free(p);
}

TEST(templates_expand_per_device)
{
    struct pv_profile *p = NULL;
    struct pv_error err;
    ASSERT(pv_profile_load("tests/data/profiles/full.json", 0, &env, &p, &err) == PV_OK);
    uint8_t mac[6];
    ASSERT_EQ_INT(pv_parse_mac("A4:CF:12:34:56:78", mac), PV_OK);
    struct pv_device dev;
    ASSERT_EQ_INT(pv_device_init(&dev, p, NULL, mac, 7, NULL, &err), PV_OK);
    ASSERT_STREQ(dev.id, "node-345678-0007");
    char out[256];
    ASSERT_EQ_INT(
        pv_template_expand("{profile}/{chip}/{mac}/{{x}}/{seq}", p, &dev, out, sizeof out, &err),
        PV_OK);
    ASSERT_STREQ(out, "unit-full/esp32/a4cf12345678/{x}/7");
    /* No MAC: the id template cannot be filled, and the error says so. */
    ASSERT_EQ_INT(pv_device_init(&dev, p, NULL, NULL, 7, NULL, &err), PV_ERR_INVALID);
    ASSERT_CONTAINS(err.hint, "--mac");
    /* An explicit id wins and is checked. */
    ASSERT_EQ_INT(pv_device_init(&dev, p, "bench-01", NULL, -1, NULL, &err), PV_OK);
    ASSERT_STREQ(dev.id, "bench-01");
    ASSERT_EQ_INT(pv_device_init(&dev, p, "a/b", NULL, -1, NULL, &err), PV_ERR_INVALID);
    ASSERT_EQ_INT(pv_parse_mac("a4cf12345678", mac), PV_OK);
    ASSERT_EQ_INT(pv_parse_mac("a4-cf-12-34-56-78", mac), PV_OK);
    ASSERT_EQ_INT(pv_parse_mac("a4:cf:12:34:56", mac), PV_ERR_INVALID);
    ASSERT_EQ_INT(pv_parse_mac("a4:cf-12:34:56:78", mac), PV_ERR_INVALID);
    ASSERT_EQ_INT(pv_parse_mac("a4cf1234567g", mac), PV_ERR_INVALID);
    pv_profile_free(p);
}

/* A profile from text, relative paths against tests/data/profiles. */
static int parse(const char *json, unsigned flags, struct pv_profile **p, struct pv_error *err)
{
    char *dir = realpath("tests/data/profiles", NULL);
    int rc = pv_profile_parse(json, strlen(json), dir, "t.json", flags, &env, p, err);
    free(dir);
    return rc;
}

#define BASE_HEAD "{\"name\":\"t\",\"chip\":\"esp8266\","
#define BASE_FS   "\"filesystem\":{\"offset\":\"0x200000\",\"size\":\"0x1FA000\"},"
#define BASE_WIFI "\"wifi\":{\"ssid\":\"Lab\",\"password\":\"12345678\"},"
#define BASE_MQTT "\"mqtt\":{\"host\":\"b\",\"topics\":{\"status\":\"s/{id}\"}}"

struct bad_case {
    const char *json;
    const char *expect; /* substring of the error message */
};

static const struct bad_case bad_cases[] = {
    {BASE_HEAD BASE_FS BASE_WIFI
     "\"mqtt\":{\"host\":\"b\",\"port\":\"8883x\",\"topics\":{\"status\":\"s\"}}}",
     ".mqtt.port: expected an integer 1-65535, got \"8883x\""},
    {BASE_HEAD BASE_FS BASE_WIFI
     "\"mqtt\":{\"host\":\"b\",\"port\":70000,\"topics\":{\"status\":\"s\"}}}",
     ".mqtt.port: expected an integer 1-65535, got 70000"},
    {BASE_HEAD BASE_FS BASE_WIFI
     "\"mqtt\":{\"host\":\"b\",\"prot\":8883,\"topics\":{\"status\":\"s\"}}}",
     ".mqtt.prot: unknown key (did you mean \"port\"?)"},
    {BASE_HEAD BASE_FS BASE_WIFI
     "\"mqtt\":{\"host\":\"b\",\"token\":\"t0k\",\"topics\":{\"status\":\"s\"}}}",
     ".mqtt.token: needs .mqtt.username"},
    {BASE_HEAD BASE_FS BASE_WIFI BASE_MQTT ",\"colour\":1}", ".colour: unknown key"},
    {"{\"name\":\"t\",\n \"chip\": esp8266}", "t.json:2:12: invalid JSON: invalid token"},
    {"{\"name\":\"t\",\"name\":\"u\"}", "invalid JSON: duplicate object key"},
    {BASE_HEAD BASE_FS
     "\"wifi\":{\"ssid\":\"Lab\",\"password\":\"${ESPPROV_NOT_SET_X}\"}," BASE_MQTT "}",
     ".wifi.password: environment variable ESPPROV_NOT_SET_X is not set"},
    {BASE_HEAD BASE_FS BASE_WIFI "\"mqtt\":{\"host\":\"b\",\"topics\":{\"status\":\"s/{mca}\"}}}",
     ".mqtt.topics.status: unknown placeholder {mca}"},
    {BASE_HEAD BASE_FS BASE_WIFI BASE_MQTT ",\"device\":{\"id\":\"esp-{id}\"}}",
     ".device.id: {id} cannot be used here"},
    {BASE_HEAD BASE_FS BASE_WIFI BASE_MQTT ",\"device\":{\"id\":\"esp-1\"}}",
     ".device.id: must contain {mac}"},
    {BASE_HEAD BASE_FS BASE_WIFI BASE_MQTT ",\"device\":{\"days\":0}}",
     ".device.days: expected a number of days 1-36500 or \"never\", got 0"},
    {BASE_HEAD BASE_FS BASE_WIFI BASE_MQTT ",\"device\":{\"key_type\":\"dsa\"}}",
     ".device.key_type: expected one of \"ec-p256\", \"rsa2048\", got \"dsa\""},
    {BASE_HEAD BASE_FS "\"wifi\":{\"ssid\":\"0123456789012345678901234567890123\","
                       "\"password\":\"12345678\"}," BASE_MQTT "}",
     ".wifi.ssid: expected 1 to 32 bytes, got 34"},
    {"{\"name\":5}", ".name: expected a string, got 5"},
    {BASE_HEAD "\"filesystem\":{\"offset\":\"0x200800\",\"size\":\"0x1FA000\"}," BASE_WIFI BASE_MQTT
               "}",
     ".filesystem.offset: 0x200800 is not a multiple of 0x1000"},
    {BASE_HEAD BASE_FS BASE_WIFI BASE_MQTT
     ",\"firmware\":[{\"offset\":\"0x0\",\"file\":\"fw/none.bin\"}]}",
     ".firmware[0].file: cannot read"},
    {BASE_HEAD BASE_FS BASE_WIFI BASE_MQTT
     ",\"firmware\":[{\"offset\":\"0x200000\",\"file\":\"fw/app.bin\"}]}",
     ".filesystem: 0x200000-0x3fa000 overlaps .firmware[0] (0x200000-0x211170)"},
    {BASE_HEAD BASE_FS BASE_WIFI BASE_MQTT
     ",\"firmware\":[{\"offset\":\"0x0\",\"file\":\"fw/app.bin\"},"
     "{\"offset\":\"0x10000\",\"file\":\"fw/boot.bin\"}]}",
     ".firmware[1]: 0x10000-0x10013 overlaps .firmware[0] (0x0-0x11170)"},
    {BASE_HEAD BASE_FS BASE_WIFI BASE_MQTT ",\"flash\":{\"size\":\"1MB\"}}",
     ".filesystem: 0x200000-0x3fa000 ends past the flash size (0x100000)"},
    {BASE_HEAD "\"filesystem\":{\"offset\":\"0x200000\",\"size\":\"0x1FA000\","
               "\"files\":{\"/client.crt.der\":\"data/index.html\"}}," BASE_WIFI BASE_MQTT "}",
     "\"/client.crt.der\" is used twice"},
    {BASE_HEAD BASE_FS BASE_WIFI BASE_MQTT ",\"layout\":\"4M2M\"}",
     ".layout: a layout belongs in .filesystem.layout"},
    {BASE_HEAD BASE_FS BASE_WIFI "\"mqtt\":{\"host\":\"b\",\"topics\":{\"cmd\":\"c\"}}}",
     ".mqtt.topics: needs a \"status\" topic"},
    {BASE_HEAD BASE_FS BASE_WIFI BASE_MQTT ",\"device\":{\"subject\":{\"O\":\"x\"}}}",
     ".device.subject: needs a CN"},
    {BASE_HEAD BASE_FS BASE_WIFI BASE_MQTT ",\"device\":{\"subject\":{\"CN\":\"{id}\",\"C\":"
                                           "\"Germany\"}}}",
     ".device.subject.C: can expand to 7 bytes"},
    {BASE_HEAD BASE_FS BASE_WIFI
     "\"mqtt\":{\"host\":\"b\",\"client_id\":\"a-very-long-prefix-to-push-it-over-the-limit-{id}-"
     "{mac}\",\"topics\":{\"status\":\"s\"}}}",
     ".mqtt.client_id: can expand to"},
    {BASE_HEAD BASE_FS BASE_WIFI BASE_MQTT ",\"ca\":{\"key_type\":\"rsa2048\"}}",
     ".ca.key_type: expected one of \"ec-p256\", \"rsa3072\""},
    {BASE_HEAD BASE_FS BASE_WIFI BASE_MQTT ",\"paths\":{\"ca\":\"ca.der\"}}",
     ".paths.ca: \"ca.der\" is not a device file name"},
    {BASE_HEAD BASE_FS BASE_WIFI BASE_MQTT ",\"ntp\":[]}", ".ntp: expected 1 to 3 entries, got 0"},
    {BASE_HEAD
     "\"filesystem\":{\"preset\":\"fat\",\"offset\":\"0x200000\",\"size\":\"0x1FA000\"}," BASE_WIFI
         BASE_MQTT "}",
     ".filesystem.preset: unknown preset \"fat\""},
    {"[1,2]", ".: a profile is a JSON object"},
};

TEST(bad_profiles_name_the_json_path)
{
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        struct pv_profile *p = NULL;
        struct pv_error err;
        int rc = parse(bad_cases[i].json, 0, &p, &err);
        ASSERT_MSG(rc == PV_ERR_INVALID && p == NULL, "case %zu loaded (rc %d)", i, rc);
        ASSERT_MSG(strstr(err.msg, bad_cases[i].expect) != NULL,
                   "case %zu: message \"%s\" lacks \"%s\"", i, err.msg, bad_cases[i].expect);
        ASSERT_MSG(strncmp(err.msg, "t.json", 6) == 0, "case %zu: no file name in \"%s\"", i,
                   err.msg);
    }
}

TEST(secret_values_never_appear_in_errors)
{
    static const char *const secrets[] = {
        BASE_HEAD BASE_FS "\"wifi\":{\"ssid\":\"Lab\",\"password\":\"hunter2\"}," BASE_MQTT "}",
        BASE_HEAD BASE_FS "\"wifi\":{\"ssid\":\"Lab\",\"password\":98765432}," BASE_MQTT "}",
        BASE_HEAD BASE_FS BASE_WIFI
        "\"mqtt\":{\"host\":\"b\",\"password\":\"\",\"topics\":{\"status\":\"s\"}}}",
        BASE_HEAD BASE_FS "\"wifi\":{\"ssid\":\"Lab\",\"password\":\"hunter3",
    };
    const char *needles[] = {"hunter2", "98765432", "\"\"", "hunter3"};
    for (size_t i = 0; i < 4; i++) {
        struct pv_profile *p = NULL;
        struct pv_error err;
        ASSERT_EQ_INT(parse(secrets[i], 0, &p, &err), PV_ERR_INVALID);
        ASSERT_MSG(strstr(err.msg, needles[i]) == NULL, "secret echoed: %s", err.msg);
    }
}

TEST(deferred_env_fails_only_where_needed)
{
    const char *json = BASE_HEAD BASE_FS
        "\"wifi\":{\"ssid\":\"Lab\",\"password\":\"${ESPPROV_NOT_SET_Y}\"}," BASE_MQTT "}";
    struct pv_profile *p = NULL;
    struct pv_error err;
    ASSERT_EQ_INT(parse(json, PV_PROFILE_DEFER_ENV, &p, &err), PV_OK);
    ASSERT(p->wifi.password == NULL);
    struct pv_device dev;
    uint8_t mac[6] = {1, 2, 3, 4, 5, 6};
    ASSERT_EQ_INT(pv_device_init(&dev, p, NULL, mac, -1, NULL, &err), PV_OK);
    char *cfg = NULL;
    size_t len = 0;
    ASSERT_EQ_INT(pv_devconfig_build(p, &dev, &cfg, &len, &err), PV_ERR_INVALID);
    ASSERT_CONTAINS(err.msg, ".wifi.password: environment variable ESPPROV_NOT_SET_Y is not set");
    char *dump = NULL;
    ASSERT_EQ_INT(pv_profile_dump(p, &dump, &err), PV_OK);
    ASSERT_CONTAINS(dump, "<unset: ${ESPPROV_NOT_SET_Y}>");
    free(dump);
    pv_profile_free(p);
}

TEST(dump_redacts_secrets)
{
    struct pv_profile *p = NULL;
    struct pv_error err;
    ASSERT(pv_profile_load("tests/data/profiles/full.json", 0, &env, &p, &err) == PV_OK);
    char *dump = NULL;
    ASSERT_EQ_INT(pv_profile_dump(p, &dump, &err), PV_OK);
    ASSERT(strstr(dump, wifi_pass) == NULL);
    ASSERT(strstr(dump, ca_pass) == NULL);
    ASSERT(strstr(dump, mqtt_pass) == NULL);
    ASSERT_CONTAINS(dump, "\"password\": \"<redacted, from ${ESPPROV_TEST_WIFI_PASS}>\"");
    ASSERT_CONTAINS(dump, "\"offset\": \"0x290000\"");
    ASSERT_CONTAINS(dump, "\"days\": \"never\"");
    free(dump);
    pv_profile_free(p);
}

TEST(no_files_mode_skips_host_files)
{
    const char *json = BASE_HEAD BASE_FS BASE_WIFI BASE_MQTT
        ",\"firmware\":[{\"offset\":\"0x0\",\"file\":\"fw/none.bin\"}]}";
    struct pv_profile *p = NULL;
    struct pv_error err;
    ASSERT_EQ_INT(parse(json, PV_PROFILE_NO_FILES, &p, &err), PV_OK);
    ASSERT_EQ_UINT(p->firmware[0].size, 0);
    pv_profile_free(p);
}

TEST(config_size_is_checked_at_load)
{
    char json[8192];
    char token[1025];
    memset(token, 't', 1024);
    token[1024] = '\0';
    snprintf(json, sizeof json,
             BASE_HEAD BASE_FS BASE_WIFI
             "\"mqtt\":{\"host\":\"b\",\"username\":\"u\",\"token\":\"%s\",\"topics\":{\"status\":"
             "\"%.120s\","
             "\"a\":\"%.120s\",\"b\":\"%.120s\",\"c\":\"%.120s\",\"d\":\"%.120s\",\"e\":\"%.120s\","
             "\"f\":\"%.120s\"}}}",
             token, token, token, token, token, token, token, token);
    struct pv_profile *p = NULL;
    struct pv_error err;
    ASSERT_EQ_INT(parse(json, 0, &p, &err), PV_ERR_INVALID);
    ASSERT_CONTAINS(err.msg, "more than 2048");
}

TEST(passphrase_from_file)
{
    char dir[] = "/tmp/espprov-unit-XXXXXX";
    ASSERT(mkdtemp(dir) != NULL);
    char path[128];
    snprintf(path, sizeof path, "%s/pass.txt", dir);
    FILE *f = fopen(path, "w");
    ASSERT(f != NULL);
    fputs("from-a-file-123\nignored\n", f);
    fclose(f);
    char json[1024];
    snprintf(json, sizeof json,
             BASE_HEAD BASE_FS BASE_WIFI BASE_MQTT ",\"ca\":{\"passphrase_file\":\"%s\"}}", path);
    struct pv_profile *p = NULL;
    struct pv_error err;
    ASSERT_EQ_INT(parse(json, 0, &p, &err), PV_OK);
    char buf[256];
    bool found = false;
    ASSERT_EQ_INT(pv_profile_ca_passphrase(p, buf, sizeof buf, &found, &err), PV_OK);
    ASSERT(found);
    ASSERT_STREQ(buf, "from-a-file-123");
    pv_profile_free(p);
    unlink(path);
    rmdir(dir);
    /* Neither source: found stays false (the command layer prompts). */
    ASSERT_EQ_INT(parse(BASE_HEAD BASE_FS BASE_WIFI BASE_MQTT "}", 0, &p, &err), PV_OK);
    ASSERT_EQ_INT(pv_profile_ca_passphrase(p, buf, sizeof buf, &found, &err), PV_OK);
    ASSERT(!found);
    pv_profile_free(p);
}

TEST_MAIN(RUN(loads_full_profile_with_defaults_and_absolute_paths);
          RUN(templates_expand_per_device); RUN(bad_profiles_name_the_json_path);
          RUN(secret_values_never_appear_in_errors); RUN(deferred_env_fails_only_where_needed);
          RUN(dump_redacts_secrets); RUN(no_files_mode_skips_host_files);
          RUN(config_size_is_checked_at_load); RUN(passphrase_from_file);)
