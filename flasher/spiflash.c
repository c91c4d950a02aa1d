/*
 * The SPI flash behind the loader: attach, size, and JEDEC id through the
 * SPI peripheral's user-command engine driven with READ_REG/WRITE_REG
 * (esp-protocol.md §3.3) — the ROM has no "read id" command.
 */
#include "flasher/flasher_priv.h"

#define SPI_USR_COMMAND (1u << 31)
#define SPI_USR_MISO    (1u << 28)
#define SPI_CMD_USR     (1u << 18)
#define SPI_FLASH_RDID  0x9F

int fl_flash_attach(struct fl_session *s, struct fl_error *err)
{
    struct fl_session_state *st = s->state;
    if (st->attached) {
        return FL_OK;
    }
    bool esp8266 = st->target->chip == FL_CHIP_ESP8266;
    if (st->stub) {
        if (!esp8266) {
            const uint32_t cfg = 0; /* default SPI pins; the stub wants exactly 4 bytes */
            TRY(fl_command_words(s, FL_OP_SPI_ATTACH, &cfg, 1, FL_T_DEFAULT, err));
        }
    } else if (fl_can(s, FL_ROM_SPI_ATTACH)) {
        const uint32_t words[2] = {0, 0}; /* pins, then "is_legacy" = 0: the ROM wants 8 bytes */
        TRY(fl_command_words(s, FL_OP_SPI_ATTACH, words, 2, FL_T_DEFAULT, err));
    } else if (esp8266) {
        /* The ESP8266 ROM has no SPI_ATTACH: an empty FLASH_BEGIN attaches. */
        const uint32_t words[4] = {0, 0, FL_ROM_BLOCK, 0};
        TRY(fl_command_words(s, FL_OP_FLASH_BEGIN, words, 4, FL_T_DEFAULT, err));
    }
    st->attached = true;
    return FL_OK;
}

int fl_flash_set_size(struct fl_session *s, uint32_t size, struct fl_error *err)
{
    struct fl_session_state *st = s->state;
    if (!fl_can(s, FL_ROM_SET_PARAMS) || st->target->chip == FL_CHIP_ESP8266 ||
        st->params_size == size) {
        return FL_OK;
    }
    TRY(fl_flash_attach(s, err));
    const uint32_t words[6] = {0, size, 0x10000, 0x1000, 0x100, 0xFFFF};
    TRY(fl_command_words(s, FL_OP_SPI_SET_PARAMS, words, 6, FL_T_DEFAULT, err));
    st->params_size = size;
    return FL_OK;
}

static int spi_read_command(struct fl_session *s, uint8_t cmd, int read_bits, uint32_t *out,
                            struct fl_error *err)
{
    const struct fl_target *t = s->state->target;
    uint32_t base = t->spi.base;
    uint32_t usr = base + t->spi.usr, usr2 = base + t->spi.usr2;
    uint32_t old_usr, old_usr2;
    TRY(fl_read_reg(s, usr, &old_usr, err));
    TRY(fl_read_reg(s, usr2, &old_usr2, err));
    if (t->spi.miso_dlen != 0) {
        TRY(fl_write_reg(s, base + t->spi.miso_dlen, (uint32_t)read_bits - 1, err));
    } else {
        /* ESP8266: both bit lengths live in USR1 (MISO at bit 8, MOSI at 17). */
        TRY(fl_write_reg(s, base + t->spi.usr1, ((uint32_t)read_bits - 1) << 8, err));
    }
    TRY(fl_write_reg(s, usr, SPI_USR_COMMAND | SPI_USR_MISO, err));
    TRY(fl_write_reg(s, usr2, (7u << 28) | cmd, err));
    TRY(fl_write_reg(s, base + t->spi.w0, 0, err));
    TRY(fl_write_reg(s, base, SPI_CMD_USR, err));
    bool done = false;
    for (int i = 0; i < 10 && !done; i++) {
        uint32_t v;
        TRY(fl_read_reg(s, base, &v, err));
        done = (v & SPI_CMD_USR) == 0;
    }
    if (!done) {
        return fl_error_set(err, FL_ERR_PROTO, "check the flash chip's wiring and power",
                            "SPI flash command 0x%02x did not complete", cmd);
    }
    TRY(fl_read_reg(s, base + t->spi.w0, out, err));
    TRY(fl_write_reg(s, usr, old_usr, err));
    return fl_write_reg(s, usr2, old_usr2, err);
}

int fl_flash_read_id(struct fl_session *s, uint32_t *jedec, struct fl_error *err)
{
    uint32_t v;
    TRY(fl_flash_attach(s, err));
    TRY(spi_read_command(s, SPI_FLASH_RDID, 24, &v, err));
    *jedec = v & 0xFFFFFF;
    return FL_OK;
}

uint32_t fl_flash_size_from_id(uint32_t id)
{
    if (id == 0xFFFFFF || id == 0 || id == 0xFFFF3F) {
        return 0; /* nothing answered on the bus */
    }
    if ((id & 0xFF) == 0x1F) {
        /* Adesto encodes the size in the low bits of the first device byte. */
        uint32_t code = (id >> 8) & 0x1F;
        return code >= 4 && code <= 9 ? (512u * 1024) << (code - 4) : 0;
    }
    uint32_t b = (id >> 16) & 0xFF;
    if (b >= 0x12 && b <= 0x1C) {
        return (256u * 1024) << (b - 0x12);
    }
    if (b >= 0x20 && b <= 0x22) {
        return (64u << 20) << (b - 0x20);
    }
    if (b >= 0x32 && b <= 0x3A) {
        return (256u * 1024) << (b - 0x32);
    }
    return 0;
}
