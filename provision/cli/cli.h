/*
 * The command layer's private header (not a library API): shared by
 * provision/cli/main.c and the provision/cli/cmd_*.c files, and nothing else.
 *
 * Conventions every command follows:
 *   - `int cmd_<name>(int argc, char **argv, struct cli_ctx *ctx)`; argv[0] is
 *     the command name; getopt_long for options; `-h/--help` prints usage to
 *     stdout and returns CLI_OK.
 *   - results go to stdout (plain lines, or JSON with --json); progress and
 *     diagnostics to stderr.
 *   - errors are printed exactly once, by the command, through cli_fail*();
 *     the return value is the process exit status.
 */
#ifndef ESPPROV_CLI_H
#define ESPPROV_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct pv_error;

enum cli_exit {
    CLI_OK = 0,     /* success */
    CLI_FAILED = 1, /* the operation failed */
    CLI_USAGE = 2,  /* the command line was wrong */
};

struct cli_ctx {
    int verbosity;   /* -1 with -q, 0 by default, +1 per -v */
    bool stderr_tty; /* draw progress bars (stderr is a terminal) */
    bool stdin_tty;  /* prompts are possible */
    bool stdout_tty; /* results go to a terminal */
};

typedef int (*cli_cmd_fn)(int argc, char **argv, struct cli_ctx *ctx);

/* "espprov: error: <msg>" and, when hint is non-NULL and non-empty,
 * "hint: <hint>" on stderr. Returns CLI_FAILED. */
int cli_fail(const char *hint, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same for a library error. Returns CLI_FAILED. */
int cli_fail_err(const struct pv_error *err);
/* "espprov: error: <msg>" then "usage: <usage first line>". Returns CLI_USAGE. */
int cli_usage_error(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "espprov: warning: <msg>" on stderr. */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A diagnostic line on stderr when verbosity >= level. */
void cli_info(const struct cli_ctx *ctx, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/*
 * Text from outside (image file names, ids and MACs read from a board, boot
 * log lines, ledger fields) goes to the terminal only through these, which
 * show control characters as escapes (core.h's pv_escape). cli_fail,
 * cli_warn and cli_info do the same to their whole message.
 */
void cli_put_escaped(FILE *out, const char *s);
/* printf of one line (the newline is added), the whole line escaped. */
void cli_line(FILE *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Levenshtein distance of two short words (for "did you mean"). */
size_t cli_edit_distance(const char *a, const char *b);

/* Prints the usage text to stdout. Returns CLI_OK. */
int cli_help(const char *usage);

/* Sizes and offsets: decimal, 0x hex, K/M suffixes. On failure prints a usage
 * error naming the option and returns false. */
bool cli_parse_size_opt(const char *usage, const char *option, const char *text, uint64_t *out);

/* -P/--profile value, else $ESPPROV_PROFILE, else NULL. */
const char *cli_profile_path(const char *from_option);

/* No -p given: the one USB board plugged in (said on stderr), or on a
 * terminal a choice among several; without a terminal several are listed and
 * refused. Writes the tty to `out`. Returns CLI_OK or CLI_USAGE (printed). */
int cli_pick_port(const struct cli_ctx *ctx, const char *usage, char *out, size_t cap);

/* No -p given: the one USB board plugged in (said on stderr), or on a
 * terminal a choice among several; without a terminal several are listed and
 * refused. Writes the tty to `out`. Returns CLI_OK or CLI_USAGE (printed). */
int cli_pick_port(const struct cli_ctx *ctx, const char *usage, char *out, size_t cap);

/* Flushes stdout; on a write error (full disk, closed pipe) reports it and
 * returns CLI_FAILED, else `status`. */
int cli_finish(int status);

/* Writes `s` as a JSON string literal (with quotes) to `out`. */
void cli_json_string(FILE *out, const char *s);

/*
 * Progress on stderr: a redrawn bar on a terminal, fitted to its width (the
 * percentage always stays); otherwise a plain line at the start, one every
 * few seconds while it runs (cli_progress_interval_ms) and one at the end.
 */
struct cli_progress {
    char label[64];
    uint64_t total;
    uint64_t done;
    int64_t start_ms;
    int64_t last_draw_ms;
    int64_t last_line_ms;
    int64_t interval_ms;
    bool tty;
    bool quiet;
};
/* How often progress lines go to a log (not a terminal): every 5 s, or
 * $ESPPROV_PROGRESS_SECONDS. */
int64_t cli_progress_interval_ms(void);
/* Columns of the terminal on stderr (80 when it cannot tell). */
int cli_term_width(void);
void cli_progress_begin(struct cli_progress *p, const struct cli_ctx *ctx, const char *label,
                        uint64_t total);
void cli_progress_update(struct cli_progress *p, uint64_t done);
void cli_progress_end(struct cli_progress *p, bool ok);
int64_t cli_now_ms(void);

/* The serial console of the board on `port` (cli_monitor.c): with `reset`
 * the app is started first (EN pulsed by RTS; a port without modem lines is
 * only watched); then the board's bytes go to stdout and keys to the board
 * until Ctrl-] (on a terminal, in raw mode), Ctrl-C/SIGTERM without one, or
 * `seconds` (0: no limit). Returns CLI_OK or CLI_FAILED (printed). */
int cli_monitor(const struct cli_ctx *ctx, const char *port, uint32_t baud, bool reset,
                int seconds);

/* The commands (one provision/cli/cmd_<name>.c each). */
int cmd_board(int argc, char **argv, struct cli_ctx *ctx);
int cmd_ca(int argc, char **argv, struct cli_ctx *ctx);
int cmd_cert(int argc, char **argv, struct cli_ctx *ctx);
int cmd_factory_reset(int argc, char **argv, struct cli_ctx *ctx);
int cmd_flash(int argc, char **argv, struct cli_ctx *ctx);
int cmd_fs(int argc, char **argv, struct cli_ctx *ctx);
int cmd_image(int argc, char **argv, struct cli_ctx *ctx);
int cmd_ledger(int argc, char **argv, struct cli_ctx *ctx);
int cmd_monitor(int argc, char **argv, struct cli_ctx *ctx);
int cmd_ports(int argc, char **argv, struct cli_ctx *ctx);
int cmd_profile(int argc, char **argv, struct cli_ctx *ctx);
int cmd_provision(int argc, char **argv, struct cli_ctx *ctx);
int cmd_spiffs(int argc, char **argv, struct cli_ctx *ctx);

#endif
