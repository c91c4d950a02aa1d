#include "fl_minirom.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int slen(const struct minirom *m)
{
    return m->stub ? 2 : m->status_len;
}

static void ok(struct minirom *m, uint8_t op, uint32_t value, const uint8_t *p, size_t n)
{
    fl_testport_push_reply(m->tp, op, value, p, n, slen(m), 0, 0, m->reply_delay_ms);
}

static void fail(struct minirom *m, uint8_t op, uint8_t code)
{
    if (m->stub) {
        fl_testport_push_reply(m->tp, op, 0, NULL, 0, 2, code, 0, m->reply_delay_ms);
    } else {
        fl_testport_push_reply(m->tp, op, 0, NULL, 0, m->status_len, 1, code, m->reply_delay_ms);
    }
}

static void program(struct minirom *m, uint32_t addr, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n && addr + i < MINIROM_FLASH; i++) {
        m->flash[addr + i] &= p[i]; /* NOR flash: programming only clears bits */
    }
}

static void erase(struct minirom *m, uint32_t addr, uint32_t size)
{
    uint32_t start = addr / 4096, n = (size + 4095) / 4096;
    if (m->chip == FL_CHIP_ESP8266 && !m->stub) {
        uint32_t t = 16 - start % 16;
        n = (n < t ? n : t) + n; /* the ROM's erase-size bug */
    }
    for (uint32_t s = start; s < start + n && s < MINIROM_FLASH / 4096; s++) {
        memset(m->flash + s * 4096, 0xFF, 4096);
    }
}

static uint32_t reg_read(struct minirom *m, uint32_t addr)
{
    if (addr == 0x40001000) {
        return m->magic;
    }
    for (size_t i = 0; i < m->nregs; i++) {
        if (m->regs_addr[i] == addr) {
            return m->regs_val[i];
        }
    }
    switch (addr) {
    case 0x3FF5A004: /* ESP32 MAC words */
        return 0xC4123456;
    case 0x3FF5A008:
        return 0x0000240A;
    case 0x3FF00050: /* ESP8266 MAC0/1/3 */
        return 0xAB000000;
    case 0x3FF00054:
        return 0x0000CDEF;
    case 0x3FF0005C:
        return 0;
    case 0x3FF40014:
    case 0x60000014: /* UART_CLKDIV for 40 MHz (26 MHz / 2 on ESP8266) at 115200 */
        return m->chip == FL_CHIP_ESP8266 ? 694 : 347;
    default:
        return 0;
    }
}

static void reg_write(struct minirom *m, uint32_t addr, uint32_t value)
{
    uint32_t spi_base = m->chip == FL_CHIP_ESP8266 ? 0x60000200
                        : m->chip == FL_CHIP_ESP32 ? 0x3FF42000
                                                   : 0x60002000;
    uint32_t w0 = m->chip == FL_CHIP_ESP8266 ? 0x40 : m->chip == FL_CHIP_ESP32 ? 0x80 : 0x58;
    if (addr == spi_base && (value & (1u << 18))) {
        value = 0; /* command done at once; the id lands in W0 */
        for (size_t i = 0; i < m->nregs; i++) {
            if (m->regs_addr[i] == spi_base + w0) {
                m->regs_val[i] = m->jedec;
            }
        }
    }
    for (size_t i = 0; i < m->nregs; i++) {
        if (m->regs_addr[i] == addr) {
            m->regs_val[i] = value;
            return;
        }
    }
    if (m->nregs < 64) {
        m->regs_addr[m->nregs] = addr;
        m->regs_val[m->nregs++] = value;
    }
}

static void md5_reply(struct minirom *m, uint32_t addr, uint32_t len)
{
    uint8_t d[16];
    unsigned n;
    EVP_Digest(m->flash + addr, len, d, &n, EVP_md5(), NULL);
    if (m->stub) {
        ok(m, 0x13, 0, d, 16);
        return;
    }
    char hex[33];
    for (int i = 0; i < 16; i++) {
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    }
    ok(m, 0x13, 0, (const uint8_t *)hex, 32);
}

static void read_packet(struct minirom *m)
{
    if (m->r_sent < m->r_len) {
        uint32_t n = m->r_len - m->r_sent < 4096 ? m->r_len - m->r_sent : 4096;
        fl_testport_push_frame(m->tp, m->flash + m->r_addr + m->r_sent, n, 1);
        m->r_sent += n;
        return;
    }
    uint8_t d[16];
    unsigned n;
    EVP_Digest(m->flash + m->r_addr, m->r_len, d, &n, EVP_md5(), NULL);
    fl_testport_push_frame(m->tp, d, 16, 1);
    m->r_active = false;
}

static void data_block(struct minirom *m, uint8_t op, const uint8_t *f, size_t len)
{
    const uint8_t *d = f + 8;
    uint32_t n = le32(d), seq = le32(d + 4);
    uint8_t chk = 0xEF;
    for (uint32_t i = 0; i < n && 24 + i < len; i++) {
        chk ^= f[24 + i];
    }
    m->data_blocks++;
    if (m->corrupt_data_once > 0 && --m->corrupt_data_once == 0) {
        fail(m, op, m->stub ? 0xC1 : 0x07);
        return;
    }
    if (n + 24 != len || chk != f[4]) {
        fail(m, op, m->stub ? 0xC1 : 0x07);
        return;
    }
    if (op == FL_OP_MEM_DATA) {
        ok(m, op, 0, NULL, 0);
        return;
    }
    uint32_t before = m->w_written;
    if (op == FL_OP_FLASH_DATA) {
        program(m, m->w_addr + seq * m->w_bs, d + 16, n);
        m->w_written += n;
    } else {
        uint8_t out[4096];
        m->zs.next_in = (Bytef *)(uintptr_t)(d + 16);
        m->zs.avail_in = n;
        int zrc;
        do {
            m->zs.next_out = out;
            m->zs.avail_out = sizeof out;
            zrc = inflate(&m->zs, Z_NO_FLUSH);
            size_t got = sizeof out - m->zs.avail_out;
            program(m, m->w_addr + m->w_written, out, got);
            m->w_written += (uint32_t)got;
        } while (zrc == Z_OK && m->zs.avail_out == 0);
        if (zrc != Z_OK && zrc != Z_STREAM_END && zrc != Z_BUF_ERROR) {
            fail(m, op, m->stub ? 0xC7 : 0x0B);
            return;
        }
    }
    uint32_t fb = (uint32_t)m->stub_fail_block + 1;
    if (m->stub && m->stub_fail_block > 0 &&
        (m->data_blocks == fb || (m->stub_fail_persist && m->data_blocks > fb))) {
        fail(m, op, 0xC4); /* the previous block's write failed: reported now */
        return;
    }
    int delay = m->delay_per_kib_ms * (int)((m->w_written - before) / 1024);
    fl_testport_push_reply(m->tp, op, 0, NULL, 0, slen(m), 0, 0, m->reply_delay_ms + delay);
}

static void handle(struct minirom *m, const uint8_t *f, size_t len)
{
    if (m->stub && m->r_active && len == 4) {
        read_packet(m); /* an ACK of the last packet */
        return;
    }
    if (len < 8 || f[0] != 0) {
        return;
    }
    uint8_t op = f[1];
    const uint8_t *d = f + 8;
    if (m->nops < sizeof m->ops) {
        m->ops[m->nops++] = op;
    }
    switch (op) {
    case FL_OP_SYNC:
        if (m->drop_syncs > 0) {
            m->drop_syncs--;
            return;
        }
        for (int i = 0; i < 8; i++) {
            ok(m, op, m->stub ? 0 : 0x20120707, NULL, 0);
        }
        return;
    case FL_OP_READ_REG:
        ok(m, op, reg_read(m, le32(d)), NULL, 0);
        return;
    case FL_OP_WRITE_REG:
        reg_write(m, le32(d), le32(d + 4));
        ok(m, op, 0, NULL, 0);
        return;
    case FL_OP_GET_SECURITY_INFO:
        if (m->sec_chip_id < 0) {
            fail(m, op, m->stub ? 0xC3 : 0x05);
        } else {
            uint8_t p[20] = {0};
            p[12] = (uint8_t)m->sec_chip_id;
            ok(m, op, 0, p, 20);
        }
        return;
    case FL_OP_SPI_ATTACH:
        if ((m->stub && len != 12) || (!m->stub && len != 16)) {
            fail(m, op, m->stub ? 0xC0 : 0x05);
        } else {
            ok(m, op, 0, NULL, 0);
        }
        return;
    case FL_OP_SPI_SET_PARAMS:
    case FL_OP_CHANGE_BAUDRATE:
    case FL_OP_MEM_BEGIN:
        ok(m, op, 0, NULL, 0);
        return;
    case FL_OP_MEM_DATA:
    case FL_OP_FLASH_DATA:
    case FL_OP_FLASH_DEFL_DATA:
        data_block(m, op, f, len);
        return;
    case FL_OP_MEM_END:
        m->stub = true;
        fl_testport_push_frame(m->tp, (const uint8_t *)"OHAI", 4, 5);
        return;
    case FL_OP_FLASH_BEGIN:
    case FL_OP_FLASH_DEFL_BEGIN: {
        uint32_t size = le32(d), bs = le32(d + 8), off = le32(d + 12);
        size_t words = (len - 8) / 4;
        bool five = !m->stub && m->chip != FL_CHIP_ESP8266 && m->chip != FL_CHIP_ESP32;
        if (!m->stub && words != (five ? 5u : 4u)) {
            fail(m, op, 0x05);
            return;
        }
        if (m->stub && !(words == 4 || words == 5)) {
            fail(m, op, 0xC0);
            return;
        }
        erase(m, off, size);
        m->w_addr = off;
        m->w_bs = bs;
        m->w_written = 0;
        m->w_defl = op == FL_OP_FLASH_DEFL_BEGIN;
        if (m->w_defl) {
            inflateEnd(&m->zs);
            memset(&m->zs, 0, sizeof m->zs);
            inflateInit(&m->zs);
        }
        ok(m, op, 0, NULL, 0);
        return;
    }
    case FL_OP_FLASH_END:
    case FL_OP_FLASH_DEFL_END:
        if (!m->stub) {
            m->dead = true;
            return;
        }
        ok(m, op, 0, NULL, 0);
        if (le32(d) == 0) {
            m->stub = false; /* reboot into the ROM */
        }
        return;
    case FL_OP_SPI_FLASH_MD5:
        md5_reply(m, le32(d), le32(d + 4));
        return;
    case FL_OP_READ_FLASH_SLOW: {
        uint8_t p[64] = {0};
        uint32_t a = le32(d), n = le32(d + 4);
        memcpy(p, m->flash + a, n > 64 ? 64 : n);
        ok(m, op, 0, p, 64);
        return;
    }
    case FL_OP_ERASE_FLASH:
        if (!m->stub) {
            break;
        }
        memset(m->flash, 0xFF, sizeof m->flash);
        ok(m, op, 0, NULL, 0);
        return;
    case FL_OP_ERASE_REGION:
        if (!m->stub) {
            break;
        }
        erase(m, le32(d), le32(d + 4));
        ok(m, op, 0, NULL, 0);
        return;
    case FL_OP_READ_FLASH:
        if (!m->stub) {
            break;
        }
        m->r_addr = le32(d);
        m->r_len = le32(d + 4);
        m->r_sent = 0;
        m->r_active = true;
        ok(m, op, 0, NULL, 0);
        read_packet(m);
        return;
    default:
        break;
    }
    fail(m, op, m->stub ? 0xC3 : 0x05);
}

static void on_write(struct fl_testport *tp, const uint8_t *data, size_t len, void *user)
{
    (void)tp;
    struct minirom *m = user;
    if (m->dead) {
        return;
    }
    static const size_t cap = 2 * 16384 + 256;
    uint8_t *buf = malloc(cap);
    struct fl_slip_decoder dec;
    fl_slip_decoder_init(&dec, buf, cap);
    size_t pos = 0;
    while (pos < len) {
        enum fl_slip_event ev;
        pos += fl_slip_decode(&dec, data + pos, len - pos, &ev);
        if (ev == FL_SLIP_FRAME) {
            handle(m, dec.buf, dec.len);
        }
    }
    free(buf);
}

static void on_lines(struct fl_testport *tp, bool dtr, bool rts, void *user)
{
    struct minirom *m = user;
    (void)dtr;
    bool en_low = rts && !dtr;
    if (m->prev_en_low && !en_low) {
        m->stub = false;
        m->dead = false;
        if (m->boot_text != NULL) {
            fl_testport_push(tp, (const uint8_t *)m->boot_text, strlen(m->boot_text), 2);
        }
    }
    m->prev_en_low = en_low;
}

void minirom_init(struct minirom *m, struct fl_testport *tp, enum fl_chip chip)
{
    memset(m, 0, sizeof *m);
    m->tp = tp;
    m->chip = chip;
    memset(m->flash, 0xFF, sizeof m->flash);
    m->jedec = 0x1440EF; /* Winbond 1 MB */
    m->status_len = chip == FL_CHIP_ESP8266 ? 2 : 4;
    m->sec_chip_id = -1;
    switch (chip) {
    case FL_CHIP_ESP8266:
        m->magic = 0xFFF0C101;
        break;
    case FL_CHIP_ESP32:
        m->magic = 0x00F01D83;
        break;
    case FL_CHIP_ESP32C3:
        m->magic = 0x1B31506F;
        m->sec_chip_id = 5;
        break;
    default:
        m->magic = 0x00000009;
        m->sec_chip_id = 9;
        break;
    }
    tp->responder = on_write;
    tp->on_lines = on_lines;
    tp->user = m;
}

void minirom_release(struct minirom *m)
{
    inflateEnd(&m->zs);
}

size_t minirom_count(const struct minirom *m, uint8_t op)
{
    size_t n = 0;
    for (size_t i = 0; i < m->nops; i++) {
        n += m->ops[i] == op;
    }
    return n;
}
