/* Value readers of the config schema pass: one JSON value each, with the
 * contract's checks, errors naming the field (see fwconfig_priv.h). */
#include <string.h>

#include "fwconfig_priv.h"

/* ---- error text ---------------------------------------------------------- */

enum fwc_err fwp_fail(struct pctx *c, enum fwc_err code, size_t at, const char *why)
{
    return fwj_fail(&c->j, code, at, why);
}

/* why = a + n + b, e.g. "too long (max " 32 " bytes)". */
enum fwc_err fwp_fail_n(struct pctx *c, enum fwc_err code, size_t at, const char *a,
                        unsigned long n, const char *b)
{
    struct fwj_out o;
    fwj_out_init(&o, c->detail, sizeof c->detail);
    fwj_out_str(&o, a);
    fwj_out_uint(&o, n);
    fwj_out_str(&o, b);
    return fwp_fail(c, code, at, c->detail);
}

size_t fwp_push_key(struct pctx *c, const char *key, size_t len)
{
    size_t saved = c->path_out.len;
    if (saved > 0) {
        fwj_out_str(&c->path_out, ".");
    }
    /* Keys may hold anything; show only printable ASCII on the console. */
    for (size_t k = 0; k < len && k < KEY_SHOWN; k++) {
        char ch = key[k] > 0x20 && key[k] < 0x7F ? key[k] : '?';
        fwj_out_mem(&c->path_out, &ch, 1);
    }
    if (len > KEY_SHOWN) {
        fwj_out_str(&c->path_out, "...");
    }
    return saved;
}

size_t fwp_push_index(struct pctx *c, unsigned i)
{
    size_t saved = c->path_out.len;
    fwj_out_str(&c->path_out, "[");
    fwj_out_uint(&c->path_out, i);
    fwj_out_str(&c->path_out, "]");
    return saved;
}

void fwp_pop_path(struct pctx *c, size_t saved)
{
    c->path_out.len = saved;
    c->path[saved] = '\0';
}

/* ---- values -------------------------------------------------------------- */

enum fwc_err fwp_need(struct pctx *c, int open, const char *why)
{
    fwj_ws(&c->j);
    if (fwj_peek(&c->j) != open) {
        return fwp_fail(c, FWC_ERR_TYPE, c->j.pos, why);
    }
    return FWC_OK;
}

/* A string of min..max bytes into dst (max + 1 bytes of room). */
enum fwc_err fwp_read_str(struct pctx *c, char *dst, size_t min, size_t max)
{
    size_t at = c->j.pos, len;
    int nul;
    enum fwc_err rc = fwp_need(c, '"', "must be a string");
    if (rc == FWC_OK) {
        at = c->j.pos;
        rc = fwj_string(&c->j, dst, max + 1, &len, &nul);
    }
    if (rc != FWC_OK) {
        return rc;
    }
    if (nul) {
        return fwp_fail(c, FWC_ERR_VALUE, at, "contains a NUL character (\\u0000)");
    }
    if (len > max) {
        return fwp_fail_n(c, FWC_ERR_LENGTH, at, "too long (max ", max, " bytes)");
    }
    if (len < min) {
        return min == 1 ? fwp_fail(c, FWC_ERR_LENGTH, at, "must not be empty")
                        : fwp_fail_n(c, FWC_ERR_LENGTH, at, "too short (min ", min, " bytes)");
    }
    return FWC_OK;
}

static int all_hex(const char *s)
{
    for (; *s != '\0'; s++) {
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') || (*s >= 'A' && *s <= 'F'))) {
            return 0;
        }
    }
    return 1;
}

enum fwc_err fwp_read_wifi_password(struct pctx *c, char *dst)
{
    static const char rule[] = "must be empty, 8-63 characters or 64 hex digits";
    size_t at = c->j.pos;
    enum fwc_err rc = fwp_read_str(c, dst, 0, FWC_WIFI_PASS_MAX);
    if (rc != FWC_OK) {
        return rc;
    }
    size_t len = strlen(dst);
    if (len > 0 && len < 8) {
        return fwp_fail(c, FWC_ERR_LENGTH, at, rule);
    }
    if (len == 64 && !all_hex(dst)) {
        return fwp_fail(c, FWC_ERR_VALUE, at, rule);
    }
    return FWC_OK;
}

static enum fwc_err read_int(struct pctx *c, struct fwj_num *n, size_t *at)
{
    fwj_ws(&c->j);
    *at = c->j.pos;
    int ch = fwj_peek(&c->j);
    if (ch != '-' && !(ch >= '0' && ch <= '9')) {
        return fwp_fail(c, FWC_ERR_TYPE, *at, "must be an integer");
    }
    enum fwc_err rc = fwj_number(&c->j, n);
    if (rc == FWC_OK && !n->integer) {
        rc = fwp_fail(c, FWC_ERR_TYPE, *at, "must be an integer");
    }
    return rc;
}

enum fwc_err fwp_read_version(struct pctx *c)
{
    struct fwj_num n;
    size_t at;
    enum fwc_err rc = read_int(c, &n, &at);
    if (rc == FWC_OK && (n.negative || n.mag != 1)) {
        rc = fwp_fail_n(c, FWC_ERR_VERSION, at,
                        n.negative ? "unsupported format version -" : "unsupported format version ",
                        n.mag, " (this firmware reads 1)");
    }
    return rc;
}

enum fwc_err fwp_read_u16(struct pctx *c, const struct field *f, uint16_t *dst)
{
    struct fwj_num n;
    size_t at;
    enum fwc_err rc = read_int(c, &n, &at);
    if (rc != FWC_OK) {
        return rc;
    }
    if (n.negative || n.mag < f->min || n.mag > f->max) {
        struct fwj_out o;
        fwj_out_init(&o, c->detail, sizeof c->detail);
        fwj_out_str(&o, "out of range (");
        fwj_out_uint(&o, f->min);
        fwj_out_str(&o, "-");
        fwj_out_uint(&o, f->max);
        fwj_out_str(&o, ")");
        return fwp_fail(c, FWC_ERR_RANGE, at, c->detail);
    }
    *dst = (uint16_t)n.mag;
    return FWC_OK;
}

enum fwc_err fwp_read_format(struct pctx *c, enum fwc_tls_format *dst)
{
    char word[4];
    size_t at = c->j.pos;
    enum fwc_err rc = fwp_need(c, '"', "must be a string");
    if (rc == FWC_OK) {
        at = c->j.pos;
        size_t len;
        int nul;
        rc = fwj_string(&c->j, word, sizeof word, &len, &nul);
        if (rc == FWC_OK && len == 3 && strcmp(word, "der") == 0) {
            *dst = FWC_TLS_DER;
        } else if (rc == FWC_OK && len == 3 && strcmp(word, "pem") == 0) {
            *dst = FWC_TLS_PEM;
        } else if (rc == FWC_OK) {
            rc = fwp_fail(c, FWC_ERR_VALUE, at, "must be \"der\" or \"pem\"");
        }
    }
    return rc;
}

/* After an object member or array element: ',' (more follow) or the closer. */
enum fwc_err fwp_next_or_close(struct pctx *c, char close, int *more)
{
    fwj_ws(&c->j);
    int ch = fwj_peek(&c->j);
    if (ch == ',' || ch == close) {
        c->j.pos++;
        *more = ch == ',';
        return FWC_OK;
    }
    return fwp_fail(c, ch < 0 ? FWC_ERR_TRUNCATED : FWC_ERR_SYNTAX, c->j.pos,
                    "expected ',' or a closing bracket");
}

/* Object member name and its ':'. key gets up to KEY_SHOWN bytes. */
enum fwc_err fwp_read_key(struct pctx *c, char *key, size_t *len, int *nul, size_t *at)
{
    fwj_ws(&c->j);
    *at = c->j.pos;
    enum fwc_err rc = fwj_string(&c->j, key, KEY_SHOWN + 1, len, nul);
    if (rc == FWC_OK) {
        rc = fwj_expect(&c->j, ':', "expected ':' after a key");
    }
    return rc;
}
