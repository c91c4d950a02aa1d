/* --fault options of the simulator and its --log output. */
#include "espsim_test.h"
#include "test.h"

static const uint8_t sync_payload[36] = {7,    7,    0x12, 0x20, 0x55, 0x55, 0x55, 0x55, 0x55,
                                         0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55,
                                         0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55,
                                         0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55};

static int read_reg(struct board *b, uint32_t addr, int ms, uint8_t *r, size_t cap)
{
    uint8_t d[4];
    t_put32(d, addr);
    return board_cmd(b, 0x0A, d, 4, 0, r, cap, ms);
}

static int start1(struct board *b, const char *chip, const char *fault)
{
    const char *args[] = {"--fault", fault, NULL};
    return board_start(b, chip, args);
}

TEST(silence_after_n_commands)
{
    struct board b;
    uint8_t r[64];
    ASSERT_MSG(start1(&b, "esp32", "silence:after=2") == 0, "%s", b.err);
    ASSERT_EQ_INT(board_sync(&b), 8);
    ASSERT_EQ_INT(read_reg(&b, 0x40001000, REPLY_MS, r, sizeof r), 12);
    ASSERT_EQ_INT(read_reg(&b, 0x40001000, QUIET_MS, r, sizeof r), -1);
    ASSERT_EQ_INT(board_sync(&b), 0);
    ASSERT(simproc_reset(&b.sp, true) == 0); /* a reset brings it back */
    board_drain(&b, NULL, 0, 200);
    ASSERT_EQ_INT(board_sync(&b), 8);
    board_stop(&b);
}

TEST(corrupted_and_dropped_bytes)
{
    struct board b;
    uint8_t raw[64], r[64];
    ASSERT_MSG(start1(&b, "esp32", "corrupt-tx:at=3,xor=0x01") == 0, "%s", b.err);
    board_drain(&b, NULL, 0, 100);
    ASSERT(simproc_send_cmd(b.fd, 0x08, sync_payload, 36, 0) == 0);
    ASSERT_EQ_INT(simproc_read_for(b.fd, raw, 14, REPLY_MS), 14);
    ASSERT_EQ_INT(raw[2], 0x09); /* c0 01 [08^01] ... */
    board_stop(&b);

    ASSERT_MSG(start1(&b, "esp32", "drop-rx:at=2") == 0, "%s", b.err);
    board_drain(&b, NULL, 0, 100);
    ASSERT_EQ_INT(board_cmd(&b, 0x08, sync_payload, 36, 0, r, sizeof r, QUIET_MS), -1);
    ASSERT_EQ_INT(board_sync(&b), 8);
    board_stop(&b);
}

TEST(junk_split_and_repeated_errors)
{
    struct board b;
    uint8_t raw[256], r[64];
    const char *args[] = {"--fault", "junk:cmd=READ_REG,text=garbage\\x00",
                          "--fault", "repeat-error:times=3",
                          "--fault", "split:n=2",
                          NULL};
    ASSERT_MSG(board_start(&b, "esp32", args) == 0, "%s", b.err);
    ASSERT_EQ_INT(board_sync(&b), 8);
    uint8_t d[4];
    t_put32(d, 0x40001000);
    ASSERT(simproc_send_cmd(b.fd, 0x0A, d, 4, 0) == 0);
    size_t n = simproc_read_for(b.fd, raw, 8 + 14, REPLY_MS);
    ASSERT_EQ_INT(n, 22);
    ASSERT_MEMEQ(raw, "garbage", 7);
    ASSERT(raw[8] == 0xc0 && raw[9] == 0x01 && raw[10] == 0x0A);
    ASSERT(simproc_send_cmd(b.fd, 0x14, NULL, 0, 0) == 0);
    int frames = 0;
    while (simproc_read_frame(&b.rd, r, sizeof r, QUIET_MS) == 12 && r[8] == 1 && r[9] == 5) {
        frames++;
    }
    ASSERT_EQ_INT(frames, 3);
    board_stop(&b);
}

TEST(lost_mem_end_reply_still_starts_the_stub)
{
    struct board b;
    uint8_t r[64], code[32];
    memset(code, 0x5A, sizeof code);
    ASSERT_MSG(start1(&b, "esp32", "lose-reply:cmd=MEM_END") == 0, "%s", b.err);
    ASSERT_EQ_INT(board_sync(&b), 8);
    uint32_t begin[4] = {sizeof code, 1, 0x1800, 0x400BE000};
    ASSERT(board_words(&b, 0x05, begin, 4, r, sizeof r) == 12 && r[8] == 0);
    ASSERT(board_data(&b, 0x07, 0, code, sizeof code, r, sizeof r) == 12 && r[8] == 0);
    ASSERT(simproc_send_cmd(b.fd, 0x06, (const uint8_t *)"\0\0\0\0\x00\xe0\x0b\x40", 8, 0) == 0);
    int n = simproc_read_frame(&b.rd, r, sizeof r, REPLY_MS);
    ASSERT_EQ_INT(n, 4);
    ASSERT_MEMEQ(r, "OHAI", 4);
    board_stop(&b);
}

TEST(board_that_never_enters_download_mode)
{
    struct board b;
    char text[1024];
    ASSERT_MSG(start1(&b, "esp32", "no-download") == 0, "%s", b.err);
    board_text_until(&b, text, sizeof text, "boot:0x13", REPLY_MS);
    EXPECT(strstr(text, "boot:0x13 (SPI_FAST_FLASH_BOOT)") != NULL);
    ASSERT(simproc_reset(&b.sp, true) == 0);
    board_text_until(&b, text, sizeof text, "boot:0x13", REPLY_MS);
    EXPECT(strstr(text, "boot:0x13 (SPI_FAST_FLASH_BOOT)") != NULL);
    EXPECT(strstr(text, "waiting for download") == NULL);
    ASSERT_EQ_INT(board_sync(&b), 0);
    board_stop(&b);
}

TEST(brownout_mid_write)
{
    struct board b;
    uint8_t r[64], blk[0x400], back[0x400];
    char text[512];
    memset(blk, 0x00, sizeof blk);
    ASSERT_MSG(start1(&b, "esp32", "brownout:cmd=FLASH_DATA,at=2") == 0, "%s", b.err);
    ASSERT_EQ_INT(board_sync(&b), 8);
    uint32_t attach[2] = {0, 0}, begin[4] = {0x1000, 4, 0x400, 0x10000};
    ASSERT(board_words(&b, 0x0D, attach, 2, r, sizeof r) == 12 && r[8] == 0);
    ASSERT(board_words(&b, 0x02, begin, 4, r, sizeof r) == 12 && r[8] == 0);
    ASSERT(board_data(&b, 0x03, 0, blk, sizeof blk, r, sizeof r) == 12 && r[8] == 0);
    /* Block 1 (seq 1): the power dips half way through. */
    uint8_t d[16 + 0x400] = {0};
    t_put32(d, 0x400);
    t_put32(d + 4, 1);
    ASSERT(simproc_send_cmd(b.fd, 0x03, d, sizeof d, t_checksum(blk, 0x400)) == 0);
    board_text_until(&b, text, sizeof text, "waiting for download",
                     REPLY_MS); /* no reply: a banner */
    ASSERT_CONTAINS(text, "rst:0xf (RTCWDT_BROWN_OUT_RESET),boot:0x3");
    ASSERT_EQ_INT(board_flash(&b, 0x10400, back, sizeof back), 0);
    ASSERT(back[0] == 0x00 && back[0x1FF] == 0x00 && back[0x200] == 0xFF);
    ASSERT_EQ_INT(board_sync(&b), 8); /* a fresh ROM loader */
    board_stop(&b);
}

TEST(slow_erase_sync_lost_and_log)
{
    struct board b;
    uint8_t r[64];
    char log[4096];
    const char *args[] = {"--fault", "slow-erase:ms=300", "--fault", "sync-lost:n=2", NULL};
    ASSERT_MSG(board_start(&b, "esp32", args) == 0, "%s", b.err);
    board_drain(&b, NULL, 0, 100);
    ASSERT_EQ_INT(board_cmd(&b, 0x08, sync_payload, 36, 0, r, sizeof r, QUIET_MS), -1);
    ASSERT_EQ_INT(board_cmd(&b, 0x08, sync_payload, 36, 0, r, sizeof r, QUIET_MS), -1);
    ASSERT_EQ_INT(board_sync(&b), 8);
    uint32_t attach[2] = {0, 0}, begin[4] = {0x2000, 8, 0x400, 0x10000};
    ASSERT(board_words(&b, 0x0D, attach, 2, r, sizeof r) == 12 && r[8] == 0);
    ASSERT(board_words(&b, 0x02, begin, 4, r, sizeof r) == 12 && r[8] == 0);
    ASSERT_EQ_INT(read_reg(&b, 0x40001000, REPLY_MS, r, sizeof r), 12);
    file_text(b.log, log, sizeof log);
    board_stop(&b);
    ASSERT_CONTAINS(log, "SYNC(0x08) lost while autobauding -> no reply");
    ASSERT_CONTAINS(log, "SYNC(0x08) autobaud=115200 -> ok x8");
    ASSERT_CONTAINS(log, "fault: slow erase, 300 ms");
    ASSERT_CONTAINS(log, "FLASH_BEGIN(0x02) size=0x2000 blocks=8 block=0x400 offset=0x10000 -> ok");
    ASSERT_CONTAINS(log, "READ_REG(0x0A) addr=0x40001000 -> ok");
}

TEST(bad_fault_spec_is_a_usage_error)
{
    struct simproc sp;
    char err[256];
    const char *args[] = {"--chip",  "esp32",         "--flash", "/tmp/espsim-never-created",
                          "--fault", "meltdown:at=1", NULL};
    ASSERT(simproc_start(&sp, args, 5000, err, sizeof err) != 0);
    ASSERT_CONTAINS(err, "exited");
    ASSERT(access("/tmp/espsim-never-created", F_OK) != 0);
}

TEST_MAIN(RUN(silence_after_n_commands); RUN(corrupted_and_dropped_bytes);
          RUN(junk_split_and_repeated_errors); RUN(lost_mem_end_reply_still_starts_the_stub);
          RUN(board_that_never_enters_download_mode); RUN(brownout_mid_write);
          RUN(slow_erase_sync_lost_and_log); RUN(bad_fault_spec_is_a_usage_error);)
