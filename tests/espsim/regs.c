/*
 * READ_REG/WRITE_REG: the few registers flashers read (§3), plus a small
 * store for everything written. Writing CMD with the USR bit runs the SPI
 * user-command engine the way esptool drives it for RDID (§3.3).
 */
#include "sim.h"

#include <string.h>

#define CHIP_DETECT_MAGIC_REG 0x40001000u
#define SPI_CMD_USR (1u << 18)
#define SPI_USR_MISO (1u << 28)

void sim_regs_init(struct sim *s)
{
    s->regs.n = 0;
}

static int find(const struct sim_regs *r, uint32_t addr)
{
    for (int i = 0; i < r->n; i++) {
        if (r->addr[i] == addr) {
            return i;
        }
    }
    return -1;
}

static uint32_t stored(const struct sim *s, uint32_t addr)
{
    int i = find(&s->regs, addr);
    return i < 0 ? 0 : s->regs.val[i];
}

static void store(struct sim *s, uint32_t addr, uint32_t value)
{
    struct sim_regs *r = &s->regs;
    int i = find(r, addr);
    if (i < 0) {
        i = r->n < SIM_MAX_REGS ? r->n++ : SIM_MAX_REGS - 1;
        r->addr[i] = addr;
    }
    r->val[i] = value;
}

/* CRC-8/MAXIM, which the ESP32 keeps next to the MAC in eFuse BLK0. */
static uint8_t crc8(const uint8_t *p, size_t n)
{
    uint8_t crc = 0;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int b = 0; b < 8; b++) {
            crc = (crc & 1) ? (uint8_t)((crc >> 1) ^ 0x8C) : (uint8_t)(crc >> 1);
        }
    }
    return crc;
}

static bool mac_word(const struct sim *s, uint32_t addr, uint32_t *out)
{
    const uint8_t *m = s->opt.mac;
    uint32_t base = s->chip->mac_reg;
    uint32_t low4 = (uint32_t)m[2] << 24 | (uint32_t)m[3] << 16 | (uint32_t)m[4] << 8 | m[5];
    switch (s->chip->id) {
    case SIM_ESP8266: {
        /* OTP words (§3.2): OUI in MAC3 unless it is one of the two ROM-known OUIs. */
        bool oui0 = m[0] == 0x18 && m[1] == 0xFE && m[2] == 0x34;
        bool oui1 = m[0] == 0xAC && m[1] == 0xD0 && m[2] == 0x74;
        uint32_t mac1 = (uint32_t)m[3] << 8 | m[4] | (oui1 ? 1u << 16 : 0);
        uint32_t mac3 = (oui0 || oui1) ? 0 : ((uint32_t)m[0] << 16 | (uint32_t)m[1] << 8 | m[2]);
        if (addr == base) {
            *out = (uint32_t)m[5] << 24;
        } else if (addr == base + 4) {
            *out = mac1;
        } else if (addr == base + 8) {
            *out = 0;
        } else if (addr == base + 12) {
            *out = mac3;
        } else {
            return false;
        }
        return true;
    }
    case SIM_ESP32:
        if (addr == base + 4) {
            *out = low4;
        } else if (addr == base + 8) {
            *out = (uint32_t)crc8(m, 6) << 16 | (uint32_t)m[0] << 8 | m[1];
        } else {
            return false;
        }
        return true;
    default:
        if (addr == base) {
            *out = low4;
        } else if (addr == base + 4) {
            *out = (uint32_t)m[0] << 8 | m[1];
        } else {
            return false;
        }
        return true;
    }
}

uint32_t sim_clkdiv_for(const struct sim *s, uint32_t baud)
{
    if (baud == 0) {
        return 0;
    }
    return (s->chip->uart_clk_hz + baud / 2) / baud;
}

uint32_t sim_reg_read(struct sim *s, uint32_t addr)
{
    const struct sim_chip *c = s->chip;
    uint32_t v;
    if (addr == CHIP_DETECT_MAGIC_REG) {
        return c->magic;
    }
    if (mac_word(s, addr, &v)) {
        return v;
    }
    if (addr == c->uart_clkdiv_reg) {
        return sim_clkdiv_for(s, s->uart.baud);
    }
    if (c->gpio_strap_reg != 0 && addr == c->gpio_strap_reg) {
        return s->board.strap;
    }
    return stored(s, addr);
}

/* One user command on the flash: only what flashers send through W0. */
static void spi_user_command(struct sim *s)
{
    const struct sim_chip *c = s->chip;
    uint32_t usr = stored(s, c->spi_base + c->spi_usr);
    uint32_t opcode = stored(s, c->spi_base + c->spi_usr2) & 0xFFFF;
    uint32_t w0 = c->spi_base + c->spi_w0;
    if (!(usr & SPI_USR_MISO)) {
        return;
    }
    if (!s->ld.attached) {
        store(s, w0, 0xFFFFFFFF); /* MISO floats high: no flash answered */
        return;
    }
    switch (opcode) {
    case 0x9F: /* RDID */
        store(s, w0, s->opt.flash_id);
        break;
    case 0x5A: /* SFDP header */
        store(s, w0, 0x50444653);
        break;
    case 0x05: /* RDSR: never busy, no protection bits */
    case 0x35:
    case 0x15:
        store(s, w0, 0);
        break;
    default:
        break;
    }
    sim_log(s, "spi: user command 0x%02x -> W0=0x%08x", opcode, stored(s, w0));
}

void sim_reg_write(struct sim *s, uint32_t addr, uint32_t value)
{
    const struct sim_chip *c = s->chip;
    if (addr == c->spi_base && (value & SPI_CMD_USR)) {
        spi_user_command(s);
        value &= ~SPI_CMD_USR; /* done at once: the first poll sees it clear */
    }
    store(s, addr, value);
}
