/*
 * The simulator's RFC 2217 side with a minimal client written here: telnet
 * option negotiation, SET-BAUDRATE, SET-CONTROL DTR/RTS. esptool's reset
 * sequences must land in download or normal boot through the two-transistor
 * circuit (§4.1, §4.2).
 */
#include "espsim_test.h"
#include "test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>

enum { IAC = 255, SB = 250, SE = 240, WILL = 251, DO = 253 };

struct rfc {
    int fd;
    uint8_t data[8192]; /* data bytes received (telnet removed) */
    size_t len;
    uint8_t sb[16][8]; /* COM-PORT-OPTION replies seen: code, value... */
    size_t sb_len[16];
    int nsb;
    int state, sbn;
};

static void msleep(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void rfc_feed(struct rfc *c, const uint8_t *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t b = buf[i];
        switch (c->state) {
        case 0:
            if (b == IAC) {
                c->state = 1;
            } else if (c->len < sizeof c->data) {
                c->data[c->len++] = b;
            }
            break;
        case 1:
            if (b == IAC) {
                c->data[c->len++] = b;
                c->state = 0;
            } else if (b == SB) {
                c->sbn = 0;
                c->state = 3;
            } else {
                c->state = b >= WILL ? 2 : 0;
            }
            break;
        case 2:
            c->state = 0;
            break; /* option byte of WILL/WONT/DO/DONT */
        case 3:
            if (b == IAC) {
                c->state = 4;
            } else if (c->nsb < 16 && c->sbn < 8) {
                c->sb[c->nsb][c->sbn++] = b;
            }
            break;
        case 4:
            if (b == SE) {
                if (c->nsb < 16) {
                    c->sb_len[c->nsb++] = (size_t)c->sbn;
                }
                c->state = 0;
            } else {
                if (c->nsb < 16 && c->sbn < 8) {
                    c->sb[c->nsb][c->sbn++] = b;
                }
                c->state = 3;
            }
            break;
        default:
            c->state = 0;
        }
    }
}

static void rfc_pump(struct rfc *c, int ms)
{
    uint8_t buf[4096];
    struct pollfd p = {.fd = c->fd, .events = POLLIN};
    while (poll(&p, 1, ms) > 0) {
        ssize_t n = read(c->fd, buf, sizeof buf);
        if (n <= 0) {
            return;
        }
        rfc_feed(c, buf, (size_t)n);
        ms = 20;
    }
}

static int rfc_connect(struct rfc *c, int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    memset(c, 0, sizeof *c);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&a, sizeof a) != 0) {
        return -1;
    }
    static const uint8_t hello[] = {IAC, WILL, 44, IAC, DO,   44, IAC, WILL, 0,
                                    IAC, DO,   0,  IAC, WILL, 3,  IAC, DO,   3};
    return write(c->fd, hello, sizeof hello) == (ssize_t)sizeof hello ? 0 : -1;
}

static int rfc_cpo(struct rfc *c, uint8_t code, const uint8_t *val, size_t n)
{
    uint8_t b[16] = {IAC, SB, 44, code};
    size_t o = 4;
    for (size_t i = 0; i < n; i++) {
        b[o++] = val[i];
    }
    b[o++] = IAC;
    b[o++] = SE;
    return write(c->fd, b, o) == (ssize_t)o ? 0 : -1;
}

static int rfc_baud(struct rfc *c, uint32_t baud)
{
    uint8_t v[4] = {(uint8_t)(baud >> 24), (uint8_t)(baud >> 16), (uint8_t)(baud >> 8),
                    (uint8_t)baud};
    return rfc_cpo(c, 1, v, 4);
}

/* pyserial style: DTR then RTS, two separate SET-CONTROL messages. */
static int rfc_lines(struct rfc *c, bool dtr, bool rts)
{
    uint8_t d = dtr ? 8 : 9, r = rts ? 11 : 12;
    return rfc_cpo(c, 5, &d, 1) || rfc_cpo(c, 5, &r, 1);
}

static bool has(const struct rfc *c, const char *text)
{
    size_t n = strlen(text);
    for (size_t i = 0; i + n <= c->len; i++) {
        if (memcmp(c->data + i, text, n) == 0) {
            return true;
        }
    }
    return false;
}

static int start(struct board *b, const char *chip, const char *boot)
{
    const char *args[] = {"--rfc2217", "0", "--boot", boot, NULL};
    return board_start(b, chip, args);
}

TEST(classic_reset_lands_in_download_mode)
{
    struct board b;
    struct rfc c;
    ASSERT_MSG(start(&b, "esp32", "flash") == 0, "%s", b.err);
    ASSERT(b.sp.rfc2217_port > 0);
    ASSERT(rfc_connect(&c, b.sp.rfc2217_port) == 0);
    ASSERT(rfc_baud(&c, 115200) == 0);
    rfc_pump(&c, 200);
    bool baud_ack = false;
    for (int i = 0; i < c.nsb; i++) {
        baud_ack |= c.sb_len[i] == 6 && c.sb[i][0] == 44 && c.sb[i][1] == 101 &&
                    c.sb[i][4] == 0xC2 && c.sb[i][5] == 0x00;
    }
    ASSERT(baud_ack);
    c.len = 0;
    /* ClassicReset: D=0 R=1; 0.1 s; D=1 R=0; 0.05 s; D=0. */
    ASSERT(rfc_lines(&c, false, true) == 0);
    msleep(100);
    ASSERT(rfc_lines(&c, true, false) == 0);
    msleep(50);
    ASSERT(rfc_lines(&c, false, false) == 0);
    rfc_pump(&c, 500);
    ASSERT(has(&c, "rst:0x1 (POWERON_RESET),boot:0x3 (DOWNLOAD_BOOT"));
    ASSERT(has(&c, "waiting for download"));
    /* SYNC over the network: 8 replies. */
    uint8_t sync[46] = {0xc0, 0, 8, 0x24, 0, 0, 0, 0, 0, 7, 7, 0x12, 0x20};
    memset(sync + 13, 0x55, 32);
    sync[45] = 0xc0;
    c.len = 0;
    ASSERT(write(c.fd, sync, sizeof sync) == (ssize_t)sizeof sync);
    for (int i = 0; i < 100 && c.len < 8 * 14; i++) {
        rfc_pump(&c, 50);
    }
    ASSERT_EQ_INT(c.len, 8 * 14);
    ASSERT(c.data[0] == 0xc0 && c.data[1] == 0x01 && c.data[2] == 0x08);
    close(c.fd);
    board_stop(&b);
}

TEST(hard_reset_boots_the_app_and_lines_report)
{
    struct board b;
    struct rfc c;
    ASSERT_MSG(start(&b, "esp32", "download") == 0, "%s", b.err);
    ASSERT(rfc_connect(&c, b.sp.rfc2217_port) == 0);
    ASSERT(rfc_baud(&c, 115200) == 0);
    rfc_pump(&c, 100);
    c.len = 0;
    /* HardReset: R=1; 0.1 s; R=0 (IO0 stays high). */
    ASSERT(rfc_lines(&c, false, true) == 0);
    msleep(100);
    ASSERT(rfc_lines(&c, false, false) == 0);
    rfc_pump(&c, 500);
    ASSERT(has(&c, "boot:0x13 (SPI_FAST_FLASH_BOOT)"));
    ASSERT(!has(&c, "waiting for download"));
    c.nsb = 0;
    uint8_t q = 7; /* request DTR state */
    ASSERT(rfc_cpo(&c, 5, &q, 1) == 0);
    rfc_pump(&c, 200);
    ASSERT(c.nsb >= 1 && c.sb[0][1] == 105 && c.sb[0][2] == 9); /* DTR off */
    close(c.fd);
    board_stop(&b);
}

TEST(esp8266_banner_over_rfc2217_at_74880)
{
    struct board b;
    struct rfc c;
    ASSERT_MSG(start(&b, "esp8266", "flash") == 0, "%s", b.err);
    ASSERT(rfc_connect(&c, b.sp.rfc2217_port) == 0);
    ASSERT(rfc_baud(&c, 74880) == 0);
    rfc_pump(&c, 100);
    c.len = 0;
    ASSERT(rfc_lines(&c, false, true) == 0);
    msleep(100);
    ASSERT(rfc_lines(&c, true, false) == 0);
    msleep(50);
    ASSERT(rfc_lines(&c, false, false) == 0);
    rfc_pump(&c, 500);
    ASSERT(has(&c, " ets Jan  8 2013,rst cause:2, boot mode:(1,7)"));
    close(c.fd);
    board_stop(&b);
}

TEST_MAIN(RUN(classic_reset_lands_in_download_mode); RUN(hard_reset_boots_the_app_and_lines_report);
          RUN(esp8266_banner_over_rfc2217_at_74880);)
