/* Profile sections: ca, device, wifi, mqtt, paths, and the config size check. */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provision/profile/profile_sections.h"

#define NOMEM(c) pv_error_set((c)->err, PV_ERR_NOMEM, NULL, "out of memory")

/* ===== Templates ====================================================== */

/* Checks a template field and its worst-case length against [.., max]. */
int pv_profile_check_template(struct pctx *c, const char *path, const char *value, unsigned allowed,
                              size_t max, struct tmpl_info *info)
{
    char why[200];
    struct tmpl_info local;
    info = info ? info : &local;
    if (pv_tmpl_scan(value, allowed, c->id_max, strlen(c->p->name), info, why, sizeof why) != 0) {
        return perr(c, path, "%s", why);
    }
    if (info->max_len > max) {
        return perr(c, path, "can expand to %zu bytes, more than the %zu allowed", info->max_len,
                    max);
    }
    return PV_OK;
}

/* Expands a template for a sample device, to check the characters its
 * literal parts contribute. */
static int sample_expand(struct pctx *c, const char *path, const char *tmpl, char *out, size_t len)
{
    struct pv_device dev = {.has_mac = true, .has_seq = true, .seq = 1};
    snprintf(dev.id, sizeof dev.id, "x");
    snprintf(dev.chip, sizeof dev.chip, "%s", c->p->chip);
    struct pv_error e;
    if (pv_template_expand(tmpl, c->p, &dev, out, len, &e) != PV_OK) {
        return perr(c, path, "%s", e.msg);
    }
    return PV_OK;
}

/* ===== Subjects ======================================================= */

struct attr {
    const char *name;
    size_t max; /* RFC 5280 upper bounds */
};

static const struct attr subject_attrs[] = {
    {"C", 2}, {"ST", 128}, {"L", 128}, {"O", 64}, {"OU", 64}, {"CN", 64}, {"serialNumber", 64},
};

static int parse_subject(struct pctx *c, json_t *parent, const char *parent_path, unsigned allowed,
                         const char *default_cn, struct pv_kv **out, size_t *count)
{
    char path[PATH_MAX_LEN];
    jpath(path, parent_path, "subject");
    json_t *obj;
    if (json_get_object(c, parent, parent_path, "subject", 0, &obj) != PV_OK) {
        return c->err->code;
    }
    size_t n = obj ? json_object_size(obj) : 0;
    *out = calloc(n ? n : 1, sizeof **out);
    if (*out == NULL) {
        return NOMEM(c);
    }
    if (obj == NULL) {
        *count = 1;
        (*out)[0].name = strdup("CN");
        (*out)[0].value = strdup(default_cn);
        return (*out)[0].name && (*out)[0].value ? PV_OK : NOMEM(c);
    }
    bool have_cn = false;
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        const struct attr *a = NULL;
        for (size_t i = 0; i < sizeof subject_attrs / sizeof subject_attrs[0]; i++) {
            if (strcmp(subject_attrs[i].name, key) == 0) {
                a = &subject_attrs[i];
            }
        }
        char sub[PATH_MAX_LEN];
        jpath(sub, path, key);
        if (a == NULL) {
            return perr(c, sub, "unknown attribute (known: C, ST, L, O, OU, CN, serialNumber)");
        }
        struct pv_kv *kv = &(*out)[(*count)++];
        if ((kv->name = strdup(key)) == NULL) {
            return NOMEM(c);
        }
        if (json_string_value_at(c, v, sub, 0, 1, 1024, &kv->value) != PV_OK) {
            return c->err->code;
        }
        if (kv->value == NULL) {
            return pv_profile_missing(c->p, sub, c->err);
        }
        if (pv_profile_check_template(c, sub, kv->value, allowed, a->max, NULL) != PV_OK) {
            return c->err->code;
        }
        if (a->max == 2 && (strlen(kv->value) != 2 || !isupper((unsigned char)kv->value[0]) ||
                            !isupper((unsigned char)kv->value[1]))) {
            return perr(c, sub, "expected a two-letter country code such as \"DE\"");
        }
        have_cn |= strcmp(key, "CN") == 0;
    }
    if (!have_cn) {
        return perr(c, path, "needs a CN (the broker takes the identity from it)");
    }
    return PV_OK;
}

/* ===== ca ============================================================= */

static char *beside(struct pctx *c, const char *file, const char *name)
{
    const char *slash = strrchr(file, '/');
    size_t dl = slash ? (size_t)(slash - file) : 0;
    size_t n = dl + strlen(name) + 2;
    char *s = malloc(n);
    if (s != NULL) {
        snprintf(s, n, "%.*s/%s", (int)dl, file, name);
    }
    (void)c;
    return s;
}

static int get_path(struct pctx *c, json_t *obj, const char *path, const char *key, const char *def,
                    char **out)
{
    char *rel = NULL;
    if (obj != NULL && json_get_string(c, obj, path, key, 0, 1, PATH_MAX, &rel) != PV_OK) {
        return c->err->code;
    }
    if (rel == NULL && def == NULL) {
        *out = NULL;
        return PV_OK;
    }
    *out = pctx_abs_path(c, rel ? rel : def);
    free(rel);
    return *out ? PV_OK : NOMEM(c);
}

int pv_profile_parse_ca(struct pctx *c, json_t *root)
{
    struct pv_profile *p = c->p;
    json_t *ca;
    if (json_get_object(c, root, "", "ca", 0, &ca) != PV_OK) {
        return c->err->code;
    }
    static const char *const keys[] = {
        "cert",     "key",  "db",       "crl",     "passphrase", "passphrase_file",
        "key_type", "days", "crl_days", "subject", NULL};
    json_t *empty = json_object();
    if (empty == NULL) {
        return NOMEM(c);
    }
    json_t *obj = ca ? ca : empty;
    int rc = PV_ERR_INVALID;
    if (json_only_keys(c, obj, ".ca", keys) != PV_OK ||
        get_path(c, obj, ".ca", "cert", "ca/ca.crt.pem", &p->ca.cert) != PV_OK ||
        get_path(c, obj, ".ca", "key", "ca/ca.key.pem", &p->ca.key) != PV_OK ||
        get_path(c, obj, ".ca", "db", NULL, &p->ca.db) != PV_OK ||
        get_path(c, obj, ".ca", "crl", NULL, &p->ca.crl) != PV_OK ||
        get_path(c, obj, ".ca", "passphrase_file", NULL, &p->ca.passphrase_file) != PV_OK ||
        json_get_string(c, obj, ".ca", "passphrase", G_SECRET, 1, 1024, &p->ca.passphrase) !=
            PV_OK) {
        goto out;
    }
    if (json_object_get(obj, "passphrase") && json_object_get(obj, "passphrase_file")) {
        perr(c, ".ca.passphrase_file", "give either .ca.passphrase or .ca.passphrase_file");
        goto out;
    }
    if ((p->ca.db == NULL && (p->ca.db = beside(c, p->ca.cert, "ca.db")) == NULL) ||
        (p->ca.crl == NULL && (p->ca.crl = beside(c, p->ca.cert, "ca.crl.pem")) == NULL)) {
        rc = NOMEM(c);
        goto out;
    }
    static const char *const ca_types[] = {"ec-p256", "rsa3072", NULL};
    int type = 0;
    long long crl_days = 365;
    p->ca.days = 7300;
    if (json_get_enum(c, obj, ".ca", "key_type", 0, ca_types, &type) != PV_OK ||
        json_get_days(c, obj, ".ca", "days", 36500, &p->ca.days) != PV_OK ||
        json_get_int(c, obj, ".ca", "crl_days", 0, 1, 3650, &crl_days, NULL) != PV_OK ||
        parse_subject(c, obj, ".ca", TP_PROFILE, "{profile} CA", &p->ca.subject,
                      &p->ca.subject_count) != PV_OK) {
        goto out;
    }
    p->ca.key_type = type == 0 ? PV_KEY_EC_P256 : PV_KEY_RSA3072;
    p->ca.crl_days = (int32_t)crl_days;
    rc = PV_OK;
out:
    json_decref(empty);
    return rc == PV_OK ? PV_OK : c->err->code;
}

/* ===== device ========================================================= */

static bool dns_chars(const char *s)
{
    if (*s == '\0' || *s == '.' || *s == '-') {
        return false;
    }
    for (; *s; s++) {
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '.' && *s != '_') {
            return false;
        }
    }
    return true;
}

static int parse_san(struct pctx *c, json_t *dev)
{
    struct pv_profile *p = c->p;
    json_t *arr;
    if (json_get_array(c, dev, ".device", "san_dns", 0, 0, 8, &arr) != PV_OK || arr == NULL) {
        return c->err->code;
    }
    p->device.san_dns = calloc(json_array_size(arr) + 1, sizeof *p->device.san_dns);
    if (p->device.san_dns == NULL) {
        return NOMEM(c);
    }
    for (size_t i = 0; i < json_array_size(arr); i++) {
        char path[PATH_MAX_LEN], sample[512];
        jpath_index(path, ".device.san_dns", i);
        char **slot = &p->device.san_dns[p->device.san_dns_count++];
        if (json_string_value_at(c, json_array_get(arr, i), path, 0, 1, 253, slot) != PV_OK) {
            return c->err->code;
        }
        if (*slot == NULL) {
            return pv_profile_missing(p, path, c->err);
        }
        if (pv_profile_check_template(c, path, *slot, TP_ALL, 253, NULL) != PV_OK ||
            sample_expand(c, path, *slot, sample, sizeof sample) != PV_OK) {
            return c->err->code;
        }
        if (!dns_chars(sample)) {
            return perr(c, path, "\"%s\" is not a DNS name (letters, digits, '-', '.', '_')",
                        *slot);
        }
    }
    return PV_OK;
}

int pv_profile_parse_device(struct pctx *c, json_t *root)
{
    struct pv_profile *p = c->p;
    json_t *dev;
    if (json_get_object(c, root, "", "device", 0, &dev) != PV_OK) {
        return c->err->code;
    }
    json_t *empty = json_object();
    if (empty == NULL) {
        return NOMEM(c);
    }
    json_t *obj = dev ? dev : empty;
    static const char *const keys[] = {"id",      "key_type", "days", "format",
                                       "subject", "san_dns",  NULL};
    static const char *const key_types[] = {"ec-p256", "rsa2048", NULL};
    static const char *const formats[] = {"der", "pem", NULL};
    int type = 0, format = 0, rc = PV_ERR_INVALID;
    struct tmpl_info info;
    char sample[PV_ID_MAX * 4];
    p->device.days = 3650;
    if (json_only_keys(c, obj, ".device", keys) != PV_OK ||
        json_get_string(c, obj, ".device", "id", 0, 1, 256, &p->device.id) != PV_OK) {
        goto out;
    }
    if (p->device.id == NULL && (p->device.id = strdup("esp-{mac}")) == NULL) {
        rc = NOMEM(c);
        goto out;
    }
    if (pv_profile_check_template(c, ".device.id", p->device.id, TP_ALL & ~TP_ID, PV_ID_MAX,
                                  &info) != PV_OK ||
        sample_expand(c, ".device.id", p->device.id, sample, sizeof sample) != PV_OK) {
        goto out;
    }
    if (!(info.used & (TP_MAC | TP_MAC_SUFFIX | TP_SEQ))) {
        perr(c, ".device.id",
             "must contain {mac}, {mac_suffix} or {seq} so each board gets its "
             "own id (e.g. \"esp-{mac}\")");
        goto out;
    }
    if (!pv_id_valid(sample)) {
        perr(c, ".device.id", "expands to ids like \"%s\"; use letters, digits, '-', '_', '.'",
             sample);
        goto out;
    }
    c->id_max = info.max_len;
    if (json_get_enum(c, obj, ".device", "key_type", 0, key_types, &type) != PV_OK ||
        json_get_days(c, obj, ".device", "days", 36500, &p->device.days) != PV_OK ||
        json_get_enum(c, obj, ".device", "format", 0, formats, &format) != PV_OK ||
        parse_subject(c, obj, ".device", TP_ALL, "{id}", &p->device.subject,
                      &p->device.subject_count) != PV_OK ||
        parse_san(c, obj) != PV_OK) {
        goto out;
    }
    p->device.key_type = type == 0 ? PV_KEY_EC_P256 : PV_KEY_RSA2048;
    p->device.format = format == 0 ? PV_FORMAT_DER : PV_FORMAT_PEM;
    rc = PV_OK;
out:
    json_decref(empty);
    return rc == PV_OK ? PV_OK : c->err->code;
}
