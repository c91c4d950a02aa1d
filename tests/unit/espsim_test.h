/*
 * Helpers shared by the simulator's own tests (test_espsim*.c): a board =
 * one espsim process with a temporary flash file, its pty opened raw, and a
 * frame reader. These tests speak the ROM protocol by hand and never use
 * flasher/: they check the simulator against the reference, byte by byte.
 */
#ifndef ESPPROV_TESTS_ESPSIM_TEST_H
#define ESPPROV_TESTS_ESPSIM_TEST_H

#include "support/simproc.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#define REPLY_MS 3000 /* generous: the machine is loaded; never a timing assertion */
#define QUIET_MS 300  /* how long "no reply" is watched for */

struct board {
    struct simproc sp;
    int fd;
    struct simproc_reader rd;
    char flash[64];
    char log[64];
    char err[256];
};

static inline uint32_t t_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void t_put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

/* Starts espsim for chip with extra arguments (NULL-terminated, may be NULL).
 * A flash image to start from may be given as `image` (NULL = blank). */
static inline int board_start_img(struct board *b, const char *chip, const char *const *extra,
                                  const uint8_t *image, size_t image_len)
{
    const char *args[40];
    int n = 0;
    memset(b, 0, sizeof *b);
    b->fd = -1;
    snprintf(b->flash, sizeof b->flash, "/tmp/espsim-flash-XXXXXX");
    snprintf(b->log, sizeof b->log, "/tmp/espsim-log-XXXXXX");
    int ffd = mkstemp(b->flash), lfd = mkstemp(b->log);
    if (ffd < 0 || lfd < 0) {
        snprintf(b->err, sizeof b->err, "mkstemp failed");
        return -1;
    }
    if (image != NULL && write(ffd, image, image_len) != (ssize_t)image_len) {
        snprintf(b->err, sizeof b->err, "cannot write the flash image");
        return -1;
    }
    close(ffd);
    close(lfd);
    args[n++] = "--chip";
    args[n++] = chip;
    args[n++] = "--flash";
    args[n++] = b->flash;
    args[n++] = "--log";
    args[n++] = b->log;
    for (int i = 0; extra != NULL && extra[i] != NULL && n < 38; i++) {
        args[n++] = extra[i];
    }
    args[n] = NULL;
    if (simproc_start(&b->sp, args, 10000, b->err, sizeof b->err) != 0) {
        return -1;
    }
    b->fd = simproc_open_pty(&b->sp, 115200);
    if (b->fd < 0) {
        snprintf(b->err, sizeof b->err, "cannot open %s", b->sp.pty);
        return -1;
    }
    b->rd.fd = b->fd;
    return 0;
}

static inline int board_start(struct board *b, const char *chip, const char *const *extra)
{
    return board_start_img(b, chip, extra, NULL, 0);
}

static inline void board_stop(struct board *b)
{
    if (b->fd >= 0) {
        close(b->fd);
    }
    simproc_stop(&b->sp);
    unlink(b->flash);
    if (getenv("ESPSIM_KEEP_LOG") == NULL) {
        unlink(b->log);
    }
}

/* Discards whatever the board printed so far (banner) and waits `ms` first. */
static inline size_t board_drain(struct board *b, char *text, size_t cap, int ms)
{
    uint8_t buf[4096];
    size_t n = simproc_read_for(b->fd, buf, sizeof buf, ms);
    if (text != NULL && cap > 0) {
        size_t k = n < cap - 1 ? n : cap - 1;
        memcpy(text, buf, k);
        text[k] = '\0';
    }
    b->rd.len = b->rd.pos = 0;
    return n;
}

/* Sends a command and returns the first reply frame for the same opcode
 * (its length), or -1 when none arrives within ms. */
static inline int board_cmd(struct board *b, uint8_t op, const uint8_t *data, size_t len,
                            uint32_t chk, uint8_t *reply, size_t cap, int ms)
{
    if (simproc_send_cmd(b->fd, op, data, len, chk) != 0) {
        return -1;
    }
    for (;;) {
        int n = simproc_read_frame(&b->rd, reply, cap, ms);
        if (n < 0) {
            return -1;
        }
        if (n >= 8 && reply[0] == 0x01 && reply[1] == op) {
            return n;
        }
    }
}

static inline uint8_t t_checksum(const uint8_t *d, size_t n)
{
    uint8_t c = 0xEF;
    for (size_t i = 0; i < n; i++) {
        c ^= d[i];
    }
    return c;
}

/* SYNC, then drain the other 7 replies. Returns the number of replies. */
static inline int board_sync(struct board *b)
{
    uint8_t data[36], reply[64];
    data[0] = 0x07;
    data[1] = 0x07;
    data[2] = 0x12;
    data[3] = 0x20;
    memset(data + 4, 0x55, 32);
    int got = 0;
    for (int attempt = 0; attempt < 5 && got == 0; attempt++) {
        if (board_cmd(b, 0x08, data, sizeof data, 0, reply, sizeof reply, 500) > 0) {
            got = 1;
        }
    }
    while (got > 0 && got < 8 && simproc_read_frame(&b->rd, reply, sizeof reply, 500) > 0) {
        got++;
    }
    return got;
}

/* A data command (FLASH_DATA, MEM_DATA, ...): header + payload, checksummed. */
static inline int board_data(struct board *b, uint8_t op, uint32_t seq, const uint8_t *payload,
                             size_t len, uint8_t *reply, size_t cap)
{
    uint8_t *d = malloc(16 + len);
    if (d == NULL) {
        return -1;
    }
    memset(d, 0, 16);
    t_put32(d, (uint32_t)len);
    t_put32(d + 4, seq);
    memcpy(d + 16, payload, len);
    int n = board_cmd(b, op, d, 16 + len, t_checksum(payload, len), reply, cap, REPLY_MS);
    free(d);
    return n;
}

/* Command with up to 6 word arguments. */
static inline int board_words(struct board *b, uint8_t op, const uint32_t *w, size_t nw,
                              uint8_t *reply, size_t cap)
{
    uint8_t d[24];
    for (size_t i = 0; i < nw; i++) {
        t_put32(d + 4 * i, w[i]);
    }
    return board_cmd(b, op, d, 4 * nw, 0, reply, cap, REPLY_MS);
}

/* Reads len bytes of the flash file at off. */
static inline int board_flash(const struct board *b, uint32_t off, uint8_t *out, size_t len)
{
    int fd = open(b->flash, O_RDONLY);
    ssize_t n = fd < 0 ? -1 : pread(fd, out, len, off);
    if (fd >= 0) {
        close(fd);
    }
    return n == (ssize_t)len ? 0 : -1;
}

static inline size_t file_text(const char *path, char *out, size_t cap)
{
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(out, 1, cap - 1, f) : 0;
    if (f) {
        fclose(f);
    }
    out[n] = '\0';
    return n;
}

#endif
