/* Firmware image parsing and flash-parameter patching (esp-protocol.md §5). */
#include <stdlib.h>

#include "flasher/flasher.h"
#include "test.h"

static uint8_t *load(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)n);
    *len = fread(b, 1, (size_t)n, f);
    fclose(f);
    return b;
}

TEST(demo_images_parse_and_validate)
{
    static const struct {
        const char *path;
        enum fl_chip chip;
        bool sha;
    } cases[] = {
        {"profiles/firmware/demo-esp32-bootloader.bin", FL_CHIP_ESP32, true},
        {"profiles/firmware/demo-esp32-app.bin", FL_CHIP_ESP32, true},
        {"profiles/firmware/demo-esp8266.bin", FL_CHIP_ESP8266, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len;
        uint8_t *d = load(cases[i].path, &len);
        ASSERT_MSG(d != NULL, "cannot read %s", cases[i].path);
        struct fl_image_info info;
        struct fl_error err;
        ASSERT_EQ_INT(fl_image_parse(d, len, FL_CHIP_AUTO, &info, &err), FL_OK);
        ASSERT_EQ_INT(info.chip, cases[i].chip);
        ASSERT(info.valid);
        ASSERT_EQ_INT(info.hash_appended, cases[i].sha);
        ASSERT_EQ_INT(info.image_len, len);
        ASSERT_STREQ(fl_image_size_text(info.chip, info.size_freq), "4MB");
        ASSERT_STREQ(fl_image_freq_text(info.chip, info.size_freq), "40m");
        ASSERT_STREQ(fl_flash_mode_name(info.flash_mode), "dio");
        free(d);
    }
}

TEST(patch_bootloader_recomputes_digest)
{
    size_t len;
    uint8_t *d = load("profiles/firmware/demo-esp32-bootloader.bin", &len);
    ASSERT(d != NULL);
    bool changed = false;
    struct fl_error err;
    ASSERT_EQ_INT(fl_image_patch(d, len, FL_CHIP_ESP32, FL_MODE_QIO, 80, 8u << 20, &changed, &err),
                  FL_OK);
    ASSERT(changed);
    ASSERT_EQ_UINT(d[2], 0x00);
    ASSERT_EQ_UINT(d[3], 0x3F);
    struct fl_image_info info;
    ASSERT_EQ_INT(fl_image_parse(d, len, FL_CHIP_ESP32, &info, &err), FL_OK);
    ASSERT(info.sha_ok);
    ASSERT(info.valid);
    /* The same values again change nothing. */
    ASSERT_EQ_INT(fl_image_patch(d, len, FL_CHIP_ESP32, FL_MODE_QIO, 80, 8u << 20, &changed, &err),
                  FL_OK);
    ASSERT(!changed);
    /* Values the chip cannot encode are refused. */
    ASSERT_EQ_INT(fl_image_patch(d, len, FL_CHIP_ESP32, FL_PARAM_KEEP, 48, 0, &changed, &err),
                  FL_ERR_INVALID);
    ASSERT_CONTAINS(err.msg, "48 MHz");
    free(d);
}

TEST(patch_esp8266_sizes)
{
    size_t len;
    uint8_t *d = load("profiles/firmware/demo-esp8266.bin", &len);
    ASSERT(d != NULL);
    bool changed;
    struct fl_error err;
    ASSERT_EQ_INT(
        fl_image_patch(d, len, FL_CHIP_ESP8266, FL_MODE_DOUT, 26, 1u << 20, &changed, &err), FL_OK);
    ASSERT(changed);
    ASSERT_EQ_UINT(d[2], 0x03);
    ASSERT_EQ_UINT(d[3], 0x21);
    struct fl_image_info info;
    ASSERT_EQ_INT(fl_image_parse(d, len, FL_CHIP_ESP8266, &info, &err), FL_OK);
    ASSERT(info.valid); /* the checksum covers segment data only */
    free(d);
}

TEST(corruption_is_detected)
{
    size_t len;
    uint8_t *d = load("profiles/firmware/demo-esp32-app.bin", &len);
    ASSERT(d != NULL);
    struct fl_image_info info;
    struct fl_error err;
    d[40] ^= 1; /* inside segment 0 */
    ASSERT_EQ_INT(fl_image_parse(d, len, FL_CHIP_ESP32, &info, &err), FL_OK);
    ASSERT(!info.valid);
    ASSERT(info.checksum != info.checksum_calc);
    bool changed;
    ASSERT_EQ_INT(
        fl_image_patch(d, len, FL_CHIP_ESP32, FL_MODE_QIO, FL_PARAM_KEEP, 0, &changed, &err),
        FL_ERR_INVALID);
    ASSERT_EQ_INT(fl_image_parse(d, 100, FL_CHIP_ESP32, &info, &err), FL_ERR_INVALID);
    ASSERT_CONTAINS(err.msg, "segment 0");
    d[0] = 0x7F;
    ASSERT_EQ_INT(fl_image_parse(d, len, FL_CHIP_AUTO, &info, &err), FL_ERR_INVALID);
    ASSERT_CONTAINS(err.msg, "0x7f");
    free(d);
}

TEST(parameter_parsers)
{
    uint32_t b;
    int v;
    ASSERT(fl_flash_size_parse("4MB", &b) && b == 4u << 20);
    ASSERT(fl_flash_size_parse("512KB", &b) && b == 512u << 10);
    ASSERT(fl_flash_size_parse("16M", &b) && b == 16u << 20);
    ASSERT(!fl_flash_size_parse("3MB", &b));
    ASSERT(!fl_flash_size_parse("4GB", &b));
    ASSERT(fl_flash_freq_parse("40m", &v) && v == 40);
    ASSERT(fl_flash_freq_parse("80", &v) && v == 80);
    ASSERT(!fl_flash_freq_parse("fast", &v));
    ASSERT(fl_flash_mode_parse("DIO", &v) && v == FL_MODE_DIO);
    ASSERT(!fl_flash_mode_parse("octal", &v));
}

TEST_MAIN(RUN(demo_images_parse_and_validate); RUN(patch_bootloader_recomputes_digest);
          RUN(patch_esp8266_sizes); RUN(corruption_is_detected); RUN(parameter_parsers);)
