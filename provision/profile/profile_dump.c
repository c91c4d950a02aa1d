/* The resolved profile as JSON with secrets redacted; names of enums; passphrase lookup. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "provision/profile/profile_priv.h"

const char *pv_key_type_name(enum pv_key_type type)
{
    switch (type) {
    case PV_KEY_RSA2048:
        return "rsa2048";
    case PV_KEY_RSA3072:
        return "rsa3072";
    default:
        return "ec-p256";
    }
}

const char *pv_format_name(enum pv_format format)
{
    return format == PV_FORMAT_PEM ? "pem" : "der";
}

static json_t *hex(uint64_t v)
{
    char buf[24];
    snprintf(buf, sizeof buf, "0x%llx", (unsigned long long)v);
    return json_string(buf);
}

static json_t *opt_str(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* A string field; secrets show as "<redacted>" plus where they come from. */
static json_t *field(const struct pv_profile *p, const char *path, const char *value, bool secret)
{
    const char *var = NULL;
    bool set = true;
    for (size_t i = 0; p->priv && i < p->priv->env_count; i++) {
        if (strcmp(p->priv->env[i].path, path) == 0) {
            var = p->priv->env[i].var;
            set = p->priv->env[i].set;
        }
    }
    if (!set) {
        char buf[128];
        snprintf(buf, sizeof buf, "<unset: ${%s}>", var);
        return json_string(buf);
    }
    if (!secret) {
        return opt_str(value);
    }
    if (value == NULL) {
        return json_null();
    }
    char buf[128];
    if (var != NULL) {
        snprintf(buf, sizeof buf, "<redacted, from ${%s}>", var);
    } else {
        snprintf(buf, sizeof buf, "<redacted>");
    }
    return json_string(buf);
}

static json_t *kvs(const struct pv_kv *kv, size_t n)
{
    json_t *o = json_object();
    for (size_t i = 0; i < n; i++) {
        json_object_set_new(o, kv[i].name, json_string(kv[i].value));
    }
    return o;
}

static json_t *strs(char *const *s, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(a, json_string(s[i]));
    }
    return a;
}

static json_t *days(int32_t d)
{
    return d == PV_DAYS_NEVER ? json_string("never") : json_integer(d);
}

static json_t *build(const struct pv_profile *p)
{
    json_t *root = json_object();
    json_object_set_new(root, "name", json_string(p->name));
    json_object_set_new(root, "chip", json_string(p->chip));
    json_t *flash = json_object();
    json_object_set_new(flash, "size", p->flash.size ? hex(p->flash.size) : json_string("detect"));
    json_object_set_new(flash, "mode", opt_str(p->flash.mode));
    json_object_set_new(flash, "freq", opt_str(p->flash.freq));
    json_object_set_new(flash, "baud", p->flash.baud ? json_integer(p->flash.baud) : json_null());
    json_object_set_new(flash, "stub", opt_str(p->flash.stub));
    json_object_set_new(root, "flash", flash);
    json_t *fw = json_array();
    for (size_t i = 0; i < p->firmware_count; i++) {
        json_t *e = json_object();
        json_object_set_new(e, "offset", hex(p->firmware[i].offset));
        json_object_set_new(e, "file", json_string(p->firmware[i].file));
        json_object_set_new(e, "size", json_integer(p->firmware[i].size));
        json_array_append_new(fw, e);
    }
    json_object_set_new(root, "firmware", fw);
    json_t *fs = json_object();
    json_object_set_new(fs, "type", json_string(pv_fs_type_name(p->fs.type)));
    json_object_set_new(fs, "preset", json_string(p->fs.preset));
    if (p->fs.layout != NULL) {
        json_object_set_new(fs, "layout", json_string(p->fs.layout));
    }
    if (p->fs.partition != NULL) {
        json_object_set_new(fs, "partition", json_string(p->fs.partition));
    }
    bool per_board = p->fs.size == 0 && p->partitions.from_device;
    json_object_set_new(fs, "offset",
                        per_board ? json_string("from the board") : hex(p->fs.offset));
    json_object_set_new(fs, "size", per_board ? json_string("from the board") : hex(p->fs.size));
    if (p->fs.block_size != 0) {
        json_object_set_new(fs, "block_size", json_integer(p->fs.block_size));
    }
    json_t *files = json_object();
    for (size_t i = 0; i < p->fs.file_count; i++) {
        json_object_set_new(files, p->fs.files[i].name, json_string(p->fs.files[i].path));
    }
    json_object_set_new(fs, "files", files);
    json_object_set_new(root, "filesystem", fs);
    if (p->partitions.file != NULL || p->partitions.from_device) {
        json_object_set_new(root, "partitions",
                            json_string(p->partitions.from_device ? "device" : p->partitions.file));
    }
    json_t *ca = json_object();
    json_object_set_new(ca, "cert", json_string(p->ca.cert));
    json_object_set_new(ca, "key", json_string(p->ca.key));
    json_object_set_new(ca, "db", json_string(p->ca.db));
    json_object_set_new(ca, "crl", json_string(p->ca.crl));
    if (p->ca.passphrase != NULL || pv_profile_unset_var(p, ".ca.passphrase") != NULL) {
        json_object_set_new(ca, "passphrase", field(p, ".ca.passphrase", p->ca.passphrase, true));
    }
    if (p->ca.passphrase_file != NULL) {
        json_object_set_new(ca, "passphrase_file", json_string(p->ca.passphrase_file));
    }
    json_object_set_new(ca, "key_type", json_string(pv_key_type_name(p->ca.key_type)));
    json_object_set_new(ca, "days", days(p->ca.days));
    json_object_set_new(ca, "crl_days", json_integer(p->ca.crl_days));
    json_object_set_new(ca, "subject", kvs(p->ca.subject, p->ca.subject_count));
    json_object_set_new(root, "ca", ca);
    json_t *dev = json_object();
    json_object_set_new(dev, "id", json_string(p->device.id));
    json_object_set_new(dev, "key_type", json_string(pv_key_type_name(p->device.key_type)));
    json_object_set_new(dev, "days", days(p->device.days));
    json_object_set_new(dev, "format", json_string(pv_format_name(p->device.format)));
    json_object_set_new(dev, "subject", kvs(p->device.subject, p->device.subject_count));
    json_object_set_new(dev, "san_dns", strs(p->device.san_dns, p->device.san_dns_count));
    json_object_set_new(root, "device", dev);
    json_t *wifi = json_object();
    json_object_set_new(wifi, "ssid", field(p, ".wifi.ssid", p->wifi.ssid, false));
    json_object_set_new(wifi, "password", field(p, ".wifi.password", p->wifi.password, true));
    json_object_set_new(root, "wifi", wifi);
    json_t *mqtt = json_object();
    json_object_set_new(mqtt, "host", field(p, ".mqtt.host", p->mqtt.host, false));
    json_object_set_new(mqtt, "port", json_integer(p->mqtt.port));
    json_object_set_new(mqtt, "client_id", opt_str(p->mqtt.client_id));
    if (p->mqtt.username != NULL) {
        json_object_set_new(mqtt, "username", json_string(p->mqtt.username));
    }
    if (p->mqtt.password != NULL || pv_profile_unset_var(p, ".mqtt.password")) {
        json_object_set_new(mqtt, "password", field(p, ".mqtt.password", p->mqtt.password, true));
    }
    if (p->mqtt.token != NULL || pv_profile_unset_var(p, ".mqtt.token")) {
        json_object_set_new(mqtt, "token", field(p, ".mqtt.token", p->mqtt.token, true));
    }
    json_object_set_new(mqtt, "topics", kvs(p->mqtt.topics, p->mqtt.topic_count));
    json_object_set_new(root, "mqtt", mqtt);
    if (p->ntp_count > 0) {
        json_object_set_new(root, "ntp", strs(p->ntp, p->ntp_count));
    }
    json_t *paths = json_object();
    json_object_set_new(paths, "ca", json_string(p->paths.ca));
    json_object_set_new(paths, "cert", json_string(p->paths.cert));
    json_object_set_new(paths, "key", json_string(p->paths.key));
    json_object_set_new(paths, "config", json_string(p->paths.config));
    json_object_set_new(root, "paths", paths);
    json_object_set_new(root, "ledger", json_string(p->ledger));
    return root;
}

int pv_profile_dump(const struct pv_profile *p, char **out, struct pv_error *err)
{
    json_t *root = build(p);
    *out = root ? json_dumps(root, JSON_INDENT(2)) : NULL;
    json_decref(root);
    if (*out == NULL) {
        return pv_error_set(err, PV_ERR_NOMEM, NULL, "out of memory dumping the profile");
    }
    return PV_OK;
}

int pv_profile_ca_passphrase(const struct pv_profile *p, char *buf, size_t len, bool *found,
                             struct pv_error *err)
{
    *found = false;
    if (len > 0) {
        buf[0] = '\0';
    }
    if (p->ca.passphrase == NULL && pv_profile_unset_var(p, ".ca.passphrase") != NULL) {
        return pv_profile_missing(p, ".ca.passphrase", err);
    }
    if (p->ca.passphrase != NULL) {
        if (strlen(p->ca.passphrase) >= len) {
            return pv_error_set(err, PV_ERR_INVALID, NULL, ".ca.passphrase is too long");
        }
        snprintf(buf, len, "%s", p->ca.passphrase);
        *found = true;
        return PV_OK;
    }
    if (p->ca.passphrase_file == NULL) {
        return PV_OK;
    }
    uint8_t *data = NULL;
    size_t n = 0;
    if (pv_file_read(p->ca.passphrase_file, 4096, &data, &n, err) != PV_OK) {
        return pv_error_prefix(err, ".ca.passphrase_file");
    }
    size_t line = strcspn((const char *)data, "\r\n");
    int rc = PV_OK;
    if (line == 0) {
        rc = pv_error_set(err, PV_ERR_INVALID, "put the passphrase on the file's first line",
                          ".ca.passphrase_file: '%s' starts with an empty line",
                          p->ca.passphrase_file);
    } else if (line >= len) {
        rc = pv_error_set(err, PV_ERR_INVALID, NULL, ".ca.passphrase_file: passphrase too long");
    } else {
        memcpy(buf, data, line);
        buf[line] = '\0';
        *found = true;
    }
    pv_secret_free(data, n);
    return rc;
}
