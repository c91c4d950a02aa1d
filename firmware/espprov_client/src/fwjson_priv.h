/*
 * Private to firmware/espprov_client/src: the JSON lexer under fwconfig.c.
 *
 * fwc_parse() makes two passes over the text. fwj_scan() checks the whole
 * thing is one well-formed JSON object nested no deeper than the contract,
 * with valid escapes and UTF-8 and nothing after it, so syntax problems
 * (truncation above all) are reported as such and before any field error.
 * The schema pass then walks the same text with the fwj_* token readers.
 */
#ifndef ESPPROV_FWJSON_PRIV_H
#define ESPPROV_FWJSON_PRIV_H

#include "fwconfig.h"

struct fwj {
    const unsigned char *s;
    size_t len;
    size_t pos;
    const char *why; /* static text for the last error */
    size_t at;       /* byte offset of the last error */
};

/* Result of fwj_number(): magnitude saturates at FWJ_NUM_CAP. */
#define FWJ_NUM_CAP 99999999UL
struct fwj_num {
    unsigned long mag;
    int negative;
    int integer; /* no fraction, no exponent */
};

/* Whole-text syntax check (pass 1). On success *v_at is the offset of the
 * value of the top-level "v" member (first one), or (size_t)-1 if absent. */
enum fwc_err fwj_scan(struct fwj *j, size_t *v_at);

/* Skips JSON whitespace. */
void fwj_ws(struct fwj *j);

/* Next byte, or -1 at the end. Does not consume. */
int fwj_peek(const struct fwj *j);

/* Consumes c after optional whitespace, or fails (TRUNCATED at the end). */
enum fwc_err fwj_expect(struct fwj *j, char c, const char *why);

/*
 * Reads the string at j->pos (which must be '"'), decoding escapes to UTF-8.
 * Writes at most cap - 1 bytes plus a NUL to dst when dst != NULL (cap > 0);
 * *len gets the full decoded length even when it did not fit, *has_nul
 * whether a \u0000 was decoded.
 */
enum fwc_err fwj_string(struct fwj *j, char *dst, size_t cap, size_t *len, int *has_nul);

/* Reads the number at j->pos. */
enum fwc_err fwj_number(struct fwj *j, struct fwj_num *n);

/* Bounded text output: appends stop at cap - 1 bytes (always NUL-terminated
 * when cap > 0) and set overflow instead of writing past the end. */
struct fwj_out {
    char *buf;
    size_t cap;
    size_t len;
    int overflow;
};
void fwj_out_init(struct fwj_out *o, char *buf, size_t cap);
void fwj_out_mem(struct fwj_out *o, const char *s, size_t n);
void fwj_out_str(struct fwj_out *o, const char *s);
void fwj_out_uint(struct fwj_out *o, unsigned long v);

/* Records "file ends early" at the end of the text; returns FWC_ERR_TRUNCATED. */
enum fwc_err fwj_truncated(struct fwj *j);

/* Records an error and returns code. */
enum fwc_err fwj_fail(struct fwj *j, enum fwc_err code, size_t at, const char *why);

#endif
