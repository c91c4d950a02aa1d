/*
 * The stub personalities (§7): upload -> OHAI, 2-byte status, lazy erase and
 * trimmed padding, compressed writes, deferred errors, READ_FLASH flow,
 * erase commands, baud change, FLASH_END(0) back into the ROM, and where the
 * legacy and new stubs differ.
 */
#include "espsim_test.h"
#include "test.h"

#include <openssl/evp.h>
#include <zlib.h>

static const char *const legacy_args[] = {"--stub-flavour", "legacy", NULL};

static void md5_raw(const uint8_t *d, size_t n, uint8_t out[16])
{
    unsigned int len = 16;
    EVP_Digest(d, n, out, &len, EVP_md5(), NULL);
}

static void pattern(uint8_t *d, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        d[i] = (uint8_t)(seed >> 16);
    }
}

/* Stub status: byte 0 of the 2 status bytes after the payload. */
static int st(const uint8_t *r, int n, int payload)
{
    return n >= 8 + payload + 2 ? r[8 + payload] : -1;
}

/* MEM_BEGIN/DATA/END with a jump, then the OHAI frame (§7.1). */
static int upload_stub(struct board *b, uint32_t addr)
{
    uint8_t code[64], r[64];
    pattern(code, sizeof code, addr);
    uint32_t begin[4] = {sizeof code, 1, 0x1800, addr};
    if (board_sync(b) != 8 || board_words(b, 0x05, begin, 4, r, sizeof r) < 10 || r[8] != 0 ||
        board_data(b, 0x07, 0, code, sizeof code, r, sizeof r) < 10 || r[8] != 0) {
        return -1;
    }
    uint32_t end[2] = {0, addr};
    if (board_words(b, 0x06, end, 2, r, sizeof r) < 10 || r[8] != 0) {
        return -1;
    }
    int n = simproc_read_frame(&b->rd, r, sizeof r, REPLY_MS);
    return n == 4 && memcmp(r, "OHAI", 4) == 0 ? 0 : -1;
}

static int start_stub(struct board *b, const char *chip, const char *const *extra)
{
    if (board_start(b, chip, extra) != 0) {
        return -1;
    }
    /* Where esptool's stubs load their text on each chip (IRAM). */
    uint32_t addr = strcmp(chip, "esp8266") == 0   ? 0x4010D000
                    : strcmp(chip, "esp32") == 0   ? 0x400BE000
                    : strcmp(chip, "esp32s3") == 0 ? 0x40378000
                                                   : 0x40380000;
    if (upload_stub(b, addr) != 0) {
        snprintf(b->err, sizeof b->err, "stub upload to 0x%08x: no OHAI", addr);
        return -1;
    }
    return 0;
}

TEST(upload_says_ohai_then_stub_rules)
{
    struct board b;
    uint8_t r[64];
    ASSERT_MSG(start_stub(&b, "esp32", NULL) == 0, "%s", b.err);
    ASSERT_EQ_INT(board_sync(&b), 8);
    uint8_t sync[36] = {7, 7, 0x12, 0x20};
    memset(sync + 4, 0x55, 32);
    int n = board_cmd(&b, 0x08, sync, 36, 0, r, sizeof r, REPLY_MS);
    static const uint8_t want[10] = {0x01, 0x08, 0x02, 0x00, 0, 0, 0, 0, 0, 0};
    ASSERT_EQ_INT(n, 10);
    ASSERT_MEMEQ(r, want, 10); /* value 0: a stub is running */
    while (simproc_read_frame(&b.rd, r, sizeof r, 200) > 0) {
    }
    uint32_t attach[2] = {0, 0};
    ASSERT_EQ_INT(st(r, board_words(&b, 0x0D, attach, 2, r, sizeof r), 0), 0xC0);
    ASSERT_EQ_INT(st(r, board_words(&b, 0x0D, attach, 1, r, sizeof r), 0), 0);
    ASSERT_EQ_INT(st(r, board_cmd(&b, 0x55, NULL, 0, 0, r, sizeof r, REPLY_MS), 0), 0xC3);
    ASSERT_EQ_INT(st(r, board_cmd(&b, 0x0E, NULL, 0, 0, r, sizeof r, REPLY_MS), 0), 0xC3);
    board_stop(&b);
    ASSERT_MSG(start_stub(&b, "esp32", legacy_args) == 0, "%s", b.err);
    ASSERT_EQ_INT(st(r, board_cmd(&b, 0x55, NULL, 0, 0, r, sizeof r, REPLY_MS), 0), 0xFF);
    board_stop(&b);
    ASSERT_MSG(start_stub(&b, "esp32s3", NULL) == 0, "%s", b.err);
    n = board_cmd(&b, 0x14, NULL, 0, 0, r, sizeof r, REPLY_MS);
    ASSERT_EQ_INT(n, 8 + 20 + 2);
    ASSERT_EQ_UINT(t_le32(r + 8 + 12), 9);
    board_stop(&b);
}

TEST(plain_write_erases_lazily_and_trims_padding)
{
    struct board b;
    static uint8_t img[0x104000], blk[0x4000], back[0x4000], md[16];
    memset(img, 0xFF, sizeof img);
    memset(img + 0x100000, 0x00, 0x4000);
    pattern(blk, 5000, 5);
    memset(blk + 5000, 0x00, sizeof blk - 5000); /* padding the stub must not write */
    uint8_t r[64];
    ASSERT_MSG(board_start_img(&b, "esp32", NULL, img, sizeof img) == 0, "%s", b.err);
    ASSERT_MSG(upload_stub(&b, 0x400BE000) == 0, "no OHAI");
    uint32_t begin[5] = {5000, 1, 0x4000, 0x100000, 0};
    ASSERT_EQ_INT(st(r, board_words(&b, 0x02, begin, 5, r, sizeof r), 0), 0);
    ASSERT_EQ_INT(st(r, board_data(&b, 0x03, 0, blk, sizeof blk, r, sizeof r), 0), 0);
    uint32_t end[1] = {1};
    ASSERT_EQ_INT(st(r, board_words(&b, 0x04, end, 1, r, sizeof r), 0), 0);
    ASSERT_EQ_INT(board_flash(&b, 0x100000, back, sizeof back), 0);
    ASSERT_MEMEQ(back, blk, 5000);
    ASSERT(back[5000] == 0xFF && back[0x1FFF] == 0xFF); /* erased, not written */
    ASSERT(back[0x2000] == 0x00);                       /* never touched */
    uint32_t md5[4] = {0x100000, 5000, 0, 0};
    int n = board_words(&b, 0x13, md5, 4, r, sizeof r);
    ASSERT_EQ_INT(n, 8 + 16 + 2);
    md5_raw(blk, 5000, md);
    ASSERT_MEMEQ(r + 8, md, 16);
    /* END before all declared bytes arrived. */
    ASSERT_EQ_INT(st(r, board_words(&b, 0x02, begin, 4, r, sizeof r), 0), 0);
    ASSERT_EQ_INT(st(r, board_words(&b, 0x04, end, 1, r, sizeof r), 0), 0xC8);
    board_stop(&b);
}

static size_t zcompress(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    uLongf len = cap;
    return compress2(out, &len, in, n, 9) == Z_OK ? len : 0;
}

static int send_defl(struct board *b, const uint8_t *z, size_t zlen, uint8_t *r, size_t cap)
{
    int last = 0;
    for (uint32_t seq = 0; seq * 0x4000u < zlen; seq++) {
        size_t off = seq * 0x4000u, len = zlen - off < 0x4000 ? zlen - off : 0x4000;
        int n = board_data(b, 0x11, seq, z + off, len, r, cap);
        last = n >= 10 ? r[8] : -1;
        if (last != 0) {
            break;
        }
    }
    return last;
}

TEST(compressed_write_and_stream_errors)
{
    struct board b;
    static uint8_t data[0x12000], z[0x14000], back[0x12000];
    uint8_t r[64];
    for (size_t i = 0; i < sizeof data; i++) {
        data[i] = (uint8_t)((i * 7) / 1000);
    }
    pattern(data + 0x8000, 0x2000, 9);
    size_t zlen = zcompress(data, sizeof data, z, sizeof z - 16);
    ASSERT(zlen > 0);
    uint32_t blocks = (uint32_t)((zlen + 0x3FFF) / 0x4000), end[1] = {1};
    ASSERT_MSG(start_stub(&b, "esp8266", NULL) == 0, "%s", b.err);
    uint32_t begin[4] = {sizeof data, blocks, 0x4000, 0x200000};
    ASSERT_EQ_INT(st(r, board_words(&b, 0x10, begin, 4, r, sizeof r), 0), 0);
    ASSERT_EQ_INT(send_defl(&b, z, zlen, r, sizeof r), 0);
    ASSERT_EQ_INT(st(r, board_words(&b, 0x12, end, 1, r, sizeof r), 0), 0);
    ASSERT_EQ_INT(board_flash(&b, 0x200000, back, sizeof back), 0);
    ASSERT_MEMEQ(back, data, sizeof data);
    /* More than the 4-byte Adler tail after the stream: 0xC9, one command late. */
    memset(z + zlen, 0xAB, 8);
    ASSERT_EQ_INT(st(r, board_words(&b, 0x10, begin, 4, r, sizeof r), 0), 0);
    ASSERT_EQ_INT(send_defl(&b, z, zlen + 8, r, sizeof r), 0);
    ASSERT_EQ_INT(st(r, board_words(&b, 0x12, end, 1, r, sizeof r), 0), 0xC9);
    /* Stream cut short: 0xC8 at END. */
    ASSERT_EQ_INT(st(r, board_words(&b, 0x10, begin, 4, r, sizeof r), 0), 0);
    ASSERT_EQ_INT(send_defl(&b, z, zlen / 2, r, sizeof r), 0);
    ASSERT_EQ_INT(st(r, board_words(&b, 0x12, end, 1, r, sizeof r), 0), 0xC8);
    board_stop(&b);
}

TEST(deferred_errors_new_and_legacy)
{
    struct board b;
    uint8_t r[64], blk[0x4000];
    pattern(blk, sizeof blk, 1);
    const char *fault_new[] = {"--fault", "write-fail:at=2", NULL};
    const char *fault_legacy[] = {"--stub-flavour", "legacy", "--fault", "write-fail:at=2", NULL};
    uint32_t begin[4] = {3 * 0x4000, 3, 0x4000, 0x80000};
    uint32_t reg[1] = {0x40001000};

    ASSERT_MSG(start_stub(&b, "esp32", fault_new) == 0, "%s", b.err);
    ASSERT_EQ_INT(st(r, board_words(&b, 0x02, begin, 4, r, sizeof r), 0), 0);
    ASSERT_EQ_INT(st(r, board_data(&b, 0x03, 0, blk, sizeof blk, r, sizeof r), 0), 0);
    ASSERT_EQ_INT(st(r, board_data(&b, 0x03, 1, blk, sizeof blk, r, sizeof r), 0), 0);
    /* New stub: whatever comes next carries the error and is not run. */
    int n = board_words(&b, 0x0A, reg, 1, r, sizeof r);
    ASSERT_EQ_INT(st(r, n, 0), 0xC4);
    ASSERT_EQ_UINT(t_le32(r + 4), 0);
    ASSERT_EQ_INT(st(r, board_words(&b, 0x0A, reg, 1, r, sizeof r), 0), 0);
    board_stop(&b);

    ASSERT_MSG(start_stub(&b, "esp32", fault_legacy) == 0, "%s", b.err);
    ASSERT_EQ_INT(st(r, board_words(&b, 0x02, begin, 4, r, sizeof r), 0), 0);
    ASSERT_EQ_INT(st(r, board_data(&b, 0x03, 0, blk, sizeof blk, r, sizeof r), 0), 0);
    ASSERT_EQ_INT(st(r, board_data(&b, 0x03, 1, blk, sizeof blk, r, sizeof r), 0), 0);
    /* Legacy: other commands still run; the next DATA reports it. */
    n = board_words(&b, 0x0A, reg, 1, r, sizeof r);
    ASSERT_EQ_INT(st(r, n, 0), 0);
    ASSERT_EQ_UINT(t_le32(r + 4), 0x00F01D83);
    ASSERT_EQ_INT(st(r, board_data(&b, 0x03, 2, blk, sizeof blk, r, sizeof r), 0), 0xC4);
    board_stop(&b);
}

TEST(read_flash_flow_with_acks_and_md5)
{
    struct board b;
    static uint8_t img[0x4000];
    uint8_t r[4200], md[16];
    pattern(img, sizeof img, 77);
    ASSERT_MSG(board_start_img(&b, "esp32", NULL, img, sizeof img) == 0, "%s", b.err);
    ASSERT_MSG(upload_stub(&b, 0x400BE000) == 0, "no OHAI");
    uint32_t req[4] = {0x1000, 10000, 4096, 64};
    ASSERT_EQ_INT(st(r, board_words(&b, 0xD2, req, 4, r, sizeof r), 0), 0);
    uint32_t got = 0;
    while (got < 10000) {
        int n = simproc_read_frame(&b.rd, r, sizeof r, REPLY_MS);
        ASSERT_MSG(n == (int)(10000 - got < 4096 ? 10000 - got : 4096), "packet of %d", n);
        ASSERT_MEMEQ(r, img + 0x1000 + got, (size_t)n);
        got += (uint32_t)n;
        uint8_t ack[4];
        t_put32(ack, got);
        ASSERT(simproc_send_frame(b.fd, ack, 4) == 0);
    }
    ASSERT_EQ_INT(simproc_read_frame(&b.rd, r, sizeof r, REPLY_MS), 16);
    md5_raw(img + 0x1000, 10000, md);
    ASSERT_MEMEQ(r, md, 16);
    uint32_t big[4] = {0, 100, 8192, 1};
    ASSERT_EQ_INT(st(r, board_words(&b, 0xD2, big, 4, r, sizeof r), 0), 0xC0);
    board_stop(&b);
    ASSERT_MSG(start_stub(&b, "esp32", legacy_args) == 0, "%s", b.err);
    /* legacy: the command is acked (its length is right), then
     * handle_flash_read returns at once: no data, no MD5. */
    ASSERT_EQ_INT(st(r, board_words(&b, 0xD2, big, 4, r, sizeof r), 0), 0);
    ASSERT_EQ_INT(simproc_read_frame(&b.rd, r, sizeof r, QUIET_MS), -1);
    uint32_t bad[2] = {0x1100, 0x1000}, odd[2] = {0x1000, 0x1100};
    ASSERT_EQ_INT(st(r, board_words(&b, 0xD1, bad, 2, r, sizeof r), 0), 0x32);
    ASSERT_EQ_INT(st(r, board_words(&b, 0xD1, odd, 2, r, sizeof r), 0), 0x33);
    board_stop(&b);
}

TEST(erase_region_and_chip)
{
    struct board b;
    static uint8_t img[0x10000], back[0x10000];
    uint8_t r[64];
    memset(img, 0x00, sizeof img);
    ASSERT_MSG(board_start_img(&b, "esp32c3", NULL, img, sizeof img) == 0, "%s", b.err);
    ASSERT_MSG(upload_stub(&b, 0x40380000) == 0, "no OHAI");
    uint32_t bad[2] = {0x1100, 0x1000}, good[2] = {0x2000, 0x2000};
    ASSERT_EQ_INT(st(r, board_words(&b, 0xD1, bad, 2, r, sizeof r), 0), 0xC0);
    ASSERT_EQ_INT(st(r, board_words(&b, 0xD1, good, 2, r, sizeof r), 0), 0);
    ASSERT_EQ_INT(board_flash(&b, 0, back, sizeof back), 0);
    ASSERT(back[0x1FFF] == 0x00 && back[0x2000] == 0xFF && back[0x3FFF] == 0xFF &&
           back[0x4000] == 0x00);
    ASSERT_EQ_INT(st(r, board_cmd(&b, 0xD0, NULL, 0, 0, r, sizeof r, REPLY_MS), 0), 0);
    ASSERT_EQ_INT(board_flash(&b, 0, back, sizeof back), 0);
    for (size_t i = 0; i < sizeof back; i++) {
        ASSERT_MSG(back[i] == 0xFF, "byte %zu not erased", i);
    }
    board_stop(&b);
}

TEST(change_baudrate_new_vs_legacy)
{
    struct board b;
    uint8_t r[64];
    uint32_t reg[1] = {0x40001000};
    uint32_t to230k[2] = {230400, 115200}, broken[2] = {230400, 0};
    ASSERT_MSG(start_stub(&b, "esp32", NULL) == 0, "%s", b.err);
    ASSERT_EQ_INT(st(r, board_words(&b, 0x0F, broken, 2, r, sizeof r), 0), 0);
    ASSERT(simproc_set_baud(b.fd, 230400) == 0);
    board_drain(&b, NULL, 0, 50);
    ASSERT_EQ_UINT(board_words(&b, 0x0A, reg, 1, r, sizeof r) == 10 ? t_le32(r + 4) : 0,
                   0x00F01D83); /* the new stub ignores word 1 */
    board_stop(&b);
    ASSERT_MSG(start_stub(&b, "esp32", legacy_args) == 0, "%s", b.err);
    ASSERT_EQ_INT(st(r, board_words(&b, 0x0F, to230k, 2, r, sizeof r), 0), 0);
    ASSERT(simproc_set_baud(b.fd, 230400) == 0);
    board_drain(&b, NULL, 0, 50);
    ASSERT_EQ_INT(board_words(&b, 0x0A, reg, 1, r, sizeof r), 10);
    ASSERT(simproc_set_baud(b.fd, 115200) == 0);
    to230k[0] = 115200;
    to230k[1] = 0; /* legacy: 0 as old baud leaves a dead divider (§12.10) */
    ASSERT(simproc_set_baud(b.fd, 230400) == 0);
    ASSERT_EQ_INT(st(r, board_words(&b, 0x0F, to230k, 2, r, sizeof r), 0), 0);
    ASSERT(simproc_set_baud(b.fd, 115200) == 0);
    board_drain(&b, NULL, 0, 50);
    ASSERT_EQ_INT(
        board_cmd(&b, 0x0A, (const uint8_t *)"\x00\x10\x00\x40", 4, 0, r, sizeof r, QUIET_MS), -1);
    board_stop(&b);
}

TEST(flash_end_0_reboots_into_the_rom)
{
    struct board b;
    uint8_t r[64];
    char text[512];
    uint32_t begin[4] = {0, 0, 0x4000, 0}, end[1] = {0};
    ASSERT_MSG(start_stub(&b, "esp32", NULL) == 0, "%s", b.err);
    ASSERT_EQ_INT(st(r, board_words(&b, 0x02, begin, 4, r, sizeof r), 0), 0);
    ASSERT_EQ_INT(st(r, board_words(&b, 0x04, end, 1, r, sizeof r), 0), 0);
    board_text_until(&b, text, sizeof text, "waiting for download", REPLY_MS);
    EXPECT(strstr(text, "rst:0xc (SW_CPU_RESET),boot:0x3") != NULL);
    EXPECT(strstr(text, "waiting for download") != NULL);
    uint8_t sync[36] = {7, 7, 0x12, 0x20};
    memset(sync + 4, 0x55, 32);
    ASSERT_EQ_INT(board_cmd(&b, 0x08, sync, 36, 0, r, sizeof r, REPLY_MS), 12);
    ASSERT_EQ_UINT(t_le32(r + 4), 0x20120707); /* the ROM again, 4 status bytes */
    board_stop(&b);
}

TEST(legacy_limits)
{
    struct board b;
    uint8_t r[64], blk[32];
    memset(blk, 0x11, sizeof blk);
    ASSERT_MSG(start_stub(&b, "esp32", legacy_args) == 0, "%s", b.err);
    uint32_t huge[4] = {0x8000, 1, 0x8000, 0};
    ASSERT_EQ_INT(st(r, board_words(&b, 0x02, huge, 4, r, sizeof r), 0), 0xC2);
    uint32_t begin[4] = {32, 1, 0x4000, 0x1000};
    ASSERT_EQ_INT(st(r, board_words(&b, 0x02, begin, 4, r, sizeof r), 0), 0);
    uint8_t d[16 + 32] = {0};
    t_put32(d, 31); /* length word disagrees */
    memcpy(d + 16, blk, 32);
    int n = board_cmd(&b, 0x03, d, sizeof d, t_checksum(blk, 32), r, sizeof r, REPLY_MS);
    ASSERT_EQ_INT(st(r, n, 0), 0xC0);
    board_stop(&b);
    ASSERT_MSG(start_stub(&b, "esp32", NULL) == 0, "%s", b.err);
    ASSERT_EQ_INT(st(r, board_words(&b, 0x02, begin, 4, r, sizeof r), 0), 0);
    n = board_cmd(&b, 0x03, d, sizeof d, t_checksum(blk, 32), r, sizeof r, REPLY_MS);
    ASSERT_EQ_INT(st(r, n, 0), 0xC9);
    board_stop(&b);
}

TEST_MAIN(RUN(upload_says_ohai_then_stub_rules); RUN(plain_write_erases_lazily_and_trims_padding);
          RUN(compressed_write_and_stream_errors); RUN(deferred_errors_new_and_legacy);
          RUN(read_flash_flow_with_acks_and_md5); RUN(erase_region_and_chip);
          RUN(change_baudrate_new_vs_legacy); RUN(flash_end_0_reboots_into_the_rom);
          RUN(legacy_limits);)
