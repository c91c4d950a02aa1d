/* SPI_FLASH_MD5 (ROM: 32 hex characters, stub: 16 raw bytes) and comparisons. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flasher/flasher_priv.h"

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

int fl_flash_md5(struct fl_session *s, uint32_t addr, uint32_t len, uint8_t md5[16],
                 struct fl_error *err)
{
    TRY(fl_ensure_detected(s, err));
    if (!fl_can(s, FL_ROM_MD5)) {
        return fl_error_set(err, FL_ERR_UNSUPPORTED, "use --stub FILE to verify flash contents",
                            "the %s ROM loader cannot compute a flash MD5", s->info.name);
    }
    TRY(fl_check_range(s, addr, len, err));
    bool stub = s->state->stub;
    uint8_t req[16];
    fl_put_le32(req, addr);
    fl_put_le32(req + 4, len);
    fl_put_le32(req + 8, 0);
    fl_put_le32(req + 12, 0);
    struct fl_reply r;
    TRY(fl_command(s, FL_OP_SPI_FLASH_MD5, req, sizeof req, 0, stub ? 16 : 32,
                   fl_timeout_for(FL_T_MD5_PER_MB, len), &r, err));
    if (stub) {
        memcpy(md5, r.data, 16);
        return FL_OK;
    }
    for (int i = 0; i < 16; i++) {
        int hi = hexval(r.data[2 * i]), lo = hexval(r.data[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return fl_error_set(err, FL_ERR_PROTO, NULL,
                                "SPI_FLASH_MD5 reply is not hexadecimal text");
        }
        md5[i] = (uint8_t)(hi << 4 | lo);
    }
    return FL_OK;
}

static void hex16(const uint8_t *md5, char out[33])
{
    for (int i = 0; i < 16; i++) {
        snprintf(out + 2 * i, 3, "%02x", md5[i]);
    }
}

int fl_compare_md5(struct fl_session *s, uint32_t addr, const uint8_t *data, size_t len,
                   const uint8_t local[16], struct fl_error *err)
{
    uint8_t flash[16];
    TRY(fl_flash_md5(s, addr, (uint32_t)len, flash, err));
    if (memcmp(flash, local, 16) == 0) {
        return FL_OK;
    }
    char a[33], b[33];
    hex16(flash, a);
    hex16(local, b);
    /* All 0xFF in flash means nothing was written at all. */
    const char *why = "";
    uint8_t *blank = malloc(len);
    if (blank != NULL) {
        uint8_t md5_blank[16];
        memset(blank, 0xFF, len);
        if (fl_md5_local(blank, len, md5_blank) == FL_OK && memcmp(md5_blank, flash, 16) == 0 &&
            !fl_is_blank(data, len)) {
            why = " (the flash region is empty)";
        }
        free(blank);
    }
    return fl_error_set(err, FL_ERR_VERIFY,
                        "check the power supply and the cable; a write-protected flash also "
                        "does this",
                        "flash at 0x%08x (%zu bytes) does not match: MD5 %s in flash, %s "
                        "expected%s",
                        (unsigned)addr, len, a, b, why);
}

int fl_verify(struct fl_session *s, uint32_t addr, const uint8_t *data, size_t len,
              struct fl_error *err)
{
    uint8_t local[16];
    if (fl_md5_local(data, len, local) != FL_OK) {
        return fl_error_set(err, FL_ERR_NOMEM, NULL, "MD5 computation failed");
    }
    fl_progress(s, 0, 0, len);
    TRY(fl_compare_md5(s, addr, data, len, local, err));
    fl_progress(s, 0, len, len);
    return FL_OK;
}
