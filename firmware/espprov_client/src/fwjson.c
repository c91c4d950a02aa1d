/* JSON lexer for fwconfig: strings, numbers, whitespace (see fwjson_priv.h). */
#include "fwjson_priv.h"

enum fwc_err fwj_fail(struct fwj *j, enum fwc_err code, size_t at, const char *why)
{
    j->why = why;
    j->at = at;
    return code;
}

void fwj_out_init(struct fwj_out *o, char *buf, size_t cap)
{
    o->buf = buf;
    o->cap = cap;
    o->len = 0;
    o->overflow = 0;
    if (cap > 0) {
        buf[0] = '\0';
    }
}

void fwj_out_mem(struct fwj_out *o, const char *s, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        if (o->len + 1 >= o->cap) {
            o->overflow = 1;
            return;
        }
        o->buf[o->len++] = s[k];
        o->buf[o->len] = '\0';
    }
}

void fwj_out_str(struct fwj_out *o, const char *s)
{
    size_t n = 0;
    while (s[n] != '\0') {
        n++;
    }
    fwj_out_mem(o, s, n);
}

void fwj_out_uint(struct fwj_out *o, unsigned long v)
{
    char digits[20];
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n > 0) {
        fwj_out_mem(o, &digits[--n], 1);
    }
}

/* Every read past the end means the file was cut short, whatever we expected. */
enum fwc_err fwj_truncated(struct fwj *j)
{
    return fwj_fail(j, FWC_ERR_TRUNCATED, j->len, "file ends early (truncated?)");
}

int fwj_peek(const struct fwj *j)
{
    return j->pos < j->len ? j->s[j->pos] : -1;
}

void fwj_ws(struct fwj *j)
{
    while (j->pos < j->len) {
        unsigned char c = j->s[j->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            break;
        }
        j->pos++;
    }
}

enum fwc_err fwj_expect(struct fwj *j, char c, const char *why)
{
    fwj_ws(j);
    if (j->pos >= j->len) {
        return fwj_truncated(j);
    }
    if (j->s[j->pos] != (unsigned char)c) {
        return fwj_fail(j, FWC_ERR_SYNTAX, j->pos, why);
    }
    j->pos++;
    return FWC_OK;
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Reads the 4 hex digits after "\u" at j->pos. */
static enum fwc_err read_u16(struct fwj *j, unsigned long *out)
{
    unsigned long v = 0;
    for (int k = 0; k < 4; k++) {
        if (j->pos >= j->len) {
            return fwj_truncated(j);
        }
        int h = hex_value(j->s[j->pos]);
        if (h < 0) {
            return fwj_fail(j, FWC_ERR_ESCAPE, j->pos, "\\u needs 4 hex digits");
        }
        v = v * 16 + (unsigned long)h;
        j->pos++;
    }
    *out = v;
    return FWC_OK;
}

/* \uXXXX (already past the 'u'), joining a surrogate pair into one code point. */
static enum fwc_err read_escaped_code_point(struct fwj *j, unsigned long *cp)
{
    size_t start = j->pos - 2;
    enum fwc_err rc = read_u16(j, cp);
    if (rc != FWC_OK) {
        return rc;
    }
    if (*cp >= 0xDC00 && *cp <= 0xDFFF) {
        return fwj_fail(j, FWC_ERR_ESCAPE, start, "low surrogate without a high one");
    }
    if (*cp < 0xD800 || *cp > 0xDBFF) {
        return FWC_OK;
    }
    if (j->pos + 2 > j->len) {
        return fwj_truncated(j);
    }
    if (j->s[j->pos] != '\\' || j->s[j->pos + 1] != 'u') {
        return fwj_fail(j, FWC_ERR_ESCAPE, start, "high surrogate not followed by a low one");
    }
    j->pos += 2;
    unsigned long low;
    rc = read_u16(j, &low);
    if (rc != FWC_OK) {
        return rc;
    }
    if (low < 0xDC00 || low > 0xDFFF) {
        return fwj_fail(j, FWC_ERR_ESCAPE, start, "high surrogate not followed by a low one");
    }
    *cp = 0x10000 + ((*cp - 0xD800) << 10) + (low - 0xDC00);
    return FWC_OK;
}

/* Length of the UTF-8 sequence starting with lead byte c at j->pos, after
 * checking it is well-formed (no overlongs, surrogates or > U+10FFFF). */
static enum fwc_err check_utf8(struct fwj *j, size_t *seq_len)
{
    size_t p = j->pos;
    unsigned char c = j->s[p];
    unsigned char lo = 0x80, hi = 0xBF;
    size_t n;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        lo = c == 0xE0 ? 0xA0 : 0x80;
        hi = c == 0xED ? 0x9F : 0xBF;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        lo = c == 0xF0 ? 0x90 : 0x80;
        hi = c == 0xF4 ? 0x8F : 0xBF;
    } else {
        return fwj_fail(j, FWC_ERR_UTF8, p, "invalid UTF-8 lead byte");
    }
    for (size_t k = 1; k < n; k++) {
        if (p + k >= j->len) {
            return fwj_truncated(j);
        }
        unsigned char cc = j->s[p + k];
        if (cc < lo || cc > hi) {
            return fwj_fail(j, FWC_ERR_UTF8, p, "invalid UTF-8 sequence");
        }
        lo = 0x80;
        hi = 0xBF;
    }
    *seq_len = n;
    return FWC_OK;
}

static size_t encode_utf8(unsigned long cp, unsigned char out[4])
{
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xC0 | (cp >> 6));
        out[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xE0 | (cp >> 12));
        out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (unsigned char)(0xF0 | (cp >> 18));
    out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

static enum fwc_err read_escape(struct fwj *j, unsigned char out[4], size_t *n, int *has_nul)
{
    if (j->pos + 1 >= j->len) {
        return fwj_truncated(j);
    }
    unsigned char e = j->s[j->pos + 1];
    j->pos += 2;
    *n = 1;
    switch (e) {
    case '"':
    case '\\':
    case '/':
        out[0] = e;
        return FWC_OK;
    case 'b':
        out[0] = '\b';
        return FWC_OK;
    case 'f':
        out[0] = '\f';
        return FWC_OK;
    case 'n':
        out[0] = '\n';
        return FWC_OK;
    case 'r':
        out[0] = '\r';
        return FWC_OK;
    case 't':
        out[0] = '\t';
        return FWC_OK;
    case 'u': {
        unsigned long cp;
        enum fwc_err rc = read_escaped_code_point(j, &cp);
        if (rc != FWC_OK) {
            return rc;
        }
        if (cp == 0) {
            *has_nul = 1;
        }
        *n = encode_utf8(cp, out);
        return FWC_OK;
    }
    default:
        return fwj_fail(j, FWC_ERR_ESCAPE, j->pos - 2, "unknown escape");
    }
}

enum fwc_err fwj_string(struct fwj *j, char *dst, size_t cap, size_t *len, int *has_nul)
{
    size_t out = 0;
    *has_nul = 0;
    if (dst != NULL && cap > 0) {
        dst[0] = '\0';
    }
    if (j->pos >= j->len) {
        return fwj_truncated(j);
    }
    if (j->s[j->pos] != '"') {
        return fwj_fail(j, FWC_ERR_SYNTAX, j->pos, "expected a string");
    }
    j->pos++;
    for (;;) {
        if (j->pos >= j->len) {
            return fwj_truncated(j);
        }
        unsigned char c = j->s[j->pos];
        unsigned char buf[4];
        const unsigned char *src = buf;
        size_t n = 1;
        enum fwc_err rc;
        if (c == '"') {
            j->pos++;
            break;
        }
        if (c < 0x20) {
            return fwj_fail(j, FWC_ERR_SYNTAX, j->pos, "control character in a string");
        }
        if (c == '\\') {
            rc = read_escape(j, buf, &n, has_nul);
            if (rc != FWC_OK) {
                return rc;
            }
        } else if (c >= 0x80) {
            rc = check_utf8(j, &n);
            if (rc != FWC_OK) {
                return rc;
            }
            src = j->s + j->pos;
            j->pos += n;
        } else {
            src = j->s + j->pos;
            j->pos++;
        }
        for (size_t k = 0; k < n; k++, out++) {
            if (dst != NULL && out + 1 < cap) {
                dst[out] = (char)src[k];
                dst[out + 1] = '\0';
            }
        }
    }
    *len = out;
    return FWC_OK;
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

enum fwc_err fwj_number(struct fwj *j, struct fwj_num *n)
{
    size_t start = j->pos;
    n->mag = 0;
    n->negative = 0;
    n->integer = 1;
    if (fwj_peek(j) == '-') {
        n->negative = 1;
        j->pos++;
    }
    int c = fwj_peek(j);
    if (c < 0) {
        return fwj_truncated(j);
    }
    if (!is_digit(c)) {
        return fwj_fail(j, FWC_ERR_SYNTAX, j->pos, "bad number");
    }
    if (c == '0') {
        j->pos++;
        if (is_digit(fwj_peek(j))) {
            return fwj_fail(j, FWC_ERR_SYNTAX, start, "number with a leading zero");
        }
    }
    while (is_digit(fwj_peek(j))) {
        unsigned d = (unsigned)(j->s[j->pos] - '0');
        n->mag = n->mag > (FWJ_NUM_CAP - d) / 10 ? FWJ_NUM_CAP : n->mag * 10 + d;
        j->pos++;
    }
    if (fwj_peek(j) == '.') {
        n->integer = 0;
        j->pos++;
        c = fwj_peek(j);
        if (c < 0) {
            return fwj_truncated(j);
        }
        if (!is_digit(c)) {
            return fwj_fail(j, FWC_ERR_SYNTAX, j->pos, "bad number");
        }
        while (is_digit(fwj_peek(j))) {
            j->pos++;
        }
    }
    c = fwj_peek(j);
    if (c == 'e' || c == 'E') {
        n->integer = 0;
        j->pos++;
        c = fwj_peek(j);
        if (c == '+' || c == '-') {
            j->pos++;
            c = fwj_peek(j);
        }
        if (c < 0) {
            return fwj_truncated(j);
        }
        if (!is_digit(c)) {
            return fwj_fail(j, FWC_ERR_SYNTAX, j->pos, "bad number");
        }
        while (is_digit(fwj_peek(j))) {
            j->pos++;
        }
    }
    return FWC_OK;
}
