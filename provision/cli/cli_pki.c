/* Profile loading, the CA passphrase prompt and CA opening for the PKI commands. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "provision/cli/cli_pki.h"
#include "provision/pki/pki.h"

int cli_load_profile(const char *usage, const char *option, unsigned flags, struct pv_profile **out)
{
    *out = NULL;
    const char *path = cli_profile_path(option);
    if (path == NULL) {
        return cli_usage_error(usage, "no profile: give -P PROFILE or set ESPPROV_PROFILE");
    }
    struct pv_error err;
    if (pv_profile_load(path, flags, NULL, out, &err) != PV_OK) {
        return cli_fail_err(&err);
    }
    return CLI_OK;
}

/* One line from the terminal with echo off; the newline is dropped. */
static int read_hidden(const char *prompt, char *buf, size_t len)
{
    struct termios saved, quiet;
    if (tcgetattr(STDIN_FILENO, &saved) != 0) {
        return -1;
    }
    quiet = saved;
    quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
    quiet.c_lflag |= ICANON;
    fputs(prompt, stderr);
    fflush(stderr);
    if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) != 0) {
        return -1;
    }
    size_t n = 0;
    int rc = -1;
    for (;;) {
        char c;
        ssize_t got = read(STDIN_FILENO, &c, 1);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0) {
            break;
        }
        if (c == '\n' || c == '\r') {
            rc = 0;
            break;
        }
        if (n + 1 >= len) {
            break;
        }
        buf[n++] = c;
    }
    buf[n] = '\0';
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    fputc('\n', stderr);
    return rc;
}

int cli_ca_passphrase(const struct cli_ctx *ctx, const struct pv_profile *p, bool confirm,
                      char *buf, size_t len)
{
    struct pv_error err;
    bool found = false;
    if (pv_profile_ca_passphrase(p, buf, len, &found, &err) != PV_OK) {
        return cli_fail_err(&err);
    }
    if (found) {
        return CLI_OK;
    }
    if (!ctx->stdin_tty) {
        return cli_fail("set \"ca\": {\"passphrase\": \"${VAR}\"} with VAR exported, or "
                        "\"passphrase_file\", in the profile, or run on a terminal to be asked",
                        "the CA passphrase is needed and there is no terminal to ask on");
    }
    if (read_hidden("CA passphrase: ", buf, len) != 0) {
        OPENSSL_cleanse(buf, len);
        return cli_fail(NULL, "could not read the CA passphrase from the terminal");
    }
    if (confirm) {
        char again[CLI_PASSPHRASE_MAX];
        int rc = read_hidden("CA passphrase again: ", again, sizeof again);
        bool same = rc == 0 && strcmp(again, buf) == 0;
        OPENSSL_cleanse(again, sizeof again);
        if (!same) {
            OPENSSL_cleanse(buf, len);
            return cli_fail(NULL, "the two passphrases differ");
        }
    }
    return CLI_OK;
}

int cli_new_passphrase(const struct cli_ctx *ctx, const char *file, char *buf, size_t len)
{
    buf[0] = '\0';
    if (file != NULL) {
        uint8_t *data = NULL;
        size_t n = 0;
        struct pv_error err;
        if (pv_file_read(file, 64 * 1024, &data, &n, &err) != PV_OK) {
            return cli_fail_err(&err);
        }
        size_t line = strcspn((const char *)data, "\r\n");
        int rc = CLI_OK;
        if (line >= len) {
            rc = cli_fail(NULL, "the new passphrase in '%s' is too long", file);
        } else {
            memcpy(buf, data, line);
            buf[line] = '\0';
        }
        pv_secret_free(data, n);
        return rc;
    }
    if (!ctx->stdin_tty) {
        return cli_fail("give --new-passphrase-file FILE, or run on a terminal to be asked",
                        "the new CA passphrase is needed and there is no terminal to ask on");
    }
    char again[CLI_PASSPHRASE_MAX];
    int rc = read_hidden("New CA passphrase: ", buf, len) == 0 &&
                     read_hidden("New CA passphrase again: ", again, sizeof again) == 0
                 ? CLI_OK
                 : cli_fail(NULL, "could not read the new CA passphrase from the terminal");
    if (rc == CLI_OK && strcmp(again, buf) != 0) {
        rc = cli_fail(NULL, "the two passphrases differ");
    }
    OPENSSL_cleanse(again, sizeof again);
    if (rc != CLI_OK) {
        OPENSSL_cleanse(buf, len);
    }
    return rc;
}

int cli_open_ca(const struct cli_ctx *ctx, const struct pv_profile *p, struct pv_ca **out)
{
    *out = NULL;
    char pass[CLI_PASSPHRASE_MAX];
    pass[0] = '\0';
    bool need = pv_ca_key_is_encrypted(p);
    if (need) {
        int rc = cli_ca_passphrase(ctx, p, false, pass, sizeof pass);
        if (rc != CLI_OK) {
            return rc;
        }
    }
    struct pv_error err;
    int rc = pv_ca_open(p, need ? pass : NULL, out, &err);
    OPENSSL_cleanse(pass, sizeof pass);
    if (rc != PV_OK) {
        return cli_fail_err(&err);
    }
    char kdf[96];
    if (!need) {
        cli_warn("the CA key '%s' is not encrypted; anyone who can read it can issue devices",
                 p->ca.key);
    } else if (pv_ca_key_kdf(p, kdf, sizeof kdf)) {
        cli_warn("the CA key '%s' is protected by %s, cheap to guess if the file is stolen; "
                 "'espprov ca passwd -P %s' re-encrypts it with scrypt",
                 p->ca.key, kdf, p->file);
    }
    return CLI_OK;
}

void cli_format_date(int64_t t, char *buf, size_t len)
{
    if (t == INT64_MAX) {
        snprintf(buf, len, "never");
        return;
    }
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL || strftime(buf, len, "%Y-%m-%d %H:%M:%SZ", &tm) == 0) {
        snprintf(buf, len, "?");
    }
}

bool cli_parse_days(const char *usage, const char *text, int32_t *out)
{
    if (strcmp(text, "never") == 0) {
        *out = PV_DAYS_NEVER;
        return true;
    }
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v <= 0 || v > 36500) {
        cli_usage_error(usage, "--days: expected a number of days 1-36500 or \"never\", got '%s'",
                        text);
        return false;
    }
    *out = (int32_t)v;
    return true;
}
