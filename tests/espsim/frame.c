/* Complete frames in, replies out: the part every loader personality shares. */
#include "sim.h"

#include <string.h>

uint32_t sim_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void sim_put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

uint8_t sim_checksum(const uint8_t *data, size_t len)
{
    uint8_t c = 0xEF;
    for (size_t i = 0; i < len; i++) {
        c ^= data[i];
    }
    return c;
}

const char *sim_op_name(uint8_t op)
{
    switch (op) {
    case OP_FLASH_BEGIN: return "FLASH_BEGIN";
    case OP_FLASH_DATA: return "FLASH_DATA";
    case OP_FLASH_END: return "FLASH_END";
    case OP_MEM_BEGIN: return "MEM_BEGIN";
    case OP_MEM_END: return "MEM_END";
    case OP_MEM_DATA: return "MEM_DATA";
    case OP_SYNC: return "SYNC";
    case OP_WRITE_REG: return "WRITE_REG";
    case OP_READ_REG: return "READ_REG";
    case OP_SPI_SET_PARAMS: return "SPI_SET_PARAMS";
    case OP_SPI_ATTACH: return "SPI_ATTACH";
    case OP_READ_FLASH_SLOW: return "READ_FLASH_SLOW";
    case OP_CHANGE_BAUDRATE: return "CHANGE_BAUDRATE";
    case OP_FLASH_DEFL_BEGIN: return "FLASH_DEFL_BEGIN";
    case OP_FLASH_DEFL_DATA: return "FLASH_DEFL_DATA";
    case OP_FLASH_DEFL_END: return "FLASH_DEFL_END";
    case OP_SPI_FLASH_MD5: return "SPI_FLASH_MD5";
    case OP_GET_SECURITY_INFO: return "GET_SECURITY_INFO";
    case OP_ERASE_FLASH: return "ERASE_FLASH";
    case OP_ERASE_REGION: return "ERASE_REGION";
    case OP_READ_FLASH: return "READ_FLASH";
    case OP_RUN_USER_CODE: return "RUN_USER_CODE";
    default: return "?";
    }
}

void sim_raw_frame(struct sim *s, const uint8_t *buf, size_t len)
{
    uint8_t enc[2 * 4096 + 2];
    if (len > 4096) {
        return;
    }
    size_t n = sim_slip_encode(buf, len, enc);
    sim_tx(s, enc, n, true);
}

void sim_reply(struct sim *s, uint8_t op, uint32_t value, const uint8_t *payload, size_t plen,
               uint8_t st0, uint8_t st1)
{
    uint8_t body[8 + 64 + 4];
    size_t stlen = s->ld.mode == SIM_MODE_STUB ? 2 : s->chip->rom_status_len;
    if (plen > 64) {
        plen = 64;
    }
    body[0] = 0x01;
    body[1] = op;
    body[2] = (uint8_t)(plen + stlen);
    body[3] = 0;
    sim_put_le32(body + 4, value);
    if (plen > 0) {
        memcpy(body + 8, payload, plen);
    }
    memset(body + 8 + plen, 0, stlen);
    body[8 + plen] = st0;
    body[9 + plen] = st1;
    if (s->log_replies++ == 0) {
        s->log_st[0] = st0;
        s->log_st[1] = st1;
    }
    if (sim_fault_hit(&s->faults, SIM_F_LOSE_REPLY, op) != NULL) {
        s->log_lost = true;
        return;
    }
    struct sim_fault *junk = sim_fault_hit(&s->faults, SIM_F_JUNK, op);
    if (junk != NULL) {
        sim_tx(s, (const uint8_t *)junk->text, junk->text_len, false);
    }
    sim_raw_frame(s, body, 8 + plen + stlen);
}

void sim_reply_ok(struct sim *s, uint8_t op, uint32_t value, const uint8_t *payload, size_t plen)
{
    sim_reply(s, op, value, payload, plen, 0, 0);
}

/* A ROM brown-out lands mid-write: half of the block reaches the flash. */
static void brownout(struct sim *s, const struct sim_req *r)
{
    struct sim_loader *ld = &s->ld;
    if (ld->mode == SIM_MODE_ROM && r->op == OP_FLASH_DATA && ld->fo.active && r->len >= 16) {
        uint32_t seq = sim_le32(r->data + 4);
        uint32_t half = (uint32_t)(r->len - 16) / 2;
        sim_flash_program(&s->flash, ld->fo.offset + seq * ld->fo.block_size, r->data + 16,
                          half);
    } else if (ld->mode == SIM_MODE_STUB && ld->last_write_len > 0) {
        /* The stub acked the previous block and was still programming it. */
        uint32_t half = ld->last_write_len / 2;
        for (uint32_t i = half; i < ld->last_write_len; i++) {
            s->flash.mem[sim_flash_phys(&s->flash, ld->last_write_addr + i)] = 0xFF;
        }
    }
    sim_log(s, "fault: brown-out during %s", sim_op_name(r->op));
    s->ld.mode = SIM_MODE_RESET;
    sim_uart_reset(s);
    s->board.cause = SIM_RST_BROWNOUT;
    sim_board_schedule(s, SIM_EV_BOOT, s->t + 5 * SIM_MS);
}

static bool parse_req(const uint8_t *buf, size_t len, struct sim_req *r)
{
    if (len < 8) {
        return false;
    }
    r->dir = buf[0];
    r->op = buf[1];
    r->size = (uint16_t)(buf[2] | buf[3] << 8);
    r->checksum = sim_le32(buf + 4);
    r->data = buf + 8;
    r->len = len - 8;
    return true;
}

void sim_frame_in(struct sim *s, const uint8_t *buf, size_t len)
{
    struct sim_loader *ld = &s->ld;
    struct sim_slip *d = &s->uart.dec;
    struct sim_req r;
    if (ld->mode != SIM_MODE_ROM && ld->mode != SIM_MODE_STUB) {
        return;
    }
    if (ld->mode == SIM_MODE_STUB && ld->ro.active) {
        sim_stub_read_frame(s, buf, len);
        return;
    }
    if (d->bad || !parse_req(buf, len, &r)) {
        sim_log(s, "dropped a %s frame (%zu bytes)", d->bad ? "badly escaped" : "short", len);
        return;
    }
    if (d->overflow && !(ld->mode == SIM_MODE_STUB && ld->stub_legacy)) {
        /* Too big for the receive buffer: skip to the next frame. */
        d->in_frame = false;
        d->overflow = false;
        sim_log(s, "dropped an oversized %s frame", sim_op_name(r.op));
        return;
    }
    if (sim_fault_hit(&s->faults, SIM_F_SILENCE, r.op) != NULL) {
        sim_log(s, "fault: silence from %s on", sim_op_name(r.op));
        ld->mode = SIM_MODE_HUNG;
        return;
    }
    if (sim_fault_hit(&s->faults, SIM_F_BROWNOUT, r.op) != NULL) {
        brownout(s, &r);
        return;
    }
    ld->cmds++;
    s->log_args[0] = '\0';
    s->log_replies = 0;
    s->log_lost = false;
    bool stub = ld->mode == SIM_MODE_STUB;
    if (stub) {
        sim_stub_command(s, &r);
    } else {
        sim_rom_command(s, &r);
    }
    if (stub || r.op != OP_SYNC || s->log_replies > 0 || s->log_args[0] != '\0') {
        sim_log_command(s, r.op);
    }
}
