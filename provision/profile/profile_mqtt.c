/* Profile sections: wifi, mqtt, paths, and the config file's worst case. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provision/profile/profile_sections.h"

#define NOMEM(c) pv_error_set((c)->err, PV_ERR_NOMEM, NULL, "out of memory")

/* ===== wifi =========================================================== */

static bool wpa_password_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0) {
        return true; /* open network */
    }
    bool printable = true, hex = true;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        printable &= ch >= 0x20 && ch <= 0x7e;
        hex &= isxdigit(ch) != 0;
    }
    return (printable && n >= 8 && n <= 63) || (hex && n == 64);
}

int pv_profile_parse_wifi(struct pctx *c, json_t *root)
{
    struct pv_profile *p = c->p;
    json_t *w;
    static const char *const keys[] = {"ssid", "password", NULL};
    if (json_get_object(c, root, "", "wifi", G_REQUIRED, &w) != PV_OK ||
        json_only_keys(c, w, ".wifi", keys) != PV_OK ||
        json_get_string(c, w, ".wifi", "ssid", G_REQUIRED, 1, 32, &p->wifi.ssid) != PV_OK ||
        json_get_string(c, w, ".wifi", "password", G_REQUIRED | G_SECRET, 0, 64,
                        &p->wifi.password) != PV_OK) {
        return c->err->code;
    }
    if (p->wifi.password != NULL && !wpa_password_ok(p->wifi.password)) {
        return perr(c, ".wifi.password",
                    "expected \"\" (open network), 8-63 printable ASCII characters or 64 hex "
                    "digits, got %zu bytes",
                    strlen(p->wifi.password));
    }
    return PV_OK;
}

/* ===== mqtt =========================================================== */

static int parse_topics(struct pctx *c, json_t *m)
{
    struct pv_profile *p = c->p;
    json_t *t;
    if (json_get_object(c, m, ".mqtt", "topics", G_REQUIRED, &t) != PV_OK) {
        return c->err->code;
    }
    size_t n = json_object_size(t);
    if (n < 1 || n > 8) {
        return perr(c, ".mqtt.topics", "expected 1 to 8 topics, got %zu", n);
    }
    if (json_object_get(t, "status") == NULL) {
        return perr(c, ".mqtt.topics", "needs a \"status\" topic (the firmware publishes there)");
    }
    p->mqtt.topics = calloc(n, sizeof *p->mqtt.topics);
    if (p->mqtt.topics == NULL) {
        return NOMEM(c);
    }
    const char *key;
    json_t *v;
    json_object_foreach(t, key, v)
    {
        char path[PATH_MAX_LEN];
        jpath(path, ".mqtt.topics", key);
        size_t kl = strlen(key);
        bool name_ok = kl >= 1 && kl <= 16;
        for (size_t i = 0; i < kl; i++) {
            name_ok &=
                islower((unsigned char)key[i]) || isdigit((unsigned char)key[i]) || key[i] == '_';
        }
        if (!name_ok) {
            return perr(c, path, "topic names are 1-16 of a-z, 0-9 and _");
        }
        struct pv_kv *kv = &p->mqtt.topics[p->mqtt.topic_count++];
        if ((kv->name = strdup(key)) == NULL) {
            return NOMEM(c);
        }
        if (json_string_value_at(c, v, path, 0, 1, 512, &kv->value) != PV_OK) {
            return c->err->code;
        }
        if (kv->value == NULL) {
            return pv_profile_missing(p, path, c->err);
        }
        if (pv_profile_check_template(c, path, kv->value, TP_ALL, 128, NULL) != PV_OK) {
            return c->err->code;
        }
    }
    return PV_OK;
}

int pv_profile_parse_mqtt(struct pctx *c, json_t *root)
{
    struct pv_profile *p = c->p;
    json_t *m;
    static const char *const keys[] = {"host",     "port",  "client_id", "username",
                                       "password", "token", "topics",    NULL};
    long long port = 8883;
    if (json_get_object(c, root, "", "mqtt", G_REQUIRED, &m) != PV_OK ||
        json_only_keys(c, m, ".mqtt", keys) != PV_OK ||
        json_get_string(c, m, ".mqtt", "host", G_REQUIRED, 1, 253, &p->mqtt.host) != PV_OK ||
        json_get_int(c, m, ".mqtt", "port", 0, 1, 65535, &port, NULL) != PV_OK ||
        json_get_string(c, m, ".mqtt", "client_id", 0, 1, 256, &p->mqtt.client_id) != PV_OK ||
        json_get_string(c, m, ".mqtt", "username", 0, 1, 256, &p->mqtt.username) != PV_OK ||
        json_get_string(c, m, ".mqtt", "password", G_SECRET, 1, 128, &p->mqtt.password) != PV_OK ||
        json_get_string(c, m, ".mqtt", "token", G_SECRET, 1, 1024, &p->mqtt.token) != PV_OK) {
        return c->err->code;
    }
    p->mqtt.port = (uint32_t)port;
    /* MQTT 3.1.1 sends a password only together with a user name: a device
     * given one without the other would silently connect anonymously. */
    if ((p->mqtt.password != NULL || p->mqtt.token != NULL) && p->mqtt.username == NULL) {
        return perr(c, p->mqtt.password != NULL ? ".mqtt.password" : ".mqtt.token",
                    "needs .mqtt.username (MQTT sends a password only with a user name)");
    }
    if (p->mqtt.host != NULL && strpbrk(p->mqtt.host, " /") != NULL) {
        return perr(c, ".mqtt.host", "expected a host name or address, got \"%.60s\"",
                    p->mqtt.host);
    }
    if (p->mqtt.client_id == NULL && json_object_get(m, "client_id") == NULL &&
        (p->mqtt.client_id = strdup("{id}")) == NULL) {
        return NOMEM(c);
    }
    if ((p->mqtt.client_id && pv_profile_check_template(c, ".mqtt.client_id", p->mqtt.client_id,
                                                        TP_ALL, 64, NULL) != PV_OK) ||
        (p->mqtt.username && pv_profile_check_template(c, ".mqtt.username", p->mqtt.username,
                                                       TP_ALL, 64, NULL) != PV_OK)) {
        return c->err->code;
    }
    return parse_topics(c, m);
}

/* ===== paths ========================================================== */

int pv_profile_parse_paths(struct pctx *c, json_t *root)
{
    struct pv_profile *p = c->p;
    json_t *obj;
    if (json_get_object(c, root, "", "paths", 0, &obj) != PV_OK) {
        return c->err->code;
    }
    static const char *const keys[] = {"ca", "cert", "key", "config", NULL};
    bool pem = p->device.format == PV_FORMAT_PEM;
    const char *defaults[] = {pem ? "/ca.pem" : "/ca.der",
                              pem ? "/client.crt.pem" : "/client.crt.der",
                              pem ? "/client.key.pem" : "/client.key.der", "/config.json"};
    char **slots[] = {&p->paths.ca, &p->paths.cert, &p->paths.key, &p->paths.config};
    if (obj != NULL && json_only_keys(c, obj, ".paths", keys) != PV_OK) {
        return c->err->code;
    }
    for (size_t i = 0; i < 4; i++) {
        char path[PATH_MAX_LEN];
        jpath(path, ".paths", keys[i]);
        if (obj != NULL &&
            json_get_string(c, obj, ".paths", keys[i], G_NO_ENV, 2, 31, slots[i]) != PV_OK) {
            return c->err->code;
        }
        if (*slots[i] == NULL && (*slots[i] = strdup(defaults[i])) == NULL) {
            return NOMEM(c);
        }
        if (pv_fs_name_check(c, path, *slots[i]) != PV_OK) {
            return c->err->code;
        }
    }
    return PV_OK;
}

/* ===== The config file's worst case =================================== */

int pv_profile_check_config(struct pctx *c)
{
    struct pv_profile *p = c->p;
    /* Secrets deferred to unset variables count at their largest. */
    char wifi_pw[65], mqtt_pw[129];
    memset(wifi_pw, 'x', 64);
    wifi_pw[64] = '\0';
    memset(mqtt_pw, 'x', 128);
    mqtt_pw[128] = '\0';
    char *saved_wifi = p->wifi.password, *saved_mqtt = p->mqtt.password;
    if (saved_wifi == NULL) {
        p->wifi.password = wifi_pw;
    }
    if (saved_mqtt == NULL && pv_profile_unset_var(p, ".mqtt.password") != NULL) {
        p->mqtt.password = mqtt_pw;
    }
    struct pv_device dev = {.has_mac = true, .has_seq = true, .seq = UINT32_MAX};
    memset(dev.id, 'x', c->id_max);
    memset(dev.chip, 'x', 16);
    char *json = NULL;
    size_t len = 0;
    struct pv_error e;
    int rc = pv_devconfig_build(p, &dev, &json, &len, &e);
    p->wifi.password = saved_wifi;
    p->mqtt.password = saved_mqtt;
    pv_secret_free(json, len);
    if (rc != PV_OK) {
        return perr(c, "", "the device config file would break its contract: %s", e.msg);
    }
    return PV_OK;
}
