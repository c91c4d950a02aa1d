/*
 * The one table of per-chip facts (esp-protocol.md §2.1, §3, §5). Code asks
 * this table; it does not test chip names.
 */
#include <ctype.h>
#include <string.h>

#include "flasher/flasher_priv.h"

static const struct fl_freq_code freqs_std[] = {{80, 0xF}, {40, 0x0}, {26, 0x1}, {20, 0x2}, {0, 0}};
static const struct fl_freq_code freqs_c2[] = {{60, 0xF}, {30, 0x0}, {20, 0x1}, {15, 0x2}, {0, 0}};
static const struct fl_freq_code freqs_c6[] = {{80, 0x0}, {40, 0x0}, {20, 0x2}, {0, 0}};
static const struct fl_freq_code freqs_h2[] = {{48, 0xF}, {24, 0x0}, {16, 0x1}, {12, 0x2}, {0, 0}};

#define ROM_ESP32_CAPS                                                                             \
    (FL_ROM_SPI_ATTACH | FL_ROM_SET_PARAMS | FL_ROM_READ_SLOW | FL_ROM_MD5 | FL_ROM_DEFL |         \
     FL_ROM_CHANGE_BAUD)
#define ROM_S2_CAPS (ROM_ESP32_CAPS | FL_ROM_SECURITY_INFO | FL_ROM_BEGIN_5WORDS)

/* SPI user-command engine register offsets from S2 on. */
#define SPI_NEW(base)                                                                              \
    {                                                                                              \
        (base), 0x18, 0x1C, 0x20, 0x24, 0x28, 0x58, false                                          \
    }

static const struct fl_target targets[] = {
    {
        .chip = FL_CHIP_ESP8266,
        .name = "ESP8266",
        .key = "esp8266",
        .magic = {0xFFF0C101},
        .image_chip_id = -1,
        .rom_status_len = 2,
        .rom_caps = FL_ROM_ERASE_QUIRK,
        .bootloader_offset = 0x0,
        .spi = {0x60000200, 0x1C, 0x20, 0x24, 0, 0, 0x40, true},
        .mac_kind = FL_MAC_ESP8266,
        .mac_reg = 0x3FF00050,
        .uart_clkdiv_reg = 0x60000014,
        .xtal_div = 2,
        .sizes = FL_SIZES_ESP8266,
        .freqs = freqs_std,
    },
    {
        .chip = FL_CHIP_ESP32,
        .name = "ESP32",
        .key = "esp32",
        .magic = {0x00F01D83},
        .image_chip_id = 0,
        .rom_status_len = 4,
        .rom_caps = ROM_ESP32_CAPS,
        .bootloader_offset = 0x1000,
        .spi = {0x3FF42000, 0x1C, 0x20, 0x24, 0x28, 0x2C, 0x80, true},
        .mac_kind = FL_MAC_EFUSE_PAIR,
        .mac_reg = 0x3FF5A004,
        .uart_clkdiv_reg = 0x3FF40014,
        .xtal_div = 1,
        .sizes = FL_SIZES_ESP32,
        .freqs = freqs_std,
    },
    {
        .chip = FL_CHIP_ESP32S2,
        .name = "ESP32-S2",
        .key = "esp32s2",
        .magic = {0x000007C6},
        .image_chip_id = 2,
        .rom_status_len = 4,
        .rom_caps = ROM_S2_CAPS,
        .bootloader_offset = 0x1000,
        .spi = SPI_NEW(0x3F402000),
        .mac_kind = FL_MAC_EFUSE_PAIR,
        .mac_reg = 0x3F41A044,
        .uart_clkdiv_reg = 0x3F400014,
        .xtal_div = 1,
        .sizes = FL_SIZES_ESP32,
        .freqs = freqs_std,
    },
    {
        .chip = FL_CHIP_ESP32S3,
        .name = "ESP32-S3",
        .key = "esp32s3",
        .magic = {0x00000009},
        .image_chip_id = 9,
        .rom_status_len = 4,
        .rom_caps = ROM_S2_CAPS,
        .bootloader_offset = 0x0,
        .spi = SPI_NEW(0x60002000),
        .mac_kind = FL_MAC_EFUSE_PAIR,
        .mac_reg = 0x60007044,
        .fixed_xtal_mhz = 40,
        .sizes = FL_SIZES_ESP32,
        .freqs = freqs_std,
    },
    {
        .chip = FL_CHIP_ESP32C2,
        .name = "ESP32-C2",
        .key = "esp32c2",
        .magic = {0x6F51306F, 0x7C41A06F, 0x0C21E06F},
        .image_chip_id = 12,
        .rom_status_len = 4,
        .rom_caps = ROM_S2_CAPS,
        .bootloader_offset = 0x0,
        .spi = SPI_NEW(0x60002000),
        .mac_kind = FL_MAC_EFUSE_PAIR,
        .mac_reg = 0x60008840,
        .uart_clkdiv_reg = 0x60000014,
        .xtal_div = 1,
        .sizes = FL_SIZES_ESP32,
        .freqs = freqs_c2,
    },
    {
        .chip = FL_CHIP_ESP32C3,
        .name = "ESP32-C3",
        .key = "esp32c3",
        .magic = {0x6921506F, 0x1B31506F, 0x4881606F, 0x4361606F},
        .image_chip_id = 5,
        .rom_status_len = 4,
        .rom_caps = ROM_S2_CAPS,
        .bootloader_offset = 0x0,
        .spi = SPI_NEW(0x60002000),
        .mac_kind = FL_MAC_EFUSE_PAIR,
        .mac_reg = 0x60008844,
        .fixed_xtal_mhz = 40,
        .sizes = FL_SIZES_ESP32,
        .freqs = freqs_std,
    },
    {
        .chip = FL_CHIP_ESP32C6,
        .name = "ESP32-C6",
        .key = "esp32c6",
        .magic = {0x2CE0806F},
        .image_chip_id = 13,
        .rom_status_len = 4,
        .rom_caps = ROM_S2_CAPS,
        .bootloader_offset = 0x0,
        .spi = SPI_NEW(0x60003000),
        .mac_kind = FL_MAC_EFUSE_PAIR,
        .mac_reg = 0x600B0844,
        .fixed_xtal_mhz = 40,
        .sizes = FL_SIZES_ESP32,
        .freqs = freqs_c6,
    },
    {
        .chip = FL_CHIP_ESP32H2,
        .name = "ESP32-H2",
        .key = "esp32h2",
        .magic = {0xD7B73E80},
        .image_chip_id = 16,
        .rom_status_len = 4,
        .rom_caps = ROM_S2_CAPS,
        .bootloader_offset = 0x0,
        .spi = SPI_NEW(0x60003000),
        .mac_kind = FL_MAC_EFUSE_PAIR,
        .mac_reg = 0x600B0844,
        .fixed_xtal_mhz = 32,
        .sizes = FL_SIZES_ESP32,
        .freqs = freqs_h2,
    },
};

#define NTARGETS (sizeof targets / sizeof targets[0])

const struct fl_target *fl_target_by_chip(enum fl_chip chip)
{
    for (size_t i = 0; i < NTARGETS; i++) {
        if (targets[i].chip == chip) {
            return &targets[i];
        }
    }
    return NULL;
}

const struct fl_target *fl_target_by_magic(uint32_t magic)
{
    for (size_t i = 0; i < NTARGETS; i++) {
        for (size_t j = 0; j < sizeof targets[i].magic / sizeof targets[i].magic[0]; j++) {
            if (targets[i].magic[j] == magic && magic != 0) {
                return &targets[i];
            }
        }
    }
    return NULL;
}

const struct fl_target *fl_target_by_image_id(uint32_t image_chip_id)
{
    for (size_t i = 0; i < NTARGETS; i++) {
        if (targets[i].image_chip_id >= 0 && (uint32_t)targets[i].image_chip_id == image_chip_id) {
            return &targets[i];
        }
    }
    return NULL;
}

const char *fl_chip_name(enum fl_chip chip)
{
    const struct fl_target *t = fl_target_by_chip(chip);
    return t ? t->name : "auto";
}

bool fl_chip_parse(const char *text, enum fl_chip *out)
{
    char key[16];
    size_t k = 0;
    for (const char *p = text; *p; p++) {
        if (*p == '-' || *p == '_') {
            continue;
        }
        if (k + 1 >= sizeof key) {
            return false;
        }
        key[k++] = (char)tolower((unsigned char)*p);
    }
    key[k] = '\0';
    if (strcmp(key, "auto") == 0) {
        *out = FL_CHIP_AUTO;
        return true;
    }
    for (size_t i = 0; i < NTARGETS; i++) {
        if (strcmp(targets[i].key, key) == 0) {
            *out = targets[i].chip;
            return true;
        }
    }
    return false;
}

uint32_t fl_chip_bootloader_offset(enum fl_chip chip)
{
    const struct fl_target *t = fl_target_by_chip(chip);
    return t ? t->bootloader_offset : 0;
}
