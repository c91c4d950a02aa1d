/* Typed getters over jansson values with JSON-path error messages. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provision/profile_json.h"

/* Longest value accepted anywhere before per-field limits (a token). */
#define STRING_HARD_MAX 4096

int perr(struct pctx *c, const char *path, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return pv_error_set(c->err, PV_ERR_INVALID, NULL, "%s: %s", path[0] ? path : ".", msg);
}

void jpath(char *buf, const char *parent, const char *key)
{
    snprintf(buf, PATH_MAX_LEN, "%s.%s", parent, key);
}

void jpath_index(char *buf, const char *parent, size_t i)
{
    snprintf(buf, PATH_MAX_LEN, "%s[%zu]", parent, i);
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}

/* The value as the user wrote it (compact, cut at ~48 bytes), or its type
 * for secrets. */
static void describe(const json_t *v, unsigned flags, char *buf, size_t len)
{
    if ((flags & G_SECRET) || json_is_object(v) || json_is_array(v)) {
        snprintf(buf, len, "%s", type_name(v));
        return;
    }
    char *dump = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    if (dump == NULL) {
        snprintf(buf, len, "%s", type_name(v));
        return;
    }
    if (strlen(dump) > 48) {
        snprintf(buf, len, "%.45s...", dump);
    } else {
        snprintf(buf, len, "%s", dump);
    }
    free(dump);
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 31 || lb > 31) {
        return 99;
    }
    size_t row[32];
    for (size_t j = 0; j <= lb; j++) {
        row[j] = j;
    }
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost =
                tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 1]) ? 0 : 1;
            size_t best = diag + cost;
            if (row[j] + 1 < best) {
                best = row[j] + 1;
            }
            if (row[j - 1] + 1 < best) {
                best = row[j - 1] + 1;
            }
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

int json_only_keys(struct pctx *c, json_t *obj, const char *path, const char *const *keys)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        bool known = false;
        const char *near = NULL;
        for (size_t i = 0; keys[i] != NULL; i++) {
            if (strcmp(keys[i], key) == 0) {
                known = true;
                break;
            }
            if (near == NULL && edit_distance(keys[i], key) <= 2) {
                near = keys[i];
            }
        }
        if (!known) {
            char sub[PATH_MAX_LEN];
            char shown[48];
            snprintf(shown, sizeof shown, "%s", key);
            for (char *s = shown; *s; s++) {
                if ((unsigned char)*s < 0x20) {
                    *s = '?';
                }
            }
            jpath(sub, path, shown);
            if (near != NULL) {
                return perr(c, sub, "unknown key (did you mean \"%s\"?)", near);
            }
            char list[256] = "";
            for (size_t i = 0; keys[i] != NULL; i++) {
                size_t used = strlen(list);
                snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", keys[i]);
            }
            return perr(c, sub, "unknown key (known here: %s)", list);
        }
    }
    return PV_OK;
}

static json_t *lookup(struct pctx *c, json_t *obj, const char *path, const char *key,
                      unsigned flags, int *rc)
{
    *rc = PV_OK;
    json_t *v = json_object_get(obj, key);
    if (v == NULL && (flags & G_REQUIRED)) {
        char sub[PATH_MAX_LEN];
        jpath(sub, path, key);
        *rc = perr(c, sub, "missing (this key is required)");
    }
    return v;
}

int json_get_object(struct pctx *c, json_t *obj, const char *path, const char *key, unsigned flags,
                    json_t **out)
{
    int rc;
    *out = lookup(c, obj, path, key, flags, &rc);
    if (*out != NULL && !json_is_object(*out)) {
        char sub[PATH_MAX_LEN];
        jpath(sub, path, key);
        return perr(c, sub, "expected an object, got %s", type_name(*out));
    }
    return rc;
}

int json_get_array(struct pctx *c, json_t *obj, const char *path, const char *key, unsigned flags,
                   size_t min, size_t max, json_t **out)
{
    int rc;
    *out = lookup(c, obj, path, key, flags, &rc);
    if (*out == NULL) {
        return rc;
    }
    char sub[PATH_MAX_LEN];
    jpath(sub, path, key);
    if (!json_is_array(*out)) {
        return perr(c, sub, "expected an array, got %s", type_name(*out));
    }
    size_t n = json_array_size(*out);
    if (n < min || n > max) {
        return perr(c, sub, "expected %zu to %zu entries, got %zu", min, max, n);
    }
    return PV_OK;
}

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
static int expand_env(struct pctx *c, const char *path, const char *raw, unsigned flags, char **out)
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
    (void)flags;
    *out = buf;
    return PV_OK;
}

/* Valid UTF-8 without NUL or other C0 controls except tab (values come from
 * the environment too, which jansson did not check). */
static bool clean_text(const char *s)
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

int json_string_value_at(struct pctx *c, json_t *v, const char *path, unsigned flags, size_t min,
                         size_t max, char **out)
{
    char shown[64];
    if (!json_is_string(v)) {
        describe(v, flags, shown, sizeof shown);
        return perr(c, path, "expected a string, got %s", shown);
    }
    const char *raw = json_string_value(v);
    if (strlen(raw) != json_string_length(v)) {
        return perr(c, path, "contains a NUL character");
    }
    char *val = NULL;
    if (flags & G_NO_ENV) {
        val = strdup(raw);
        if (val == NULL) {
            return pv_error_set(c->err, PV_ERR_NOMEM, NULL, "out of memory");
        }
    } else {
        int rc = expand_env(c, path, raw, flags, &val);
        if (rc != PV_OK) {
            return rc;
        }
        if (val == NULL) { /* deferred: an unset variable */
            if (flags & G_SECRET) {
                pv_secret_free_str(*out);
            } else {
                free(*out);
            }
            *out = NULL;
            return PV_OK;
        }
    }
    size_t n = strlen(val);
    int rc = PV_OK;
    if (!clean_text(val)) {
        rc = perr(c, path, "contains control characters or invalid UTF-8");
    } else if (n < min || n > max) {
        if (flags & G_SECRET) {
            rc = perr(c, path, "expected %zu to %zu bytes, got %zu", min, max, n);
        } else if (min == max) {
            rc = perr(c, path, "expected exactly %zu bytes, got %zu (\"%.40s%s\")", min, n, val,
                      n > 40 ? "..." : "");
        } else {
            rc = perr(c, path, "expected %zu to %zu bytes, got %zu (\"%.40s%s\")", min, max, n, val,
                      n > 40 ? "..." : "");
        }
    }
    if (rc != PV_OK) {
        pv_secret_free_str(val);
        return rc;
    }
    if (flags & G_SECRET) {
        pv_secret_free_str(*out);
    } else {
        free(*out);
    }
    *out = val;
    return PV_OK;
}

int json_get_string(struct pctx *c, json_t *obj, const char *path, const char *key, unsigned flags,
                    size_t min, size_t max, char **out)
{
    int rc;
    json_t *v = lookup(c, obj, path, key, flags, &rc);
    if (v == NULL) {
        return rc;
    }
    char sub[PATH_MAX_LEN];
    jpath(sub, path, key);
    return json_string_value_at(c, v, sub, flags, min, max, out);
}

int json_get_int(struct pctx *c, json_t *obj, const char *path, const char *key, unsigned flags,
                 long long min, long long max, long long *out, bool *present)
{
    int rc;
    json_t *v = lookup(c, obj, path, key, flags, &rc);
    if (present != NULL) {
        *present = v != NULL;
    }
    if (v == NULL) {
        return rc;
    }
    char sub[PATH_MAX_LEN];
    jpath(sub, path, key);
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        char shown[64];
        describe(v, flags, shown, sizeof shown);
        return perr(c, sub, "expected an integer %lld-%lld, got %s", min, max, shown);
    }
    *out = json_integer_value(v);
    return PV_OK;
}

int json_get_size(struct pctx *c, json_t *obj, const char *path, const char *key, unsigned flags,
                  uint64_t max, uint64_t *out, bool *present)
{
    int rc;
    json_t *v = lookup(c, obj, path, key, flags, &rc);
    if (present != NULL) {
        *present = v != NULL;
    }
    if (v == NULL) {
        return rc;
    }
    char sub[PATH_MAX_LEN];
    jpath(sub, path, key);
    uint64_t val = 0;
    bool ok = false;
    if (json_is_integer(v)) {
        ok = json_integer_value(v) >= 0 && (uint64_t)json_integer_value(v) <= max;
        val = (uint64_t)json_integer_value(v);
    } else if (json_is_string(v)) {
        ok = pv_parse_size(json_string_value(v), max, &val) == PV_OK;
    }
    if (!ok) {
        char shown[64];
        describe(v, flags, shown, sizeof shown);
        return perr(c, sub,
                    "expected a size or offset up to 0x%llx (e.g. 4096, \"0x1000\", \"64K\", "
                    "\"4MB\"), got %s",
                    (unsigned long long)max, shown);
    }
    *out = val;
    return PV_OK;
}

int json_get_enum(struct pctx *c, json_t *obj, const char *path, const char *key, unsigned flags,
                  const char *const *names, int *out)
{
    int rc;
    json_t *v = lookup(c, obj, path, key, flags, &rc);
    if (v == NULL) {
        return rc;
    }
    if (json_is_string(v)) {
        for (int i = 0; names[i] != NULL; i++) {
            if (strcmp(names[i], json_string_value(v)) == 0) {
                *out = i;
                return PV_OK;
            }
        }
    }
    char sub[PATH_MAX_LEN], shown[64], list[200] = "";
    jpath(sub, path, key);
    describe(v, flags, shown, sizeof shown);
    for (int i = 0; names[i] != NULL; i++) {
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, "%s\"%s\"", i ? ", " : "", names[i]);
    }
    return perr(c, sub, "expected one of %s, got %s", list, shown);
}

int json_get_days(struct pctx *c, json_t *obj, const char *path, const char *key, int max,
                  int32_t *out)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL) {
        return PV_OK;
    }
    if (json_is_string(v) && strcmp(json_string_value(v), "never") == 0) {
        *out = PV_DAYS_NEVER;
        return PV_OK;
    }
    if (json_is_integer(v) && json_integer_value(v) >= 1 && json_integer_value(v) <= max) {
        *out = (int32_t)json_integer_value(v);
        return PV_OK;
    }
    char sub[PATH_MAX_LEN], shown[64];
    jpath(sub, path, key);
    describe(v, 0, shown, sizeof shown);
    return perr(c, sub, "expected a number of days 1-%d or \"never\", got %s", max, shown);
}

char *pctx_abs_path(struct pctx *c, const char *rel)
{
    if (rel[0] == '/') {
        return strdup(rel);
    }
    size_t n = strlen(c->p->dir) + strlen(rel) + 2;
    char *s = malloc(n);
    if (s != NULL) {
        snprintf(s, n, "%s/%s", c->p->dir, rel);
    }
    return s;
}
