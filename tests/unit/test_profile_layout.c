/* Profile: where the filesystem goes (explicit, ESP8266 layout, partition table) and the stub. */
#include <stdlib.h>

#include "test.h"
#include "provision/core/core.h"
#include "provision/layout/layout.h"
#include "provision/profile/profile.h"
#include "provision/pki/pki.h"
#include "provision/image/image.h"

static int parse(const char *json, unsigned flags, struct pv_profile **p, struct pv_error *err)
{
    char *dir = realpath("tests/data/profiles", NULL);
    int rc = pv_profile_parse(json, strlen(json), dir, "t.json", flags, NULL, p, err);
    free(dir);
    return rc;
}

#define HEAD8266 "{\"name\":\"t\",\"chip\":\"esp8266\","
#define HEAD32   "{\"name\":\"t\",\"chip\":\"esp32\","
#define TAIL                                                                                       \
    "\"wifi\":{\"ssid\":\"Lab\",\"password\":\"12345678\"},"                                       \
    "\"mqtt\":{\"host\":\"b\",\"topics\":{\"status\":\"s/{id}\"}}}"
#define CSV "\"partitions\":\"../partitions/arduino_default.csv\","

TEST(esp8266_layout_places_the_filesystem)
{
    struct pv_profile *p;
    struct pv_error err;
    ASSERT_EQ_INT(parse(HEAD8266 "\"filesystem\":{\"layout\":\"4m2m\"}," TAIL, 0, &p, &err), PV_OK);
    ASSERT_STREQ(p->fs.layout, "4M2M");
    ASSERT_EQ_UINT(p->fs.offset, 0x200000);
    ASSERT_EQ_UINT(p->fs.size, 0x1FA000);
    ASSERT_EQ_UINT(p->fs.block_size, 8192);
    ASSERT(!p->fs.explicit_region);
    pv_profile_free(p);
}

TEST(layout_keeps_its_block_size_below_512k)
{
    /* 2M512 holds 488 KB: the core still uses 8 KB blocks (the menu's size
     * decides), where the preset alone would pick 4 KB. */
    struct pv_profile *p;
    struct pv_error err;
    ASSERT_EQ_INT(parse(HEAD8266 "\"filesystem\":{\"layout\":\"2M512\"}," TAIL, 0, &p, &err),
                  PV_OK);
    ASSERT_EQ_UINT(p->fs.size, 0x7A000);
    ASSERT_EQ_UINT(p->fs.block_size, 8192);
    struct pv_device dev;
    uint8_t mac[6] = {0x5c, 0xcf, 0x7f, 0, 0, 1};
    ASSERT_EQ_INT(pv_device_init(&dev, p, NULL, mac, -1, NULL, &err), PV_OK);
    pv_profile_free(p);
}

TEST(explicit_region_agreeing_with_layout_is_fine)
{
    struct pv_profile *p;
    struct pv_error err;
    ASSERT_EQ_INT(parse(HEAD8266 "\"filesystem\":{\"layout\":\"4M2M\",\"offset\":\"0x200000\","
                                 "\"size\":\"0x1FA000\"}," TAIL,
                        0, &p, &err),
                  PV_OK);
    pv_profile_free(p);
}

TEST(partition_table_file_gives_the_spiffs_partition)
{
    struct pv_profile *p;
    struct pv_error err;
    ASSERT_EQ_INT(parse(HEAD32 CSV "\"filesystem\":{}," TAIL, 0, &p, &err), PV_OK);
    ASSERT(p->partitions.table != NULL);
    ASSERT(!p->partitions.from_device);
    ASSERT_EQ_UINT(p->fs.offset, 0x290000);
    ASSERT_EQ_UINT(p->fs.size, 0x160000);
    pv_profile_free(p);
    ASSERT_EQ_INT(parse(HEAD32
                        "\"partitions\":\"../partitions/idf_spiffs_example.csv\","
                        "\"filesystem\":{\"partition\":\"storage\",\"preset\":\"esp-idf\"}," TAIL,
                        0, &p, &err),
                  PV_OK);
    ASSERT_EQ_UINT(p->fs.offset, 0x110000);
    ASSERT_EQ_UINT(p->fs.size, 0xF0000);
    pv_profile_free(p);
}

TEST(partitions_from_the_device_leave_the_region_open)
{
    struct pv_profile *p;
    struct pv_error err;
    ASSERT_EQ_INT(parse(HEAD32 "\"partitions\":\"device\",\"filesystem\":{}," TAIL, 0, &p, &err),
                  PV_OK);
    ASSERT(p->partitions.from_device);
    ASSERT_EQ_UINT(p->fs.size, 0);
    /* A board's table then decides, like the file would. */
    struct pv_partition_table t;
    ASSERT_EQ_INT(pv_partitions_load("tests/data/partitions/arduino_default.csv", 0, &t, &err),
                  PV_OK);
    uint32_t off = 0, size = 0;
    ASSERT_EQ_INT(pv_profile_fs_from_table(p, &t, &off, &size, &err), PV_OK);
    ASSERT_EQ_UINT(off, 0x290000);
    ASSERT_EQ_UINT(size, 0x160000);
    /* An image cannot be built before that. */
    struct pv_device dev;
    uint8_t mac[6] = {0x24, 0x0a, 0xc4, 0, 0, 1};
    ASSERT_EQ_INT(pv_device_init(&dev, p, NULL, mac, -1, NULL, &err), PV_OK);
    uint8_t *img = NULL;
    size_t len = 0;
    struct pv_identity id = {0};
    ASSERT_EQ_INT(pv_image_build(p, &dev, &id, NULL, 0, &img, &len, &err), PV_ERR_INVALID);
    ASSERT(strstr(err.msg, "partition table") != NULL);
    pv_profile_free(p);
}

TEST(stub_path_resolves_and_must_exist)
{
    struct pv_profile *p;
    struct pv_error err;
    ASSERT_EQ_INT(parse(HEAD8266 "\"flash\":{\"stub\":\"fw/boot.bin\"},"
                                 "\"filesystem\":{\"layout\":\"4M2M\"}," TAIL,
                        0, &p, &err),
                  PV_OK);
    ASSERT(p->flash.stub != NULL && p->flash.stub[0] == '/');
    ASSERT(strstr(p->flash.stub, "tests/data/profiles/fw/boot.bin") != NULL);
    pv_profile_free(p);
}

struct bad_case {
    const char *json;
    const char *expect;
};

static const struct bad_case bad[] = {
    {HEAD8266 "\"filesystem\":{\"layout\":\"4M9M\"}," TAIL, ".filesystem.layout: "},
    {HEAD32 "\"filesystem\":{\"layout\":\"4M2M\"}," TAIL, "is an ESP8266 Arduino layout"},
    {HEAD8266 "\"flash\":{\"size\":\"2MB\"},\"filesystem\":{\"layout\":\"4M2M\"}," TAIL,
     "\"4M2M\" is for 4 MB of flash"},
    {HEAD8266
     "\"filesystem\":{\"layout\":\"4M2M\",\"offset\":\"0x300000\",\"size\":\"0xFA000\"}," TAIL,
     ".filesystem.offset/.size (0x300000, 0xfa000 bytes) and .filesystem.layout \"4M2M\""},
    {HEAD32 CSV "\"filesystem\":{\"offset\":\"0x300000\",\"size\":\"0x10000\"}," TAIL,
     ".filesystem.offset/.size (0x300000, 0x10000 bytes) and .partitions (partition 'spiffs'"},
    {HEAD8266 CSV "\"filesystem\":{}," TAIL, ".partitions: the ESP8266 has no partition table"},
    {HEAD32 "\"filesystem\":{\"partition\":\"spiffs\"}," TAIL, "needs .partitions"},
    {HEAD32 CSV "\"filesystem\":{\"partition\":\"nope\"}," TAIL, ".filesystem.partition: "},
    {HEAD32 "\"filesystem\":{}," TAIL, ".filesystem: where does it go?"},
    {HEAD32 "\"filesystem\":{\"offset\":\"0x300000\"}," TAIL, ".filesystem.size: missing"},
    {HEAD32 "\"partitions\":\"../partitions/none.csv\",\"filesystem\":{}," TAIL, ".partitions: "},
    {HEAD32 CSV
     "\"filesystem\":{},\"firmware\":[{\"offset\":\"0x8000\",\"file\":\"fw/boot.bin\"}]," TAIL,
     "overlaps .firmware[0]"},
    {HEAD32 CSV
     "\"filesystem\":{},\"firmware\":[{\"offset\":\"0x140000\",\"file\":\"fw/app.bin\"}]," TAIL,
     ".firmware[0]: 0x140000-0x151170 does not fit partition 'app0'"},
    {HEAD8266 "\"flash\":{\"stub\":\"fw/none.json\"},\"filesystem\":{\"layout\":\"4M2M\"}," TAIL,
     ".flash.stub: cannot read"},
    {HEAD8266 "\"filesystem\":{\"layout\":\"4M2M\",\"block_size\":4096}," TAIL,
     "disagrees with .filesystem.layout"},
};

TEST(conflicts_and_mistakes_name_both_paths)
{
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct pv_profile *p = NULL;
        struct pv_error err;
        int rc = parse(bad[i].json, 0, &p, &err);
        ASSERT_MSG(rc != PV_OK && p == NULL, "case %zu loaded", i);
        ASSERT_MSG(strstr(err.msg, bad[i].expect) != NULL, "case %zu: \"%s\" lacks \"%s\"", i,
                   err.msg, bad[i].expect);
    }
}

TEST(shipped_profiles_load)
{
    static const char *const files[] = {"profiles/esp8266-arduino.json", "profiles/esp32-idf.json",
                                        "profiles/esp32-littlefs.json", "profiles/demo.json"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        struct pv_profile *p = NULL;
        struct pv_error err;
        int rc = pv_profile_load(files[i], PV_PROFILE_DEFER_ENV, NULL, &p, &err);
        ASSERT_MSG(rc == PV_OK, "%s: %s", files[i], err.msg);
        ASSERT(p->fs.size != 0 || p->partitions.from_device);
        pv_profile_free(p);
    }
}

TEST_MAIN(RUN(esp8266_layout_places_the_filesystem); RUN(layout_keeps_its_block_size_below_512k);
          RUN(explicit_region_agreeing_with_layout_is_fine);
          RUN(partition_table_file_gives_the_spiffs_partition);
          RUN(partitions_from_the_device_leave_the_region_open);
          RUN(stub_path_resolves_and_must_exist); RUN(conflicts_and_mistakes_name_both_paths);
          RUN(shipped_profiles_load);)
