/* Which chip answers (esp-protocol.md §3.1), its MAC (§3.2) and crystal (§3.4). */
#include <string.h>

#include "flasher/flasher_priv.h"

static int security_info(struct fl_session *s, const struct fl_target **t, struct fl_error *err)
{
    struct fl_reply r;
    struct fl_error e2;
    int rc = fl_command(s, FL_OP_GET_SECURITY_INFO, NULL, 0, 0, FL_PAYLOAD_AUTO, 1000, &r, &e2);
    if (rc == FL_ERR_ROM || rc == FL_ERR_UNSUPPORTED || rc == FL_ERR_TIMEOUT) {
        /* ESP8266/ESP32 ROMs (and some stubs) do not know the command. */
        fl_log(s, FL_LOG_DEBUG, "no security info: %s", e2.msg);
        return FL_OK;
    }
    if (rc != FL_OK) {
        if (err != NULL) {
            *err = e2;
        }
        return rc;
    }
    if (r.payload_len < 12) {
        return FL_OK;
    }
    s->info.has_security_info = true;
    s->info.security_flags = fl_get_le32(r.data);
    s->info.flash_crypt_cnt = r.data[4];
    s->info.secure_download = (s->info.security_flags & (1u << 2)) != 0;
    if (r.payload_len >= 20) {
        uint32_t chip_id = fl_get_le32(r.data + 12);
        *t = fl_target_by_image_id(chip_id);
        if (*t == NULL) {
            fl_log(s, FL_LOG_DEBUG, "security info names chip id %u, not in the table",
                   (unsigned)chip_id);
        }
    } else {
        /* Only the ESP32-S2 answers with the short 12-byte form. */
        *t = fl_target_by_chip(FL_CHIP_ESP32S2);
    }
    return FL_OK;
}

int fl_identify(struct fl_session *s, bool synced, struct fl_error *err)
{
    struct fl_session_state *st = s->state;
    uint32_t magic = 0;
    bool have_magic = false;
    if (!synced) {
        /* No SYNC told us the status length: a READ_REG reply carries only
         * its status, so its size does. */
        uint8_t buf[4];
        struct fl_reply r;
        fl_put_le32(buf, FL_CHIP_DETECT_MAGIC_REG);
        st->status_len = 2;
        TRY(fl_command(s, FL_OP_READ_REG, buf, 4, 0, 0, FL_T_DEFAULT, &r, err));
        st->status_len = r.data_len >= 4 ? 4 : 2;
        magic = r.value;
        have_magic = true;
    }
    const struct fl_target *t = NULL;
    bool esp8266_rom = st->status_len == 2 && !st->stub;
    if (!esp8266_rom) {
        TRY(security_info(s, &t, err));
    }
    if (t == NULL) {
        if (!have_magic) {
            TRY(fl_read_reg(s, FL_CHIP_DETECT_MAGIC_REG, &magic, err));
        }
        t = fl_target_by_magic(magic);
        s->info.magic = magic;
    }
    if (t == NULL) {
        if (s->opt.chip == FL_CHIP_AUTO) {
            return fl_error_set(err, FL_ERR_UNSUPPORTED,
                                "supported: esp8266, esp32, esp32s2, esp32s3, esp32c2, esp32c3, "
                                "esp32c6, esp32h2; name the chip with --chip if you know it",
                                "unknown chip (detect magic 0x%08x)", (unsigned)magic);
        }
        t = fl_target_by_chip(s->opt.chip);
        fl_log(s, FL_LOG_WARN, "unknown detect magic 0x%08x, trusting --chip %s", (unsigned)magic,
               t->name);
    } else if (s->opt.chip != FL_CHIP_AUTO && t->chip != s->opt.chip) {
        return fl_error_set(err, FL_ERR_INVALID, "use --chip auto, or the port of the right board",
                            "this board is an %s, not the %s given with --chip", t->name,
                            fl_chip_name(s->opt.chip));
    }
    st->target = t;
    if (!synced && t->rom_status_len == 4 && st->status_len == 2) {
        st->stub = true; /* a 2-byte status on a 4-byte ROM chip: the stub answers */
    }
    s->info.chip = t->chip;
    s->info.name = t->name;
    s->info.stub_running = st->stub;
    return FL_OK;
}

static int read_mac(struct fl_session *s, struct fl_error *err)
{
    const struct fl_target *t = s->state->target;
    uint8_t *m = s->info.mac;
    uint32_t mac0, mac1;
    TRY(fl_read_reg(s, t->mac_reg, &mac0, err));
    TRY(fl_read_reg(s, t->mac_reg + 4, &mac1, err));
    if (t->mac_kind == FL_MAC_ESP8266) {
        uint32_t mac3;
        TRY(fl_read_reg(s, t->mac_reg + 12, &mac3, err));
        if (mac3 != 0) {
            m[0] = (uint8_t)(mac3 >> 16);
            m[1] = (uint8_t)(mac3 >> 8);
            m[2] = (uint8_t)mac3;
        } else if (((mac1 >> 16) & 0xFF) == 0) {
            m[0] = 0x18, m[1] = 0xFE, m[2] = 0x34;
        } else if (((mac1 >> 16) & 0xFF) == 1) {
            m[0] = 0xAC, m[1] = 0xD0, m[2] = 0x74;
        } else {
            fl_log(s, FL_LOG_WARN, "unknown ESP8266 OUI in the eFuses");
            return FL_OK;
        }
        m[3] = (uint8_t)(mac1 >> 8);
        m[4] = (uint8_t)mac1;
        m[5] = (uint8_t)(mac0 >> 24);
    } else {
        m[0] = (uint8_t)(mac1 >> 8);
        m[1] = (uint8_t)mac1;
        m[2] = (uint8_t)(mac0 >> 24);
        m[3] = (uint8_t)(mac0 >> 16);
        m[4] = (uint8_t)(mac0 >> 8);
        m[5] = (uint8_t)mac0;
    }
    s->info.mac_valid = true;
    return FL_OK;
}

int fl_read_crystal(struct fl_session *s, struct fl_error *err)
{
    const struct fl_target *t = s->state->target;
    if (s->info.crystal_mhz != 0) {
        return FL_OK;
    }
    if (t->fixed_xtal_mhz != 0) {
        s->info.crystal_mhz = t->fixed_xtal_mhz;
        return FL_OK;
    }
    uint32_t div;
    TRY(fl_read_reg(s, t->uart_clkdiv_reg, &div, err));
    /* The loader set the divider for our baud rate: divider x baud = clock. */
    double mhz = (double)(div & 0xFFFFF) * s->state->port->baud / 1e6 / t->xtal_div;
    s->info.crystal_mhz = mhz > 33 ? 40 : 26;
    fl_log(s, FL_LOG_DEBUG, "crystal estimate %.1f MHz -> %u MHz", mhz,
           (unsigned)s->info.crystal_mhz);
    return FL_OK;
}

int fl_detect(struct fl_session *s, struct fl_chip_info *out, struct fl_error *err)
{
    struct fl_session_state *st = s->state;
    if (st == NULL || st->target == NULL) {
        return fl_error_set(err, FL_ERR_INVALID, NULL, "not connected (call fl_connect first)");
    }
    if (s->info.secure_download) {
        fl_log(s, FL_LOG_WARN, "Secure Download Mode: MAC and flash id cannot be read");
    } else {
        TRY(read_mac(s, err));
        TRY(fl_read_crystal(s, err));
        TRY(fl_flash_attach(s, err));
        uint32_t id = 0;
        TRY(fl_flash_read_id(s, &id, err));
        s->info.jedec_id = id;
        s->info.flash_size = fl_flash_size_from_id(id);
        if (s->info.flash_size == 0) {
            s->info.flash_size = 4u << 20;
            s->info.flash_size_guessed = true;
            fl_log(s, FL_LOG_WARN, "unknown flash id 0x%06x: assuming 4 MB (set --flash-size)",
                   (unsigned)id);
        }
    }
    uint32_t size = s->info.flash_size;
    if (s->opt.flash_size > 0) {
        size = (uint32_t)s->opt.flash_size;
    }
    if (size != 0) {
        TRY(fl_flash_set_size(s, size, err));
    }
    st->detected = true;
    s->info.baud = st->port->baud;
    if (out != NULL) {
        *out = s->info;
    }
    return FL_OK;
}

int fl_ensure_detected(struct fl_session *s, struct fl_error *err)
{
    if (s->state == NULL || s->state->target == NULL) {
        return fl_error_set(err, FL_ERR_INVALID, NULL, "not connected (call fl_connect first)");
    }
    return s->state->detected ? FL_OK : fl_detect(s, NULL, err);
}
