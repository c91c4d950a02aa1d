/*
 * What the ledger stores as text: checked (lengths, hex, digests), and
 * scrubbed (secrets and PEM private keys out, valid UTF-8, no control
 * characters) before it reaches the file.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provision/ledger/ledger_priv.h"

/* ===== Input checks ==================================================== */

int ledger_check_text(const char *what, const char *s, size_t max, struct pv_error *err)
{
    if (s == NULL || s[0] == '\0') {
        return pv_error_set(err, PV_ERR_INVALID, NULL, "ledger: the %s is empty", what);
    }
    if (strlen(s) > max) {
        return pv_error_set(err, PV_ERR_INVALID, NULL,
                            "ledger: the %s is %zu bytes long (at most %zu)", what, strlen(s), max);
    }
    return PV_OK;
}

/* Hex digits with optional ':' separators -> bare hex in `out`. */
bool ledger_normalize_hex(const char *in, bool upper, char *out, size_t cap)
{
    size_t n = 0;
    for (const char *p = in; *p; p++) {
        if (*p == ':') {
            continue;
        }
        if (!isxdigit((unsigned char)*p) || n + 1 >= cap) {
            return false;
        }
        out[n++] = (char)(upper ? toupper((unsigned char)*p) : tolower((unsigned char)*p));
    }
    out[n] = '\0';
    return n > 0;
}

bool ledger_canon_serial(const char *in, char out[66])
{
    if (in == NULL || !ledger_normalize_hex(in, true, out, 66)) {
        return false;
    }
    /* One serial, one spelling: the CA's, as `openssl x509 -serial` and
     * `cert list` print it (whole octets, so "0A1B" keeps its zero). */
    size_t len = strlen(out), zeros = strspn(out, "0");
    if (zeros == len) {
        zeros = len - 1;
    }
    memmove(out, out + zeros, len - zeros + 1);
    len -= zeros;
    if (len % 2 == 1) {
        if (len + 2 > 66) {
            return false;
        }
        memmove(out + 1, out, len + 1);
        out[0] = '0';
    }
    return true;
}

static bool valid_digest(const char *s, size_t len)
{
    if (len != 64) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (!isxdigit((unsigned char)s[i])) {
            return false;
        }
    }
    return true;
}

/* One digest, or "0xOFFSET:DIGEST" items joined by ','. */
bool ledger_valid_firmware_digests(const char *s)
{
    if (valid_digest(s, strlen(s))) {
        return true;
    }
    while (*s) {
        if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X')) {
            return false;
        }
        size_t digits = strspn(s + 2, "0123456789abcdefABCDEF");
        if (digits == 0 || digits > 8 || s[2 + digits] != ':') {
            return false;
        }
        s += 3 + digits;
        size_t len = strcspn(s, ",");
        if (!valid_digest(s, len)) {
            return false;
        }
        s += len;
        if (*s == ',') {
            if (*++s == '\0') {
                return false;
            }
        }
    }
    return true;
}

/* ===== Text scrubbing ================================================== */

/* Length of the valid UTF-8 sequence at s, or 0. */
static size_t utf8_len(const unsigned char *s)
{
    if (s[0] < 0x80) {
        return 1;
    }
    size_t n = s[0] >= 0xF0 && s[0] <= 0xF4 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC2 ? 2 : 0;
    if (n == 0 || (s[0] >= 0xF8)) {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            return 0;
        }
    }
    /* Overlong three/four-byte forms, surrogates, above U+10FFFF. */
    if ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] >= 0xA0) ||
        (s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] >= 0x90)) {
        return 0;
    }
    return n;
}

void ledger_sanitize_text(char *s)
{
    unsigned char *p = (unsigned char *)s;
    while (*p) {
        size_t n = utf8_len(p);
        if (n == 0) {
            *p++ = '?';
        } else if (n == 1 && (*p < 0x20 || *p == 0x7f)) {
            *p++ = ' ';
        } else {
            p += n;
        }
    }
}

/* Replaces every occurrence of `needle` in the heap string *s. */
static bool replace_all(char **s, const char *needle, const char *with)
{
    size_t nlen = strlen(needle), wlen = strlen(with), count = 0;
    for (const char *p = *s; (p = strstr(p, needle)) != NULL; p += nlen) {
        count++;
    }
    if (count == 0) {
        return true;
    }
    size_t len = strlen(*s);
    char *out = malloc(len + count * wlen + 1);
    if (out == NULL) {
        return false;
    }
    char *o = out;
    const char *p = *s, *hit;
    while ((hit = strstr(p, needle)) != NULL) {
        memcpy(o, p, (size_t)(hit - p));
        o += hit - p;
        memcpy(o, with, wlen);
        o += wlen;
        p = hit + nlen;
    }
    strcpy(o, p);
    explicit_bzero(*s, len);
    free(*s);
    *s = out;
    return true;
}

/* Cuts PEM private key blocks ("-----BEGIN ... PRIVATE KEY-----" to the
 * matching END line, or to the end of the text) down to "[redacted]". */
static void drop_pem_keys(char *s)
{
    char *begin = s;
    while ((begin = strstr(begin, "-----BEGIN ")) != NULL) {
        char *label_end = strstr(begin + 11, "-----");
        char *nl = strchr(begin, '\n');
        bool is_key = label_end != NULL && (nl == NULL || label_end < nl) &&
                      memmem(begin, (size_t)(label_end - begin), "PRIVATE KEY", 11) != NULL;
        if (!is_key) {
            begin += 11;
            continue;
        }
        char *end = strstr(label_end, "-----END ");
        char *stop = end ? strstr(end + 9, "-----") : NULL;
        char *rest = stop ? stop + 5 : s + strlen(s);
        static const char mark[] = "[redacted]";
        size_t removed = (size_t)(rest - begin);
        explicit_bzero(begin, removed);
        memcpy(begin, mark, sizeof mark - 1);
        memmove(begin + sizeof mark - 1, rest, strlen(rest) + 1);
        begin += sizeof mark - 1;
    }
}

char *ledger_scrub(struct pv_ledger *lg, const char *text, size_t cap)
{
    char *s = strdup(text ? text : "");
    pthread_mutex_lock(&lg->lock); /* pv_ledger_add_secret() may run meanwhile */
    for (size_t i = 0; s != NULL && i < lg->nsecrets; i++) {
        if (!replace_all(&s, lg->secrets[i], "[redacted]")) {
            explicit_bzero(s, strlen(s));
            free(s);
            s = NULL;
        }
    }
    pthread_mutex_unlock(&lg->lock);
    if (s == NULL) {
        return NULL;
    }
    drop_pem_keys(s);
    size_t len = strlen(s);
    if (len >= cap) {
        /* Cut on a character boundary. */
        size_t n = cap - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) {
            n--;
        }
        explicit_bzero(s + n, len - n);
    }
    ledger_sanitize_text(s);
    return s;
}
