/* Typed getters over jansson values with JSON-path error messages. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provision/profile/profile_json.h"

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
        int rc = pv_expand_env(c, path, raw, &val);
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
    if (!pv_clean_text(val)) {
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
