/* Pass 1 of fwc_parse(): the whole text must be one well-formed JSON object,
 * no deeper than the contract, with nothing after it (see fwjson_priv.h). */
#include "fwjson_priv.h"

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

/* true, false or null. */
static enum fwc_err read_literal(struct fwj *j)
{
    static const char *const words[] = {"true", "false", "null"};
    for (size_t w = 0; w < sizeof words / sizeof words[0]; w++) {
        const char *word = words[w];
        if (j->s[j->pos] != (unsigned char)word[0]) {
            continue;
        }
        for (size_t k = 0; word[k] != '\0'; k++) {
            if (j->pos + k >= j->len) {
                return fwj_truncated(j);
            }
            if (j->s[j->pos + k] != (unsigned char)word[k]) {
                return fwj_fail(j, FWC_ERR_SYNTAX, j->pos, "unexpected character");
            }
        }
        while (*word++ != '\0') {
            j->pos++;
        }
        return FWC_OK;
    }
    return fwj_fail(j, FWC_ERR_SYNTAX, j->pos, "unexpected character");
}

/* Object member name followed by ':'; notes where a top-level "v" value starts. */
static enum fwc_err scan_key(struct fwj *j, int top_level, size_t *v_at)
{
    char key[2];
    size_t len;
    int nul;
    fwj_ws(j);
    if (j->pos >= j->len) {
        return fwj_truncated(j);
    }
    if (j->s[j->pos] != '"') {
        return fwj_fail(j, FWC_ERR_SYNTAX, j->pos, "expected a key in quotes");
    }
    enum fwc_err rc = fwj_string(j, key, sizeof key, &len, &nul);
    if (rc == FWC_OK) {
        rc = fwj_expect(j, ':', "expected ':' after a key");
    }
    fwj_ws(j);
    if (rc == FWC_OK && top_level && len == 1 && key[0] == 'v' && *v_at == (size_t)-1) {
        *v_at = j->pos;
    }
    return rc;
}

enum fwc_err fwj_scan(struct fwj *j, size_t *v_at)
{
    /* Open containers, innermost last: '{' or '['. */
    char stack[FWC_DEPTH_MAX];
    size_t depth = 0;
    enum fwc_err rc;
    *v_at = (size_t)-1;
    fwj_ws(j);
    if (j->pos >= j->len) {
        return fwj_fail(j, FWC_ERR_EMPTY, 0, "empty file");
    }
    if (j->s[j->pos] != '{') {
        return fwj_fail(j, FWC_ERR_SYNTAX, j->pos, "the file must hold one JSON object");
    }
    for (;;) {
        /* A value starts here. */
        fwj_ws(j);
        int c = fwj_peek(j);
        rc = FWC_OK;
        if (c < 0) {
            return fwj_truncated(j);
        }
        if (c == '{' || c == '[') {
            if (depth == FWC_DEPTH_MAX) {
                return fwj_fail(j, FWC_ERR_DEPTH, j->pos, "nested deeper than the format allows");
            }
            stack[depth++] = (char)c;
            j->pos++;
            fwj_ws(j);
            int close = c == '{' ? '}' : ']';
            if (fwj_peek(j) != close) {
                if (c == '{') {
                    rc = scan_key(j, depth == 1, v_at);
                    if (rc != FWC_OK) {
                        return rc;
                    }
                }
                continue;
            }
            j->pos++;
            depth--;
        } else if (c == '"') {
            size_t len;
            int nul;
            rc = fwj_string(j, NULL, 0, &len, &nul);
        } else if (c == '-' || is_digit(c)) {
            struct fwj_num n;
            rc = fwj_number(j, &n);
        } else {
            rc = read_literal(j);
        }
        if (rc != FWC_OK) {
            return rc;
        }
        /* After a value: close containers, or a comma leads to the next value. */
        for (;;) {
            if (depth == 0) {
                fwj_ws(j);
                if (j->pos != j->len) {
                    return fwj_fail(j, FWC_ERR_TRAILING, j->pos, "data after the config object");
                }
                return FWC_OK;
            }
            fwj_ws(j);
            c = fwj_peek(j);
            if (c < 0) {
                return fwj_truncated(j);
            }
            char top = stack[depth - 1];
            if (c == ',') {
                j->pos++;
                if (top == '{') {
                    rc = scan_key(j, depth == 1, v_at);
                    if (rc != FWC_OK) {
                        return rc;
                    }
                }
                break;
            }
            if ((top == '{' && c == '}') || (top == '[' && c == ']')) {
                j->pos++;
                depth--;
                continue;
            }
            return fwj_fail(j, FWC_ERR_SYNTAX, j->pos,
                            top == '{' ? "expected ',' or '}'" : "expected ',' or ']'");
        }
    }
}
