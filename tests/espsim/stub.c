/*
 * The flasher stub, once uploaded (MEM_* then OHAI). Two flavours: "new"
 * (espressif/esp-flasher-stub) and "legacy" (esptool-legacy-flasher-stub);
 * where they differ the reference says so and the code follows it. Status is
 * always 2 bytes: 0, or the stub error code itself.
 */
#include "sim.h"

#include <string.h>

static void status(struct sim *s, uint8_t op, int code)
{
    sim_reply(s, op, 0, NULL, 0, (uint8_t)code, 0);
}

static bool legacy(const struct sim *s)
{
    return s->ld.stub_legacy;
}

static uint32_t addr24(const struct sim *s, uint32_t addr)
{
    return s->chip->max_flash <= (16u << 20) ? addr & 0xFFFFFF : addr;
}

static void sync(struct sim *s, const struct sim_req *r)
{
    if (r->len != 36) {
        status(s, r->op, STUB_ERR_BAD_LEN);
        return;
    }
    for (int i = 0; i < 8; i++) {
        sim_reply_ok(s, r->op, 0, NULL, 0); /* value 0: "a stub is running" */
    }
}

static void write_reg(struct sim *s, const struct sim_req *r)
{
    if (r->len == 0 || r->len % 16 != 0) {
        status(s, r->op, legacy(s) ? STUB_ERR_BAD_LEN : STUB_ERR_NOT_ENOUGH);
        return;
    }
    for (size_t i = 0; i < r->len; i += 16) {
        uint32_t addr = sim_le32(r->data + i), value = sim_le32(r->data + i + 4);
        uint32_t mask = sim_le32(r->data + i + 8);
        if (!legacy(s)) { /* the legacy stub ignores the mask */
            value = (sim_reg_read(s, addr) & ~mask) | (value & mask);
        }
        sim_reg_write(s, addr, value);
        sim_spend(s, (int64_t)sim_le32(r->data + i + 12) * 1000);
        sim_log_arg(s, "0x%08x=0x%08x", addr, value);
    }
    sim_reply_ok(s, r->op, 0, NULL, 0);
}

static void mem(struct sim *s, const struct sim_req *r)
{
    struct sim_memop *mo = &s->ld.mo;
    if (r->op == OP_MEM_BEGIN) {
        if (r->len != 16) {
            status(s, r->op, STUB_ERR_BAD_LEN);
            return;
        }
        memset(mo, 0, sizeof *mo);
        mo->size = sim_le32(r->data);
        mo->addr = sim_le32(r->data + 12);
        mo->active = true;
        sim_log_arg(s, "size=%u addr=0x%08x", mo->size, mo->addr);
        sim_reply_ok(s, r->op, 0, NULL, 0);
    } else if (r->op == OP_MEM_DATA) {
        uint32_t dlen = r->len >= 16 ? sim_le32(r->data) : 0;
        if (!mo->active) {
            status(s, r->op, STUB_ERR_NOT_FLASHING);
        } else if (r->len < 16 || dlen != r->len - 16 || mo->received + dlen > mo->size) {
            status(s, r->op, STUB_ERR_TOO_MUCH);
        } else if (sim_checksum(r->data + 16, dlen) != (r->checksum & 0xFF)) {
            status(s, r->op, STUB_ERR_CHECKSUM);
        } else {
            mo->received += dlen;
            if (mo->received == mo->size && s->ld.nloaded < SIM_MAX_LOADED) {
                s->ld.loaded[s->ld.nloaded++] = (struct sim_range){mo->addr, mo->addr + mo->size};
            }
            sim_reply_ok(s, r->op, 0, NULL, 0);
        }
    } else {
        if (r->len != 8) {
            status(s, r->op, STUB_ERR_BAD_LEN);
            return;
        }
        uint32_t flag = sim_le32(r->data), entry = sim_le32(r->data + 4);
        mo->active = false;
        sim_reply_ok(s, r->op, 0, NULL, 0);
        if (flag == 0 && entry != 0) {
            sim_log(s, "stub: jump to 0x%08x; treating it as a new stub", entry);
            s->ld.start_flavour = s->opt.stub_flavour;
            sim_board_schedule(s, SIM_EV_STUB_START, s->t + 2 * SIM_MS);
        }
    }
}

static void flash_begin(struct sim *s, const struct sim_req *r)
{
    if (r->len != 16 && r->len != 20) {
        status(s, r->op, STUB_ERR_BAD_LEN);
        return;
    }
    uint32_t size = sim_le32(r->data), blocks = sim_le32(r->data + 4);
    uint32_t bsize = sim_le32(r->data + 8), offset = sim_le32(r->data + 12);
    sim_log_arg(s, "size=0x%x blocks=%u block=0x%x offset=0x%x", size, blocks, bsize, offset);
    if (r->len == 20 && sim_le32(r->data + 16) != 0) {
        status(s, r->op, STUB_ERR_BAD_LEN); /* flash encryption is not simulated */
        return;
    }
    if ((uint64_t)addr24(s, offset) + size > s->ld.flash_limit) {
        status(s, r->op, STUB_ERR_SPI);
        return;
    }
    status(s, r->op,
           sim_flashop_begin(s, r->op == OP_FLASH_DEFL_BEGIN, size, blocks, bsize, offset));
}

static void flash_data(struct sim *s, const struct sim_req *r)
{
    struct sim_flashop *fo = &s->ld.fo;
    uint32_t dlen = r->len >= 16 ? sim_le32(r->data) : 0;
    uint32_t seq = r->len >= 16 ? sim_le32(r->data + 4) : 0;
    sim_log_arg(s, "seq=%u len=%u", seq, dlen);
    if (!fo->active || fo->deflate != (r->op == OP_FLASH_DEFL_DATA)) {
        status(s, r->op, STUB_ERR_NOT_FLASHING);
    } else if (r->len < 16 || dlen != r->len - 16) {
        status(s, r->op, legacy(s) ? STUB_ERR_BAD_LEN : STUB_ERR_TOO_MUCH);
    } else if (sim_checksum(r->data + 16, dlen) != (r->checksum & 0xFF)) {
        status(s, r->op, STUB_ERR_CHECKSUM);
    } else {
        /* ACK first, then write while the host sends the next block; a
         * failure surfaces on the next command (§2.2). */
        sim_reply_ok(s, r->op, 0, NULL, 0);
        int rc = sim_flashop_data(s, r->data + 16, dlen, seq);
        if (rc != 0) {
            s->ld.deferred = (uint8_t)rc;
            sim_log_arg(s, "deferred error 0x%02X", rc);
        }
    }
}

static void flash_end(struct sim *s, const struct sim_req *r)
{
    if (r->len != 4) {
        status(s, r->op, STUB_ERR_BAD_LEN);
        return;
    }
    uint32_t flag = sim_le32(r->data);
    sim_log_arg(s, "flag=%u", flag);
    int rc = sim_flashop_end(s);
    status(s, r->op, rc);
    if (rc == 0 && flag == 0) {
        /* Reply, flush, 10 ms, software reset: back in the ROM loader. */
        sim_board_schedule(s, SIM_EV_SW_RESET, s->t + 10 * SIM_MS);
    }
}

static void change_baud(struct sim *s, const struct sim_req *r)
{
    if (r->len != 8) {
        status(s, r->op, STUB_ERR_BAD_LEN);
        return;
    }
    uint32_t baud = sim_le32(r->data), old = sim_le32(r->data + 4);
    sim_log_arg(s, "baud=%u old=%u", baud, old);
    sim_reply_ok(s, r->op, 0, NULL, 0);
    if (legacy(s)) {
        /* New divider = current divider x old / new: a wrong "old" skews
         * the rate and 0 leaves a dead divider (§2.2). */
        sim_spend(s, 10 * SIM_MS);
        s->uart.baud = old == 0 ? 0 : (uint32_t)((uint64_t)baud * s->uart.baud / old);
    } else {
        s->uart.baud = baud;
    }
}

static void md5(struct sim *s, const struct sim_req *r)
{
    if (r->len != 16) {
        status(s, r->op, STUB_ERR_BAD_LEN);
        return;
    }
    uint32_t addr = addr24(s, sim_le32(r->data)), len = sim_le32(r->data + 4);
    uint8_t d[16];
    sim_log_arg(s, "addr=0x%x size=0x%x", addr, len);
    if ((uint64_t)addr + len > s->ld.flash_limit) {
        status(s, r->op, STUB_ERR_SPI);
        return;
    }
    sim_flash_md5(&s->flash, addr, len, d);
    sim_spend(s, sim_cost_read(len, true));
    sim_reply_ok(s, r->op, 0, d, 16);
}

static void erase(struct sim *s, const struct sim_req *r)
{
    if (r->op == OP_ERASE_FLASH) {
        if (r->len != 0) {
            status(s, r->op, STUB_ERR_BAD_LEN);
            return;
        }
        memset(s->flash.mem, 0xFF, s->flash.size);
        sim_spend(s, sim_cost_erase_chip(s->flash.size));
        sim_reply_ok(s, r->op, 0, NULL, 0);
        return;
    }
    uint32_t addr = r->len == 8 ? sim_le32(r->data) : 0;
    uint32_t size = r->len == 8 ? sim_le32(r->data + 4) : 0;
    sim_log_arg(s, "addr=0x%x size=0x%x", addr, size);
    if (r->len != 8) {
        status(s, r->op, STUB_ERR_BAD_LEN);
        return;
    }
    if (addr % SIM_SECTOR || size % SIM_SECTOR) {
        /* The legacy stub's handle_flash_erase: 0x32 address, 0x33 length. */
        status(s, r->op, !legacy(s) ? STUB_ERR_BAD_LEN : addr % SIM_SECTOR ? 0x32 : 0x33);
        return;
    }
    if ((uint64_t)addr24(s, addr) + size > s->ld.flash_limit) {
        status(s, r->op, STUB_ERR_SPI);
        return;
    }
    sim_erase_range(s, addr24(s, addr), size);
    sim_reply_ok(s, r->op, 0, NULL, 0);
}

static void read_flash(struct sim *s, const struct sim_req *r)
{
    if (r->len != 16) {
        status(s, r->op, STUB_ERR_BAD_LEN);
        return;
    }
    uint32_t addr = sim_le32(r->data), len = sim_le32(r->data + 4);
    uint32_t packet = sim_le32(r->data + 8);
    sim_log_arg(s, "addr=0x%x len=0x%x packet=%u in-flight=%u", addr, len, packet,
                sim_le32(r->data + 12));
    if ((uint64_t)addr24(s, addr) + len > s->ld.flash_limit) {
        status(s, r->op, STUB_ERR_SPI);
        return;
    }
    if (packet == 0 || packet > 4096) {
        if (!legacy(s)) {
            status(s, r->op, STUB_ERR_BAD_LEN);
        } else {
            /* The legacy stub acks the command, then handle_flash_read
             * returns at once: no data, no MD5. */
            sim_reply_ok(s, r->op, 0, NULL, 0);
        }
        return;
    }
    sim_reply_ok(s, r->op, 0, NULL, 0);
    sim_stub_read_start(s, addr24(s, addr), len, packet);
}

static void unsupported(struct sim *s, uint8_t op)
{
    status(s, op, legacy(s) ? STUB_ERR_NOT_IMPL : STUB_ERR_INVALID_CMD);
}

static void dispatch(struct sim *s, const struct sim_req *r)
{
    switch (r->op) {
    case OP_SYNC:
        sync(s, r);
        break;
    case OP_READ_REG:
        if (r->len != 4) {
            status(s, r->op, STUB_ERR_BAD_LEN);
        } else {
            sim_log_arg(s, "addr=0x%08x", sim_le32(r->data));
            sim_reply_ok(s, r->op, sim_reg_read(s, sim_le32(r->data)), NULL, 0);
        }
        break;
    case OP_WRITE_REG:
        write_reg(s, r);
        break;
    case OP_MEM_BEGIN:
    case OP_MEM_DATA:
    case OP_MEM_END:
        mem(s, r);
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
        if (r->len != 4) { /* stubs take the config word only */
            status(s, r->op, STUB_ERR_BAD_LEN);
        } else {
            sim_reply_ok(s, r->op, 0, NULL, 0);
        }
        break;
    case OP_SPI_SET_PARAMS:
        if (r->len != 24) {
            status(s, r->op, STUB_ERR_BAD_LEN);
        } else {
            s->ld.flash_limit = sim_le32(r->data + 4);
            sim_log_arg(s, "size=0x%x", s->ld.flash_limit);
            sim_reply_ok(s, r->op, 0, NULL, 0);
        }
        break;
    case OP_CHANGE_BAUDRATE:
        change_baud(s, r);
        break;
    case OP_SPI_FLASH_MD5:
        md5(s, r);
        break;
    case OP_GET_SECURITY_INFO:
        if (!s->chip->s2plus) {
            unsupported(s, r->op);
        } else {
            uint8_t info[20];
            memset(info, 0, sizeof info);
            sim_put_le32(info + 12, s->chip->sec_chip_id);
            sim_put_le32(info + 16, s->chip->sec_api_version);
            sim_reply_ok(s, r->op, 0, info, sizeof info);
        }
        break;
    case OP_ERASE_FLASH:
    case OP_ERASE_REGION:
        erase(s, r);
        break;
    case OP_READ_FLASH:
        read_flash(s, r);
        break;
    case OP_RUN_USER_CODE: /* no reply */
        sim_board_schedule(s, SIM_EV_RUN_APP, s->t + SIM_MS);
        break;
    default:
        unsupported(s, r->op);
        break;
    }
}

void sim_stub_command(struct sim *s, const struct sim_req *r)
{
    struct sim_loader *ld = &s->ld;
    if (r->dir != 0x00) {
        status(s, r->op, STUB_ERR_INVALID_CMD);
        return;
    }
    if (r->size != r->len) {
        status(s, r->op, STUB_ERR_BAD_LEN);
        return;
    }
    if (ld->deferred != 0) {
        bool data_path = r->op == OP_FLASH_DATA || r->op == OP_FLASH_DEFL_DATA ||
                         r->op == OP_FLASH_END || r->op == OP_FLASH_DEFL_END;
        /* New stub: whatever comes next gets the error and is dropped.
         * Legacy: the next DATA/END reports it. */
        if (!legacy(s) || data_path) {
            sim_log_arg(s, "reporting the deferred error; not executed");
            status(s, r->op, ld->deferred);
            ld->deferred = 0;
            return;
        }
    }
    dispatch(s, r);
}
