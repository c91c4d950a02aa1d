/*
 * espsim — private header shared by the simulator's files (tests/espsim/).
 *
 * The simulator is one event loop around one `struct sim`. Nothing here is
 * global: every function takes the sim (or one of its parts) as its first
 * argument. Time is kept in nanoseconds on CLOCK_MONOTONIC; `sim->t` is the
 * chip's own clock while it handles something (a command, a boot), which can
 * run ahead of the wall clock when the time model (--pace) charges flash or
 * line time: bytes it sends are released to the host only when their time
 * has come.
 *
 * Files: main.c (loop), options.c (command line), chips.c (per-chip facts),
 * board.c (EN/IO0, boot, banners), uart.c (byte queues, pacing, garbling),
 * slip.c, pty.c, rfc2217_server.c, frame.c (requests/replies), rom.c, stub.c,
 * stub_read.c, flashop.c (BEGIN/DATA/END sessions), flash.c (the flash file),
 * regs.c (register map, SPI engine), faults.c, timing.c, log.c.
 */
#ifndef ESPSIM_SIM_H
#define ESPSIM_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SIM_MS 1000000LL /* nanoseconds per millisecond */

/* ===== Protocol constants (shared/reference/esp-protocol.md §2) ======== */

enum sim_op {
    OP_FLASH_BEGIN = 0x02,
    OP_FLASH_DATA = 0x03,
    OP_FLASH_END = 0x04,
    OP_MEM_BEGIN = 0x05,
    OP_MEM_END = 0x06,
    OP_MEM_DATA = 0x07,
    OP_SYNC = 0x08,
    OP_WRITE_REG = 0x09,
    OP_READ_REG = 0x0A,
    OP_SPI_SET_PARAMS = 0x0B,
    OP_SPI_ATTACH = 0x0D,
    OP_READ_FLASH_SLOW = 0x0E,
    OP_CHANGE_BAUDRATE = 0x0F,
    OP_FLASH_DEFL_BEGIN = 0x10,
    OP_FLASH_DEFL_DATA = 0x11,
    OP_FLASH_DEFL_END = 0x12,
    OP_SPI_FLASH_MD5 = 0x13,
    OP_GET_SECURITY_INFO = 0x14,
    OP_ERASE_FLASH = 0xD0,
    OP_ERASE_REGION = 0xD1,
    OP_READ_FLASH = 0xD2,
    OP_RUN_USER_CODE = 0xD3,
};

/* ROM error codes (byte 1 of a failed ROM status). */
enum {
    ROM_ERR_INVALID_PARAM = 0x01,
    ROM_ERR_MSG = 0x05, /* malformed message / unsupported command */
    ROM_ERR_RESULT = 0x06,
    ROM_ERR_CHECKSUM = 0x07,
    ROM_ERR_FLASH_WRITE = 0x08,
    ROM_ERR_FLASH_READ = 0x09,
    ROM_ERR_READ_LEN = 0x0A,
    ROM_ERR_DEFLATE = 0x0B,
    ROM_ERR_ADLER = 0x0C,
    ROM_ERR_DEFLATE_PARAM = 0x0D,
    ROM_ERR_RAM_SIZE = 0x0E,
    ROM_ERR_RAM_ADDR = 0x0F,
    ROM_ERR_SDM_PARAM = 0x64,
};

/* Stub error codes (byte 0 of a stub status). */
enum {
    STUB_ERR_BAD_LEN = 0xC0,
    STUB_ERR_CHECKSUM = 0xC1,
    STUB_ERR_BLOCKSIZE = 0xC2,
    STUB_ERR_INVALID_CMD = 0xC3,
    STUB_ERR_SPI = 0xC4,
    STUB_ERR_NOT_FLASHING = 0xC6,
    STUB_ERR_INFLATE = 0xC7,
    STUB_ERR_NOT_ENOUGH = 0xC8,
    STUB_ERR_TOO_MUCH = 0xC9,
    STUB_ERR_NOT_IMPL = 0xFF,
};

#define SIM_SECTOR         0x1000u
#define SIM_BLOCK64        0x10000u
#define SIM_PAGE           0x100u
#define SIM_STUB_MAX_BLOCK 0x4000u
/* Largest request body the loaders buffer (legacy stub: MAX_WRITE_BLOCK+64). */
#define SIM_MAX_FRAME (SIM_STUB_MAX_BLOCK + 64u)

/* ===== Chips (chips.c) ================================================= */

enum sim_chip_id { SIM_ESP8266, SIM_ESP32, SIM_ESP32S3, SIM_ESP32C3 };

struct sim_range {
    uint32_t start, end; /* [start, end) */
};

struct sim_chip {
    const char *name;
    enum sim_chip_id id;
    bool s2plus;             /* 5-word FLASH_BEGIN, GET_SECURITY_INFO, chip_id */
    unsigned rom_status_len; /* 2 (ESP8266) or 4 */
    uint32_t rom_baud;       /* what the ROM prints its banner at */
    uint32_t magic;          /* READ_REG 0x40001000 */
    uint32_t uart_clkdiv_reg;
    uint32_t uart_clk_hz; /* crystal x XTAL_CLK_DIVIDER, see §3.4 */
    uint32_t mac_reg;     /* first eFuse/OTP word holding the MAC */
    uint32_t gpio_strap_reg;
    /* SPI user-command engine (§3.3); dlen offsets 0 = not present. */
    uint32_t spi_base, spi_usr, spi_usr1, spi_usr2, spi_mosi_dlen, spi_miso_dlen, spi_w0;
    uint32_t sec_chip_id; /* GET_SECURITY_INFO chip_id (S2+) */
    uint32_t sec_api_version;
    uint32_t max_flash;      /* biggest flash the stub can address */
    struct sim_range ram[2]; /* where MEM_BEGIN may load (IRAM, DRAM) */
    uint8_t default_mac[6];
    /* Boot text (§4.3): first lines, reset causes by enum sim_reset_cause,
     * strap values and names, flash-boot lines before the image loads. */
    const char *banner;
    const char *rst[4];
    uint8_t strap_download, strap_flash;
    const char *boot_download, *boot_flash;
    const char *flash_lines;
    const char *blank_flash_text; /* boot loop line when no image is found */
    uint32_t boot_offset;         /* where the second-stage bootloader lives */
};

/* The chip called `name`, or NULL. */
const struct sim_chip *sim_chip_find(const char *name);
/* "esp8266|esp32|..." for usage text. */
const char *sim_chip_names(void);

/* ===== Options (options.c) ============================================= */

enum sim_stub_flavour { SIM_STUB_NEW, SIM_STUB_LEGACY };

#define SIM_MAX_FAULTS 16

struct sim_opts {
    const struct sim_chip *chip;
    const char *flash_path;
    uint32_t flash_size;
    uint8_t mac[6];
    const char *pty_link;
    int rfc2217_port; /* -1 = off, 0 = any free port */
    bool boot_download;
    bool pace;
    int latency_ms;
    int en_delay_ms; /* EN RC rise time: IO0 is sampled this long after release */
    const char *log_path;
    enum sim_stub_flavour stub_flavour;
    const char *stub_dir; /* real stub images to recognise (NULL: default place) */
    uint32_t flash_id;    /* JEDEC id as read from W0: mfr | type<<8 | cap<<16 */
    bool sdm;             /* Secure Download Mode (S2+ chips) */
    const char *faults[SIM_MAX_FAULTS];
    int nfaults;
};

/* Parses argv into opts. Returns 0, or 2 after printing a usage error
 * (1 with --help printed: caller exits 0). */
int sim_opts_parse(struct sim_opts *o, int argc, char **argv);

/* ===== Time (timing.c) ================================================= */

int64_t sim_clock(void); /* CLOCK_MONOTONIC in ns */
/* Serial time of one 8N1 byte (10 bits) at baud; 0 when baud is 0. */
int64_t sim_byte_ns(uint32_t baud);
/* Flash timing of a real SPI NOR part (figures and sources in README.md). */
int64_t sim_cost_erase_sector(void);
int64_t sim_cost_erase_block(void);
int64_t sim_cost_erase_chip(uint32_t flash_size);
int64_t sim_cost_program(uint32_t len);         /* per 256-byte page touched */
int64_t sim_cost_read(uint32_t len, bool stub); /* MD5 / read-out */

/* ===== Flash file (flash.c) ============================================ */

struct sim_flash {
    uint8_t *mem; /* mmap of the file, MAP_SHARED */
    uint32_t size;
    int fd;
};

int sim_flash_open(struct sim_flash *f, const char *path, uint32_t size, char *err, size_t n);
void sim_flash_close(struct sim_flash *f);
/* Physical address: flash chips ignore address bits above their size. */
uint32_t sim_flash_phys(const struct sim_flash *f, uint32_t addr);
void sim_flash_read(const struct sim_flash *f, uint32_t addr, uint8_t *out, uint32_t len);
/* Programming only clears bits (NOR AND semantics). Returns true when the
 * cells now hold exactly `data` (false = they were not erased). */
bool sim_flash_program(struct sim_flash *f, uint32_t addr, const uint8_t *data, uint32_t len);
void sim_flash_erase_sector(struct sim_flash *f, uint32_t addr);
bool sim_flash_sector_blank(const struct sim_flash *f, uint32_t addr);
void sim_flash_md5(const struct sim_flash *f, uint32_t addr, uint32_t len, uint8_t md5[16]);
void sim_flash_sync(struct sim_flash *f);

/* ===== Byte queues and the UART (uart.c) =============================== */

enum sim_side_id { SIM_SIDE_PTY, SIM_SIDE_NET, SIM_NSIDES };

struct sim_qent {
    int64_t t;     /* when it reaches the other end */
    uint32_t baud; /* rate it was sent at */
    uint8_t byte;
    uint8_t side;
};

struct sim_queue {
    struct sim_qent *v;
    size_t head, len, cap;
};

struct sim_side {
    bool open;
    uint32_t baud;        /* the host's line rate on this side */
    int64_t rx_line_free; /* host->chip serialisation */
    uint8_t *out;         /* bytes waiting for the host to read */
    size_t out_len, out_cap;
    uint64_t out_dropped;
};

struct sim_slip {
    uint8_t buf[SIM_MAX_FRAME];
    size_t len;
    bool in_frame, esc, bad, overflow;
};

struct sim_uart {
    uint32_t baud; /* the chip's rate; 0 = divider broken (garbage) */
    bool autobaud; /* ROM loader waiting to detect the rate from SYNC */
    int64_t tx_line_free;
    struct sim_queue rx, tx;
    struct sim_slip dec;
    uint8_t last_side;                 /* side the current frame came from */
    uint64_t rx_bytes, tx_frame_bytes; /* fault counters */
    unsigned split_left;
};

/* ===== Board: reset lines, boot, personalities (board.c) ================ */

enum sim_mode {
    SIM_MODE_RESET, /* EN low: nothing runs */
    SIM_MODE_ROM,   /* ROM serial loader (download mode) */
    SIM_MODE_STUB,  /* flasher stub running from RAM */
    SIM_MODE_APP,   /* booted from flash: prints, never answers */
    SIM_MODE_HUNG,  /* crashed or silenced: ignores everything */
};

enum sim_reset_cause { SIM_RST_POWERON, SIM_RST_EN, SIM_RST_SW, SIM_RST_BROWNOUT };

enum sim_event {
    SIM_EV_NONE,
    SIM_EV_BOOT,       /* EN has risen: sample IO0 and boot */
    SIM_EV_STUB_START, /* jumped into the uploaded stub: say OHAI */
    SIM_EV_SW_RESET,   /* stub FLASH_END(0) / ROM FLASH_END(0) */
    SIM_EV_RUN_APP,    /* leave the loader for the app in flash */
    SIM_EV_APP_TEXT,   /* next line of a boot loop */
};

struct sim_board {
    bool dtr, rts;      /* RFC 2217 modem lines (asserted = true) */
    bool strap_io0_low; /* IO0 when no adapter drives it (pty/signals) */
    bool lines_driven;  /* an RFC 2217 client holds the lines */
    bool en_high;
    enum sim_reset_cause cause;
    enum sim_event ev;
    int64_t ev_at;
    int loop_left; /* boot-loop lines still to print */
    int force_io0; /* signals: 1 = hold IO0 low for the next boot, 2 = high */
    uint8_t strap; /* GPIO_STRAP value latched at the last boot */
};

/* ===== Loader state (rom.c, stub.c, flashop.c) ========================= */

struct sim_flashop {
    bool active, deflate;
    uint32_t size; /* word0: bytes to write (stub) / erase size (ROM) */
    uint32_t blocks, block_size, offset;
    uint32_t next_seq;
    uint32_t written;   /* bytes of output written so far */
    uint32_t erased_to; /* stub lazy erase: sectors below are done */
    /* inflate state (raw deflate after our own zlib header parse) */
    void *z; /* z_stream *, allocated on DEFL_BEGIN */
    bool z_header_done, z_end;
    uint8_t zhdr[2];
    unsigned zhdr_len;
    uint8_t tail[4]; /* Adler-32 bytes after the deflate stream */
    unsigned tail_len;
    uint32_t extra; /* compressed bytes past the Adler tail */
    uint32_t adler;
    uint8_t *chunk; /* stub: 32 KiB inflate output buffer */
    uint32_t chunk_len;
};

struct sim_memop {
    bool active;
    uint32_t size, blocks, block_size, addr;
    uint32_t next_seq, received;
    uint64_t hash; /* FNV-1a of the bytes so far, to recognise stub images */
};

#define SIM_MAX_LOADED 8

struct sim_readop {
    bool active;
    uint32_t addr, len, packet, sent, acked;
    void *md5; /* EVP_MD_CTX * */
    bool waiting_ack;
};

struct sim_loader {
    enum sim_mode mode;
    bool stub_legacy;
    bool attached;        /* SPI_ATTACH done (ROM ESP32+) / FLASH_BEGIN (8266) */
    uint32_t flash_limit; /* size set by SPI_SET_PARAMS (ROM default 2 MB) */
    unsigned syncs_seen;
    uint64_t cmds;
    struct sim_flashop fo;
    struct sim_memop mo;
    struct sim_readop ro;
    struct sim_range loaded[SIM_MAX_LOADED];
    uint64_t loaded_hash[SIM_MAX_LOADED];
    int nloaded;
    enum sim_stub_flavour start_flavour;      /* how the stub being started behaves */
    uint8_t deferred;                         /* stub error waiting for the next command */
    uint32_t last_write_addr, last_write_len; /* for brown-out: undo the tail */
    bool slow_erase_pending;
};

/* ===== Faults (faults.c) =============================================== */

enum sim_fault_kind {
    SIM_F_DROP_RX,
    SIM_F_DROP_TX,
    SIM_F_CORRUPT_RX,
    SIM_F_CORRUPT_TX,
    SIM_F_JUNK,
    SIM_F_SILENCE,
    SIM_F_BROWNOUT,
    SIM_F_NO_DOWNLOAD,
    SIM_F_LOSE_REPLY,
    SIM_F_SLOW_ERASE,
    SIM_F_REPEAT_ERROR,
    SIM_F_SYNC_LOST,
    SIM_F_WRITE_FAIL,
    SIM_F_SPLIT,
    SIM_F_BAUD_LIMIT,
    SIM_F_NKINDS
};

struct sim_fault {
    enum sim_fault_kind kind;
    int opcode;     /* -1 = any command */
    uint64_t at;    /* first occurrence that fires (1-based) */
    uint64_t count; /* how many times it fires; 0 = unlimited */
    double p;       /* > 0: fire with this probability instead of `at` */
    uint64_t rng;
    uint64_t seen, fired;
    uint8_t xor_mask;
    uint32_t ms;   /* slow-erase duration */
    uint32_t n;    /* repeat-error copies, split size */
    uint32_t rate; /* baud-limit: fastest rate that gets through */
    char text[64]; /* junk bytes */
    size_t text_len;
};

struct sim_faults {
    struct sim_fault v[SIM_MAX_FAULTS];
    int n;
};

/* Parses one --fault SPEC. Returns 0 or -1 with a message in err. */
int sim_fault_parse(struct sim_faults *fs, const char *spec, char *err, size_t n);
/* Counts one occurrence for every fault of `kind` matching `opcode` (-1 for
 * byte faults) and returns the first one that fires now, or NULL. */
struct sim_fault *sim_fault_hit(struct sim_faults *fs, enum sim_fault_kind kind, int opcode);
bool sim_fault_present(const struct sim_faults *fs, enum sim_fault_kind kind);
/* baud-limit: the fastest rate bytes survive (0: no limit). */
uint32_t sim_fault_baud_limit(const struct sim_faults *fs);

/* ===== Register map (regs.c) =========================================== */

#define SIM_MAX_REGS 64

struct sim_regs {
    uint32_t addr[SIM_MAX_REGS];
    uint32_t val[SIM_MAX_REGS];
    int n;
};

/* ===== Network side (rfc2217_server.c) ================================== */

struct sim_net {
    int listen_fd;
    int fd; /* the connected client, -1 none */
    int port;
    int tn_state; /* telnet parser state */
    uint8_t tn_opt;
    uint8_t sb[64];
    size_t sb_len;
    uint8_t us[256], them[256]; /* option state per RFC 1143 (0 no, 1 yes, 2 want) */
};

/* ===== Real stub images (stub_images.c) ================================ */

/* A fetched stub (tools/stubs.lock) for this chip: where it loads, its
 * entry, and a hash of each segment, to tell it apart from other images. */
struct sim_stub_image {
    bool present;
    enum sim_stub_flavour family;
    uint32_t entry, text_start, text_len, data_start, data_len;
    uint64_t text_hash, data_hash;
};
#define SIM_STUB_IMAGES 2

/* FNV-1a, continued from `h` (start with SIM_HASH_INIT). */
#define SIM_HASH_INIT 0xcbf29ce484222325ull
uint64_t sim_hash(uint64_t h, const uint8_t *p, size_t n);

/* ===== The simulator ==================================================== */

struct sim {
    struct sim_opts opt;
    const struct sim_chip *chip;
    struct sim_flash flash;
    struct sim_regs regs;
    struct sim_uart uart;
    struct sim_side side[SIM_NSIDES];
    struct sim_board board;
    struct sim_loader ld;
    struct sim_faults faults;
    struct sim_net net;
    struct sim_stub_image images[SIM_STUB_IMAGES]; /* by enum sim_stub_flavour */
    int pty_master, pty_slave;
    char pty_path[128];
    FILE *log;
    int64_t t0; /* start, for log time stamps */
    int64_t t;  /* the chip's clock while it handles something */
    bool quit;
    /* The --log line of the command being handled. */
    char log_args[200];
    int log_replies;
    uint8_t log_st[2];
    bool log_lost;
};

/* timing.c: the chip spends time (only with --pace), or always (faults). */
void sim_spend(struct sim *s, int64_t ns);
void sim_spend_always(struct sim *s, int64_t ns);

/* uart.c */
int sim_uart_init(struct sim *s);
void sim_uart_reset(struct sim *s);
/* Chip -> host. `frame` bytes count for the byte faults; text does not. */
void sim_tx(struct sim *s, const uint8_t *buf, size_t len, bool frame);
void sim_tx_text(struct sim *s, const char *text);
/* Host -> chip bytes read from a side at wall time now. */
void sim_rx(struct sim *s, int side, const uint8_t *buf, size_t len, int64_t now);
/* Feeds due bytes to the loader; releases due bytes to the sides. */
void sim_uart_pump(struct sim *s, int64_t now);
/* Next time anything in the queues is due (INT64_MAX = nothing). */
int64_t sim_uart_next(const struct sim *s);
void sim_side_append(struct sim *s, int side, const uint8_t *buf, size_t len);
uint32_t sim_side_baud(struct sim *s, int side);
bool sim_rates_match(uint32_t a, uint32_t b);

/* slip.c */
void sim_slip_reset(struct sim_slip *d);
/* Feeds one byte; returns true when a frame is complete in d->buf/d->len. */
bool sim_slip_feed(struct sim_slip *d, uint8_t b, size_t cut);
/* Encodes buf as a SLIP frame into out (needs 2*len+2). Returns the length. */
size_t sim_slip_encode(const uint8_t *buf, size_t len, uint8_t *out);

/* frame.c: dispatch of complete frames and reply helpers. */
struct sim_req {
    uint8_t dir, op;
    uint16_t size;
    uint32_t checksum;
    const uint8_t *data;
    size_t len; /* bytes actually received after the header */
};
void sim_frame_in(struct sim *s, const uint8_t *buf, size_t len);
/* A reply with payload and status (status length follows the loader). */
void sim_reply(struct sim *s, uint8_t op, uint32_t value, const uint8_t *payload, size_t plen,
               uint8_t st0, uint8_t st1);
void sim_reply_ok(struct sim *s, uint8_t op, uint32_t value, const uint8_t *payload, size_t plen);
void sim_raw_frame(struct sim *s, const uint8_t *buf, size_t len);
uint8_t sim_checksum(const uint8_t *data, size_t len);
uint32_t sim_le32(const uint8_t *p);
void sim_put_le32(uint8_t *p, uint32_t v);
const char *sim_op_name(uint8_t op);

/* rom.c / stub.c / stub_read.c */
void sim_rom_command(struct sim *s, const struct sim_req *r);
/* stub_images.c: reads <dir>/<family>/<chip>.json of both families (dir:
 * --stub-dir, else $ESPPROV_STUB_DIR, else "stubs" next to this program).
 * Missing files are fine (synthetic stubs only); a broken one is an error. */
int sim_stub_images_load(struct sim *s, char *err, size_t n);
/* What a jump to `entry` after MEM_END starts: 0 with *flavour set (and
 * *image: the recognised real image, or NULL for an unknown one), or -1
 * when the CPU would crash (why says how). */
int sim_stub_identify(struct sim *s, uint32_t entry, enum sim_stub_flavour *flavour,
                      const struct sim_stub_image **image, char *why, size_t n);
/* uart.c: the last `n` queued bytes leave at `baud` instead (a clock change
 * under a UART whose FIFO still holds them). */
void sim_tx_skew_tail(struct sim *s, size_t n, uint32_t baud);
void sim_stub_command(struct sim *s, const struct sim_req *r);
void sim_stub_read_start(struct sim *s, uint32_t addr, uint32_t len, uint32_t packet);
void sim_stub_read_frame(struct sim *s, const uint8_t *buf, size_t len);
void sim_readop_clear(struct sim_readop *ro);

/* flashop.c: the BEGIN/DATA/END session, shared by ROM and stub. Returns 0
 * or the error code for the personality (ROM code, or stub 0xC? code). */
void sim_flashop_clear(struct sim_flashop *fo);
int sim_flashop_begin(struct sim *s, bool deflate, uint32_t size, uint32_t blocks,
                      uint32_t block_size, uint32_t offset);
int sim_flashop_data(struct sim *s, const uint8_t *data, uint32_t len, uint32_t seq);
int sim_flashop_end(struct sim *s);
/* Erases [addr, addr+len) sector-wise (64 KiB blocks where aligned), with time. */
void sim_erase_range(struct sim *s, uint32_t addr, uint32_t len);

/* regs.c */
void sim_regs_init(struct sim *s);
uint32_t sim_reg_read(struct sim *s, uint32_t addr);
void sim_reg_write(struct sim *s, uint32_t addr, uint32_t value);
uint32_t sim_clkdiv_for(const struct sim *s, uint32_t baud);

/* board.c */
void sim_board_power_on(struct sim *s);
/* Pulls EN low now and releases it (reset into the given mode). */
void sim_board_reset(struct sim *s, bool download, enum sim_reset_cause cause);
void sim_board_set_lines(struct sim *s, bool dtr, bool rts, int64_t now);
void sim_board_schedule(struct sim *s, enum sim_event ev, int64_t at);
void sim_board_tick(struct sim *s, int64_t now);
void sim_board_enter_rom(struct sim *s, enum sim_reset_cause cause);

/* pty.c / hostbaud.c */
int sim_pty_open(struct sim *s, char *err, size_t n);
void sim_pty_close(struct sim *s);
void sim_pty_read(struct sim *s, int64_t now);
void sim_pty_flush(struct sim *s);
uint32_t sim_hostbaud(int fd); /* the rate the host set on the pty (0 unknown) */

/* rfc2217_server.c */
int sim_net_open(struct sim *s, int port, char *err, size_t n);
void sim_net_close(struct sim *s);
void sim_net_accept(struct sim *s, int64_t now);
void sim_net_read(struct sim *s, int64_t now);
void sim_net_flush(struct sim *s);

/* log.c: sim_log writes one event line; sim_log_arg adds to the line of the
 * command being handled, which frame.c writes once the command is done. */
void sim_log(struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sim_log_arg(struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sim_log_command(struct sim *s, uint8_t op);

#endif
