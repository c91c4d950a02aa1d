#include "test.h"
#include "provision/core/core.h"
#include "provision/layout/layout.h"

/* Every row of shared/reference/spiffs-format.md §14, written out again so
 * the table in layout.c is checked against an independent copy. */
static const struct {
    const char *name;
    uint32_t flash, offset, size, block;
} expected[] = {
    {"512K32", 0x80000, 0x073000, 0x8000, 4096},
    {"512K64", 0x80000, 0x06B000, 0x10000, 4096},
    {"512K128", 0x80000, 0x05B000, 0x20000, 4096},
    {"1M64", 0x100000, 0x0EB000, 0x10000, 4096},
    {"1M128", 0x100000, 0x0DB000, 0x20000, 4096},
    {"1M144", 0x100000, 0x0D7000, 0x24000, 4096},
    {"1M160", 0x100000, 0x0D3000, 0x28000, 4096},
    {"1M192", 0x100000, 0x0CB000, 0x30000, 4096},
    {"1M256", 0x100000, 0x0BB000, 0x40000, 4096},
    {"1M512", 0x100000, 0x07B000, 0x80000, 8192},
    {"2M64", 0x200000, 0x1F0000, 0xB000, 4096},
    {"2M128", 0x200000, 0x1E0000, 0x1B000, 4096},
    {"2M256", 0x200000, 0x1C0000, 0x3B000, 4096},
    {"2M512", 0x200000, 0x180000, 0x7A000, 8192},
    {"2M1M", 0x200000, 0x100000, 0xFA000, 8192},
    {"4M1M", 0x400000, 0x300000, 0xFA000, 8192},
    {"4M2M", 0x400000, 0x200000, 0x1FA000, 8192},
    {"4M3M", 0x400000, 0x100000, 0x2FA000, 8192},
    {"8M6M", 0x800000, 0x200000, 0x5FA000, 8192},
    {"8M7M", 0x800000, 0x100000, 0x6FA000, 8192},
    {"16M14M", 0x1000000, 0x200000, 0xDFA000, 8192},
    {"16M15M", 0x1000000, 0x100000, 0xEFA000, 8192},
};
#define N_EXPECTED (sizeof expected / sizeof expected[0])

TEST(every_reference_row_by_name)
{
    for (size_t i = 0; i < N_EXPECTED; i++) {
        const struct pv_esp8266_layout *l = NULL;
        struct pv_error err = {0};
        ASSERT_MSG(pv_layout_find(expected[i].name, &l, &err) == PV_OK, "%s: %s", expected[i].name,
                   err.msg);
        ASSERT_STREQ(l->name, expected[i].name);
        ASSERT_EQ_UINT(l->flash_size, expected[i].flash);
        ASSERT_EQ_UINT(l->fs_offset, expected[i].offset);
        ASSERT_EQ_UINT(l->fs_size, expected[i].size);
        ASSERT_EQ_UINT(l->block_size, expected[i].block);
        ASSERT_EQ_UINT(l->page_size, 256);
    }
    ASSERT(pv_layout_get(N_EXPECTED) == NULL);
    ASSERT(pv_layout_get(N_EXPECTED - 1) != NULL);
}

/* The generator's rules, checked on every row: the FS is whole blocks, ends
 * at or below flash - 20 KB (the SDK settings and EEPROM sectors), and on
 * chips up to 1 MB ends exactly there. */
TEST(rows_follow_the_generator_rules)
{
    for (size_t i = 0; pv_layout_get(i) != NULL; i++) {
        const struct pv_esp8266_layout *l = pv_layout_get(i);
        uint32_t end = l->fs_offset + l->fs_size;
        uint32_t top = l->flash_size - 20 * 1024;
        ASSERT_MSG(l->fs_size % l->block_size == 0, "%s: not whole blocks", l->name);
        ASSERT_MSG(end <= top && top - end < l->block_size, "%s: end 0x%x", l->name, end);
        ASSERT_MSG(l->block_size == (l->fs_label < 512 * 1024 ? 4096u : 8192u), "%s block",
                   l->name);
        if (l->flash_size <= 1024 * 1024) {
            ASSERT_MSG(end == top && l->fs_size == l->fs_label, "%s", l->name);
        } else {
            ASSERT_MSG(l->fs_offset == l->flash_size - l->fs_label, "%s start", l->name);
        }
        if (i > 0) {
            const struct pv_esp8266_layout *prev = pv_layout_get(i - 1);
            ASSERT(prev->flash_size < l->flash_size ||
                   (prev->flash_size == l->flash_size && prev->fs_label < l->fs_label));
        }
    }
}

TEST(aliases_resolve_to_the_same_row)
{
    static const struct {
        const char *alias, *name;
    } cases[] = {
        {"4m2m", "4M2M"},
        {"eagle.flash.4m2m.ld", "4M2M"},
        {"4M(2M)", "4M2M"},
        {"4MB-FS2MB", "4M2M"},
        {"4M (FS:2MB OTA:~1019KB)", "4M2M"},
        {"1M (FS:64KB OTA:~470KB)", "1M64"},
        {"1m64k", "1M64"},
        {"eagle.flash.512k32.ld", "512K32"},
        {"2M1M", "2M1M"},
        {"16MB (FS:15MB)", "16M15M"},
        {"1M144", "1M144"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct pv_esp8266_layout *l = NULL;
        struct pv_error err = {0};
        ASSERT_MSG(pv_layout_find(cases[i].alias, &l, &err) == PV_OK, "%s: %s", cases[i].alias,
                   err.msg);
        ASSERT_STREQ(l->name, cases[i].name);
    }
}

TEST(unknown_names_list_what_exists)
{
    const struct pv_esp8266_layout *l = NULL;
    struct pv_error err = {0};
    ASSERT_EQ_INT(pv_layout_find("4M5M", &l, &err), PV_ERR_NOT_FOUND);
    ASSERT_CONTAINS(err.msg, "'4M5M'");
    ASSERT_CONTAINS(err.hint, "4M1M, 4M2M, 4M3M");
    ASSERT(strstr(err.hint, "1M64") == NULL);
    const char *bad[] = {"",
                         "4",
                         "4M",
                         "M2M",
                         "4M2M3M",
                         "eagle.flash.4m2m",
                         "4M2MX",
                         "4M (FS:none OTA:~1019KB)",
                         "99999999999M2M",
                         "3M1M"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ASSERT_MSG(pv_layout_find(bad[i], &l, &err) == PV_ERR_NOT_FOUND, "accepted '%s'", bad[i]);
    }
    ASSERT_CONTAINS(err.hint, "4M2M = 4 MB flash");
    ASSERT_EQ_INT(pv_layout_find(NULL, &l, &err), PV_ERR_NOT_FOUND);
}

/* Every Arduino layout keeps clear of the sectors the core and SDK own. */
TEST(arduino_layouts_leave_the_reserved_sectors_alone)
{
    for (size_t i = 0; pv_layout_get(i) != NULL; i++) {
        const struct pv_esp8266_layout *l = pv_layout_get(i);
        struct pv_error err = {0};
        ASSERT_EQ_INT(pv_flash_check_reserved("esp8266", l->flash_size, 0, "fs", l->fs_offset,
                                              l->fs_size, &err),
                      PV_OK);
        /* Up to one sector into the EEPROM sector (end - 0x5000) is refused. */
        uint32_t into = l->flash_size - 0x5000u + 0x1000u - l->fs_offset;
        ASSERT_EQ_INT(
            pv_flash_check_reserved("esp8266", l->flash_size, 0, "fs", l->fs_offset, into, &err),
            PV_ERR_INVALID);
    }
}

TEST(reserved_areas_per_chip)
{
    struct pv_flash_area a[PV_FLASH_AREAS_MAX];
    ASSERT_EQ_INT((int)pv_flash_reserved("esp8266", 0x400000, 0, a), 4);
    ASSERT_EQ_INT((int)a[1].offset, 0x3FB000); /* EEPROM / NONOS RF calibration */
    ASSERT_EQ_INT((int)a[2].offset, 0x3FC000); /* RF calibration / esp_init_data */
    ASSERT_EQ_INT((int)a[3].offset, 0x3FD000); /* SDK WiFi and system parameters */
    ASSERT_EQ_INT((int)a[3].size, 0x3000);
    ASSERT_EQ_INT((int)pv_flash_reserved("esp8266", 0, 0, a), 1); /* size unknown: boot only */
    ASSERT_EQ_INT((int)pv_flash_reserved("esp32", 0x400000, 0, a), 2);
    ASSERT_EQ_INT((int)a[0].offset, 0x1000);
    ASSERT_EQ_INT((int)a[0].size, 0x7000);
    ASSERT_EQ_INT((int)a[1].offset, 0x8000);
    ASSERT_EQ_INT((int)pv_flash_reserved("esp32c3", 0x400000, 0xF000, a), 2);
    ASSERT_EQ_INT((int)a[0].offset, 0); /* the C3's bootloader starts at 0 */
    ASSERT_EQ_INT((int)a[0].size, 0xF000);
    ASSERT_EQ_INT((int)a[1].offset, 0xF000);
    struct pv_error err = {0};
    ASSERT_EQ_INT(
        pv_flash_check_reserved("esp32", 0x400000, 0, "the filesystem", 0x9000, 0x1000, &err),
        PV_OK);
    ASSERT_EQ_INT(
        pv_flash_check_reserved("esp32", 0x400000, 0, "the filesystem", 0x8000, 0x1000, &err),
        PV_ERR_INVALID);
    ASSERT_CONTAINS(err.msg, "overlaps the partition table (0x8000-0x9000)");
}

TEST_MAIN(RUN(every_reference_row_by_name); RUN(rows_follow_the_generator_rules);
          RUN(aliases_resolve_to_the_same_row); RUN(unknown_names_list_what_exists);
          RUN(arduino_layouts_leave_the_reserved_sectors_alone); RUN(reserved_areas_per_chip);)
