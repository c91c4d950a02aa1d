/*
 * The dev board around the chip: the auto-reset circuit (DTR/RTS -> EN/IO0),
 * the strap sampled when EN rises, the ROM's boot text, and what happens when
 * the chip leaves the loader.
 */
#include "sim.h"

#include <string.h>

#define BOOT_LOOP_LINES 3
#define BOOT_LOOP_NS    (100 * SIM_MS)

/* Two cross-coupled transistors (§4.1): asserted = line driven low. */
static bool en_high(bool dtr, bool rts)
{
    return !(rts && !dtr);
}

static bool io0_low(const struct sim *s)
{
    const struct sim_board *b = &s->board;
    if (b->force_io0 != 0) {
        return b->force_io0 == 1;
    }
    if (b->lines_driven) {
        return b->dtr && !b->rts;
    }
    return b->strap_io0_low;
}

void sim_board_schedule(struct sim *s, enum sim_event ev, int64_t at)
{
    s->board.ev = ev;
    s->board.ev_at = at;
}

static void hold_in_reset(struct sim *s, int64_t now)
{
    s->t = now;
    s->ld.mode = SIM_MODE_RESET;
    sim_uart_reset(s);
    sim_board_schedule(s, SIM_EV_NONE, 0);
}

static void clear_loader(struct sim *s)
{
    struct sim_loader *ld = &s->ld;
    sim_flashop_clear(&ld->fo);
    sim_readop_clear(&ld->ro);
    memset(&ld->mo, 0, sizeof ld->mo);
    ld->nloaded = 0;
    ld->deferred = 0;
    ld->syncs_seen = 0;
    ld->last_write_len = 0;
    ld->slow_erase_pending = sim_fault_present(&s->faults, SIM_F_SLOW_ERASE);
}

void sim_board_enter_rom(struct sim *s, enum sim_reset_cause cause)
{
    struct sim_loader *ld = &s->ld;
    (void)cause;
    clear_loader(s);
    ld->mode = SIM_MODE_ROM;
    ld->attached = false;
    /* ROM SPI config defaults to 2 MB (ESP32+); the ESP8266 ROM has no
     * SPI_SET_PARAMS and is limited by its 24-bit addresses only. */
    ld->flash_limit = s->chip->id == SIM_ESP8266 ? 16u << 20 : 2u << 20;
    s->uart.autobaud = true;
    s->uart.baud = s->chip->rom_baud;
    sim_regs_init(s);
}

static bool image_at(const struct sim *s, uint32_t addr)
{
    return s->flash.mem[sim_flash_phys(&s->flash, addr)] == 0xE9;
}

static void app_text(struct sim *s)
{
    char line[160];
    const uint8_t *m = s->opt.mac;
    /* Applications talk at 115200, whatever the ROM used. */
    s->uart.baud = 115200;
    snprintf(line, sizeof line,
             "I (31) boot: espsim second-stage bootloader\r\n"
             "I (120) espsim: app running on %s, MAC %02x:%02x:%02x:%02x:%02x:%02x\r\n",
             s->chip->name, m[0], m[1], m[2], m[3], m[4], m[5]);
    sim_tx_text(s, line);
}

/* Leaves the ROM for the flash (FLASH_END "run", RUN_USER_CODE, flash boot). */
static void run_flash(struct sim *s)
{
    s->ld.mode = SIM_MODE_APP;
    clear_loader(s);
    if (!image_at(s, s->chip->boot_offset)) {
        s->board.loop_left = BOOT_LOOP_LINES;
        sim_board_schedule(s, SIM_EV_APP_TEXT, s->t);
        return;
    }
    if (s->chip->id == SIM_ESP8266) {
        sim_tx_text(s, "load 0x40100000, len 27728, room 16 \r\ntail 0\r\nchksum 0x2a\r\n");
    } else {
        sim_tx_text(s, "load:0x3fff0030,len:7112\r\nload:0x40078000,len:15624\r\n"
                       "entry 0x40080400\r\n");
    }
    app_text(s);
}

static void banner(struct sim *s, bool download, enum sim_reset_cause cause)
{
    const struct sim_chip *c = s->chip;
    char text[256];
    s->uart.baud = c->rom_baud;
    s->board.strap = download ? c->strap_download : c->strap_flash;
    if (c->id == SIM_ESP8266) {
        snprintf(text, sizeof text, "%s%s, boot mode:(%s)\r\n\r\n", c->banner, c->rst[cause],
                 download ? c->boot_download : c->boot_flash);
    } else {
        snprintf(text, sizeof text, "%srst:%s,boot:0x%x (%s)\r\n%s", c->banner, c->rst[cause],
                 s->board.strap, download ? c->boot_download : c->boot_flash,
                 download ? "waiting for download\r\n" : c->flash_lines);
    }
    sim_tx_text(s, text);
}

static void boot(struct sim *s, enum sim_reset_cause cause)
{
    bool download = io0_low(s);
    s->board.force_io0 = 0;
    if (download && sim_fault_present(&s->faults, SIM_F_NO_DOWNLOAD)) {
        download = false; /* the strap never reaches the chip */
    }
    sim_log(s, "boot: %s (%s)", download ? "download mode" : "flash", s->chip->rst[cause]);
    s->ld.mode = SIM_MODE_ROM; /* lets the banner out */
    banner(s, download, cause);
    if (download) {
        sim_board_enter_rom(s, cause);
    } else {
        run_flash(s);
    }
}

void sim_board_power_on(struct sim *s)
{
    s->board.en_high = true;
    s->board.strap_io0_low = s->opt.boot_download;
    s->ld.mode = SIM_MODE_RESET;
    s->board.cause = SIM_RST_POWERON;
    sim_board_schedule(s, SIM_EV_BOOT, s->t);
}

void sim_board_reset(struct sim *s, bool download, enum sim_reset_cause cause)
{
    int64_t now = sim_clock();
    s->board.force_io0 = download ? 1 : 2;
    s->board.strap_io0_low = download;
    hold_in_reset(s, now);
    s->board.cause = cause;
    sim_board_schedule(s, SIM_EV_BOOT, now + (int64_t)s->opt.en_delay_ms * SIM_MS);
}

void sim_board_set_lines(struct sim *s, bool dtr, bool rts, int64_t now)
{
    struct sim_board *b = &s->board;
    bool was = en_high(b->dtr, b->rts);
    b->dtr = dtr;
    b->rts = rts;
    bool en = en_high(dtr, rts);
    if (was && !en) {
        hold_in_reset(s, now);
        sim_log(s, "EN low (DTR=%d RTS=%d): chip held in reset", dtr, rts);
    } else if (!was && en) {
        /* The EN capacitor delays the rising edge; IO0 is read then. */
        b->cause = SIM_RST_EN;
        sim_board_schedule(s, SIM_EV_BOOT, now + (int64_t)s->opt.en_delay_ms * SIM_MS);
    }
    b->en_high = en;
}

void sim_board_tick(struct sim *s, int64_t now)
{
    struct sim_board *b = &s->board;
    while (b->ev != SIM_EV_NONE && b->ev_at <= now) {
        enum sim_event ev = b->ev;
        b->ev = SIM_EV_NONE;
        if (ev == SIM_EV_BOOT) {
            s->t = b->ev_at;
            boot(s, b->cause);
            continue;
        }
        if (s->t < b->ev_at) {
            s->t = b->ev_at;
        }
        switch (ev) {
        case SIM_EV_STUB_START: {
            static const uint8_t ohai[] = {'O', 'H', 'A', 'I'};
            clear_loader(s);
            s->ld.mode = SIM_MODE_STUB;
            s->ld.stub_legacy = s->ld.start_flavour == SIM_STUB_LEGACY;
            s->ld.attached = true;
            s->ld.flash_limit = s->chip->max_flash;
            s->uart.autobaud = false;
            sim_log(s, "stub: started (%s)", s->ld.stub_legacy ? "legacy" : "new");
            sim_raw_frame(s, ohai, sizeof ohai);
            break;
        }
        case SIM_EV_SW_RESET:
            s->ld.mode = SIM_MODE_ROM;
            sim_uart_reset(s);
            sim_log(s, "software reset: back to the ROM loader");
            banner(s, true, SIM_RST_SW);
            sim_board_enter_rom(s, SIM_RST_SW);
            break;
        case SIM_EV_RUN_APP:
            sim_log(s, "leaving the loader: running the app from flash");
            run_flash(s);
            break;
        case SIM_EV_APP_TEXT:
            if (b->loop_left > 0) {
                b->loop_left--;
                sim_tx_text(s, s->chip->blank_flash_text);
                if (b->loop_left > 0) {
                    sim_board_schedule(s, SIM_EV_APP_TEXT, s->t + BOOT_LOOP_NS);
                }
            }
            break;
        default:
            break;
        }
    }
}
