/*
 * The simulator against the reference's wire vectors (§1.2, §4.5) and its
 * register map (§3), with hand-built frames on a raw pty. No flasher code.
 */
#include "espsim_test.h"
#include "test.h"

static const uint8_t sync_req[46] = {
    0xc0, 0x00, 0x08, 0x24, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x07, 0x12, 0x20, 0x55, 0x55, 0x55,
    0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55,
    0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0xc0};
static const uint8_t read_reg_req[14] = {0xc0, 0x00, 0x0a, 0x04, 0x00, 0x00, 0x00,
                                         0x00, 0x00, 0x00, 0x10, 0x00, 0x40, 0xc0};

TEST(esp32_banner_sync_and_read_reg_vectors)
{
    struct board b;
    char text[512];
    uint8_t got[8 * 14];
    static const uint8_t one_sync[14] = {0xc0, 0x01, 0x08, 0x04, 0x00, 0x07, 0x07,
                                         0x12, 0x20, 0x00, 0x00, 0x00, 0x00, 0xc0};
    static const uint8_t magic[14] = {0xc0, 0x01, 0x0a, 0x04, 0x00, 0x83, 0x1d,
                                      0xf0, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0};
    ASSERT_MSG(board_start(&b, "esp32", NULL) == 0, "%s", b.err);
    board_drain(&b, text, sizeof text, 300);
    EXPECT(strstr(text, "ets Jul 29 2019 12:21:46") != NULL);
    EXPECT(strstr(text, "rst:0x1 (POWERON_RESET),boot:0x3 "
                        "(DOWNLOAD_BOOT(UART0/UART1/SDIO_REI_REO_V2))") != NULL);
    EXPECT(strstr(text, "waiting for download") != NULL);
    ASSERT(write(b.fd, sync_req, sizeof sync_req) == (ssize_t)sizeof sync_req);
    size_t n = simproc_read_for(b.fd, got, sizeof got, REPLY_MS);
    ASSERT_EQ_INT(n, sizeof got);
    for (int i = 0; i < 8; i++) {
        ASSERT_MEMEQ(got + 14 * i, one_sync, 14);
    }
    ASSERT(write(b.fd, read_reg_req, sizeof read_reg_req) == (ssize_t)sizeof read_reg_req);
    n = simproc_read_for(b.fd, got, 14, REPLY_MS);
    ASSERT_EQ_INT(n, 14);
    ASSERT_MEMEQ(got, magic, 14);
    board_stop(&b);
}

TEST(esp8266_banner_at_74880_and_two_status_bytes)
{
    struct board b;
    char text[512];
    uint8_t got[8 * 12];
    static const uint8_t one_sync[12] = {0xc0, 0x01, 0x08, 0x02, 0x00, 0x07,
                                         0x07, 0x12, 0x20, 0x00, 0x00, 0xc0};
    static const uint8_t magic[12] = {0xc0, 0x01, 0x0a, 0x02, 0x00, 0x01,
                                      0xc1, 0xf0, 0xff, 0x00, 0x00, 0xc0};
    ASSERT_MSG(board_start(&b, "esp8266", NULL) == 0, "%s", b.err);
    /* At 115200 the 74880-baud banner is noise; at 74880 it reads. */
    board_drain(&b, text, sizeof text, 200);
    EXPECT(strstr(text, "ets Jan") == NULL);
    ASSERT(simproc_set_baud(b.fd, 74880) == 0);
    ASSERT(simproc_reset(&b.sp, true) == 0);
    board_drain(&b, text, sizeof text, 500);
    EXPECT(strstr(text, " ets Jan  8 2013,rst cause:2, boot mode:(1,7)") != NULL);
    ASSERT(write(b.fd, sync_req, sizeof sync_req) == (ssize_t)sizeof sync_req);
    ASSERT_EQ_INT(simproc_read_for(b.fd, got, sizeof got, REPLY_MS), sizeof got);
    for (int i = 0; i < 8; i++) {
        ASSERT_MEMEQ(got + 12 * i, one_sync, 12);
    }
    ASSERT(write(b.fd, read_reg_req, sizeof read_reg_req) == (ssize_t)sizeof read_reg_req);
    ASSERT_EQ_INT(simproc_read_for(b.fd, got, 12, REPLY_MS), 12);
    ASSERT_MEMEQ(got, magic, 12);
    board_stop(&b);
}

TEST(unsupported_commands_fail_with_0x05)
{
    struct board b;
    uint8_t r[128];
    ASSERT_MSG(board_start(&b, "esp8266", NULL) == 0, "%s", b.err);
    ASSERT_EQ_INT(board_sync(&b), 8);
    for (uint8_t op = 0x0B; op <= 0x14; op++) {
        uint8_t d[24] = {0};
        int n = board_cmd(&b, op, d, sizeof d, 0, r, sizeof r, REPLY_MS);
        ASSERT_MSG(n == 10, "op 0x%02x: reply length %d", op, n);
        ASSERT_MSG(r[2] == 2 && r[8] == 1 && r[9] == 0x05, "op 0x%02x: status %02x %02x", op,
                   r[8], r[9]);
    }
    board_stop(&b);
    ASSERT_MSG(board_start(&b, "esp32", NULL) == 0, "%s", b.err);
    ASSERT_EQ_INT(board_sync(&b), 8);
    int n = board_cmd(&b, 0x14, NULL, 0, 0, r, sizeof r, REPLY_MS);
    static const uint8_t want[12] = {0x01, 0x14, 0x04, 0x00, 0, 0, 0, 0, 0x01, 0x05, 0, 0};
    ASSERT_EQ_INT(n, 12);
    ASSERT_MEMEQ(r, want, 12);
    n = board_cmd(&b, 0xD0, NULL, 0, 0, r, sizeof r, REPLY_MS); /* ERASE_FLASH: stub only */
    ASSERT_EQ_INT(n, 12);
    ASSERT(r[8] == 1 && r[9] == 0x05);
    board_stop(&b);
}

TEST(security_info_on_s2_and_later)
{
    struct board b;
    uint8_t r[128];
    const char *sdm[] = {"--sdm", NULL};
    ASSERT_MSG(board_start(&b, "esp32s3", NULL) == 0, "%s", b.err);
    ASSERT_EQ_INT(board_sync(&b), 8);
    int n = board_cmd(&b, 0x14, NULL, 0, 0, r, sizeof r, REPLY_MS);
    ASSERT_EQ_INT(n, 8 + 20 + 4);
    ASSERT_EQ_UINT(t_le32(r + 8 + 12), 9); /* chip_id ESP32-S3 */
    ASSERT_EQ_UINT(t_le32(r + 8) & 4, 0);
    board_stop(&b);
    ASSERT_MSG(board_start(&b, "esp32c3", sdm) == 0, "%s", b.err);
    ASSERT_EQ_INT(board_sync(&b), 8);
    n = board_cmd(&b, 0x14, NULL, 0, 0, r, sizeof r, REPLY_MS);
    ASSERT_EQ_INT(n, 32);
    ASSERT_EQ_UINT(t_le32(r + 8 + 12), 5);
    ASSERT_EQ_UINT(t_le32(r + 8) & 4, 4); /* SECURE_DOWNLOAD_ENABLE */
    uint8_t addr[4];
    t_put32(addr, 0x40001000);
    n = board_cmd(&b, 0x0A, addr, 4, 0, r, sizeof r, REPLY_MS); /* refused in SDM */
    ASSERT(n == 12 && r[8] == 1 && r[9] == 0x05);
    board_stop(&b);
}

static uint32_t read_reg(struct board *b, uint32_t addr)
{
    uint8_t d[4], r[64];
    t_put32(d, addr);
    return board_cmd(b, 0x0A, d, 4, 0, r, sizeof r, REPLY_MS) >= 8 ? t_le32(r + 4) : 0xDEADBEEF;
}

static int write_reg(struct board *b, uint32_t addr, uint32_t value)
{
    uint32_t w[4] = {addr, value, 0xFFFFFFFF, 0};
    uint8_t r[64];
    return board_words(b, 0x09, w, 4, r, sizeof r) >= 10 && r[8] == 0 ? 0 : -1;
}

TEST(mac_words_decode_per_chip)
{
    struct board b;
    const char *mac32[] = {"--mac", "24:0a:c4:11:22:33", NULL};
    ASSERT_MSG(board_start(&b, "esp32", mac32) == 0, "%s", b.err);
    ASSERT_EQ_INT(board_sync(&b), 8);
    uint32_t w1 = read_reg(&b, 0x3FF5A004), w2 = read_reg(&b, 0x3FF5A008);
    uint8_t mac[6] = {(uint8_t)(w2 >> 8), (uint8_t)w2,         (uint8_t)(w1 >> 24),
                      (uint8_t)(w1 >> 16), (uint8_t)(w1 >> 8), (uint8_t)w1};
    static const uint8_t want32[6] = {0x24, 0x0a, 0xc4, 0x11, 0x22, 0x33};
    ASSERT_MEMEQ(mac, want32, 6);
    /* Crystal: CLKDIV x baud / 1e6 = 40 MHz (§3.4). */
    uint32_t div = read_reg(&b, 0x3FF40014) & 0xFFFFF;
    ASSERT_EQ_INT((div * 115200ull + 500000) / 1000000, 40);
    board_stop(&b);

    const char *mac66[] = {"--mac", "5c:cf:7f:aa:bb:cc", NULL};
    ASSERT_MSG(board_start(&b, "esp8266", mac66) == 0, "%s", b.err);
    ASSERT(simproc_set_baud(b.fd, 74880) == 0);
    ASSERT_EQ_INT(board_sync(&b), 8);
    uint32_t m0 = read_reg(&b, 0x3FF00050), m1 = read_reg(&b, 0x3FF00054);
    uint32_t m3 = read_reg(&b, 0x3FF0005C);
    ASSERT(m3 != 0);
    uint8_t mac8[6] = {(uint8_t)(m3 >> 16), (uint8_t)(m3 >> 8), (uint8_t)m3,
                       (uint8_t)(m1 >> 8),  (uint8_t)m1,        (uint8_t)(m0 >> 24)};
    static const uint8_t want8[6] = {0x5c, 0xcf, 0x7f, 0xaa, 0xbb, 0xcc};
    ASSERT_MEMEQ(mac8, want8, 6);
    /* ESP8266 crystal: XTAL_CLK_DIVIDER 2 -> 26 MHz at the autobauded 74880. */
    div = read_reg(&b, 0x60000014) & 0xFFFFF;
    ASSERT_EQ_INT((div * 74880ull / 2 + 500000) / 1000000, 26);
    board_stop(&b);

    const char *macc3[] = {"--mac", "58:cf:79:01:02:03", NULL};
    ASSERT_MSG(board_start(&b, "esp32c3", macc3) == 0, "%s", b.err);
    ASSERT_EQ_INT(board_sync(&b), 8);
    uint32_t lo = read_reg(&b, 0x60008844), hi = read_reg(&b, 0x60008848);
    uint8_t macc[6] = {(uint8_t)(hi >> 8),  (uint8_t)hi,        (uint8_t)(lo >> 24),
                       (uint8_t)(lo >> 16), (uint8_t)(lo >> 8), (uint8_t)lo};
    static const uint8_t wantc[6] = {0x58, 0xcf, 0x79, 0x01, 0x02, 0x03};
    ASSERT_MEMEQ(macc, wantc, 6);
    ASSERT_EQ_UINT(read_reg(&b, 0x40001000), 0x1B31506F);
    board_stop(&b);
}

/* esptool's run_spiflash_command for RDID on ESP32 (§3.3). */
static uint32_t rdid_esp32(struct board *b)
{
    const uint32_t base = 0x3FF42000;
    if (write_reg(b, base + 0x2C, 23) || write_reg(b, base + 0x28, 0) ||
        write_reg(b, base + 0x1C, 1u << 31 | 1u << 28) ||
        write_reg(b, base + 0x24, 7u << 28 | 0x9F) || write_reg(b, base + 0x80, 0) ||
        write_reg(b, base, 1u << 18)) {
        return 0xDEADBEEF;
    }
    for (int i = 0; i < 10 && (read_reg(b, base) & (1u << 18)); i++) {
    }
    return read_reg(b, base + 0x80) & 0xFFFFFF;
}

TEST(spi_rdid_follows_flash_size)
{
    struct board b;
    uint8_t r[64];
    const char *big[] = {"--flash-size", "16MB", NULL};
    ASSERT_MSG(board_start(&b, "esp32", big) == 0, "%s", b.err);
    ASSERT_EQ_INT(board_sync(&b), 8);
    ASSERT_EQ_UINT(rdid_esp32(&b), 0xFFFFFF); /* not attached: nobody answers */
    uint32_t attach[2] = {0, 0};
    ASSERT(board_words(&b, 0x0D, attach, 2, r, sizeof r) == 12 && r[8] == 0);
    ASSERT_EQ_UINT(rdid_esp32(&b), 0x1840EF); /* Winbond, 16 MB */
    board_stop(&b);

    ASSERT_MSG(board_start(&b, "esp8266", NULL) == 0, "%s", b.err);
    ASSERT(simproc_set_baud(b.fd, 74880) == 0);
    ASSERT_EQ_INT(board_sync(&b), 8);
    uint32_t begin0[4] = {0, 0, 0x400, 0}; /* the ESP8266's way to attach */
    ASSERT(board_words(&b, 0x02, begin0, 4, r, sizeof r) == 10 && r[8] == 0);
    const uint32_t base = 0x60000200;
    ASSERT(write_reg(&b, base + 0x20, 23u << 8) == 0);
    ASSERT(write_reg(&b, base + 0x1C, 1u << 31 | 1u << 28) == 0);
    ASSERT(write_reg(&b, base + 0x24, 7u << 28 | 0x9F) == 0);
    ASSERT(write_reg(&b, base, 1u << 18) == 0);
    ASSERT_EQ_UINT(read_reg(&b, base) & (1u << 18), 0);
    ASSERT_EQ_UINT(read_reg(&b, base + 0x40) & 0xFFFFFF, 0x1640EF);
    board_stop(&b);
}

TEST(change_baudrate_replies_at_old_rate_then_switches)
{
    struct board b;
    uint8_t r[64];
    ASSERT_MSG(board_start(&b, "esp32", NULL) == 0, "%s", b.err);
    ASSERT_EQ_INT(board_sync(&b), 8);
    uint32_t w[2] = {460800, 0};
    ASSERT(board_words(&b, 0x0F, w, 2, r, sizeof r) == 12 && r[8] == 0);
    /* Host still at 115200: the chip's answers are noise now. */
    uint8_t d[4];
    t_put32(d, 0x40001000);
    ASSERT_EQ_INT(board_cmd(&b, 0x0A, d, 4, 0, r, sizeof r, QUIET_MS), -1);
    ASSERT(simproc_set_baud(b.fd, 460800) == 0);
    board_drain(&b, NULL, 0, 50);
    ASSERT_EQ_UINT(read_reg(&b, 0x40001000), 0x00F01D83);
    board_stop(&b);

    ASSERT_MSG(board_start(&b, "esp8266", NULL) == 0, "%s", b.err);
    ASSERT(simproc_set_baud(b.fd, 74880) == 0);
    ASSERT_EQ_INT(board_sync(&b), 8);
    ASSERT(board_words(&b, 0x0F, w, 2, r, sizeof r) == 10 && r[8] == 1 && r[9] == 0x05);
    board_stop(&b);
}

TEST(signals_reset_into_download_or_flash_boot)
{
    struct board b;
    char text[1024];
    uint8_t img[0x1001];
    memset(img, 0xFF, sizeof img);
    img[0x1000] = 0xE9; /* an image header where the ESP32 bootloader lives */
    ASSERT_MSG(board_start_img(&b, "esp32", NULL, img, sizeof img) == 0, "%s", b.err);
    board_drain(&b, NULL, 0, 100);
    ASSERT(simproc_reset(&b.sp, false) == 0);
    board_drain(&b, text, sizeof text, 600);
    EXPECT(strstr(text, "boot:0x13 (SPI_FAST_FLASH_BOOT)") != NULL);
    EXPECT(strstr(text, "waiting for download") == NULL);
    EXPECT(strstr(text, "app running on esp32") != NULL);
    uint8_t sync[36] = {7, 7, 0x12, 0x20}, r[64];
    memset(sync + 4, 0x55, 32);
    ASSERT_EQ_INT(board_cmd(&b, 0x08, sync, 36, 0, r, sizeof r, QUIET_MS), -1);
    ASSERT(simproc_reset(&b.sp, true) == 0);
    board_drain(&b, text, sizeof text, 600);
    EXPECT(strstr(text, "waiting for download") != NULL);
    ASSERT_EQ_INT(board_sync(&b), 8);
    board_stop(&b);

    ASSERT_MSG(board_start(&b, "esp32c3", (const char *[]){"--boot", "flash", NULL}) == 0, "%s",
               b.err);
    board_drain(&b, text, sizeof text, 600);
    EXPECT(strstr(text, "ESP-ROM:esp32c3") != NULL);
    EXPECT(strstr(text, "boot:0xc (SPI_FAST_FLASH_BOOT)") != NULL);
    EXPECT(strstr(text, "invalid header: 0xffffffff") != NULL);
    board_stop(&b);
}

TEST(rom_flash_end_leaves_the_loader)
{
    struct board b;
    uint8_t r[64];
    char text[512];
    ASSERT_MSG(board_start(&b, "esp32", NULL) == 0, "%s", b.err);
    ASSERT_EQ_INT(board_sync(&b), 8);
    uint32_t attach[2] = {0, 0}, run[1] = {1};
    ASSERT(board_words(&b, 0x0D, attach, 2, r, sizeof r) == 12);
    uint32_t begin[4] = {0, 0, 0x400, 0};
    ASSERT(board_words(&b, 0x02, begin, 4, r, sizeof r) == 12 && r[8] == 0);
    ASSERT(board_words(&b, 0x04, run, 1, r, sizeof r) == 12 && r[8] == 0);
    board_drain(&b, text, sizeof text, 400);
    EXPECT(strstr(text, "invalid header") != NULL); /* blank flash: the ROM boot-loops */
    ASSERT_EQ_INT(board_sync(&b), 0);
    board_stop(&b);
}

TEST_MAIN(RUN(esp32_banner_sync_and_read_reg_vectors);
          RUN(esp8266_banner_at_74880_and_two_status_bytes);
          RUN(unsupported_commands_fail_with_0x05); RUN(security_info_on_s2_and_later);
          RUN(mac_words_decode_per_chip); RUN(spi_rdid_follows_flash_size);
          RUN(change_baudrate_replies_at_old_rate_then_switches);
          RUN(signals_reset_into_download_or_flash_boot); RUN(rom_flash_end_leaves_the_loader);)
