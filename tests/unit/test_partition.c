#include <openssl/evp.h>
#include <unistd.h>

#include "test.h"
#include "provision/core/core.h"
#include "provision/layout/layout.h"

#define DATA "tests/data/partitions/"

static const uint8_t idf_example_md5[16] = {0x4c, 0xf7, 0x9d, 0xd7, 0x51, 0x26, 0x8e, 0xec,
                                            0x9d, 0x3e, 0x78, 0x87, 0x69, 0xd6, 0xec, 0xc5};

static int parse(const char *csv, struct pv_partition_table *t, struct pv_error *err)
{
    return pv_partitions_parse_csv(csv, strlen(csv), 0, t, err);
}

static void expect_entry(struct t_ctx *t_, const struct pv_partition *p, const char *label,
                         uint8_t type, uint8_t subtype, uint32_t offset, uint32_t size)
{
    ASSERT_STREQ(p->label, label);
    ASSERT_EQ_UINT(p->type, type);
    ASSERT_EQ_UINT(p->subtype, subtype);
    ASSERT_EQ_UINT(p->offset, offset);
    ASSERT_EQ_UINT(p->size, size);
}

TEST(idf_example_round_trips_byte_for_byte)
{
    struct pv_partition_table t, back;
    struct pv_error err = {0};
    ASSERT_MSG(pv_partitions_load(DATA "idf_spiffs_example.csv", 0, &t, &err) == PV_OK, "%s",
               err.msg);
    ASSERT_EQ_INT(t.count, 4);
    expect_entry(t_, &t.entries[0], "nvs", 1, 0x02, 0x9000, 0x6000);
    expect_entry(t_, &t.entries[1], "phy_init", 1, 0x01, 0xf000, 0x1000);
    expect_entry(t_, &t.entries[2], "factory", 0, 0x00, 0x10000, 0x100000);
    expect_entry(t_, &t.entries[3], "storage", 1, 0x82, 0x110000, 0xF0000);
    ASSERT_EQ_INT(t.entries[3].line, 6);

    uint8_t bin[PV_PARTITION_TABLE_SIZE];
    ASSERT_EQ_INT(pv_partitions_to_binary(&t, true, bin, &err), PV_OK);
    /* The §16 bytes: magic, type, subtype, offset, size, label, flags. */
    static const uint8_t first[32] = {0xaa, 0x50, 0x01, 0x02, 0x00, 0x90, 0x00, 0x00,
                                      0x00, 0x60, 0x00, 0x00, 'n',  'v',  's'};
    ASSERT_MEMEQ(bin, first, 32);
    static const uint8_t storage[12] = {0xaa, 0x50, 0x01, 0x82, 0x00, 0x00,
                                        0x11, 0x00, 0x00, 0x00, 0x0f, 0x00};
    ASSERT_MEMEQ(bin + 96, storage, 12);
    ASSERT_EQ_UINT(bin[128], 0xEB);
    ASSERT_EQ_UINT(bin[129], 0xEB);
    for (size_t i = 130; i < 144; i++) {
        ASSERT_EQ_UINT(bin[i], 0xFF);
    }
    ASSERT_MEMEQ(bin + 144, idf_example_md5, 16);
    for (size_t i = 160; i < sizeof bin; i++) {
        ASSERT_EQ_UINT(bin[i], 0xFF);
    }

    ASSERT_MSG(pv_partitions_parse_binary(bin, sizeof bin, 0, &back, &err) == PV_OK, "%s", err.msg);
    ASSERT(back.has_md5);
    ASSERT_EQ_INT(back.count, 4);
    for (size_t i = 0; i < 4; i++) {
        expect_entry(t_, &back.entries[i], t.entries[i].label, t.entries[i].type,
                     t.entries[i].subtype, t.entries[i].offset, t.entries[i].size);
        ASSERT_EQ_INT(back.entries[i].line, 0);
    }
    uint8_t again[PV_PARTITION_TABLE_SIZE];
    ASSERT_EQ_INT(pv_partitions_to_binary(&back, true, again, &err), PV_OK);
    ASSERT_MEMEQ(again, bin, sizeof bin);

    /* As read from flash: the whole 4 KB sector, the last KB erased. */
    uint8_t sector[PV_PARTITION_SECTOR];
    memset(sector, 0xFF, sizeof sector);
    memcpy(sector, bin, sizeof bin);
    ASSERT_EQ_INT(pv_partitions_parse_binary(sector, sizeof sector, 0x8000, &back, &err), PV_OK);
    ASSERT_EQ_INT(back.count, 4);
}

TEST(arduino_tables_find_their_filesystem)
{
    static const struct {
        const char *file;
        uint32_t offset, size;
        size_t count;
    } cases[] = {
        {"arduino_default_1.0.csv", 0x290000, 0x170000, 5},
        {"arduino_default.csv", 0x290000, 0x160000, 6},
        {"arduino_min_spiffs.csv", 0x3D0000, 0x30000, 5},
        {"arduino_no_ota.csv", 0x210000, 0x1E0000, 5},
        {"arduino_huge_app.csv", 0x310000, 0xE0000, 5},
        {"arduino_default_16MB.csv", 0xC90000, 0x36FFFC, 5},
        {"arduino_default_eeprom_crlf.csv", 0x291000, 0x16F000, 6},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[128];
        snprintf(path, sizeof path, DATA "%s", cases[i].file);
        struct pv_partition_table t, back;
        struct pv_error err = {0};
        ASSERT_MSG(pv_partitions_load(path, 0, &t, &err) == PV_OK, "%s", err.msg);
        ASSERT_EQ_INT(t.count, cases[i].count);
        uint32_t flash = cases[i].offset > 0x400000 ? 16u << 20 : 4u << 20;
        ASSERT_MSG(pv_partitions_validate(&t, flash, &err) == PV_OK, "%s", err.msg);
        const struct pv_partition *fs = NULL;
        ASSERT_EQ_INT(pv_partitions_find_fs(&t, NULL, &fs, &err), PV_OK);
        ASSERT_STREQ(fs->label, "spiffs");
        ASSERT_EQ_UINT(fs->offset, cases[i].offset);
        ASSERT_EQ_UINT(fs->size, cases[i].size);
        uint8_t bin[PV_PARTITION_TABLE_SIZE], again[PV_PARTITION_TABLE_SIZE];
        ASSERT_EQ_INT(pv_partitions_to_binary(&t, true, bin, &err), PV_OK);
        ASSERT_EQ_INT(pv_partitions_parse_binary(bin, sizeof bin, 0, &back, &err), PV_OK);
        ASSERT_EQ_INT(pv_partitions_to_binary(&back, true, again, &err), PV_OK);
        ASSERT_MEMEQ(again, bin, sizeof bin);
    }
}

TEST(md5_record_covers_the_entries)
{
    struct pv_partition_table t;
    struct pv_error err = {0};
    ASSERT_EQ_INT(pv_partitions_load(DATA "arduino_default.csv", 0, &t, &err), PV_OK);
    uint8_t bin[PV_PARTITION_TABLE_SIZE], digest[16];
    unsigned int n = 0;
    ASSERT_EQ_INT(pv_partitions_to_binary(&t, true, bin, &err), PV_OK);
    ASSERT(EVP_Digest(bin, 6 * 32, digest, &n, EVP_md5(), NULL) == 1);
    ASSERT_MEMEQ(bin + 6 * 32 + 16, digest, 16);
    /* Without the record the end marker follows the entries directly. */
    ASSERT_EQ_INT(pv_partitions_to_binary(&t, false, bin, &err), PV_OK);
    for (size_t i = 6 * 32; i < sizeof bin; i++) {
        ASSERT_EQ_UINT(bin[i], 0xFF);
    }
    struct pv_partition_table back;
    ASSERT_EQ_INT(pv_partitions_parse_binary(bin, sizeof bin, 0, &back, &err), PV_OK);
    ASSERT(!back.has_md5);
    ASSERT_EQ_INT(back.count, 6);
}

TEST(automatic_placement_and_notations)
{
    struct pv_partition_table t;
    struct pv_error err = {0};
    const char *csv = "# comment\n"
                      "  # indented comment\n"
                      "\n"
                      "nvs, DATA, NVS, , 24K\n"
                      "phy_init, 1, 1, , 4k\n"
                      "factory, app, factory, , 0x10K\n"
                      "ota_3, app, OTA_3, , 1M\n"
                      "cfg, data, 0x99, , 0x1000, readonly\n"
                      "custom, 0x40, 7, 0x2000000, 4096, encrypted:readonly\n"
                      "rest, data, spiffs, , -0x3000000\n"
                      "blank, data, , , 8K\n";
    ASSERT_MSG(parse(csv, &t, &err) == PV_OK, "%s", err.msg);
    ASSERT_EQ_INT(t.count, 8);
    expect_entry(t_, &t.entries[0], "nvs", 1, 2, 0x9000, 0x6000);
    expect_entry(t_, &t.entries[1], "phy_init", 1, 1, 0xf000, 0x1000);
    expect_entry(t_, &t.entries[2], "factory", 0, 0, 0x10000, 0x4000);
    expect_entry(t_, &t.entries[3], "ota_3", 0, 0x13, 0x20000, 0x100000);
    expect_entry(t_, &t.entries[4], "cfg", 1, 0x99, 0x120000, 0x1000);
    ASSERT_EQ_UINT(t.entries[4].flags, PV_PART_READONLY);
    expect_entry(t_, &t.entries[5], "custom", 0x40, 7, 0x2000000, 0x1000);
    ASSERT_EQ_UINT(t.entries[5].flags, PV_PART_ENCRYPTED | PV_PART_READONLY);
    expect_entry(t_, &t.entries[6], "rest", 1, 0x82, 0x2001000, 0xFFF000);
    expect_entry(t_, &t.entries[7], "blank", 1, 0x06, 0x3000000, 0x2000);
    ASSERT_EQ_INT(t.entries[7].line, 11);

    /* Another table offset moves the first free address. */
    ASSERT_EQ_INT(pv_partitions_parse_csv("nvs,data,nvs,,0x4000", 20, 0x10000, &t, &err), PV_OK);
    ASSERT_EQ_UINT(t.entries[0].offset, 0x11000);
    ASSERT_EQ_UINT(t.table_offset, 0x10000);
}

TEST(names_of_types_and_subtypes)
{
    ASSERT_STREQ(pv_partition_type_name(0), "app");
    ASSERT_STREQ(pv_partition_type_name(3), "partition_table");
    ASSERT(pv_partition_type_name(0x40) == NULL);
    ASSERT_STREQ(pv_partition_subtype_name(1, 0x82), "spiffs");
    ASSERT_STREQ(pv_partition_subtype_name(1, 0x83), "littlefs");
    ASSERT_STREQ(pv_partition_subtype_name(0, 0x1F), "ota_15");
    ASSERT_STREQ(pv_partition_subtype_name(0, 0x20), "test");
    ASSERT(pv_partition_subtype_name(1, 0x99) == NULL);
    ASSERT(pv_partition_subtype_name(0x40, 0) == NULL);
}

struct bad_csv {
    const char *csv;
    const char *msg; /* must appear in the error */
};

TEST(csv_errors_name_the_line_and_the_problem)
{
    static const struct bad_csv cases[] = {
        {"nvs,data,nvs,0x9000,0x6000\napp,app,factory,0x10000,1M\nx,data,nvs,0x10000,0x4000",
         "line 3: partition 'x' at 0x10000 overlaps 'app'"},
        {"nvs,data,nvs,0x9000,0x6000\nfactory,app,factory,0x18000,1M",
         "line 2: partition 'factory': offset 0x18000 is not aligned to 0x10000"},
        {"fs,data,spiffs,0x9800,0x1000", "line 1: partition 'fs': offset 0x9800 is not aligned"},
        {"factory,app,factory,0x10000,0x10800", "app size 0x10800 is not a multiple of 0x1000"},
        {"abcdefghijklmnopq,data,nvs,0x9000,0x6000",
         "line 1: name 'abcdefghijklmnopq' is 17 bytes long"},
        {"a,data,nvs,0x9000,0x6000\na,data,phy,,0x1000", "line 2: partition 'a': the name is "
                                                         "already used by entry 1"},
        {"nvs,data,nvs,0x8000,0x6000",
         "line 1: partition 'nvs': 0x8000-0xdfff overlaps the partition table sector "
         "(0x8000-0x8fff)"},
        {"nvs,data,nvs,0x3000,0x4000", "offset 0x3000 is below the partition table (0x8000)"},
        {"nvs,data,nvs,0x7000,0x2000", "0x7000-0x8fff overlaps the partition table sector"},
        {"nvs,dta,nvs,,0x6000", "line 1: unknown type 'dta'"},
        {"nvs,data,spifs,,0x6000", "line 1: unknown subtype 'spifs'"},
        {"nvs,0x40,spiffs,,0x6000", "unknown subtype 'spiffs'"},
        {"nvs,0x1FF,0,,0x6000", "type out of range"},
        {"nvs,data,nvs,,0x6000,secret", "line 1: unknown flag 'secret'"},
        {"nvs,data,nvs,0x9000,", "line 1: the size is empty"},
        {"nvs,data,nvs,0x9000", "line 1: the size is empty"},
        {"nvs,data,nvs,0x9000,0x6000,,extra", "line 1: unexpected field 7 'extra'"},
        {"nvs,data,nvs,0x9000,$SIZE", "variables ($NAME) are not expanded"},
        {"nvs,data,nvs,0x9000,0x6000\n\x01,data,nvs,,1K", "line 2: control character 0x01"},
        {"nvs,data,nvs,0x9000,0x6z00", "line 1: bad size '0x6z00'"},
        {"nvs,data,nvs,9000x,0x6000", "line 1: bad offset '9000x'"},
        {"nvs,data,nvs,,0x100000000", "bad size"},
        {",data,nvs,,0x6000", "line 1: the name is empty"},
        {"factory,app,,,1M", "line 1: an app partition needs a subtype"},
        {"nvs,data,nvs,,0", "the size is 0"},
        {"o1,data,ota,,0x2000\no2,data,ota,,0x2000", "2 otadata"},
        {"o1,data,ota,,0x3000", "otadata must be 0x2000 bytes, not 0x3000"},
        {"cd,data,coredump,,64K,readonly", "coredump partitions are always read-write"},
        {"nvs,data,nvs,,0x2000", "read-write nvs partition of 0x2000 bytes is too small"},
        {"x,0xFF,0,,0x1000", "type out of range"},
        {"a,data,nvs,0x10000,0x4000\nb,data,nvs,,-0x10000", "means 'up to 0x10000'"},
        {"boot,bootloader,primary,,0x7000", "give the bootloader partition its offset"},
        {"# only comments\n\n", "has no partitions"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct pv_partition_table t;
        struct pv_error err = {0};
        int rc = parse(cases[i].csv, &t, &err);
        ASSERT_MSG(rc == PV_ERR_INVALID, "case %zu accepted (%d)", i, rc);
        ASSERT_MSG(strstr(err.msg, cases[i].msg) != NULL, "case %zu: '%s' lacks '%s'", i, err.msg,
                   cases[i].msg);
    }
}

TEST(flash_size_and_table_size_limits)
{
    struct pv_partition_table t;
    struct pv_error err = {0};
    ASSERT_EQ_INT(pv_partitions_load(DATA "arduino_default.csv", 0, &t, &err), PV_OK);
    ASSERT_EQ_INT(pv_partitions_validate(&t, 2u << 20, &err), PV_ERR_INVALID);
    ASSERT_CONTAINS(err.msg, "line 5: partition 'app1': 0x150000-0x28ffff ends beyond the "
                             "2048 KB flash");

    /* 95 entries fit without the MD5 record, 94 with it; 96 never. */
    static char csv[96 * 40];
    size_t used = 0;
    for (int i = 0; i < 96; i++) {
        used += (size_t)snprintf(csv + used, sizeof csv - used, "p%d,data,0x40,,4K\n", i);
    }
    ASSERT_EQ_INT(pv_partitions_parse_csv(csv, used, 0, &t, &err), PV_ERR_INVALID);
    ASSERT_CONTAINS(err.msg, "line 96: too many partitions");
    size_t len95 = (size_t)(strstr(csv, "p95,") - csv);
    ASSERT_EQ_INT(pv_partitions_parse_csv(csv, len95, 0, &t, &err), PV_OK);
    uint8_t bin[PV_PARTITION_TABLE_SIZE];
    ASSERT_EQ_INT(pv_partitions_to_binary(&t, true, bin, &err), PV_ERR_INVALID);
    ASSERT_CONTAINS(err.msg, "95 partitions and the MD5 record do not fit");
    ASSERT_EQ_INT(pv_partitions_to_binary(&t, false, bin, &err), PV_OK);
    t.count = 94;
    ASSERT_EQ_INT(pv_partitions_to_binary(&t, true, bin, &err), PV_OK);
    ASSERT_EQ_UINT(bin[94 * 32], 0xEB);
    struct pv_partition_table back;
    ASSERT_EQ_INT(pv_partitions_parse_binary(bin, sizeof bin, 0, &back, &err), PV_OK);
    ASSERT_EQ_INT(back.count, 94);
}

TEST(primary_bootloader_and_table_entries)
{
    struct pv_partition_table t;
    struct pv_error err = {0};
    const char *csv = "boot, bootloader, primary, 0x1000, 0x7000\n"
                      "table, partition_table, primary, , 0x1000\n"
                      "nvs, data, nvs, , 0x6000\n";
    ASSERT_MSG(parse(csv, &t, &err) == PV_OK, "%s", err.msg);
    expect_entry(t_, &t.entries[1], "table", 3, 0, 0x8000, 0x1000);
    expect_entry(t_, &t.entries[2], "nvs", 1, 2, 0x9000, 0x6000);
    ASSERT_EQ_INT(
        parse("boot, bootloader, primary, 0x1000, 0x8000\nnvs,data,nvs,,0x6000", &t, &err),
        PV_ERR_INVALID);
    ASSERT_CONTAINS(err.msg, "0x1000-0x8fff overlaps the partition table at 0x8000");
}

static void build_default(struct t_ctx *t_, uint8_t bin[PV_PARTITION_TABLE_SIZE])
{
    struct pv_partition_table t;
    struct pv_error err = {0};
    ASSERT_EQ_INT(pv_partitions_load(DATA "arduino_default.csv", 0, &t, &err), PV_OK);
    ASSERT_EQ_INT(pv_partitions_to_binary(&t, true, bin, &err), PV_OK);
}

TEST(binary_errors)
{
    uint8_t bin[PV_PARTITION_TABLE_SIZE];
    struct pv_partition_table t;
    struct pv_error err = {0};
    build_default(t_, bin);

    bin[40] ^= 1; /* an entry's offset: the MD5 no longer matches */
    ASSERT_EQ_INT(pv_partitions_parse_binary(bin, sizeof bin, 0, &t, &err), PV_ERR_INVALID);
    ASSERT_CONTAINS(err.msg, "MD5 mismatch");
    bin[40] ^= 1;

    bin[32] = 0xAB;
    ASSERT_EQ_INT(pv_partitions_parse_binary(bin, sizeof bin, 0, &t, &err), PV_ERR_INVALID);
    ASSERT_CONTAINS(err.msg, "entry 2 at 0x8020: bad magic 0x50ab");
    bin[32] = 0xAA;

    uint8_t erased[PV_PARTITION_TABLE_SIZE];
    memset(erased, 0xFF, sizeof erased);
    ASSERT_EQ_INT(pv_partitions_parse_binary(erased, sizeof erased, 0, &t, &err), PV_ERR_NOT_FOUND);
    ASSERT_CONTAINS(err.msg, "no partition table at 0x8000");

    /* An entry after the MD5 record is not covered by it. */
    uint8_t tail[PV_PARTITION_TABLE_SIZE];
    memcpy(tail, bin, sizeof tail);
    memcpy(tail + 7 * 32, bin, 32);
    ASSERT_EQ_INT(pv_partitions_parse_binary(tail, sizeof tail, 0, &t, &err), PV_ERR_INVALID);
    ASSERT_CONTAINS(err.msg, "entry 8 follows the MD5 record");

    /* No end marker within the 0xC00 bytes. */
    uint8_t full[PV_PARTITION_TABLE_SIZE];
    for (size_t i = 0; i < sizeof full; i += 32) {
        memcpy(full + i, bin, 32);
    }
    ASSERT_EQ_INT(pv_partitions_parse_binary(full, sizeof full, 0, &t, &err), PV_ERR_INVALID);
    ASSERT_CONTAINS(err.msg, "no end marker");

    ASSERT_EQ_INT(pv_partitions_parse_binary(bin, 31, 0, &t, &err), PV_ERR_INVALID);
    /* Cut inside the table: the end marker is never reached. */
    ASSERT_EQ_INT(pv_partitions_parse_binary(bin, 100, 0, &t, &err), PV_ERR_INVALID);

    /* Structurally fine, but two entries overlap: validation runs too. */
    uint8_t overlap[PV_PARTITION_TABLE_SIZE];
    memcpy(overlap, bin, sizeof overlap);
    memset(overlap + 6 * 32, 0xFF, 32); /* drop the MD5 record */
    overlap[32 + 5] = 0x90;             /* otadata moves to 0x9000 */
    ASSERT_EQ_INT(pv_partitions_parse_binary(overlap, sizeof overlap, 0, &t, &err), PV_ERR_INVALID);
    ASSERT_CONTAINS(err.msg, "partition 'otadata' (entry 2) at 0x9000 overlaps 'nvs'");

    uint8_t ctl[PV_PARTITION_TABLE_SIZE];
    memcpy(ctl, bin, sizeof ctl);
    memset(ctl + 6 * 32, 0xFF, 32);
    ctl[12] = 0x07;
    ASSERT_EQ_INT(pv_partitions_parse_binary(ctl, sizeof ctl, 0, &t, &err), PV_ERR_INVALID);
    ASSERT_CONTAINS(err.msg, "label holds byte 0x07");
}

TEST(filesystem_lookup)
{
    struct pv_partition_table t;
    struct pv_error err = {0};
    const struct pv_partition *fs = NULL;
    const char *csv = "nvs,data,nvs,,0x6000\n"
                      "factory,app,factory,,1M\n"
                      "littlefs,data,littlefs,,512K\n"
                      "secret,data,spiffs,,64K,encrypted\n"
                      "storage,data,spiffs,,128K\n";
    ASSERT_EQ_INT(parse(csv, &t, &err), PV_OK);
    ASSERT_EQ_INT(pv_partitions_find_fs(&t, "storage", &fs, &err), PV_OK);
    ASSERT_EQ_UINT(fs->size, 128 * 1024);
    ASSERT_EQ_INT(pv_partitions_find_fs(&t, "littlefs", &fs, &err), PV_OK);
    ASSERT_EQ_UINT(fs->subtype, PV_PART_SUBTYPE_LITTLEFS);
    /* The first data/spiffs is the encrypted one: refused, not skipped. */
    ASSERT_EQ_INT(pv_partitions_find_fs(&t, NULL, &fs, &err), PV_ERR_INVALID);
    ASSERT_CONTAINS(err.msg, "partition 'secret' is encrypted");
    ASSERT_EQ_INT(pv_partitions_find_fs(&t, "factory", &fs, &err), PV_ERR_INVALID);
    ASSERT_CONTAINS(err.msg, "'factory' is of type app");
    ASSERT_EQ_INT(pv_partitions_find_fs(&t, "spiffs", &fs, &err), PV_ERR_NOT_FOUND);
    ASSERT_CONTAINS(err.msg, "no partition labelled 'spiffs'");
    ASSERT_CONTAINS(err.hint, "'nvs' (nvs), 'littlefs' (littlefs)");

    ASSERT_EQ_INT(parse("nvs,data,nvs,,0x6000\nfactory,app,factory,,1M", &t, &err), PV_OK);
    ASSERT_EQ_INT(pv_partitions_find_fs(&t, NULL, &fs, &err), PV_ERR_NOT_FOUND);
    ASSERT_CONTAINS(err.msg, "no data/spiffs partition");
}

TEST(load_detects_binary_and_reports_the_path)
{
    uint8_t bin[PV_PARTITION_TABLE_SIZE];
    build_default(t_, bin);
    char path[] = "/tmp/espprov-part-XXXXXX";
    int fd = mkstemp(path);
    ASSERT(fd >= 0);
    ASSERT(write(fd, bin, sizeof bin) == (ssize_t)sizeof bin);
    close(fd);
    struct pv_partition_table t;
    struct pv_error err = {0};
    int rc = pv_partitions_load(path, 0, &t, &err);
    unlink(path);
    ASSERT_MSG(rc == PV_OK, "%s", err.msg);
    ASSERT(t.has_md5);
    ASSERT_EQ_INT(t.count, 6);
    ASSERT_EQ_INT(pv_partitions_load(DATA "missing.csv", 0, &t, &err), PV_ERR_NOT_FOUND);
    ASSERT_CONTAINS(err.msg, "cannot open partition table 'tests/data/partitions/missing.csv'");
    ASSERT_EQ_INT(pv_partitions_load(DATA "README.md", 0, &t, &err), PV_ERR_INVALID);
    ASSERT_CONTAINS(err.msg, "tests/data/partitions/README.md: line 3: name");
}

TEST_MAIN(RUN(idf_example_round_trips_byte_for_byte); RUN(arduino_tables_find_their_filesystem);
          RUN(md5_record_covers_the_entries); RUN(automatic_placement_and_notations);
          RUN(names_of_types_and_subtypes); RUN(csv_errors_name_the_line_and_the_problem);
          RUN(flash_size_and_table_size_limits); RUN(primary_bootloader_and_table_entries);
          RUN(binary_errors); RUN(filesystem_lookup);
          RUN(load_detects_binary_and_reports_the_path);)
