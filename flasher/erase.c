/* Erasing: the stub's ERASE_REGION/ERASE_FLASH, or the ROM's FLASH_BEGIN
 * without data blocks (esp-protocol.md §2.2, as esptool emulates it). */
#include <stdlib.h>
#include <string.h>

#include "flasher/flasher_priv.h"

int fl_erase_range(struct fl_session *s, uint32_t addr, uint32_t len, struct fl_error *err)
{
    struct fl_session_state *st = s->state;
    int timeout = fl_timeout_for(FL_T_ERASE_REGION_PER_MB, len);
    if (st->stub) {
        const uint32_t words[2] = {addr, len};
        return fl_command_words(s, FL_OP_ERASE_REGION, words, 2, timeout, err);
    }
    TRY(fl_flash_attach(s, err));
    uint32_t size = fl_can(s, FL_ROM_ERASE_QUIRK) ? fl_esp8266_erase_size(addr, len) : len;
    const uint32_t words[5] = {size, 0, FL_ROM_BLOCK, addr, 0};
    return fl_command_words(s, FL_OP_FLASH_BEGIN, words, fl_can(s, FL_ROM_BEGIN_5WORDS) ? 5 : 4,
                            timeout, err);
}

int fl_check_range(struct fl_session *s, uint32_t addr, uint64_t len, struct fl_error *err)
{
    uint64_t end = (uint64_t)addr + len;
    uint64_t size = s->opt.flash_size > 0 ? (uint64_t)s->opt.flash_size : s->info.flash_size;
    if (size != 0 && end > size) {
        return fl_error_set(err, FL_ERR_INVALID,
                            "check the address; if the flash size was misdetected, give "
                            "--flash-size",
                            "0x%08x..0x%08llx is beyond the end of the %llu KiB flash",
                            (unsigned)addr, (unsigned long long)end,
                            (unsigned long long)(size / 1024));
    }
    if (!s->state->stub && end > FL_ROM_ADDR_LIMIT) {
        return fl_error_set(err, FL_ERR_UNSUPPORTED, "use --stub FILE for flash beyond 16 MB",
                            "the ROM loader only addresses the first 16 MB (0x%08llx asked)",
                            (unsigned long long)end);
    }
    return FL_OK;
}

int fl_erase_region(struct fl_session *s, uint32_t addr, uint32_t len, struct fl_error *err)
{
    TRY(fl_ensure_detected(s, err));
    if (addr % FL_SECTOR != 0 || len % FL_SECTOR != 0 || len == 0) {
        return fl_error_set(
            err, FL_ERR_INVALID, "erase whole 4 KiB sectors: offset and size multiples of 0x1000",
            "cannot erase 0x%x bytes at 0x%08x: not 4 KiB aligned", (unsigned)len, (unsigned)addr);
    }
    TRY(fl_check_range(s, addr, len, err));
    if (!s->state->stub && fl_can(s, FL_ROM_ERASE_QUIRK)) {
        uint32_t sector = addr / FL_SECTOR, n = len / FL_SECTOR, t = 16 - sector % 16;
        if (n % 2 == 1 && n < 2 * t) {
            fl_log(s, FL_LOG_WARN,
                   "the ESP8266 ROM cannot erase an odd number of sectors here: the sector at "
                   "0x%08x is erased too (use --stub FILE to avoid it)",
                   (unsigned)(addr + len));
        }
    }
    fl_progress(s, 0, 0, len);
    TRY(fl_erase_range(s, addr, len, err));
    fl_progress(s, 0, len, len);
    return FL_OK;
}

int fl_erase_chip(struct fl_session *s, struct fl_error *err)
{
    TRY(fl_ensure_detected(s, err));
    if (!s->state->stub) {
        return fl_error_set(err, FL_ERR_UNSUPPORTED,
                            "use --stub FILE, or erase a region: espprov flash erase 0 SIZE",
                            "the %s ROM loader cannot erase the whole chip", s->info.name);
    }
    fl_progress(s, 0, 0, s->info.flash_size);
    TRY(fl_command(s, FL_OP_ERASE_FLASH, NULL, 0, 0, 0, FL_T_CHIP_ERASE, NULL, err));
    fl_progress(s, 0, s->info.flash_size, s->info.flash_size);
    return FL_OK;
}
