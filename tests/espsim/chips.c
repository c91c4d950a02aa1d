/* Per-chip facts (reference §3). One table; the rest of the simulator reads
 * it instead of testing chip names. */
#include "sim.h"

#include <string.h>

static const struct sim_chip chips[] = {
    {
        .name = "esp8266",
        .id = SIM_ESP8266,
        .s2plus = false,
        .rom_status_len = 2,
        .rom_baud = 74880, /* 115200 x 26/40: the ROM assumes a 40 MHz crystal */
        .magic = 0xFFF0C101,
        .uart_clkdiv_reg = 0x60000014,
        .uart_clk_hz = 52000000, /* 26 MHz x XTAL_CLK_DIVIDER 2 */
        .mac_reg = 0x3FF00050,
        .gpio_strap_reg = 0,
        .spi_base = 0x60000200,
        .spi_usr = 0x1C,
        .spi_usr1 = 0x20,
        .spi_usr2 = 0x24,
        .spi_w0 = 0x40,
        .max_flash = 16u << 20,
        .ram = {{0x40100000, 0x40110000}, {0x3FFE8000, 0x40000000}},
        .default_mac = {0x5C, 0xCF, 0x7F, 0x00, 0x82, 0x66},
        /* ESP8266 prints one line: " ets Jan  8 2013,rst cause:N, boot mode:(M)" */
        .banner = "\r\n ets Jan  8 2013,rst cause:",
        .rst = {"1", "2", "4", "1"},
        .strap_download = 1,
        .strap_flash = 3,
        .boot_download = "1,7",
        .boot_flash = "3,6",
        .flash_lines = "",
        .blank_flash_text = "ets_main.c \r\n",
        .boot_offset = 0,
    },
    {
        .name = "esp32",
        .id = SIM_ESP32,
        .s2plus = false,
        .rom_status_len = 4,
        .rom_baud = 115200,
        .magic = 0x00F01D83,
        .uart_clkdiv_reg = 0x3FF40014,
        .uart_clk_hz = 40000000,
        .mac_reg = 0x3FF5A000,
        .gpio_strap_reg = 0x3FF44038,
        .spi_base = 0x3FF42000,
        .spi_usr = 0x1C,
        .spi_usr1 = 0x20,
        .spi_usr2 = 0x24,
        .spi_mosi_dlen = 0x28,
        .spi_miso_dlen = 0x2C,
        .spi_w0 = 0x80,
        .max_flash = 16u << 20,
        .ram = {{0x40070000, 0x400C0000}, {0x3FFAE000, 0x40000000}},
        .default_mac = {0x24, 0x0A, 0xC4, 0x00, 0x00, 0x32},
        .banner = "ets Jul 29 2019 12:21:46\r\n\r\n",
        .rst = {"0x1 (POWERON_RESET)", "0x1 (POWERON_RESET)", "0xc (SW_CPU_RESET)",
                "0xf (RTCWDT_BROWN_OUT_RESET)"},
        .strap_download = 0x03,
        .strap_flash = 0x13,
        .boot_download = "DOWNLOAD_BOOT(UART0/UART1/SDIO_REI_REO_V2)",
        .boot_flash = "SPI_FAST_FLASH_BOOT",
        .flash_lines = "configsip: 0, SPIWP:0xee\r\n"
                       "clk_drv:0x00,q_drv:0x00,d_drv:0x00,cs0_drv:0x00,hd_drv:0x00,wp_drv:0x00"
                       "\r\nmode:DIO, clock div:2\r\n",
        .blank_flash_text = "invalid header: 0xffffffff\r\n",
        .boot_offset = 0x1000,
    },
    {
        .name = "esp32s3",
        .id = SIM_ESP32S3,
        .s2plus = true,
        .rom_status_len = 4,
        .rom_baud = 115200,
        .magic = 0x00000009,
        .uart_clkdiv_reg = 0x60000014,
        .uart_clk_hz = 40000000,
        .mac_reg = 0x60007044,
        .gpio_strap_reg = 0x60004038,
        .spi_base = 0x60002000,
        .spi_usr = 0x18,
        .spi_usr1 = 0x1C,
        .spi_usr2 = 0x20,
        .spi_mosi_dlen = 0x24,
        .spi_miso_dlen = 0x28,
        .spi_w0 = 0x58,
        .sec_chip_id = 9,
        .max_flash = 64u << 20,
        .ram = {{0x40370000, 0x403E0000}, {0x3FC88000, 0x3FD00000}},
        .default_mac = {0x34, 0x85, 0x18, 0x00, 0x00, 0x53},
        .banner = "ESP-ROM:esp32s3-20210327\r\nBuild:Mar 27 2021\r\n",
        .rst = {"0x1 (POWERON)", "0x1 (POWERON)", "0x3 (RTC_SW_SYS_RST)", "0xf (BROWN_OUT_RST)"},
        .strap_download = 0x00,
        .strap_flash = 0x08,
        .boot_download = "DOWNLOAD(USB/UART0)",
        .boot_flash = "SPI_FAST_FLASH_BOOT",
        .flash_lines = "SPIWP:0xee\r\nmode:DIO, clock div:1\r\n",
        .blank_flash_text = "invalid header: 0xffffffff\r\n",
        .boot_offset = 0,
    },
    {
        .name = "esp32c3",
        .id = SIM_ESP32C3,
        .s2plus = true,
        .rom_status_len = 4,
        .rom_baud = 115200,
        .magic = 0x1B31506F,
        .uart_clkdiv_reg = 0x60000014,
        .uart_clk_hz = 40000000,
        .mac_reg = 0x60008844,
        .gpio_strap_reg = 0x60004038,
        .spi_base = 0x60002000,
        .spi_usr = 0x18,
        .spi_usr1 = 0x1C,
        .spi_usr2 = 0x20,
        .spi_mosi_dlen = 0x24,
        .spi_miso_dlen = 0x28,
        .spi_w0 = 0x58,
        .sec_chip_id = 5,
        .sec_api_version = 3,
        .max_flash = 16u << 20,
        .ram = {{0x4037C000, 0x403E0000}, {0x3FC80000, 0x3FCE0000}},
        .default_mac = {0x58, 0xCF, 0x79, 0x00, 0x00, 0xC3},
        .banner = "ESP-ROM:esp32c3-api1-20210207\r\nBuild:Feb  7 2021\r\n",
        .rst = {"0x1 (POWERON)", "0x1 (POWERON)", "0x3 (RTC_SW_SYS_RST)", "0xf (BROWN_OUT_RST)"},
        .strap_download = 0x04,
        .strap_flash = 0x0C,
        .boot_download = "DOWNLOAD(USB/UART0/1)",
        .boot_flash = "SPI_FAST_FLASH_BOOT",
        .flash_lines = "SPIWP:0xee\r\nmode:DIO, clock div:1\r\n",
        .blank_flash_text = "invalid header: 0xffffffff\r\n",
        .boot_offset = 0,
    },
};

const struct sim_chip *sim_chip_find(const char *name)
{
    for (size_t i = 0; i < sizeof chips / sizeof chips[0]; i++) {
        if (strcmp(chips[i].name, name) == 0) {
            return &chips[i];
        }
    }
    return NULL;
}

const char *sim_chip_names(void)
{
    return "esp8266 | esp32 | esp32s3 | esp32c3";
}
