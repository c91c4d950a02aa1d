/* Profile loading: top level, flash, firmware, filesystem, host files, regions. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "provision/profile/profile_json.h"
#include "provision/profile/profile_sections.h"

static const char *const chips[] = {"esp8266", "esp32",   "esp32s2", "esp32s3", "esp32c2",
                                    "esp32c3", "esp32c6", "esp32h2", NULL};
static const char *const flash_modes[] = {"qio", "qout", "dio", "dout", NULL};
static const char *const flash_freqs[] = {"80m", "40m", "26m", "20m", NULL};

/* ===== Top level ====================================================== */

static int parse_name(struct pctx *c, json_t *root)
{
    if (json_get_string(c, root, "", "name", G_REQUIRED | G_NO_ENV, 1, 32, &c->p->name) != PV_OK) {
        return c->err->code;
    }
    if (!pv_id_valid(c->p->name)) {
        return perr(c, ".name", "use letters, digits, '-', '_' or '.' (not first), got \"%s\"",
                    c->p->name);
    }
    return PV_OK;
}

static int parse_flash(struct pctx *c, json_t *root)
{
    json_t *f;
    if (json_get_object(c, root, "", "flash", 0, &f) != PV_OK || f == NULL) {
        return f == NULL && c->err->code == 0 ? PV_OK : c->err->code;
    }
    static const char *const keys[] = {"size", "mode", "freq", "baud", "stub", NULL};
    if (json_only_keys(c, f, ".flash", keys) != PV_OK) {
        return c->err->code;
    }
    uint64_t size = 0;
    bool have = false;
    if (json_get_size(c, f, ".flash", "size", 0, 128u << 20, &size, &have) != PV_OK) {
        return c->err->code;
    }
    if (have && (size < (256u << 10) || (size & (size - 1)) != 0)) {
        return perr(c, ".flash.size", "expected a power of two from 256KB to 128MB, got 0x%llx",
                    (unsigned long long)size);
    }
    c->p->flash.size = (uint32_t)size;
    int idx = -1;
    if (json_get_enum(c, f, ".flash", "mode", 0, flash_modes, &idx) != PV_OK) {
        return c->err->code;
    }
    if (idx >= 0 && (c->p->flash.mode = strdup(flash_modes[idx])) == NULL) {
        return pv_error_set(c->err, PV_ERR_NOMEM, NULL, "out of memory");
    }
    idx = -1;
    if (json_get_enum(c, f, ".flash", "freq", 0, flash_freqs, &idx) != PV_OK) {
        return c->err->code;
    }
    if (idx >= 0 && (c->p->flash.freq = strdup(flash_freqs[idx])) == NULL) {
        return pv_error_set(c->err, PV_ERR_NOMEM, NULL, "out of memory");
    }
    long long baud = 0;
    if (json_get_int(c, f, ".flash", "baud", 0, 9600, 4000000, &baud, NULL) != PV_OK) {
        return c->err->code;
    }
    c->p->flash.baud = (uint32_t)baud;
    char *stub = NULL;
    if (json_get_string(c, f, ".flash", "stub", 0, 1, PATH_MAX, &stub) != PV_OK) {
        return c->err->code;
    }
    if (stub != NULL) {
        c->p->flash.stub = pctx_abs_path(c, stub);
        free(stub);
        if (c->p->flash.stub == NULL) {
            return pv_error_set(c->err, PV_ERR_NOMEM, NULL, "out of memory");
        }
    }
    return PV_OK;
}

static int parse_firmware(struct pctx *c, json_t *root)
{
    json_t *arr;
    if (json_get_array(c, root, "", "firmware", 0, 0, FIRMWARE_MAX, &arr) != PV_OK) {
        return c->err->code;
    }
    if (arr == NULL || json_array_size(arr) == 0) {
        return PV_OK;
    }
    size_t n = json_array_size(arr);
    c->p->firmware = calloc(n, sizeof *c->p->firmware);
    if (c->p->firmware == NULL) {
        return pv_error_set(c->err, PV_ERR_NOMEM, NULL, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        char path[PATH_MAX_LEN];
        jpath_index(path, ".firmware", i);
        json_t *e = json_array_get(arr, i);
        if (!json_is_object(e)) {
            return perr(c, path, "expected an object {\"offset\": ..., \"file\": ...}");
        }
        static const char *const keys[] = {"offset", "file", NULL};
        struct pv_profile_firmware *fw = &c->p->firmware[i];
        c->p->firmware_count = i + 1;
        uint64_t off = 0;
        char *file = NULL;
        if (json_only_keys(c, e, path, keys) != PV_OK ||
            json_get_size(c, e, path, "offset", G_REQUIRED, UINT32_MAX, &off, NULL) != PV_OK ||
            json_get_string(c, e, path, "file", G_REQUIRED, 1, PATH_MAX, &file) != PV_OK) {
            return c->err->code;
        }
        if (file == NULL) {
            char sub[PATH_MAX_LEN];
            jpath(sub, path, "file");
            return pv_profile_missing(c->p, sub, c->err);
        }
        fw->file = pctx_abs_path(c, file);
        free(file);
        if (fw->file == NULL) {
            return pv_error_set(c->err, PV_ERR_NOMEM, NULL, "out of memory");
        }
        if (off % 4096 != 0) {
            char sub[PATH_MAX_LEN];
            jpath(sub, path, "offset");
            return perr(c, sub, "0x%llx is not a multiple of 0x1000 (a flash sector)",
                        (unsigned long long)off);
        }
        fw->offset = (uint32_t)off;
    }
    return PV_OK;
}

static int parse_ntp_ledger(struct pctx *c, json_t *root)
{
    json_t *arr;
    if (json_get_array(c, root, "", "ntp", 0, 1, 3, &arr) != PV_OK) {
        return c->err->code;
    }
    if (arr != NULL) {
        c->p->ntp = calloc(json_array_size(arr), sizeof *c->p->ntp);
        if (c->p->ntp == NULL) {
            return pv_error_set(c->err, PV_ERR_NOMEM, NULL, "out of memory");
        }
        for (size_t i = 0; i < json_array_size(arr); i++) {
            char path[PATH_MAX_LEN];
            jpath_index(path, ".ntp", i);
            c->p->ntp_count = i + 1;
            if (json_string_value_at(c, json_array_get(arr, i), path, 0, 1, 64, &c->p->ntp[i]) !=
                PV_OK) {
                return c->err->code;
            }
            if (c->p->ntp[i] == NULL) {
                return pv_profile_missing(c->p, path, c->err);
            }
        }
    }
    char *ledger = NULL;
    if (json_get_string(c, root, "", "ledger", 0, 1, PATH_MAX, &ledger) != PV_OK) {
        return c->err->code;
    }
    c->p->ledger = pctx_abs_path(c, ledger ? ledger : PV_PROFILE_LEDGER_DEFAULT);
    free(ledger);
    return c->p->ledger ? PV_OK : pv_error_set(c->err, PV_ERR_NOMEM, NULL, "out of memory");
}

static int parse_root(struct pctx *c, json_t *root)
{
    if (!json_is_object(root)) {
        return perr(c, "", "a profile is a JSON object");
    }
    static const char *const keys[] = {"name",  "chip",   "flash",  "firmware",   "filesystem",
                                       "ca",    "device", "wifi",   "mqtt",       "ntp",
                                       "paths", "ledger", "layout", "partitions", NULL};
    if (json_only_keys(c, root, "", keys) != PV_OK) {
        return c->err->code;
    }
    if (json_object_get(root, "layout") != NULL) {
        return perr(c, ".layout",
                    "a layout belongs in .filesystem.layout (ESP8266, e.g. \"4M2M\")");
    }
    int idx = 0;
    if (parse_name(c, root) != PV_OK ||
        json_get_enum(c, root, "", "chip", G_REQUIRED, chips, &idx) != PV_OK) {
        return c->err->code;
    }
    c->p->chip = strdup(chips[idx]);
    if (c->p->chip == NULL) {
        return pv_error_set(c->err, PV_ERR_NOMEM, NULL, "out of memory");
    }
    if (parse_flash(c, root) != PV_OK || parse_firmware(c, root) != PV_OK ||
        pv_profile_parse_filesystem(c, root) != PV_OK || pv_profile_parse_ca(c, root) != PV_OK ||
        pv_profile_parse_device(c, root) != PV_OK || pv_profile_parse_wifi(c, root) != PV_OK ||
        pv_profile_parse_mqtt(c, root) != PV_OK || parse_ntp_ledger(c, root) != PV_OK ||
        pv_profile_parse_paths(c, root) != PV_OK || pv_profile_parse_fs_files(c, root) != PV_OK ||
        pv_profile_check_config(c) != PV_OK) {
        return c->err->code;
    }
    /* Files last, so a profile's structure is fully checked even where the
     * host files are missing (and under PV_PROFILE_NO_FILES). */
    if (!(c->flags & PV_PROFILE_NO_FILES) && pv_profile_read_host_files(c) != PV_OK) {
        return c->err->code;
    }
    return pv_profile_check_regions(c);
}

static int cmp_files(const void *a, const void *b)
{
    return strcmp(((const struct pv_profile_file *)a)->name,
                  ((const struct pv_profile_file *)b)->name);
}

int pv_profile_parse(const char *json, size_t len, const char *dir, const char *name,
                     unsigned flags, const struct pv_env *env, struct pv_profile **out,
                     struct pv_error *err)
{
    *out = NULL;
    pv_error_clear(err);
    struct pv_profile *p = calloc(1, sizeof *p);
    if (p == NULL || (p->priv = calloc(1, sizeof *p->priv)) == NULL ||
        (p->file = strdup(name)) == NULL || (p->dir = strdup(dir)) == NULL) {
        pv_profile_free(p);
        return pv_error_set(err, PV_ERR_NOMEM, NULL, "out of memory");
    }
    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        /* jansson quotes the text near the error, which may be part of a
         * password: keep only its description and the position. */
        char *near = strstr(jerr.text, " near '");
        if (near != NULL) {
            *near = '\0';
        }
        pv_profile_free(p);
        return pv_error_set(err, PV_ERR_INVALID, "check the JSON syntax at that line and column",
                            "%s:%d:%d: invalid JSON: %s", name, jerr.line, jerr.column, jerr.text);
    }
    struct pv_error local;
    struct pctx c = {.p = p, .env = env, .flags = flags, .err = err ? err : &local};
    pv_error_clear(c.err);
    int rc = parse_root(&c, root);
    json_decref(root);
    if (rc != PV_OK) {
        pv_profile_free(p);
        return pv_error_prefix(c.err, "%s", name);
    }
    if (p->fs.file_count > 1) {
        qsort(p->fs.files, p->fs.file_count, sizeof *p->fs.files, cmp_files);
    }
    *out = p;
    return PV_OK;
}

int pv_profile_load(const char *path, unsigned flags, const struct pv_env *env,
                    struct pv_profile **out, struct pv_error *err)
{
    *out = NULL;
    uint8_t *data = NULL;
    size_t len = 0;
    if (pv_file_read(path, 1u << 20, &data, &len, err) != PV_OK) {
        return pv_error_prefix(err, "cannot load the profile");
    }
    char *real = realpath(path, NULL);
    if (real == NULL) {
        pv_secret_free(data, len); /* a profile may hold a literal password */
        return pv_error_set(err, PV_ERR_IO, NULL, "cannot resolve '%s': %s", path, strerror(errno));
    }
    char *slash = strrchr(real, '/');
    if (slash == real) {
        slash[1] = '\0';
    } else {
        *slash = '\0';
    }
    int rc = pv_profile_parse((const char *)data, len, real, path, flags, env, out, err);
    free(real);
    pv_secret_free(data, len);
    return rc;
}

static void free_kvs(struct pv_kv *kv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(kv[i].name);
        free(kv[i].value);
    }
    free(kv);
}

static void free_strs(char **s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(s[i]);
    }
    free(s);
}

void pv_profile_free(struct pv_profile *p)
{
    if (p == NULL) {
        return;
    }
    free(p->file);
    free(p->dir);
    free(p->name);
    free(p->chip);
    free(p->flash.mode);
    free(p->flash.freq);
    for (size_t i = 0; i < p->firmware_count; i++) {
        free(p->firmware[i].file);
    }
    free(p->firmware);
    free(p->flash.stub);
    free(p->fs.preset);
    free(p->fs.layout);
    free(p->fs.partition);
    free(p->partitions.file);
    free(p->partitions.table);
    for (size_t i = 0; i < p->fs.file_count; i++) {
        free(p->fs.files[i].name);
        free(p->fs.files[i].path);
        free(p->fs.files[i].data);
    }
    free(p->fs.files);
    free(p->ca.cert);
    free(p->ca.key);
    free(p->ca.db);
    free(p->ca.crl);
    pv_secret_free_str(p->ca.passphrase);
    free(p->ca.passphrase_file);
    free_kvs(p->ca.subject, p->ca.subject_count);
    free(p->device.id);
    free_kvs(p->device.subject, p->device.subject_count);
    free_strs(p->device.san_dns, p->device.san_dns_count);
    free(p->wifi.ssid);
    pv_secret_free_str(p->wifi.password);
    free(p->mqtt.host);
    free(p->mqtt.client_id);
    free(p->mqtt.username);
    pv_secret_free_str(p->mqtt.password);
    pv_secret_free_str(p->mqtt.token);
    free_kvs(p->mqtt.topics, p->mqtt.topic_count);
    free_strs(p->ntp, p->ntp_count);
    free(p->paths.ca);
    free(p->paths.cert);
    free(p->paths.key);
    free(p->paths.config);
    free(p->ledger);
    if (p->priv != NULL) {
        free(p->priv->env);
        free(p->priv);
    }
    free(p);
}

const char *pv_profile_unset_var(const struct pv_profile *p, const char *path)
{
    for (size_t i = 0; p->priv && i < p->priv->env_count; i++) {
        if (!p->priv->env[i].set && strcmp(p->priv->env[i].path, path) == 0) {
            return p->priv->env[i].var;
        }
    }
    return NULL;
}

int pv_profile_missing(const struct pv_profile *p, const char *path, struct pv_error *err)
{
    const char *var = pv_profile_unset_var(p, path);
    if (var != NULL) {
        return pv_error_set(err, PV_ERR_INVALID,
                            "export the variable, or write the value into the profile",
                            "%s: environment variable %s is not set", path, var);
    }
    return pv_error_set(err, PV_ERR_INVALID, NULL, "%s is not set in the profile", path);
}
