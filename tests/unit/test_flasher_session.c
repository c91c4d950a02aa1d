/* Sessions against a small ROM model on a virtual clock: connect, identify,
 * timeouts, stray frames, writes (sparse, compressed, verified), stub, read. */
#include <pthread.h>
#include <stdlib.h>

#include "support/fl_minirom.h"
#include "support/fl_testport.h"
#include "flasher/flasher.h"
#include "test.h"

struct rig {
    struct fl_testport *tp;
    struct minirom *rom;
    struct fl_session s;
    struct fl_options opt;
    int warnings;
    char last_warning[512];
};

static void on_log(void *user, enum fl_log_level level, const char *msg)
{
    struct rig *r = user;
    if (level == FL_LOG_WARN) {
        r->warnings++;
        snprintf(r->last_warning, sizeof r->last_warning, "%s", msg);
    }
}

static struct rig *rig_new(enum fl_chip chip)
{
    struct rig *r = calloc(1, sizeof *r);
    r->tp = fl_testport_new();
    r->rom = malloc(sizeof *r->rom);
    minirom_init(r->rom, r->tp, chip);
    fl_options_init(&r->opt);
    r->opt.connect_attempts = 3;
    return r;
}

static int rig_connect(struct rig *r, struct fl_error *err)
{
    struct fl_hooks hooks = {.user = r, .log = on_log};
    int rc = fl_session_init(&r->s, &r->opt, &hooks, err);
    if (rc != FL_OK) {
        return rc;
    }
    fl_session_use_port(&r->s, &r->tp->base);
    rc = fl_connect(&r->s, err);
    return rc == FL_OK ? fl_detect(&r->s, NULL, err) : rc;
}

static void rig_free(struct rig *r)
{
    fl_session_release(&r->s);
    fl_port_close(&r->tp->base);
    minirom_release(r->rom);
    free(r->rom);
    free(r);
}

static const char stub_json[] = "{\"entry\": 1074855940, \"text\": \"AAECAwQFBgc=\", "
                                "\"text_start\": 1074855936}";

TEST(connect_esp32_rom)
{
    struct rig *r = rig_new(FL_CHIP_ESP32);
    struct fl_error err;
    ASSERT_EQ_INT(rig_connect(r, &err), FL_OK);
    ASSERT_EQ_INT(r->s.info.chip, FL_CHIP_ESP32);
    ASSERT(!r->s.info.stub_running);
    ASSERT(r->s.info.mac_valid);
    ASSERT_EQ_UINT(r->s.info.mac[0], 0x24);
    ASSERT_EQ_UINT(r->s.info.mac[5], 0x56);
    ASSERT_EQ_UINT(r->s.info.flash_size, 1u << 20);
    ASSERT_EQ_UINT(r->s.info.jedec_id, 0x1440EF);
    ASSERT_EQ_UINT(r->s.info.crystal_mhz, 40);
    /* All 7 extra SYNC replies were drained, none mistaken for a later reply. */
    ASSERT_EQ_INT(r->s.stats.frames_skipped, 0);
    ASSERT_EQ_INT(minirom_count(r->rom, FL_OP_SPI_ATTACH), 1);
    ASSERT_EQ_INT(minirom_count(r->rom, FL_OP_SPI_SET_PARAMS), 1);
    rig_free(r);
}

TEST(connect_esp8266_rom_skips_security_info)
{
    struct rig *r = rig_new(FL_CHIP_ESP8266);
    struct fl_error err;
    ASSERT_EQ_INT(rig_connect(r, &err), FL_OK);
    ASSERT_EQ_INT(r->s.info.chip, FL_CHIP_ESP8266);
    ASSERT_EQ_INT(minirom_count(r->rom, FL_OP_GET_SECURITY_INFO), 0);
    ASSERT_EQ_INT(minirom_count(r->rom, FL_OP_SPI_ATTACH), 0);
    ASSERT_EQ_UINT(r->s.info.mac[0], 0x18); /* Espressif OUI 18:FE:34 */
    ASSERT_EQ_UINT(r->s.info.mac[3], 0xCD);
    ASSERT_EQ_UINT(r->s.info.mac[5], 0xAB);
    ASSERT_EQ_UINT(r->s.info.crystal_mhz, 40);
    rig_free(r);
}

TEST(connect_by_security_info_chip_id)
{
    struct rig *r = rig_new(FL_CHIP_ESP32C3);
    r->rom->magic = 0x12345678; /* an ECO the magic table does not know */
    struct fl_error err;
    ASSERT_EQ_INT(rig_connect(r, &err), FL_OK);
    ASSERT_EQ_INT(r->s.info.chip, FL_CHIP_ESP32C3);
    ASSERT(r->s.info.has_security_info);
    rig_free(r);
}

TEST(wrong_chip_option_is_refused)
{
    struct rig *r = rig_new(FL_CHIP_ESP32);
    r->opt.chip = FL_CHIP_ESP8266;
    struct fl_error err;
    ASSERT_EQ_INT(rig_connect(r, &err), FL_ERR_INVALID);
    ASSERT_CONTAINS(err.msg, "this board is an ESP32, not the ESP8266");
    rig_free(r);
}

TEST(lost_syncs_are_retried)
{
    struct rig *r = rig_new(FL_CHIP_ESP32);
    r->rom->drop_syncs = 7; /* more than one round of five */
    struct fl_error err;
    ASSERT_EQ_INT(rig_connect(r, &err), FL_OK);
    ASSERT_EQ_INT(minirom_count(r->rom, FL_OP_SYNC), 8);
    ASSERT(r->tp->line_changes > 0);
    rig_free(r);
}

TEST(wrong_boot_mode_is_diagnosed)
{
    struct rig *r = rig_new(FL_CHIP_ESP32);
    r->rom->drop_syncs = 1000;
    r->rom->boot_text = "ets Jul 29 2019 12:21:46\r\n\r\nrst:0x1 (POWERON_RESET),boot:0x13 "
                        "(SPI_FAST_FLASH_BOOT)\r\nflash read err, 1000\r\n";
    struct fl_error err;
    ASSERT_EQ_INT(rig_connect(r, &err), FL_ERR_TIMEOUT);
    ASSERT_CONTAINS(err.msg, "wrong boot mode detected (0x13)");
    ASSERT_CONTAINS(err.hint, "BOOT");
    ASSERT(r->s.stats.junk_bytes > 0);
    rig_free(r);
}

TEST(download_mode_without_answers_is_diagnosed)
{
    struct rig *r = rig_new(FL_CHIP_ESP32);
    r->rom->drop_syncs = 1000;
    r->rom->boot_text = "rst:0x1 (POWERON_RESET),boot:0x3 (DOWNLOAD_BOOT(UART0/UART1/SDIO_"
                        "REI_REO_V2))\r\nwaiting for download\r\n";
    struct fl_error err;
    ASSERT_EQ_INT(rig_connect(r, &err), FL_ERR_TIMEOUT);
    ASSERT_CONTAINS(err.msg, "waits for download but never answered");
    rig_free(r);
}

TEST(port_without_lines_warns_once_and_still_syncs)
{
    struct rig *r = rig_new(FL_CHIP_ESP32);
    r->tp->lines = false;
    r->tp->base.has_lines = false;
    struct fl_error err;
    ASSERT_EQ_INT(rig_connect(r, &err), FL_OK);
    ASSERT_EQ_INT(r->warnings, 1);
    ASSERT_CONTAINS(r->last_warning, "cannot drive DTR/RTS");
    rig_free(r);
}

TEST(silence_without_lines_says_what_to_do)
{
    struct rig *r = rig_new(FL_CHIP_ESP32);
    r->tp->lines = false;
    r->tp->base.has_lines = false;
    r->rom->dead = true;
    struct fl_error err;
    ASSERT_EQ_INT(rig_connect(r, &err), FL_ERR_TIMEOUT);
    ASSERT_CONTAINS(err.msg, "no serial data received");
    ASSERT_CONTAINS(err.hint, "--before no-reset");
    rig_free(r);
}

TEST(silent_board_times_out_on_the_virtual_clock)
{
    struct rig *r = rig_new(FL_CHIP_ESP32);
    struct fl_error err;
    ASSERT_EQ_INT(rig_connect(r, &err), FL_OK);
    r->rom->dead = true;
    int64_t t0 = r->tp->now;
    uint8_t md5[16];
    ASSERT_EQ_INT(fl_flash_md5(&r->s, 0, 4096, md5, &err), FL_ERR_TIMEOUT);
    ASSERT_CONTAINS(err.msg, "no reply to SPI_FLASH_MD5 within 3000 ms");
    ASSERT(r->tp->now - t0 >= 3000 && r->tp->now - t0 < 3100);
    ASSERT_EQ_UINT(err.opcode, FL_OP_SPI_FLASH_MD5);
    rig_free(r);
}

/* Where a never-ending stream stops (virtual ms after the test starts). */
#define BABBLE_STOP 60000

static void babble(struct rig *r, const uint8_t *bytes, size_t len)
{
    r->tp->babble = bytes;
    r->tp->babble_len = len;
    r->tp->babble_every_ms = 1;
    r->tp->babble_until = r->tp->now + BABBLE_STOP;
}

TEST(endless_junk_does_not_outlast_the_deadline)
{
    struct rig *r = rig_new(FL_CHIP_ESP32);
    struct fl_error err;
    ASSERT_EQ_INT(rig_connect(r, &err), FL_OK);
    r->rom->dead = true;
    static const uint8_t junk[] = "\x1b[0;32mI (2032) app: tick\r\n";
    babble(r, junk, sizeof junk - 1);
    int64_t t0 = r->tp->now;
    uint8_t md5[16];
    ASSERT_EQ_INT(fl_flash_md5(&r->s, 0, 4096, md5, &err), FL_ERR_TIMEOUT);
    ASSERT_CONTAINS(err.msg, "no reply to SPI_FLASH_MD5 within 3000 ms");
    ASSERT_MSG(r->tp->now - t0 >= 3000 && r->tp->now - t0 < 3100, "timed out after %lld ms",
               (long long)(r->tp->now - t0));
    ASSERT(r->s.stats.junk_bytes > 1000);
    rig_free(r);
}

TEST(endless_unwanted_frames_do_not_outlast_the_deadline)
{
    struct rig *r = rig_new(FL_CHIP_ESP32);
    struct fl_error err;
    ASSERT_EQ_INT(rig_connect(r, &err), FL_OK);
    r->rom->dead = true;
    /* A well-formed READ_REG reply, over and over, while MD5 waits. */
    const uint8_t reply[] = {0x01, FL_OP_READ_REG, 4, 0, 0x83, 0x1D, 0xF0, 0, 0, 0, 0, 0};
    uint8_t wire[2 * sizeof reply + 2];
    size_t n = fl_slip_encode(reply, sizeof reply, wire);
    babble(r, wire, n);
    uint64_t skipped = r->s.stats.frames_skipped;
    int64_t t0 = r->tp->now;
    uint8_t md5[16];
    ASSERT_EQ_INT(fl_flash_md5(&r->s, 0, 4096, md5, &err), FL_ERR_TIMEOUT);
    ASSERT_MSG(r->tp->now - t0 >= 3000 && r->tp->now - t0 < 3100, "timed out after %lld ms",
               (long long)(r->tp->now - t0));
    ASSERT(r->s.stats.frames_skipped - skipped > 1000);
    rig_free(r);
}

TEST(connecting_to_a_board_that_never_stops_printing_ends)
{
    struct rig *r = rig_new(FL_CHIP_ESP32);
    r->rom->drop_syncs = 1000;
    static const uint8_t text[] = "Guru Meditation Error: Core 0 panic'ed. Rebooting...\r\n";
    babble(r, text, sizeof text - 1);
    int64_t t0 = r->tp->now;
    struct fl_error err;
    ASSERT_EQ_INT(rig_connect(r, &err), FL_ERR_TIMEOUT);
    ASSERT_CONTAINS(err.msg, "not in download mode; it prints");
    /* 3 rounds of a reset (<= 0.7 s) and five 100 ms SYNC waits. */
    ASSERT_MSG(r->tp->now - t0 < 3 * 1300, "gave up after %lld ms", (long long)(r->tp->now - t0));
    rig_free(r);
}

TEST(stray_frames_and_junk_are_skipped)
{
    struct rig *r = rig_new(FL_CHIP_ESP32);
    struct fl_error err;
    ASSERT_EQ_INT(rig_connect(r, &err), FL_OK);
    fl_testport_push(r->tp, (const uint8_t *)"garbage\r\n", 9, 0);
    fl_testport_push_reply(r->tp, FL_OP_SYNC, 0x20120707, NULL, 0, 4, 0, 0, 0);
    const uint8_t bad[] = {0xC0, 0x01, 0xDB, 0x00, 0xC0};
    fl_testport_push(r->tp, bad, sizeof bad, 0);
    r->tp->max_read = 3; /* and every read returns at most 3 bytes */
    uint8_t md5[16];
    ASSERT_EQ_INT(fl_flash_md5(&r->s, 0, 4096, md5, &err), FL_OK);
    ASSERT_EQ_INT(r->s.stats.frames_skipped, 1);
    ASSERT_EQ_INT(r->s.stats.frames_bad, 1);
    ASSERT(r->s.stats.junk_bytes >= 9);
    rig_free(r);
}

static uint8_t *pattern(size_t len, unsigned seed)
{
    uint8_t *d = malloc(len);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        d[i] = (uint8_t)x;
    }
    return d;
}

TEST(esp32_rom_sparse_compressed_write)
{
    struct rig *r = rig_new(FL_CHIP_ESP32);
    struct fl_error err;
    ASSERT_EQ_INT(rig_connect(r, &err), FL_OK);
    size_t len = 512 * 1024;
    uint8_t *img = malloc(len);
    memset(img, 0xFF, len);
    uint8_t *rnd = pattern(20000, 1);
    memcpy(img, rnd, 20000);
    memcpy(img + len - 5000, rnd, 5000);
    memset(r->rom->flash + 0x40000, 0x00, 4096); /* old data inside: must be erased */
    struct fl_region reg = {0x20000, img, len};
    struct fl_region_result res;
    ASSERT_EQ_INT(fl_write_regions(&r->s, &reg, 1, &res, &err), FL_OK);
    ASSERT_MEMEQ(r->rom->flash + 0x20000, img, len);
    ASSERT(res.compressed);
    ASSERT_EQ_INT(res.verify, FL_VERIFY_MD5);
    ASSERT(res.sent < 30000);
    ASSERT(res.sent > 20000);
    ASSERT_EQ_INT(minirom_count(r->rom, FL_OP_FLASH_DATA), 0);
    free(rnd);
    free(img);
    rig_free(r);
}

TEST(esp8266_rom_write_keeps_neighbours)
{
    struct rig *r = rig_new(FL_CHIP_ESP8266);
    struct fl_error err;
    ASSERT_EQ_INT(rig_connect(r, &err), FL_OK);
    /* 3 sectors at sector 1 with a hole: the last item is odd-sized and
     * would make the ROM erase sector 4 too. */
    size_t len = 3 * 4096;
    uint8_t *img = pattern(len, 2);
    memset(img + 4096, 0xFF, 4096);
    memset(r->rom->flash + 4 * 4096, 0x5A, 4096); /* the neighbour */
    struct fl_region reg = {0x1000, img, len};
    struct fl_region_result res;
    ASSERT_EQ_INT(fl_write_regions(&r->s, &reg, 1, &res, &err), FL_OK);
    ASSERT_MEMEQ(r->rom->flash + 0x1000, img, len);
    ASSERT_EQ_UINT(r->rom->flash[4 * 4096], 0x5A);
    ASSERT_EQ_UINT(r->rom->flash[5 * 4096 - 1], 0x5A);
    ASSERT_EQ_INT(res.verify, FL_VERIFY_UNAVAILABLE);
    ASSERT(!res.compressed);
    free(img);
    rig_free(r);
}

TEST(checksum_error_is_retried)
{
    struct rig *r = rig_new(FL_CHIP_ESP32);
    r->opt.no_compress = true;
    struct fl_error err;
    ASSERT_EQ_INT(rig_connect(r, &err), FL_OK);
    r->rom->corrupt_data_once = 3;
    uint8_t *img = pattern(8192, 3);
    struct fl_region reg = {0x8000, img, 8192};
    struct fl_region_result res;
    ASSERT_EQ_INT(fl_write_regions(&r->s, &reg, 1, &res, &err), FL_OK);
    ASSERT_EQ_INT(r->s.stats.retries, 1);
    ASSERT_MEMEQ(r->rom->flash + 0x8000, img, 8192);
    free(img);
    rig_free(r);
}

TEST(compressed_block_timeout_follows_inflated_size)
{
    struct rig *r = rig_new(FL_CHIP_ESP32);
    struct fl_error err;
    ASSERT_EQ_INT(rig_connect(r, &err), FL_OK);
    /* 512 KiB of one byte: a few compressed blocks that each expand to a lot;
     * the model takes 20 ms per KiB written, far past a flat 3 s. */
    size_t len = 512 * 1024;
    uint8_t *img = malloc(len);
    memset(img, 0x11, len);
    r->rom->delay_per_kib_ms = 20;
    struct fl_region reg = {0, img, len};
    struct fl_region_result res;
    ASSERT_EQ_INT(fl_write_regions(&r->s, &reg, 1, &res, &err), FL_OK);
    ASSERT_MEMEQ(r->rom->flash, img, len);
    free(img);
    rig_free(r);
}

TEST(skip_unchanged_and_sector_sharing)
{
    struct rig *r = rig_new(FL_CHIP_ESP32);
    r->opt.skip_unchanged = true;
    struct fl_error err;
    ASSERT_EQ_INT(rig_connect(r, &err), FL_OK);
    uint8_t *img = pattern(10000, 4);
    struct fl_region reg = {0x3000, img, 10000};
    struct fl_region_result res;
    ASSERT_EQ_INT(fl_write_regions(&r->s, &reg, 1, &res, &err), FL_OK);
    ASSERT_EQ_INT(res.verify, FL_VERIFY_MD5);
    size_t begins = minirom_count(r->rom, FL_OP_FLASH_DEFL_BEGIN);
    ASSERT_EQ_INT(fl_write_regions(&r->s, &reg, 1, &res, &err), FL_OK);
    ASSERT_EQ_INT(res.verify, FL_VERIFY_UNCHANGED);
    ASSERT_EQ_INT(minirom_count(r->rom, FL_OP_FLASH_DEFL_BEGIN), begins);
    struct fl_region two[2] = {{0x3000, img, 10000}, {0x5800, img, 100}};
    struct fl_region_result res2[2];
    ASSERT_EQ_INT(fl_write_regions(&r->s, two, 2, res2, &err), FL_ERR_INVALID);
    ASSERT_CONTAINS(err.msg, "share the sector at 0x00005000");
    struct fl_region big = {0xF0000, img, 0x20000};
    ASSERT_EQ_INT(fl_write_regions(&r->s, &big, 1, &res, &err), FL_ERR_INVALID);
    ASSERT_CONTAINS(err.msg, "beyond the end of the 1024 KiB flash");
    free(img);
    rig_free(r);
}

TEST(image_for_another_chip_needs_force)
{
    struct rig *r = rig_new(FL_CHIP_ESP32C3);
    struct fl_error err;
    ASSERT_EQ_INT(rig_connect(r, &err), FL_OK);
    FILE *f = fopen("profiles/firmware/demo-esp32-app.bin", "rb");
    ASSERT(f != NULL);
    uint8_t *img = malloc(200000);
    size_t len = fread(img, 1, 200000, f);
    fclose(f);
    struct fl_region reg = {0x10000, img, len};
    struct fl_region_result res;
    ASSERT_EQ_INT(fl_write_regions(&r->s, &reg, 1, &res, &err), FL_ERR_INVALID);
    ASSERT_CONTAINS(err.msg,
                    "built for ESP32 (extended header chip id 0); this board is an ESP32-C3");
    r->s.opt.force = true;
    ASSERT_EQ_INT(fl_write_regions(&r->s, &reg, 1, &res, &err), FL_OK);
    free(img);
    rig_free(r);
}

TEST(bootloader_header_patched_at_its_offset)
{
    struct rig *r = rig_new(FL_CHIP_ESP32);
    r->opt.flash_mode = FL_MODE_QIO;
    r->opt.flash_size = FL_PARAM_DETECT;
    struct fl_error err;
    ASSERT_EQ_INT(rig_connect(r, &err), FL_OK);
    FILE *f = fopen("profiles/firmware/demo-esp32-bootloader.bin", "rb");
    ASSERT(f != NULL);
    uint8_t *img = malloc(100000);
    size_t len = fread(img, 1, 100000, f);
    fclose(f);
    struct fl_region reg = {0x1000, img, len};
    struct fl_region_result res;
    ASSERT_EQ_INT(fl_write_regions(&r->s, &reg, 1, &res, &err), FL_OK);
    ASSERT(res.patched);
    ASSERT_EQ_UINT(img[2], 0x02); /* the caller's buffer is untouched */
    ASSERT_EQ_UINT(r->rom->flash[0x1002], 0x00);
    ASSERT_EQ_UINT(r->rom->flash[0x1003], 0x00); /* 1MB, 40m */
    struct fl_image_info info;
    ASSERT_EQ_INT(fl_image_parse(r->rom->flash + 0x1000, len, FL_CHIP_ESP32, &info, &err), FL_OK);
    ASSERT(info.valid);
    free(img);
    rig_free(r);
}

TEST(stub_upload_write_read_erase)
{
    struct rig *r = rig_new(FL_CHIP_ESP8266);
    struct fl_stub stub;
    struct fl_error err;
    ASSERT_EQ_INT(fl_stub_parse(stub_json, sizeof stub_json - 1, &stub, &err), FL_OK);
    r->opt.stub = &stub;
    r->opt.baud = 460800;
    ASSERT_EQ_INT(rig_connect(r, &err), FL_OK);
    ASSERT(r->s.info.stub_running);
    ASSERT_EQ_UINT(r->tp->base.baud, 460800);
    size_t len = 100000;
    uint8_t *img = pattern(len, 5);
    struct fl_region reg = {0x10000, img, len};
    struct fl_region_result res;
    ASSERT_EQ_INT(fl_write_regions(&r->s, &reg, 1, &res, &err), FL_OK);
    ASSERT_EQ_INT(res.verify, FL_VERIFY_MD5);
    ASSERT_MEMEQ(r->rom->flash + 0x10000, img, len);
    ASSERT_EQ_INT(minirom_count(r->rom, FL_OP_FLASH_DATA), (len + 16383) / 16384);
    uint8_t *back = malloc(len);
    ASSERT_EQ_INT(fl_read(&r->s, 0x10000, back, len, &err), FL_OK);
    ASSERT_MEMEQ(back, img, len);
    ASSERT_EQ_INT(fl_erase_region(&r->s, 0x10000, 0x1000, &err), FL_OK);
    ASSERT_EQ_UINT(r->rom->flash[0x10000], 0xFF);
    ASSERT_EQ_UINT(r->rom->flash[0x11000], img[0x1000]);
    ASSERT_EQ_INT(fl_erase_chip(&r->s, &err), FL_OK);
    ASSERT_EQ_UINT(r->rom->flash[0x11000], 0xFF);
    free(back);
    free(img);
    fl_stub_release(&stub);
    rig_free(r);
}

static struct rig *stub_rig(struct fl_stub *stub)
{
    struct rig *r = rig_new(FL_CHIP_ESP32);
    struct fl_error err;
    if (fl_stub_parse(stub_json, sizeof stub_json - 1, stub, &err) != FL_OK) {
        return NULL;
    }
    r->opt.stub = stub;
    r->opt.no_compress = true;
    return r;
}

TEST(stub_write_error_is_retried_once)
{
    struct fl_stub stub;
    struct rig *r = stub_rig(&stub);
    struct fl_error err;
    ASSERT(r != NULL);
    ASSERT_EQ_INT(rig_connect(r, &err), FL_OK);
    r->rom->data_blocks = 0;
    r->rom->stub_fail_block = 2;
    uint8_t *img = pattern(5 * 16384, 6);
    struct fl_region reg = {0, img, 5 * 16384};
    struct fl_region_result res;
    ASSERT_EQ_INT(fl_write_regions(&r->s, &reg, 1, &res, &err), FL_OK);
    ASSERT_EQ_INT(r->s.stats.retries, 1);
    ASSERT_CONTAINS(r->last_warning, "one block late");
    ASSERT_MEMEQ(r->rom->flash, img, 5 * 16384);
    free(img);
    fl_stub_release(&stub);
    rig_free(r);
}

TEST(stub_write_error_that_persists_is_reported)
{
    struct fl_stub stub;
    struct rig *r = stub_rig(&stub);
    struct fl_error err;
    ASSERT(r != NULL);
    ASSERT_EQ_INT(rig_connect(r, &err), FL_OK);
    r->rom->data_blocks = 0;
    r->rom->stub_fail_block = 2;
    r->rom->stub_fail_persist = true;
    uint8_t *img = pattern(5 * 16384, 6);
    struct fl_region reg = {0, img, 5 * 16384};
    struct fl_region_result res;
    ASSERT_EQ_INT(fl_write_regions(&r->s, &reg, 1, &res, &err), FL_ERR_ROM);
    ASSERT_CONTAINS(err.msg, "SPI flash operation failed");
    ASSERT_CONTAINS(err.msg, "one block late");
    ASSERT_EQ_UINT(err.status[0], 0xC4);
    free(img);
    fl_stub_release(&stub);
    rig_free(r);
}

TEST(rom_read_and_limits)
{
    struct rig *r = rig_new(FL_CHIP_ESP32);
    struct fl_error err;
    ASSERT_EQ_INT(rig_connect(r, &err), FL_OK);
    uint8_t *img = pattern(300, 7);
    memcpy(r->rom->flash + 0x777, img, 300);
    uint8_t back[300];
    ASSERT_EQ_INT(fl_read(&r->s, 0x777, back, 300, &err), FL_OK);
    ASSERT_MEMEQ(back, img, 300);
    ASSERT_EQ_INT(fl_erase_chip(&r->s, &err), FL_ERR_UNSUPPORTED);
    ASSERT_CONTAINS(err.hint, "--stub");
    ASSERT_EQ_INT(fl_erase_region(&r->s, 0x1001, 0x1000, &err), FL_ERR_INVALID);
    ASSERT_EQ_INT(fl_erase_region(&r->s, 0x2000, 0x2000, &err), FL_OK);
    ASSERT_EQ_INT(fl_verify(&r->s, 0x777, img, 300, &err), FL_OK);
    img[5] ^= 1;
    ASSERT_EQ_INT(fl_verify(&r->s, 0x777, img, 300, &err), FL_ERR_VERIFY);
    ASSERT_CONTAINS(err.msg, "does not match");
    free(img);
    rig_free(r);
}

TEST(esp8266_rom_cannot_read_or_md5)
{
    struct rig *r = rig_new(FL_CHIP_ESP8266);
    struct fl_error err;
    ASSERT_EQ_INT(rig_connect(r, &err), FL_OK);
    uint8_t buf[16];
    ASSERT_EQ_INT(fl_read(&r->s, 0, buf, 16, &err), FL_ERR_UNSUPPORTED);
    ASSERT_CONTAINS(err.hint, "--stub");
    ASSERT_EQ_INT(fl_flash_md5(&r->s, 0, 16, buf, &err), FL_ERR_UNSUPPORTED);
    ASSERT_EQ_INT(fl_change_baud(&r->s, 921600, &err), FL_ERR_UNSUPPORTED);
    rig_free(r);
}

TEST(cancel_stops_between_blocks)
{
    struct rig *r = rig_new(FL_CHIP_ESP32);
    atomic_bool cancel = true;
    struct fl_error err;
    struct fl_hooks hooks = {.user = r, .log = on_log, .cancel = &cancel};
    ASSERT_EQ_INT(fl_session_init(&r->s, &r->opt, &hooks, &err), FL_OK);
    fl_session_use_port(&r->s, &r->tp->base);
    ASSERT_EQ_INT(fl_connect(&r->s, &err), FL_ERR_CANCELLED);
    rig_free(r);
}

struct worker {
    enum fl_chip chip;
    unsigned seed;
    int rc;
    bool bytes_ok;
};

/* One board per thread, nothing shared: what the provisioning layer does. */
static void *flash_one(void *arg)
{
    struct worker *wk = arg;
    struct rig *r = rig_new(wk->chip);
    struct fl_error err;
    size_t len = 200000;
    uint8_t *img = pattern(len, wk->seed);
    memset(img + 50000, 0xFF, 100000);
    wk->rc = rig_connect(r, &err);
    if (wk->rc == FL_OK) {
        struct fl_region reg = {0x10000, img, len};
        struct fl_region_result res;
        wk->rc = fl_write_regions(&r->s, &reg, 1, &res, &err);
        wk->bytes_ok = memcmp(r->rom->flash + 0x10000, img, len) == 0;
    }
    free(img);
    rig_free(r);
    return NULL;
}

TEST(parallel_sessions_in_threads)
{
    static const enum fl_chip chips[] = {FL_CHIP_ESP32, FL_CHIP_ESP8266, FL_CHIP_ESP32C3,
                                         FL_CHIP_ESP32};
    pthread_t th[4];
    struct worker wk[4];
    for (int i = 0; i < 4; i++) {
        wk[i] = (struct worker){.chip = chips[i], .seed = 100 + (unsigned)i};
        ASSERT(pthread_create(&th[i], NULL, flash_one, &wk[i]) == 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
    }
    for (int i = 0; i < 4; i++) {
        ASSERT_MSG(wk[i].rc == FL_OK, "board %d: rc %d", i, wk[i].rc);
        ASSERT_MSG(wk[i].bytes_ok, "board %d: flash differs", i);
    }
}

TEST_MAIN(RUN(connect_esp32_rom); RUN(connect_esp8266_rom_skips_security_info);
          RUN(connect_by_security_info_chip_id); RUN(wrong_chip_option_is_refused);
          RUN(lost_syncs_are_retried); RUN(wrong_boot_mode_is_diagnosed);
          RUN(download_mode_without_answers_is_diagnosed);
          RUN(port_without_lines_warns_once_and_still_syncs);
          RUN(silence_without_lines_says_what_to_do);
          RUN(silent_board_times_out_on_the_virtual_clock);
          RUN(endless_junk_does_not_outlast_the_deadline);
          RUN(endless_unwanted_frames_do_not_outlast_the_deadline);
          RUN(connecting_to_a_board_that_never_stops_printing_ends);
          RUN(stray_frames_and_junk_are_skipped); RUN(esp32_rom_sparse_compressed_write);
          RUN(esp8266_rom_write_keeps_neighbours); RUN(checksum_error_is_retried);
          RUN(compressed_block_timeout_follows_inflated_size);
          RUN(skip_unchanged_and_sector_sharing); RUN(image_for_another_chip_needs_force);
          RUN(bootloader_header_patched_at_its_offset); RUN(stub_upload_write_read_erase);
          RUN(stub_write_error_is_retried_once); RUN(stub_write_error_that_persists_is_reported);
          RUN(rom_read_and_limits); RUN(esp8266_rom_cannot_read_or_md5);
          RUN(cancel_stops_between_blocks); RUN(parallel_sessions_in_threads);)
