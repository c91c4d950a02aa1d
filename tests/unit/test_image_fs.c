/* The filesystem behind a device image: .filesystem.type in profiles, pv_fs_* for both types. */
#include <stdlib.h>

#include "lfsgen/lfsgen.h"
#include "spiffsgen/spiffsgen.h"
#include "test.h"
#include "provision/core/core.h"
#include "provision/profile/profile.h"
#include "provision/image/image.h"

static int parse(const char *json, struct pv_profile **p, struct pv_error *err)
{
    char *dir = realpath("tests/data/profiles", NULL);
    int rc = pv_profile_parse(json, strlen(json), dir, "t.json", 0, NULL, p, err);
    free(dir);
    return rc;
}

#define HEAD8266 "{\"name\":\"t\",\"chip\":\"esp8266\","
#define HEAD32   "{\"name\":\"t\",\"chip\":\"esp32\","
#define TAIL                                                                                       \
    "\"wifi\":{\"ssid\":\"Lab\",\"password\":\"12345678\"},"                                       \
    "\"mqtt\":{\"host\":\"b\",\"topics\":{\"status\":\"s/{id}\"}}}"
#define BOTH "\"partitions\":\"../partitions/idf_littlefs_and_spiffs.csv\","

TEST(type_defaults_to_spiffs_and_takes_littlefs)
{
    struct pv_profile *p;
    struct pv_error err;
    ASSERT_EQ_INT(parse(HEAD8266 "\"filesystem\":{\"layout\":\"4M2M\"}," TAIL, &p, &err), PV_OK);
    ASSERT_EQ_INT(p->fs.type, PV_FS_SPIFFS);
    ASSERT_STREQ(pv_fs_type_name(p->fs.type), "spiffs");
    pv_profile_free(p);
    ASSERT_EQ_INT(parse(HEAD8266 "\"filesystem\":{\"type\":\"littlefs\",\"layout\":\"4M2M\"}," TAIL,
                        &p, &err),
                  PV_OK);
    ASSERT_EQ_INT(p->fs.type, PV_FS_LITTLEFS);
    ASSERT_STREQ(p->fs.preset, "esp8266-arduino");
    ASSERT_EQ_UINT(p->fs.block_size, 8192);
    char *dump = NULL;
    ASSERT_EQ_INT(pv_profile_dump(p, &dump, &err), PV_OK);
    ASSERT_CONTAINS(dump, "\"type\": \"littlefs\"");
    free(dump);
    pv_profile_free(p);
    ASSERT_EQ_INT(
        parse(HEAD8266 "\"filesystem\":{\"type\":\"fat\",\"layout\":\"4M2M\"}," TAIL, &p, &err),
        PV_ERR_INVALID);
    ASSERT_CONTAINS(err.msg, ".filesystem.type");
    ASSERT_CONTAINS(err.msg, "not spiffs or littlefs");
}

TEST(littlefs_takes_the_littlefs_partition_spiffs_the_spiffs_one)
{
    struct pv_profile *p;
    struct pv_error err;
    ASSERT_EQ_INT(parse(HEAD32 BOTH "\"filesystem\":{\"type\":\"littlefs\"}," TAIL, &p, &err),
                  PV_OK);
    ASSERT_EQ_UINT(p->fs.offset, 0x150000);
    ASSERT_EQ_UINT(p->fs.size, 0x80000);
    pv_profile_free(p);
    ASSERT_EQ_INT(parse(HEAD32 BOTH "\"filesystem\":{}," TAIL, &p, &err), PV_OK);
    ASSERT_EQ_UINT(p->fs.offset, 0x110000);
    pv_profile_free(p);
    /* LittleFS in a spiffs-subtype partition, named by label (esp_littlefs mounts it) */
    ASSERT_EQ_INT(parse(HEAD32 BOTH "\"filesystem\":{\"type\":\"littlefs\",\"partition\":"
                                    "\"storage\"}," TAIL,
                        &p, &err),
                  PV_OK);
    ASSERT_EQ_UINT(p->fs.offset, 0x110000);
    pv_profile_free(p);
    /* no littlefs partition: the spiffs one */
    ASSERT_EQ_INT(parse(HEAD32 "\"partitions\":\"../partitions/idf_spiffs_example.csv\","
                               "\"filesystem\":{\"type\":\"littlefs\"}," TAIL,
                        &p, &err),
                  PV_OK);
    ASSERT_EQ_UINT(p->fs.offset, 0x110000);
    ASSERT_EQ_UINT(p->fs.size, 0xF0000);
    pv_profile_free(p);
}

TEST(littlefs_names_are_limited_per_part)
{
    struct pv_profile *p;
    struct pv_error err;
    /* 40 bytes in all, no part over 31: fine on LittleFS, too long for SPIFFS */
    ASSERT_EQ_INT(parse(HEAD8266 "\"filesystem\":{\"type\":\"littlefs\",\"layout\":\"4M2M\","
                                 "\"files\":{\"/certs/0123456789/abcdefghijklmnopqrst\":"
                                 "\"../devconfig/full.json\"}}," TAIL,
                        &p, &err),
                  PV_OK);
    pv_profile_free(p);
    ASSERT_EQ_INT(parse(HEAD8266 "\"filesystem\":{\"layout\":\"4M2M\","
                                 "\"files\":{\"/certs/0123456789/abcdefghijklmnopqrst\":"
                                 "\"../devconfig/full.json\"}}," TAIL,
                        &p, &err),
                  PV_ERR_INVALID);
    /* a 32-byte part: the ESP8266 core's open() refuses it */
    ASSERT_EQ_INT(parse(HEAD8266 "\"filesystem\":{\"type\":\"littlefs\",\"layout\":\"4M2M\","
                                 "\"files\":{\"/0123456789abcdef0123456789abcdef\":"
                                 "\"../devconfig/full.json\"}}," TAIL,
                        &p, &err),
                  PV_ERR_INVALID);
    ASSERT_CONTAINS(err.msg, "more than the 31");
}

static struct pv_profile *littlefs_profile(const char *fs, struct pv_error *err)
{
    char json[512];
    snprintf(json, sizeof json, "%s\"filesystem\":%s,%s", HEAD32, fs, TAIL);
    struct pv_profile *p = NULL;
    return parse(json, &p, err) == PV_OK ? p : NULL;
}

TEST(pv_fs_builds_and_reads_both_types)
{
    struct pv_error err;
    static const char *const kinds[] = {
        "{\"type\":\"littlefs\",\"preset\":\"esp-idf\",\"offset\":\"0x110000\",\"size\":"
        "\"0x40000\"}",
        "{\"preset\":\"esp-idf\",\"offset\":\"0x110000\",\"size\":\"0x40000\"}",
    };
    for (size_t k = 0; k < 2; k++) {
        struct pv_profile *p = littlefs_profile(kinds[k], &err);
        ASSERT_MSG(p != NULL, "%s", err.msg);
        struct pv_fs_file files[] = {
            {"/config.json", "{}", 2},
            {"/certs/ca.der", "CA", 2},
            {"/empty", NULL, 0},
        };
        uint8_t *img = NULL;
        ASSERT_EQ_INT(pv_fs_build(p, files, 3, "the test", &img, &err), PV_OK);
        if (k == 0) {
            struct lg_params lp;
            ASSERT_EQ_INT(lg_detect(img, p->fs.size, &lp, NULL, 0, NULL), LG_OK);
            ASSERT_EQ_UINT(lp.block_size, 4096);
        } else {
            struct sg_params sp;
            ASSERT_EQ_INT(sg_detect(img, p->fs.size, &sp, NULL, 0, NULL), SG_OK);
        }
        /* Same files in another order: same bytes. */
        struct pv_fs_file swapped[] = {files[2], files[0], files[1]};
        uint8_t *again = NULL;
        ASSERT_EQ_INT(pv_fs_build(p, swapped, 3, "the test", &again, &err), PV_OK);
        ASSERT_MEMEQ(img, again, p->fs.size);
        pv_secret_free(again, p->fs.size);
        struct pv_fs_reader *r = NULL;
        ASSERT_EQ_INT(pv_fs_open(p, img, p->fs.size, &r, &err), PV_OK);
        ASSERT_EQ_INT(pv_fs_reader_type(r), p->fs.type);
        uint8_t *data = NULL;
        size_t len = 0;
        ASSERT_EQ_INT(pv_fs_read(r, "/certs/ca.der", &data, &len, &err), PV_OK);
        ASSERT_EQ_UINT(len, 2);
        ASSERT_MEMEQ(data, "CA", 2);
        free(data);
        ASSERT_EQ_INT(pv_fs_read(r, "/empty", &data, &len, &err), PV_OK);
        ASSERT_EQ_UINT(len, 0);
        free(data);
        ASSERT_EQ_INT(pv_fs_read(r, "/nope", &data, &len, &err), PV_ERR_NOT_FOUND);
        ASSERT_CONTAINS(err.msg, "no file '/nope'");
        if (k == 0) {
            ASSERT_EQ_INT(pv_fs_read(r, "/certs", &data, &len, &err), PV_ERR_NOT_FOUND);
        }
        pv_fs_close(r);
        /* The other profile type reads it as what it is (a board provisioned
         * before the profile changed its filesystem). */
        struct pv_profile *q = littlefs_profile(kinds[1 - k], &err);
        ASSERT(q != NULL);
        ASSERT_EQ_INT(pv_fs_open(q, img, q->fs.size, &r, &err), PV_OK);
        ASSERT_EQ_INT(pv_fs_reader_type(r), p->fs.type);
        ASSERT_EQ_INT(pv_fs_read(r, "/config.json", &data, &len, &err), PV_OK);
        ASSERT_MEMEQ(data, "{}", 2);
        free(data);
        pv_fs_close(r);
        pv_profile_free(q);
        pv_secret_free(img, p->fs.size);
        pv_profile_free(p);
    }
}

TEST(pv_fs_errors_say_what_and_why)
{
    struct pv_error err;
    struct pv_profile *p = littlefs_profile("{\"type\":\"littlefs\",\"preset\":\"esp-idf\","
                                            "\"offset\":\"0x110000\",\"size\":\"0x4000\"}",
                                            &err);
    ASSERT_MSG(p != NULL, "%s", err.msg);
    static uint8_t big[8192];
    struct pv_fs_file files[] = {{"/a", big, sizeof big}, {"/b", big, sizeof big}};
    uint8_t *img = NULL;
    ASSERT_EQ_INT(pv_fs_build(p, files, 2, "device d1", &img, &err), PV_ERR_INVALID);
    ASSERT_CONTAINS(err.msg, "the files for device d1 do not fit the filesystem (0x4000 bytes)");
    ASSERT(img == NULL);
    uint8_t blank[0x4000];
    struct pv_fs_reader *r = NULL;
    memset(blank, 0x55, sizeof blank);
    ASSERT_EQ_INT(pv_fs_open(p, blank, sizeof blank, &r, &err), PV_ERR_INVALID);
    ASSERT_CONTAINS(err.msg, "not a littlefs image for preset esp-idf");
    pv_profile_free(p);
    /* the size from each board's table: nothing to build before a board */
    p = littlefs_profile("{\"type\":\"littlefs\"},\"partitions\":\"device\"", &err);
    ASSERT_MSG(p != NULL, "%s", err.msg);
    ASSERT_EQ_INT(pv_fs_check(p, &err), PV_ERR_INVALID);
    ASSERT_CONTAINS(err.msg, "partition table");
    pv_profile_free(p);
}

TEST_MAIN(RUN(type_defaults_to_spiffs_and_takes_littlefs);
          RUN(littlefs_takes_the_littlefs_partition_spiffs_the_spiffs_one);
          RUN(littlefs_names_are_limited_per_part); RUN(pv_fs_builds_and_reads_both_types);
          RUN(pv_fs_errors_say_what_and_why);)
