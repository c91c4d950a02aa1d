/* ${NAME} expansion in profile strings, and what a secret-bearing string may hold. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provision/profile/profile_json.h"

/* Longest value accepted anywhere before per-field limits (a token). */
#define STRING_HARD_MAX 4096

int pctx_note_env(struct pctx *c, const char *path, const char *var, bool set)
{
    struct pv_profile_priv *pr = c->p->priv;
    struct env_ref *grown = realloc(pr->env, (pr->env_count + 1) * sizeof *grown);
    if (grown == NULL) {
        return pv_error_set(c->err, PV_ERR_NOMEM, NULL, "out of memory");
    }
    pr->env = grown;
    struct env_ref *r = &pr->env[pr->env_count++];
    snprintf(r->path, sizeof r->path, "%s", path);
    snprintf(r->var, sizeof r->var, "%s", var);
    r->set = set;
    return PV_OK;
}

/* Appends n bytes to a growing buffer; -1 past the hard limit. */
static int append(char *buf, size_t *used, const char *s, size_t n)
{
    if (*used + n > STRING_HARD_MAX) {
        return -1;
    }
    memcpy(buf + *used, s, n);
    *used += n;
    return 0;
}

/* ${NAME} -> value, $$ -> $. *out NULL (success) when deferred and unset. */
int pv_expand_env(struct pctx *c, const char *path, const char *raw, char **out)
{
    *out = NULL;
    char *buf = malloc(STRING_HARD_MAX + 1);
    if (buf == NULL) {
        return pv_error_set(c->err, PV_ERR_NOMEM, NULL, "out of memory");
    }
    size_t used = 0;
    bool unset = false;
    int rc = PV_OK;
    for (const char *s = raw; *s && rc == PV_OK;) {
        if (s[0] == '$' && s[1] == '$') {
            if (append(buf, &used, "$", 1) != 0) {
                rc = perr(c, path, "longer than %d bytes", STRING_HARD_MAX);
            }
            s += 2;
            continue;
        }
        if (s[0] != '$' || s[1] != '{') {
            if (append(buf, &used, s, 1) != 0) {
                rc = perr(c, path, "longer than %d bytes", STRING_HARD_MAX);
            }
            s++;
            continue;
        }
        const char *name = s + 2;
        size_t n = 0;
        while (isalnum((unsigned char)name[n]) || name[n] == '_') {
            n++;
        }
        if (name[n] != '}' || n == 0 || n > 63 || isdigit((unsigned char)name[0])) {
            rc = perr(c, path,
                      "\"${\" must start an environment variable reference like ${WIFI_PASS} "
                      "(write $${ for a literal)");
            break;
        }
        char var[64];
        memcpy(var, name, n);
        var[n] = '\0';
        const char *val =
            (c->env && c->env->lookup) ? c->env->lookup(c->env->user, var) : getenv(var);
        if (pctx_note_env(c, path, var, val != NULL) != PV_OK) {
            rc = PV_ERR_NOMEM;
            break;
        }
        if (val == NULL) {
            if (!(c->flags & PV_PROFILE_DEFER_ENV)) {
                rc = pv_error_set(c->err, PV_ERR_INVALID,
                                  "export the variable, or write the value into the profile",
                                  "%s: environment variable %s is not set", path, var);
                break;
            }
            unset = true;
        } else if (append(buf, &used, val, strlen(val)) != 0) {
            rc = perr(c, path, "longer than %d bytes after expanding ${%s}", STRING_HARD_MAX, var);
        }
        s = name + n + 1;
    }
    buf[used] = '\0';
    if (rc != PV_OK || unset) {
        pv_secret_free(buf, STRING_HARD_MAX + 1);
        return rc;
    }
    *out = buf;
    return PV_OK;
}

/* Valid UTF-8 without NUL or other C0 controls except tab (values come from
 * the environment too, which jansson did not check). */
bool pv_clean_text(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        if (*p < 0x20 || *p == 0x7f) {
            return false;
        }
        if (*p < 0x80) {
            p++;
            continue;
        }
        int extra = (*p & 0xe0) == 0xc0   ? 1
                    : (*p & 0xf0) == 0xe0 ? 2
                    : (*p & 0xf8) == 0xf0 ? 3
                                          : -1;
        if (extra < 0 || (*p == 0xc0 || *p == 0xc1) || *p > 0xf4) {
            return false;
        }
        for (int i = 1; i <= extra; i++) {
            if ((p[i] & 0xc0) != 0x80) {
                return false;
            }
        }
        p += extra + 1;
    }
    return true;
}
