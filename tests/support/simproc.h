/*
 * simproc — start, reset and stop the simulated board (build/espsim) from a
 * C test, plus raw wire helpers for tests that speak the ROM protocol by hand.
 *
 *   struct simproc sp;
 *   char err[256];
 *   const char *args[] = {"--chip", "esp32", "--flash", path, NULL};
 *   if (simproc_start(&sp, args, 10000, err, sizeof err) != 0) { ...err... }
 *   int fd = simproc_open_pty(&sp, 115200);     // raw, like a serial port
 *   ...
 *   close(fd);
 *   simproc_stop(&sp);
 *
 * The binary is $ESPSIM (make sets it), else build/espsim.
 */
#ifndef ESPPROV_TESTS_SIMPROC_H
#define ESPPROV_TESTS_SIMPROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct simproc {
    pid_t pid;         /* espsim's pid, 0 when not running */
    int out_fd;        /* its stdout, kept open while it runs */
    char pty[128];     /* the pseudo-terminal it serves, e.g. /dev/pts/7 */
    int rfc2217_port;  /* the RFC 2217 port on 127.0.0.1, 0 when not served */
};

/* Path of the espsim binary (see above); never NULL. */
const char *simproc_binary(void);

/* Runs espsim with `args` (NULL-terminated, without argv[0]) and waits up to
 * timeout_ms for its "ready" line. Returns 0, or -1 with a message in err
 * (the process is reaped then). */
int simproc_start(struct simproc *sp, const char *const *args, int timeout_ms, char *err,
                  size_t errlen);

/* Resets the board: download mode (SIGUSR1) or normal boot (SIGUSR2). */
int simproc_reset(struct simproc *sp, bool download);

/* SIGTERM, waits up to 5 s (then SIGKILL), reaps. Returns the exit status
 * (0 = clean exit) or -1 if it had to be killed. Safe on a stopped sp. */
int simproc_stop(struct simproc *sp);

/* ---- raw wire helpers ------------------------------------------------ */

/* Opens the pty raw (8N1, no flow control) at baud. Returns the fd or -1. */
int simproc_open_pty(const struct simproc *sp, uint32_t baud);

/* Sets the line rate of an open serial fd (any rate, termios2). 0 or -1. */
int simproc_set_baud(int fd, uint32_t baud);

/* Reads what arrives within ms milliseconds (stops early when cap is full).
 * Returns the byte count. */
size_t simproc_read_for(int fd, uint8_t *buf, size_t cap, int ms);

/* SLIP-encodes and writes one frame. Returns 0 or -1. */
int simproc_send_frame(int fd, const uint8_t *body, size_t len);

/* Sends a request: direction 0, op, size, checksum word, data. */
int simproc_send_cmd(int fd, uint8_t op, const uint8_t *data, size_t len, uint32_t checksum);

/* Reads the next SLIP frame (skipping bytes outside frames) within ms.
 * Returns the decoded length, or -1 on timeout. State is per fd reader. */
struct simproc_reader {
    int fd;
    uint8_t buf[8192];
    size_t len, pos;
};
int simproc_read_frame(struct simproc_reader *r, uint8_t *out, size_t cap, int ms);

#endif
