/*
 * The ROM serial loader (download mode). Status is 2 bytes on the ESP8266
 * and 4 on ESP32 and later (§1.3); failures are 1 + a ROM error code.
 * Where the reference names no error code for a refusal, the choice made here
 * is listed in README.md ("ROM refusals").
 */
#include "sim.h"

#include <string.h>

#define SYNC_VALUE 0x20120707u

static void fail(struct sim *s, uint8_t op, uint8_t code)
{
    sim_reply(s, op, 0, NULL, 0, 1, code);
}

static void status(struct sim *s, uint8_t op, int code)
{
    if (code == 0) {
        sim_reply_ok(s, op, 0, NULL, 0);
    } else {
        fail(s, op, (uint8_t)code);
    }
}

static bool supported(const struct sim *s, uint8_t op)
{
    if (op < OP_FLASH_BEGIN || op > OP_GET_SECURITY_INFO || op == 0x0C) {
        return false;
    }
    if (s->chip->id == SIM_ESP8266) {
        return op <= OP_READ_REG;
    }
    if (s->opt.sdm) {
        return op == OP_SYNC || op == OP_SPI_ATTACH || op == OP_SPI_SET_PARAMS ||
               op == OP_CHANGE_BAUDRATE || op == OP_FLASH_BEGIN || op == OP_FLASH_DATA ||
               op == OP_FLASH_END || op == OP_GET_SECURITY_INFO;
    }
    return op != OP_GET_SECURITY_INFO || s->chip->s2plus;
}

static void unsupported(struct sim *s, uint8_t op)
{
    struct sim_fault *f = sim_fault_hit(&s->faults, SIM_F_REPEAT_ERROR, op);
    unsigned copies = f != NULL ? f->n : 1;
    for (unsigned i = 0; i < copies; i++) {
        fail(s, op, ROM_ERR_MSG);
    }
}

static unsigned syncs_to_lose(struct sim *s)
{
    for (int i = 0; i < s->faults.n; i++) {
        if (s->faults.v[i].kind == SIM_F_SYNC_LOST) {
            return s->faults.v[i].n;
        }
    }
    /* Autobaud needs the first SYNC's 0x55 run to measure the rate. */
    return s->opt.pace ? 1 : 0;
}

static void sync(struct sim *s, const struct sim_req *r)
{
    static const uint8_t head[4] = {0x07, 0x07, 0x12, 0x20};
    bool valid = r->len == 36 && memcmp(r->data, head, 4) == 0;
    for (size_t i = 4; valid && i < 36; i++) {
        valid = r->data[i] == 0x55;
    }
    if (!valid) {
        sim_log_arg(s, "bad payload");
        return;
    }
    if (s->ld.syncs_seen++ < syncs_to_lose(s)) {
        sim_log_arg(s, "lost while autobauding");
        return;
    }
    if (s->uart.autobaud) {
        s->uart.baud = sim_side_baud(s, s->uart.last_side);
        s->uart.autobaud = false;
        sim_log_arg(s, "autobaud=%u", s->uart.baud);
    }
    for (int i = 0; i < 8; i++) {
        sim_reply_ok(s, OP_SYNC, SYNC_VALUE, NULL, 0);
    }
}

static void write_reg(struct sim *s, const struct sim_req *r)
{
    if (r->len == 0 || r->len % 16 != 0) {
        fail(s, r->op, ROM_ERR_MSG);
        return;
    }
    for (size_t i = 0; i < r->len; i += 16) {
        uint32_t addr = sim_le32(r->data + i), value = sim_le32(r->data + i + 4);
        uint32_t mask = sim_le32(r->data + i + 8), delay = sim_le32(r->data + i + 12);
        uint32_t old = sim_reg_read(s, addr);
        sim_reg_write(s, addr, (old & ~mask) | (value & mask));
        sim_spend(s, (int64_t)delay * 1000);
        sim_log_arg(s, "0x%08x=0x%08x", addr, value);
    }
    sim_reply_ok(s, r->op, 0, NULL, 0);
}

static int ram_check(const struct sim *s, uint32_t addr, uint32_t size)
{
    for (int i = 0; i < 2; i++) {
        const struct sim_range *m = &s->chip->ram[i];
        if (addr >= m->start && addr < m->end) {
            return size <= m->end - addr ? 0 : ROM_ERR_RAM_SIZE;
        }
    }
    return ROM_ERR_RAM_ADDR;
}

static void mem_begin(struct sim *s, const struct sim_req *r)
{
    struct sim_memop *mo = &s->ld.mo;
    if (r->len != 16) {
        fail(s, r->op, ROM_ERR_MSG);
        return;
    }
    memset(mo, 0, sizeof *mo);
    mo->size = sim_le32(r->data);
    mo->blocks = sim_le32(r->data + 4);
    mo->block_size = sim_le32(r->data + 8);
    mo->addr = sim_le32(r->data + 12);
    mo->hash = SIM_HASH_INIT;
    sim_log_arg(s, "size=%u blocks=%u block=%u addr=0x%08x", mo->size, mo->blocks, mo->block_size,
                mo->addr);
    int rc = ram_check(s, mo->addr, mo->size);
    mo->active = rc == 0;
    status(s, r->op, rc);
}

static void mem_data(struct sim *s, const struct sim_req *r)
{
    struct sim_memop *mo = &s->ld.mo;
    uint32_t dlen = r->len >= 16 ? sim_le32(r->data) : 0;
    uint32_t seq = r->len >= 16 ? sim_le32(r->data + 4) : 0;
    sim_log_arg(s, "seq=%u len=%u", seq, dlen);
    if (!mo->active || r->len < 16 || dlen != r->len - 16 || seq != mo->next_seq) {
        fail(s, r->op, ROM_ERR_MSG);
    } else if (sim_checksum(r->data + 16, dlen) != (r->checksum & 0xFF)) {
        fail(s, r->op, ROM_ERR_CHECKSUM);
    } else if (mo->received + dlen > mo->size) {
        fail(s, r->op, ROM_ERR_RAM_SIZE);
    } else {
        mo->received += dlen;
        mo->next_seq++;
        mo->hash = sim_hash(mo->hash, r->data + 16, dlen);
        if (mo->received == mo->size && s->ld.nloaded < SIM_MAX_LOADED) {
            s->ld.loaded_hash[s->ld.nloaded] = mo->hash;
            s->ld.loaded[s->ld.nloaded++] = (struct sim_range){mo->addr, mo->addr + mo->size};
        }
        sim_reply_ok(s, r->op, 0, NULL, 0);
    }
}

static void mem_end(struct sim *s, const struct sim_req *r)
{
    if (r->len != 8) {
        fail(s, r->op, ROM_ERR_MSG);
        return;
    }
    uint32_t flag = sim_le32(r->data), entry = sim_le32(r->data + 4);
    sim_log_arg(s, "flag=%u entry=0x%08x", flag, entry);
    s->ld.mo.active = false;
    sim_reply_ok(s, r->op, 0, NULL, 0);
    if (flag != 0 || entry == 0) {
        return;
    }
    const struct sim_stub_image *im;
    char why[160];
    if (sim_stub_identify(s, entry, &s->ld.start_flavour, &im, why, sizeof why) != 0) {
        sim_log(s, "jumped to 0x%08x: %s: the CPU crashes and hangs", entry, why);
        s->ld.mode = SIM_MODE_HUNG;
        return;
    }
    const char *fam = s->ld.start_flavour == SIM_STUB_LEGACY ? "legacy" : "new";
    if (im == NULL) {
        sim_log(s, "jumped to 0x%08x: an unknown image, run as a %s stub", entry, fam);
    } else {
        sim_log(s, "jumped to 0x%08x: the real %s stub for %s", entry, fam, s->chip->name);
        if (im->family == SIM_STUB_NEW && s->chip->id == SIM_ESP32) {
            /* esp-flasher-stub's esp_main raises the CPU/APB clock before it
             * sets the UART divider back and before its transport waits for
             * the UART to go idle: what is left of this reply in the FIFO
             * goes out at twice the rate. */
            sim_tx_skew_tail(s, 4, s->uart.baud * 2);
        }
    }
    sim_board_schedule(s, SIM_EV_STUB_START, s->t + 2 * SIM_MS);
}

static void flash_begin(struct sim *s, const struct sim_req *r)
{
    bool defl = r->op == OP_FLASH_DEFL_BEGIN;
    size_t want = s->chip->s2plus ? 20 : 16;
    if (r->len != want) {
        fail(s, r->op, ROM_ERR_MSG);
        return;
    }
    uint32_t size = sim_le32(r->data), blocks = sim_le32(r->data + 4);
    uint32_t bsize = sim_le32(r->data + 8), offset = sim_le32(r->data + 12);
    uint32_t enc = want == 20 ? sim_le32(r->data + 16) : 0;
    sim_log_arg(s, "size=0x%x blocks=%u block=0x%x offset=0x%x%s", size, blocks, bsize, offset,
                enc ? " encrypted" : "");
    if (s->chip->id == SIM_ESP8266) {
        s->ld.attached = true; /* FLASH_BEGIN is the ESP8266's attach */
    } else if (!s->ld.attached) {
        fail(s, r->op, ROM_ERR_RESULT);
        return;
    }
    if (enc != 0) {
        fail(s, r->op, ROM_ERR_INVALID_PARAM); /* flash encryption is not simulated */
        return;
    }
    if (s->opt.sdm && (uint64_t)(offset & 0xFFFFFF) + size > s->ld.flash_limit) {
        fail(s, r->op, ROM_ERR_SDM_PARAM);
        return;
    }
    status(s, r->op, sim_flashop_begin(s, defl, size, blocks, bsize, offset));
}

static void flash_data(struct sim *s, const struct sim_req *r)
{
    uint32_t dlen = r->len >= 16 ? sim_le32(r->data) : 0;
    uint32_t seq = r->len >= 16 ? sim_le32(r->data + 4) : 0;
    sim_log_arg(s, "seq=%u len=%u", seq, dlen);
    if (r->len < 16 || dlen != r->len - 16 ||
        (s->ld.fo.active && s->ld.fo.deflate != (r->op == OP_FLASH_DEFL_DATA))) {
        fail(s, r->op, ROM_ERR_MSG);
    } else if (sim_checksum(r->data + 16, dlen) != (r->checksum & 0xFF)) {
        fail(s, r->op, ROM_ERR_CHECKSUM);
    } else {
        status(s, r->op, sim_flashop_data(s, r->data + 16, dlen, seq));
    }
}

static void flash_end(struct sim *s, const struct sim_req *r)
{
    if (r->len != 4) {
        fail(s, r->op, ROM_ERR_MSG);
        return;
    }
    uint32_t flag = sim_le32(r->data);
    sim_log_arg(s, "flag=%u (%s)", flag, flag ? "run user code" : "reboot");
    sim_flashop_end(s);
    sim_reply_ok(s, r->op, 0, NULL, 0);
    /* Either way this session is over: the ROM leaves the loader (§2.2). */
    sim_board_schedule(s, flag ? SIM_EV_RUN_APP : SIM_EV_SW_RESET, s->t + 10 * SIM_MS);
}

static bool flash_ready(struct sim *s, uint8_t op, uint32_t addr, uint32_t len)
{
    if (!s->ld.attached || (uint64_t)(addr & 0xFFFFFF) + len > s->ld.flash_limit) {
        fail(s, op, ROM_ERR_RESULT);
        return false;
    }
    return true;
}

static void md5(struct sim *s, const struct sim_req *r)
{
    if (r->len != 16) {
        fail(s, r->op, ROM_ERR_MSG);
        return;
    }
    uint32_t addr = sim_le32(r->data), len = sim_le32(r->data + 4);
    sim_log_arg(s, "addr=0x%x size=0x%x", addr, len);
    if (!flash_ready(s, r->op, addr, len)) {
        return;
    }
    uint8_t d[16];
    char hex[33];
    sim_flash_md5(&s->flash, addr & 0xFFFFFF, len, d);
    for (int i = 0; i < 16; i++) {
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    }
    sim_spend(s, sim_cost_read(len, false));
    sim_reply_ok(s, r->op, 0, (const uint8_t *)hex, 32);
}

static void read_slow(struct sim *s, const struct sim_req *r)
{
    if (r->len != 8) {
        fail(s, r->op, ROM_ERR_MSG);
        return;
    }
    uint32_t addr = sim_le32(r->data), len = sim_le32(r->data + 4);
    sim_log_arg(s, "addr=0x%x len=%u", addr, len);
    if (len > 64) {
        fail(s, r->op, ROM_ERR_READ_LEN);
        return;
    }
    if (!flash_ready(s, r->op, addr, len)) {
        return;
    }
    uint8_t buf[64];
    memset(buf, 0, sizeof buf);
    sim_flash_read(&s->flash, addr & 0xFFFFFF, buf, len);
    sim_spend(s, sim_cost_read(64, false));
    sim_reply_ok(s, r->op, 0, buf, sizeof buf);
}

static void security_info(struct sim *s, const struct sim_req *r)
{
    uint8_t info[20];
    memset(info, 0, sizeof info);
    sim_put_le32(info, s->opt.sdm ? 1u << 2 : 0); /* SECURE_DOWNLOAD_ENABLE */
    sim_put_le32(info + 12, s->chip->sec_chip_id);
    sim_put_le32(info + 16, s->chip->sec_api_version);
    if (r->len != 0) {
        fail(s, r->op, ROM_ERR_MSG);
        return;
    }
    sim_reply_ok(s, r->op, 0, info, sizeof info);
}

static void change_baud(struct sim *s, const struct sim_req *r)
{
    uint32_t baud = r->len == 8 ? sim_le32(r->data) : 0;
    sim_log_arg(s, "baud=%u old=%u", baud, r->len == 8 ? sim_le32(r->data + 4) : 0);
    if (baud == 0) {
        fail(s, r->op, r->len == 8 ? ROM_ERR_INVALID_PARAM : ROM_ERR_MSG);
        return;
    }
    static const uint8_t c0 = 0xC0;
    sim_reply_ok(s, r->op, 0, NULL, 0); /* at the old rate */
    s->uart.baud = baud;
    sim_tx(s, &c0, 1, false); /* the ROM's stray delimiter after a rate change */
}

static void spi_params(struct sim *s, const struct sim_req *r)
{
    if (r->op == OP_SPI_ATTACH) {
        /* ROM form: config word + "is legacy" word (8 bytes). */
        if (r->len != 8) {
            fail(s, r->op, ROM_ERR_MSG);
            return;
        }
        sim_log_arg(s, "config=0x%x", sim_le32(r->data));
        s->ld.attached = true;
    } else {
        if (r->len != 24 || sim_le32(r->data + 4) == 0) {
            fail(s, r->op, ROM_ERR_MSG);
            return;
        }
        s->ld.flash_limit = sim_le32(r->data + 4);
        sim_log_arg(s, "size=0x%x", s->ld.flash_limit);
    }
    sim_reply_ok(s, r->op, 0, NULL, 0);
}

void sim_rom_command(struct sim *s, const struct sim_req *r)
{
    if (r->dir != 0x00) {
        return; /* not a request */
    }
    if (s->uart.autobaud && r->op != OP_SYNC) {
        sim_log_arg(s, "ignored: no SYNC yet, the rate is unknown");
        return;
    }
    if (!supported(s, r->op)) {
        unsupported(s, r->op);
        return;
    }
    if (r->size != r->len) {
        fail(s, r->op, ROM_ERR_MSG);
        return;
    }
    switch (r->op) {
    case OP_SYNC:
        sync(s, r);
        break;
    case OP_READ_REG:
        if (r->len != 4) {
            fail(s, r->op, ROM_ERR_MSG);
        } else {
            sim_log_arg(s, "addr=0x%08x", sim_le32(r->data));
            sim_reply_ok(s, r->op, sim_reg_read(s, sim_le32(r->data)), NULL, 0);
        }
        break;
    case OP_WRITE_REG:
        write_reg(s, r);
        break;
    case OP_MEM_BEGIN:
        mem_begin(s, r);
        break;
    case OP_MEM_DATA:
        mem_data(s, r);
        break;
    case OP_MEM_END:
        mem_end(s, r);
        break;
    case OP_FLASH_BEGIN:
    case OP_FLASH_DEFL_BEGIN:
        flash_begin(s, r);
        break;
    case OP_FLASH_DATA:
    case OP_FLASH_DEFL_DATA:
        flash_data(s, r);
        break;
    case OP_FLASH_END:
    case OP_FLASH_DEFL_END:
        flash_end(s, r);
        break;
    case OP_SPI_ATTACH:
    case OP_SPI_SET_PARAMS:
        spi_params(s, r);
        break;
    case OP_READ_FLASH_SLOW:
        read_slow(s, r);
        break;
    case OP_CHANGE_BAUDRATE:
        change_baud(s, r);
        break;
    case OP_SPI_FLASH_MD5:
        md5(s, r);
        break;
    case OP_GET_SECURITY_INFO:
        security_info(s, r);
        break;
    default:
        unsupported(s, r->op);
        break;
    }
}
