/* SLIP framing, checksum, request encoding and reply parsing (esp-protocol.md §1). */
#include "flasher/flasher.h"
#include "test.h"

static const uint8_t sync_wire[46] = {
    0xc0, 0x00, 0x08, 0x24, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x07, 0x12, 0x20, 0x55, 0x55, 0x55,
    0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55,
    0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0xc0};

TEST(checksum_vectors)
{
    uint8_t ff[1024];
    memset(ff, 0xFF, sizeof ff);
    ASSERT_EQ_UINT(fl_checksum(ff, sizeof ff), 0xEF);
    ASSERT_EQ_UINT(fl_checksum((const uint8_t *)"hello", 5), 0x8D);
    const uint8_t zero = 0;
    ASSERT_EQ_UINT(fl_checksum(&zero, 1), 0xEF);
    ASSERT_EQ_UINT(fl_checksum(NULL, 0), 0xEF);
}

TEST(sync_request_on_the_wire)
{
    uint8_t data[36] = {0x07, 0x07, 0x12, 0x20};
    memset(data + 4, 0x55, 32);
    uint8_t req[64], wire[130];
    size_t n = fl_request_encode(FL_OP_SYNC, data, sizeof data, 0, req);
    ASSERT_EQ_INT(n, 44);
    size_t w = fl_slip_encode(req, n, wire);
    ASSERT_EQ_INT(w, 46);
    ASSERT_MEMEQ(wire, sync_wire, 46);
}

TEST(read_reg_request_on_the_wire)
{
    static const uint8_t expect[14] = {0xc0, 0x00, 0x0a, 0x04, 0x00, 0x00, 0x00,
                                       0x00, 0x00, 0x00, 0x10, 0x00, 0x40, 0xc0};
    const uint8_t addr[4] = {0x00, 0x10, 0x00, 0x40};
    uint8_t req[16], wire[40];
    size_t w = fl_slip_encode(req, fl_request_encode(FL_OP_READ_REG, addr, 4, 0, req), wire);
    ASSERT_EQ_INT(w, 14);
    ASSERT_MEMEQ(wire, expect, 14);
}

TEST(escapes_both_ways)
{
    const uint8_t in[] = {0xC0, 0xDB, 0x01, 0xDC, 0xDD};
    const uint8_t expect[] = {0xC0, 0xDB, 0xDC, 0xDB, 0xDD, 0x01, 0xDC, 0xDD, 0xC0};
    uint8_t out[16], buf[16];
    size_t n = fl_slip_encode(in, sizeof in, out);
    ASSERT_EQ_INT(n, sizeof expect);
    ASSERT_MEMEQ(out, expect, n);
    struct fl_slip_decoder d;
    fl_slip_decoder_init(&d, buf, sizeof buf);
    enum fl_slip_event ev;
    size_t used = fl_slip_decode(&d, out, n, &ev);
    ASSERT_EQ_INT(ev, FL_SLIP_FRAME);
    ASSERT_EQ_INT(used, n);
    ASSERT_EQ_INT(d.len, sizeof in);
    ASSERT_MEMEQ(d.buf, in, sizeof in);
}

/* Feeds a stream and records frames and junk counts. */
struct feed_result {
    int frames, bad;
    size_t junk;
    uint8_t last[64];
    size_t last_len;
};

static void feed(const uint8_t *s, size_t n, size_t step, struct feed_result *r)
{
    uint8_t buf[64];
    struct fl_slip_decoder d;
    fl_slip_decoder_init(&d, buf, sizeof buf);
    memset(r, 0, sizeof *r);
    size_t pos = 0;
    while (pos < n) {
        size_t avail = n - pos < step ? n - pos : step;
        enum fl_slip_event ev;
        size_t used = fl_slip_decode(&d, s + pos, avail, &ev);
        if (ev == FL_SLIP_FRAME) {
            r->frames++;
            memcpy(r->last, d.buf, d.len);
            r->last_len = d.len;
        } else if (ev == FL_SLIP_JUNK) {
            r->junk += used;
        } else if (ev == FL_SLIP_BAD) {
            r->bad++;
        }
        pos += used;
    }
}

TEST(junk_and_back_to_back_delimiters)
{
    static const char stream[] = "ets Jan  8 2013,rst cause:2\r\n\xC0\xC0\xC0\x01\x02\xC0"
                                 "abc"
                                 "\xC0\x03\xC0";
    struct feed_result r;
    for (size_t step = 1; step <= 8; step++) {
        feed((const uint8_t *)stream, sizeof stream - 1, step, &r);
        ASSERT_EQ_INT(r.frames, 2);
        ASSERT_EQ_INT(r.bad, 0);
        ASSERT_EQ_INT(r.junk, 29 + 3);
        ASSERT_EQ_INT(r.last_len, 1);
        ASSERT_EQ_UINT(r.last[0], 0x03);
    }
}

TEST(bad_escape_drops_only_that_frame)
{
    const uint8_t s[] = {0xC0, 0x01, 0xDB, 0x02, 0x03, 0xC0, 0xC0, 0x05, 0x06, 0xC0};
    struct feed_result r;
    feed(s, sizeof s, sizeof s, &r);
    ASSERT_EQ_INT(r.bad, 1);
    ASSERT_EQ_INT(r.frames, 1);
    ASSERT_EQ_INT(r.last_len, 2);
    ASSERT_EQ_UINT(r.last[0], 0x05);
}

TEST(oversized_frame_is_dropped)
{
    uint8_t s[200];
    memset(s, 0x11, sizeof s);
    s[0] = 0xC0;
    s[150] = 0xC0;
    s[151] = 0xC0;
    s[152] = 0x42;
    s[153] = 0xC0;
    struct feed_result r;
    feed(s, 154, 7, &r);
    ASSERT_EQ_INT(r.bad, 1);
    ASSERT_EQ_INT(r.frames, 1);
    ASSERT_EQ_UINT(r.last[0], 0x42);
}

TEST(rom_sync_reply_4_byte_status)
{
    const uint8_t f[] = {0x01, 0x08, 0x04, 0x00, 0x07, 0x07, 0x12, 0x20, 0, 0, 0, 0};
    struct fl_reply r;
    ASSERT_EQ_INT(fl_reply_parse(f, sizeof f, 0, &r), FL_OK);
    ASSERT_EQ_UINT(r.op, 0x08);
    ASSERT_EQ_UINT(r.value, 0x20120707);
    ASSERT_EQ_INT(r.data_len, 4);
    ASSERT(!r.failed);
}

TEST(esp8266_sync_reply_2_byte_status)
{
    const uint8_t f[] = {0x01, 0x08, 0x02, 0x00, 0x07, 0x07, 0x12, 0x20, 0, 0};
    struct fl_reply r;
    ASSERT_EQ_INT(fl_reply_parse(f, sizeof f, 0, &r), FL_OK);
    ASSERT_EQ_INT(r.data_len, 2);
    ASSERT(!r.failed);
}

TEST(rom_and_stub_failures)
{
    const uint8_t rom[] = {0x01, 0x0a, 0x04, 0x00, 0, 0, 0, 0, 0x01, 0x05, 0x00, 0x00};
    struct fl_reply r;
    ASSERT_EQ_INT(fl_reply_parse(rom, sizeof rom, 0, &r), FL_OK);
    ASSERT(r.failed);
    ASSERT(!r.stub_code);
    ASSERT_EQ_UINT(r.code, 0x05);
    ASSERT_CONTAINS(fl_status_text(false, r.code), "unsupported");
    const uint8_t stub[] = {0x01, 0x03, 0x02, 0x00, 0, 0, 0, 0, 0xC1, 0x00};
    ASSERT_EQ_INT(fl_reply_parse(stub, sizeof stub, 0, &r), FL_OK);
    ASSERT(r.failed);
    ASSERT(r.stub_code);
    ASSERT_EQ_UINT(r.code, 0xC1);
    ASSERT_STREQ(fl_status_text(true, 0xC1), "bad data checksum");
    ASSERT_STREQ(fl_status_text(false, 0x08), "flash write error (read-back mismatch)");
    ASSERT_CONTAINS(fl_status_text(true, 0x42), "unknown");
}

TEST(payload_then_status_and_short_error)
{
    /* ROM MD5: 32 hex chars then 4 status bytes. */
    uint8_t f[8 + 32 + 4] = {0x01, 0x13, 36, 0};
    memset(f + 8, 'a', 32);
    struct fl_reply r;
    ASSERT_EQ_INT(fl_reply_parse(f, sizeof f, 32, &r), FL_OK);
    ASSERT(!r.failed);
    ASSERT_EQ_INT(r.payload_len, 32);
    /* The same command failing carries only its status. */
    const uint8_t e[] = {0x01, 0x13, 0x04, 0x00, 0, 0, 0, 0, 0x01, 0x06, 0, 0};
    ASSERT_EQ_INT(fl_reply_parse(e, sizeof e, 32, &r), FL_OK);
    ASSERT(r.failed);
    ASSERT_EQ_UINT(r.code, 0x06);
    /* Success without the promised payload is unusable. */
    const uint8_t s[] = {0x01, 0x13, 0x02, 0x00, 0, 0, 0, 0, 0, 0};
    ASSERT_EQ_INT(fl_reply_parse(s, sizeof s, 32, &r), FL_ERR_PROTO);
    /* Trailing bytes after the status are ignored. */
    const uint8_t t[] = {0x01, 0x0a, 0x06, 0x00, 1, 2, 3, 4, 0, 0, 0, 0, 0x99, 0x98};
    ASSERT_EQ_INT(fl_reply_parse(t, sizeof t, 0, &r), FL_OK);
    ASSERT(!r.failed);
    ASSERT_EQ_UINT(r.value, 0x04030201);
}

TEST(non_responses_rejected)
{
    const uint8_t req[] = {0x00, 0x08, 0x02, 0x00, 0, 0, 0, 0, 0, 0};
    const uint8_t shrt[] = {0x01, 0x08, 0x00, 0x00, 0, 0, 0, 0};
    struct fl_reply r;
    ASSERT_EQ_INT(fl_reply_parse(req, sizeof req, 0, &r), FL_ERR_PROTO);
    ASSERT_EQ_INT(fl_reply_parse(shrt, sizeof shrt, 0, &r), FL_ERR_PROTO);
    ASSERT_EQ_INT(fl_reply_parse((const uint8_t *)"OHAI", 4, 0, &r), FL_ERR_PROTO);
}

TEST(names)
{
    ASSERT_STREQ(fl_op_name(FL_OP_FLASH_DEFL_DATA), "FLASH_DEFL_DATA");
    ASSERT_STREQ(fl_op_name(0x77), "?");
    ASSERT_STREQ(fl_strerror(FL_ERR_TIMEOUT), "timeout");
    enum fl_before b;
    enum fl_after a;
    ASSERT(fl_before_parse("no_reset", &b) && b == FL_BEFORE_NO_RESET);
    ASSERT(fl_before_parse("no-reset-no-sync", &b) && b == FL_BEFORE_NO_RESET_NO_SYNC);
    ASSERT(fl_after_parse("no-reset-stub", &a) && a == FL_AFTER_NO_RESET_STUB);
    ASSERT(!fl_after_parse("reboot", &a));
    ASSERT_STREQ(fl_before_name(FL_BEFORE_USB_RESET), "usb-reset");
    enum fl_chip c;
    ASSERT(fl_chip_parse("ESP32-S3", &c) && c == FL_CHIP_ESP32S3);
    ASSERT(fl_chip_parse("esp32c6", &c) && c == FL_CHIP_ESP32C6);
    ASSERT(fl_chip_parse("auto", &c) && c == FL_CHIP_AUTO);
    ASSERT(!fl_chip_parse("esp32p9", &c));
    ASSERT_STREQ(fl_chip_name(FL_CHIP_ESP32H2), "ESP32-H2");
    ASSERT_EQ_UINT(fl_chip_bootloader_offset(FL_CHIP_ESP32), 0x1000);
    ASSERT_EQ_UINT(fl_chip_bootloader_offset(FL_CHIP_ESP32C3), 0x0);
}

TEST_MAIN(RUN(checksum_vectors); RUN(sync_request_on_the_wire); RUN(read_reg_request_on_the_wire);
          RUN(escapes_both_ways); RUN(junk_and_back_to_back_delimiters);
          RUN(bad_escape_drops_only_that_frame); RUN(oversized_frame_is_dropped);
          RUN(rom_sync_reply_4_byte_status); RUN(esp8266_sync_reply_2_byte_status);
          RUN(rom_and_stub_failures); RUN(payload_then_status_and_short_error);
          RUN(non_responses_rejected); RUN(names);)
