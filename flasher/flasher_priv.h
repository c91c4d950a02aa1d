/* flasher-internal: session state, the chip table, and the layers between
 * the public API and the port (api -> commands -> frames -> SLIP -> port). */
#ifndef ESPPROV_FLASHER_PRIV_H
#define ESPPROV_FLASHER_PRIV_H

#include "flasher/flasher.h"
#include "flasher/error_priv.h"

#define TRY(expr)                                                                                  \
    do {                                                                                           \
        int try_rc_ = (expr);                                                                      \
        if (try_rc_ != FL_OK) {                                                                    \
            return try_rc_;                                                                        \
        }                                                                                          \
    } while (0)

/* ----- Sizes and timeouts (esp-protocol.md §2.3, §2.5) ----- */
#define FL_SECTOR         0x1000u
#define FL_ROM_BLOCK      0x400u
#define FL_STUB_BLOCK     0x4000u
#define FL_RAM_BLOCK      0x1800u
#define FL_READ_PACKET    0x1000u
#define FL_ROM_ADDR_LIMIT 0x1000000u /* 24-bit addresses without a stub */

#define FL_T_DEFAULT             3000
#define FL_T_SYNC                100
#define FL_T_ERASE_WRITE_PER_MB  40000
#define FL_T_ERASE_REGION_PER_MB 40000
#define FL_T_MD5_PER_MB          8000
#define FL_T_CHIP_ERASE          120000
#define FL_T_MEM_END_ROM         200
#define FL_T_STUB_HELLO          3000

#define FL_SYNC_MAGIC            0x20120707u
#define FL_CHIP_DETECT_MAGIC_REG 0x40001000u

/* ----- Little-endian helpers ----- */
static inline void fl_put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}
static inline void fl_put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline uint32_t fl_get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint16_t fl_get_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

/* ----- The chip table (targets.c) ----- */

/* What a chip's ROM loader can do (the stub can do all of it). */
enum fl_rom_caps {
    FL_ROM_SPI_ATTACH = 1 << 0,
    FL_ROM_SET_PARAMS = 1 << 1,
    FL_ROM_READ_SLOW = 1 << 2,
    FL_ROM_MD5 = 1 << 3,
    FL_ROM_DEFL = 1 << 4,
    FL_ROM_CHANGE_BAUD = 1 << 5,
    FL_ROM_SECURITY_INFO = 1 << 6,
    FL_ROM_BEGIN_5WORDS = 1 << 7, /* FLASH_BEGIN takes the "encrypted" word */
    FL_ROM_ERASE_QUIRK = 1 << 8,  /* ESP8266 erase-size bug */
};

enum fl_mac_kind { FL_MAC_ESP8266, FL_MAC_EFUSE_PAIR };
enum fl_size_table { FL_SIZES_ESP8266, FL_SIZES_ESP32 };

struct fl_freq_code {
    int mhz;
    uint8_t code;
};

struct fl_target {
    enum fl_chip chip;
    const char *name; /* "ESP32-S3" */
    const char *key;  /* "esp32s3" */
    uint32_t magic[4];
    int image_chip_id; /* -1: no extended header */
    uint8_t rom_status_len;
    unsigned rom_caps;
    uint32_t bootloader_offset;
    struct {
        uint32_t base;
        uint8_t usr, usr1, usr2, mosi_dlen, miso_dlen, w0; /* offsets; dlen 0 = none */
        bool addr_msb;
    } spi;
    enum fl_mac_kind mac_kind;
    uint32_t mac_reg;         /* first of two eFuse words (ESP8266: MAC0) */
    uint32_t uart_clkdiv_reg; /* 0: crystal fixed */
    uint8_t xtal_div;
    uint8_t fixed_xtal_mhz;
    enum fl_size_table sizes;
    const struct fl_freq_code *freqs; /* ends with mhz 0 */
};

const struct fl_target *fl_target_by_chip(enum fl_chip chip);
const struct fl_target *fl_target_by_magic(uint32_t magic);
const struct fl_target *fl_target_by_image_id(uint32_t image_chip_id);

/* ----- Session state ----- */

#define FL_FRAME_CAP   (FL_STUB_BLOCK + 1024)
#define FL_REQ_CAP     (8 + 16 + FL_STUB_BLOCK + 64)
#define FL_RX_CHUNK    4096
#define FL_BOOTLOG_CAP 2048

struct fl_session_state {
    struct fl_port *port;
    bool own_port;
    const struct fl_target *target;
    int status_len; /* 0 unknown, 2 or 4 */
    bool stub;
    const struct fl_stub *stub_img; /* the stub this session started (restarted after a reset) */
    bool stub_failed;               /* a default stub did not start: stay with the ROM */
    bool attached;                  /* SPI flash attached */
    uint32_t params_size;           /* last SPI_SET_PARAMS size (0: never sent) */
    bool detected;
    bool lines_reported;  /* the "no modem lines" warning was given */
    int carry_timeout_ms; /* owed by the stub for the last block, added to the next command */
    bool baud_fell_back;  /* a raised rate failed once: stay at the connect rate */
    struct fl_slip_decoder dec;
    uint8_t frame[FL_FRAME_CAP];
    uint8_t rx[FL_RX_CHUNK];
    size_t rx_pos, rx_len;
    uint8_t req[FL_REQ_CAP];
    uint8_t tx[2 * FL_REQ_CAP + 2];
    bool capture; /* collect junk into bootlog */
    char bootlog[FL_BOOTLOG_CAP];
    size_t bootlog_len;
};

/* ----- Logging (session.c) ----- */
void fl_log(struct fl_session *s, enum fl_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
bool fl_cancelled(const struct fl_session *s);
int fl_check_cancel(struct fl_session *s, struct fl_error *err);
void fl_progress(struct fl_session *s, size_t region, uint64_t done, uint64_t total);

/* ----- Frames and commands (frame.c, command.c) ----- */

/* Reads the next frame until `deadline` (port clock). */
int fl_read_frame(struct fl_session *s, int64_t deadline, const uint8_t **frame, size_t *len,
                  struct fl_error *err);
/* Sends a frame body (escaped here). */
int fl_send_frame(struct fl_session *s, const uint8_t *body, size_t len, struct fl_error *err);
/* Drops buffered input, in the port and in the decoder. */
int fl_flush_input(struct fl_session *s, struct fl_error *err);

/*
 * Sends a command and waits for the matching reply. `payload_len` is what
 * the reply carries before its status. A failure status becomes FL_ERR_ROM
 * (message names the command and the status text). `reply` may be NULL.
 */
int fl_command(struct fl_session *s, uint8_t op, const uint8_t *data, size_t len, uint32_t checksum,
               size_t payload_len, int timeout_ms, struct fl_reply *reply, struct fl_error *err);
/* A data command: 16-byte header (len, seq, 0, 0) + block, checksummed. */
int fl_data_command(struct fl_session *s, uint8_t op, const uint8_t *block, size_t len,
                    uint32_t seq, int timeout_ms, struct fl_error *err);
/* Sends a command without waiting (RUN_USER_CODE, a ROM MEM_END). */
int fl_send_command(struct fl_session *s, uint8_t op, const uint8_t *data, size_t len,
                    uint32_t checksum, struct fl_error *err);
/* payload_len value: "everything before the loader's status bytes". */
#define FL_PAYLOAD_AUTO ((size_t)-1)
/* Waits for the reply to an already sent `op`. */
int fl_wait_reply(struct fl_session *s, uint8_t op, size_t payload_len, int timeout_ms,
                  struct fl_reply *reply, struct fl_error *err);
int fl_read_reg(struct fl_session *s, uint32_t addr, uint32_t *value, struct fl_error *err);
int fl_write_reg(struct fl_session *s, uint32_t addr, uint32_t value, struct fl_error *err);
/* Words helper: sends `n` little-endian words. */
int fl_command_words(struct fl_session *s, uint8_t op, const uint32_t *words, size_t n,
                     int timeout_ms, struct fl_error *err);
/* Status length the current loader uses. */
int fl_status_len(const struct fl_session *s);
/* Whether the running loader (ROM caps, or the stub) can do `cap`. */
bool fl_can(const struct fl_session *s, unsigned cap);

/* ----- Reset and connect (reset.c, connect.c, detect.c, spiflash.c) ----- */
enum fl_reset_kind { FL_RESET_CLASSIC, FL_RESET_TIGHT, FL_RESET_USB_JTAG, FL_RESET_HARD };
int fl_reset(struct fl_session *s, enum fl_reset_kind kind, int delay_ms, struct fl_error *err);
int fl_identify(struct fl_session *s, bool synced, struct fl_error *err);
/* Starts opt.stub, or the chip's stub from opt.stubs (stub.c); a default
 * stub that does not start falls back to the ROM when opt.needs allows. */
int fl_stub_start(struct fl_session *s, struct fl_error *err);
/* Re-synchronises after a failure (reconnecting without a reset if the
 * loader changed); keeps what fl_detect found. */
int fl_recover(struct fl_session *s, struct fl_error *err);
int fl_flash_attach(struct fl_session *s, struct fl_error *err);
int fl_flash_set_size(struct fl_session *s, uint32_t size, struct fl_error *err);
int fl_flash_read_id(struct fl_session *s, uint32_t *jedec, struct fl_error *err);
uint32_t fl_flash_size_from_id(uint32_t jedec);
int fl_ensure_detected(struct fl_session *s, struct fl_error *err);
int fl_read_crystal(struct fl_session *s, struct fl_error *err);
/* The rate opt.baud_auto picks for this port's USB bridge, else `fallback`. */
uint32_t fl_auto_baud(struct fl_session *s, uint32_t fallback);

/* ----- Flash operations (erase.c, write.c, md5.c) ----- */
/* Erases [addr, addr+len) (sector aligned) with the loader's means. */
int fl_erase_range(struct fl_session *s, uint32_t addr, uint32_t len, struct fl_error *err);
/* FL_OK when [addr, addr+len) fits the flash (and the ROM's 16 MB window). */
int fl_check_range(struct fl_session *s, uint32_t addr, uint64_t len, struct fl_error *err);
/* FL_OK when the flash MD5 of [addr, addr+len) equals `local`; else
 * FL_ERR_VERIFY saying both sums (and "empty" when the flash is all 0xFF). */
int fl_compare_md5(struct fl_session *s, uint32_t addr, const uint8_t *data, size_t len,
                   const uint8_t local[16], struct fl_error *err);
int fl_md5_local(const uint8_t *data, size_t len, uint8_t md5[16]);
int fl_sha256_local(const uint8_t *data, size_t len, uint8_t out[32]);
bool fl_is_blank(const uint8_t *data, size_t len);

/* ----- Writing (write.c: one chunk; region.c: whole regions) ----- */
struct fl_wctx {
    struct fl_session *s;
    size_t index;         /* the caller's region index, for progress */
    uint64_t done, total; /* progress within the region */
    struct fl_region_result *res;
    bool blank; /* the chunk's sectors are known blank: a ROM need not erase */
};
/* Writes len bytes at sector-aligned addr with one FLASH(_DEFL)_BEGIN,
 * compressed when the loader inflates and it pays. */
int fl_write_chunk(struct fl_wctx *w, const uint8_t *data, uint32_t len, uint32_t addr,
                   struct fl_error *err);

/* ----- Compression (compress.c) ----- */
int fl_deflate(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len, struct fl_error *err);
/* For each `block`-byte slice of the zlib stream, how many bytes it inflates to. */
int fl_inflated_sizes(const uint8_t *z, size_t zlen, size_t block, uint32_t *sizes, size_t nblocks,
                      struct fl_error *err);

#endif
