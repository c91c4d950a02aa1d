/*
 * ROM flash behaviour of the simulator (§2.2-§2.4, §6): attach and size
 * rules, FLASH_DATA checks, NOR AND semantics, the ESP8266 erase-size bug,
 * 24-bit wrap, MD5 as hex, READ_FLASH_SLOW and compressed writes.
 */
#include "espsim_test.h"
#include "test.h"

#include <openssl/evp.h>
#include <zlib.h>

static void md5_hex(const uint8_t *d, size_t n, char out[33])
{
    uint8_t md[16];
    unsigned int len = 16;
    EVP_Digest(d, n, md, &len, EVP_md5(), NULL);
    for (int i = 0; i < 16; i++) {
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    }
}

static void pattern(uint8_t *d, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        d[i] = (uint8_t)(seed >> 16);
    }
}

static int status16(const uint8_t *r, int n)
{
    return n >= 10 ? (r[8] << 8 | r[9]) : -1;
}

static int esp32_ready(struct board *b, uint32_t size)
{
    uint8_t r[64];
    uint32_t attach[2] = {0, 0};
    uint32_t params[6] = {0, size, 0x10000, 0x1000, 0x100, 0xFFFF};
    if (board_sync(b) != 8 || board_words(b, 0x0D, attach, 2, r, sizeof r) != 12 || r[8] != 0) {
        return -1;
    }
    return size == 0 || (board_words(b, 0x0B, params, 6, r, sizeof r) == 12 && r[8] == 0) ? 0 : -1;
}

TEST(esp32_rom_refuses_flash_ops_until_attached_and_sized)
{
    struct board b;
    uint8_t r[64];
    ASSERT_MSG(board_start(&b, "esp32", NULL) == 0, "%s", b.err);
    ASSERT_EQ_INT(board_sync(&b), 8);
    uint32_t begin[4] = {0x1000, 4, 0x400, 0x10000};
    ASSERT_EQ_INT(status16(r, board_words(&b, 0x02, begin, 4, r, sizeof r)), 0x0106);
    uint32_t attach4[1] = {0}, attach[2] = {0, 0};
    ASSERT_EQ_INT(status16(r, board_words(&b, 0x0D, attach4, 1, r, sizeof r)), 0x0105);
    ASSERT_EQ_INT(status16(r, board_words(&b, 0x0D, attach, 2, r, sizeof r)), 0);
    uint32_t begin5[5] = {0x1000, 4, 0x400, 0x10000, 0}; /* 5 words: S2+ only */
    ASSERT_EQ_INT(status16(r, board_words(&b, 0x02, begin5, 5, r, sizeof r)), 0x0105);
    uint32_t high[4] = {0x1000, 4, 0x400, 0x300000}; /* past the ROM's 2 MB default */
    ASSERT_EQ_INT(status16(r, board_words(&b, 0x02, high, 4, r, sizeof r)), 0x0106);
    uint32_t params[6] = {0, 4u << 20, 0x10000, 0x1000, 0x100, 0xFFFF};
    ASSERT_EQ_INT(status16(r, board_words(&b, 0x0B, params, 6, r, sizeof r)), 0);
    ASSERT_EQ_INT(status16(r, board_words(&b, 0x02, high, 4, r, sizeof r)), 0);
    board_stop(&b);

    ASSERT_MSG(board_start(&b, "esp32s3", NULL) == 0, "%s", b.err);
    ASSERT_EQ_INT(esp32_ready(&b, 0), 0);
    ASSERT_EQ_INT(status16(r, board_words(&b, 0x02, begin, 4, r, sizeof r)), 0x0105);
    ASSERT_EQ_INT(status16(r, board_words(&b, 0x02, begin5, 5, r, sizeof r)), 0);
    board_stop(&b);
}

TEST(rom_write_verify_md5_and_read_slow)
{
    struct board b;
    uint8_t r[128], data[4096], back[4096];
    char want[33];
    pattern(data, sizeof data, 7);
    ASSERT_MSG(board_start(&b, "esp32", NULL) == 0, "%s", b.err);
    ASSERT_EQ_INT(esp32_ready(&b, 4u << 20), 0);
    uint32_t begin[4] = {sizeof data, 4, 0x400, 0x10000};
    ASSERT_EQ_INT(status16(r, board_words(&b, 0x02, begin, 4, r, sizeof r)), 0);
    for (uint32_t seq = 0; seq < 4; seq++) {
        int n = board_data(&b, 0x03, seq, data + seq * 0x400, 0x400, r, sizeof r);
        ASSERT_MSG(status16(r, n) == 0, "block %u: status %04x", seq, status16(r, n));
    }
    ASSERT_EQ_INT(board_flash(&b, 0x10000, back, sizeof back), 0);
    ASSERT_MEMEQ(back, data, sizeof data);
    uint32_t md5[4] = {0x10000, sizeof data, 0, 0};
    int n = board_words(&b, 0x13, md5, 4, r, sizeof r);
    ASSERT_EQ_INT(n, 8 + 32 + 4);
    md5_hex(data, sizeof data, want);
    ASSERT_MEMEQ(r + 8, want, 32);
    ASSERT(r[40] == 0 && r[41] == 0);
    uint32_t slow[2] = {0x10010, 16};
    n = board_words(&b, 0x0E, slow, 2, r, sizeof r);
    ASSERT_EQ_INT(n, 8 + 64 + 4);
    ASSERT_MEMEQ(r + 8, data + 16, 16);
    board_stop(&b);
}

TEST(rom_flash_data_checks_checksum_length_and_sequence)
{
    struct board b;
    uint8_t r[64], blk[0x400], d[16 + 0x400];
    pattern(blk, sizeof blk, 3);
    ASSERT_MSG(board_start(&b, "esp32", NULL) == 0, "%s", b.err);
    ASSERT_EQ_INT(esp32_ready(&b, 4u << 20), 0);
    uint32_t begin[4] = {0x1000, 4, 0x400, 0x20000};
    ASSERT_EQ_INT(status16(r, board_words(&b, 0x02, begin, 4, r, sizeof r)), 0);
    memset(d, 0, 16);
    t_put32(d, 0x400);
    memcpy(d + 16, blk, sizeof blk);
    uint8_t good = t_checksum(blk, sizeof blk);
    int n = board_cmd(&b, 0x03, d, sizeof d, good ^ 0x5A, r, sizeof r, REPLY_MS);
    ASSERT_EQ_INT(status16(r, n), 0x0107);
    t_put32(d, 0x3FF); /* length word disagrees with the data */
    n = board_cmd(&b, 0x03, d, sizeof d, good, r, sizeof r, REPLY_MS);
    ASSERT_EQ_INT(status16(r, n), 0x0105);
    t_put32(d, 0x400);
    t_put32(d + 4, 2); /* skips block 1 */
    n = board_cmd(&b, 0x03, d, sizeof d, good, r, sizeof r, REPLY_MS);
    ASSERT_EQ_INT(status16(r, n), 0x0105);
    ASSERT_EQ_INT(status16(r, board_data(&b, 0x03, 0, blk, 0x200, r, sizeof r)), 0x0101);
    ASSERT_EQ_INT(status16(r, board_data(&b, 0x03, 0, blk, 0x400, r, sizeof r)), 0);
    /* A retry of the same block (lost reply) writes the same cells again. */
    ASSERT_EQ_INT(status16(r, board_data(&b, 0x03, 0, blk, 0x400, r, sizeof r)), 0);
    board_stop(&b);
}

TEST(writes_only_clear_bits)
{
    struct board b;
    uint8_t r[64], a[0x400], c[0x400], back[0x400];
    memset(a, 0x0F, sizeof a);
    memset(c, 0xF0, sizeof c);
    ASSERT_MSG(board_start(&b, "esp32", NULL) == 0, "%s", b.err);
    ASSERT_EQ_INT(esp32_ready(&b, 4u << 20), 0);
    uint32_t begin[4] = {0x1000, 1, 0x400, 0x30000};
    ASSERT_EQ_INT(status16(r, board_words(&b, 0x02, begin, 4, r, sizeof r)), 0);
    ASSERT_EQ_INT(status16(r, board_data(&b, 0x03, 0, a, sizeof a, r, sizeof r)), 0);
    uint32_t no_erase[4] = {0, 1, 0x400, 0x30000}; /* nothing erased this time */
    ASSERT_EQ_INT(status16(r, board_words(&b, 0x02, no_erase, 4, r, sizeof r)), 0);
    /* The ROM reads the block back: 0x0F & 0xF0 != 0xF0 -> flash write error. */
    ASSERT_EQ_INT(status16(r, board_data(&b, 0x03, 0, c, sizeof c, r, sizeof r)), 0x0108);
    ASSERT_EQ_INT(board_flash(&b, 0x30000, back, sizeof back), 0);
    for (size_t i = 0; i < sizeof back; i++) {
        ASSERT_MSG(back[i] == 0x00, "byte %zu is 0x%02x", i, back[i]);
    }
    board_stop(&b);
}

TEST(esp8266_rom_erase_size_bug)
{
    struct board b;
    uint8_t r[64], img[0x30000], back[0x30000];
    memset(img, 0x00, sizeof img);
    ASSERT_MSG(board_start_img(&b, "esp8266", NULL, img, sizeof img) == 0, "%s", b.err);
    ASSERT_EQ_INT(board_sync(&b), 8);
    /* §2.4: esptool sends 0xA000 for 20 sectors at 0; the ROM wipes min(10,16)+10. */
    uint32_t begin[4] = {0xA000, 0, 0x400, 0};
    ASSERT_EQ_INT(status16(r, board_words(&b, 0x02, begin, 4, r, sizeof r)), 0);
    ASSERT_EQ_INT(board_flash(&b, 0, back, sizeof back), 0);
    ASSERT(back[0x13FFF] == 0xFF && back[0x14000] == 0x00);
    /* Sector 0x1E, 2 sectors before a 64 KiB boundary, 3 asked: 2 + 3 wiped. */
    uint32_t begin2[4] = {0x3000, 0, 0x400, 0x1E000};
    ASSERT_EQ_INT(status16(r, board_words(&b, 0x02, begin2, 4, r, sizeof r)), 0);
    ASSERT_EQ_INT(board_flash(&b, 0, back, sizeof back), 0);
    ASSERT(back[0x1DFFF] == 0x00 && back[0x1E000] == 0xFF && back[0x22FFF] == 0xFF &&
           back[0x23000] == 0x00);
    uint32_t begin5[5] = {0x1000, 1, 0x400, 0x28000, 0};
    int n = board_words(&b, 0x02, begin5, 5, r, sizeof r);
    ASSERT(n == 10 && r[8] == 1 && r[9] == 0x05);
    board_stop(&b);
}

TEST(rom_addresses_wrap_at_16mb)
{
    struct board b;
    uint8_t r[64], blk[0x400], back[0x400];
    pattern(blk, sizeof blk, 11);
    ASSERT_MSG(board_start(&b, "esp32", NULL) == 0, "%s", b.err);
    ASSERT_EQ_INT(esp32_ready(&b, 16u << 20), 0);
    uint32_t begin[4] = {0x400, 1, 0x400, 0x1000000 + 0x40000};
    ASSERT_EQ_INT(status16(r, board_words(&b, 0x02, begin, 4, r, sizeof r)), 0);
    ASSERT_EQ_INT(status16(r, board_data(&b, 0x03, 0, blk, sizeof blk, r, sizeof r)), 0);
    ASSERT_EQ_INT(board_flash(&b, 0x40000, back, sizeof back), 0);
    ASSERT_MEMEQ(back, blk, sizeof blk);
    board_stop(&b);
}

static size_t deflate_all(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    uLongf len = cap;
    return compress2(out, &len, in, n, 9) == Z_OK ? len : 0;
}

TEST(rom_compressed_write_and_adler_check)
{
    struct board b;
    uint8_t r[128], data[0x3000], z[0x4000], back[0x3000];
    char want[33];
    for (size_t i = 0; i < sizeof data; i++) {
        data[i] = (uint8_t)(i / 97);
    }
    size_t zlen = deflate_all(data, sizeof data, z, sizeof z);
    ASSERT(zlen > 0);
    ASSERT_MSG(board_start(&b, "esp32", NULL) == 0, "%s", b.err);
    ASSERT_EQ_INT(esp32_ready(&b, 4u << 20), 0);
    uint32_t blocks = (uint32_t)((zlen + 0x3FF) / 0x400);
    uint32_t odd[4] = {sizeof data - 1, blocks, 0x400, 0x50000}; /* not rounded to 1 KiB */
    ASSERT_EQ_INT(status16(r, board_words(&b, 0x10, odd, 4, r, sizeof r)), 0x010D);
    uint32_t begin[4] = {sizeof data, blocks, 0x400, 0x50000};
    ASSERT_EQ_INT(status16(r, board_words(&b, 0x10, begin, 4, r, sizeof r)), 0);
    for (uint32_t seq = 0; seq < blocks; seq++) {
        size_t off = seq * 0x400, len = zlen - off < 0x400 ? zlen - off : 0x400;
        ASSERT_EQ_INT(status16(r, board_data(&b, 0x11, seq, z + off, len, r, sizeof r)), 0);
    }
    ASSERT_EQ_INT(board_flash(&b, 0x50000, back, sizeof back), 0);
    ASSERT_MEMEQ(back, data, sizeof data);
    uint32_t md5[4] = {0x50000, sizeof data, 0, 0};
    ASSERT_EQ_INT(board_words(&b, 0x13, md5, 4, r, sizeof r), 44);
    md5_hex(data, sizeof data, want);
    ASSERT_MEMEQ(r + 8, want, 32);
    /* The same stream with a broken Adler-32 tail. */
    z[zlen - 1] ^= 0xFF;
    ASSERT_EQ_INT(status16(r, board_words(&b, 0x10, begin, 4, r, sizeof r)), 0);
    int last = -1;
    for (uint32_t seq = 0; seq < blocks; seq++) {
        size_t off = seq * 0x400, len = zlen - off < 0x400 ? zlen - off : 0x400;
        last = status16(r, board_data(&b, 0x11, seq, z + off, len, r, sizeof r));
    }
    ASSERT_EQ_INT(last, 0x010C);
    board_stop(&b);
}

TEST_MAIN(RUN(esp32_rom_refuses_flash_ops_until_attached_and_sized);
          RUN(rom_write_verify_md5_and_read_slow);
          RUN(rom_flash_data_checks_checksum_length_and_sequence); RUN(writes_only_clear_bits);
          RUN(esp8266_rom_erase_size_bug); RUN(rom_addresses_wrap_at_16mb);
          RUN(rom_compressed_write_and_adler_check);)
