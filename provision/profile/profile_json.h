/*
 * Private to the profile loader (profile*.c): typed, path-aware getters over
 * jansson values. Every getter reports errors as "<json path>: expected ...,
 * got ..." and never echoes the value of a field marked G_SECRET.
 */
#ifndef ESPPROV_PROFILE_JSON_H
#define ESPPROV_PROFILE_JSON_H

#include <jansson.h>

#include "provision/core/core.h"
#include "provision/profile/profile.h"
#include "provision/profile/profile_priv.h"

struct pctx {
    struct pv_profile *p;
    const struct pv_env *env;
    unsigned flags; /* enum pv_profile_flags */
    struct pv_error *err;
    size_t id_max; /* worst-case device id length (from .device.id) */
};

enum getter_flags {
    G_REQUIRED = 1 << 0,
    G_SECRET = 1 << 1, /* never echo the value */
    G_NO_ENV = 1 << 2, /* ${...} is not expanded (templates that must stay literal) */
};

#define PATH_MAX_LEN 128

/* "<parent>.<key>" into buf. */
void jpath(char *buf, const char *parent, const char *key);
/* "<parent>[i]" into buf. */
void jpath_index(char *buf, const char *parent, size_t i);

/* Fails naming the first key of `obj` not in the NULL-terminated `keys`. */
int json_only_keys(struct pctx *c, json_t *obj, const char *path, const char *const *keys);
/* obj[key] must be an object (or absent unless G_REQUIRED); *out NULL if absent. */
int json_get_object(struct pctx *c, json_t *obj, const char *path, const char *key, unsigned flags,
                    json_t **out);
int json_get_array(struct pctx *c, json_t *obj, const char *path, const char *key, unsigned flags,
                   size_t min, size_t max, json_t **out);

/*
 * A string with ${NAME} expanded, length-checked in bytes after expansion.
 * Leaves *out untouched when absent (and not G_REQUIRED); replaces (and
 * frees) a previous value otherwise. With PV_PROFILE_DEFER_ENV an unset
 * variable gives *out = NULL and success.
 */
int json_get_string(struct pctx *c, json_t *obj, const char *path, const char *key, unsigned flags,
                    size_t min, size_t max, char **out);
/* Same for an already-selected value (array element). */
int json_string_value_at(struct pctx *c, json_t *v, const char *path, unsigned flags, size_t min,
                         size_t max, char **out);
/* An integer within [min, max]; *present tells whether it was there. */
int json_get_int(struct pctx *c, json_t *obj, const char *path, const char *key, unsigned flags,
                 long long min, long long max, long long *out, bool *present);
/* A size/offset: integer or string ("0x1000", "64K", "4MB"), at most max. */
int json_get_size(struct pctx *c, json_t *obj, const char *path, const char *key, unsigned flags,
                  uint64_t max, uint64_t *out, bool *present);
/* One of `names` (NULL-terminated); *out = its index. */
int json_get_enum(struct pctx *c, json_t *obj, const char *path, const char *key, unsigned flags,
                  const char *const *names, int *out);
/* Days: 1..max or "never" (PV_DAYS_NEVER). */
int json_get_days(struct pctx *c, json_t *obj, const char *path, const char *key, int max,
                  int32_t *out);

/* ${NAME} -> value, $$ -> $ (secret.c). *out is NULL (and the result PV_OK)
 * when the variable is unset and PV_PROFILE_DEFER_ENV is on. */
int pv_expand_env(struct pctx *c, const char *path, const char *raw, char **out);
/* Valid UTF-8 without control characters. */
bool pv_clean_text(const char *s);
/* Records a ${NAME} use for redaction/deferred errors. */
int pctx_note_env(struct pctx *c, const char *path, const char *var, bool set);
/* A path relative to the profile's folder made absolute (malloc'd). */
char *pctx_abs_path(struct pctx *c, const char *rel);

/* An error at `path`: "<path>: <fmt...>". Returns PV_ERR_INVALID. */
int perr(struct pctx *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
