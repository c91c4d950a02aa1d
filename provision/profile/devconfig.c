/* The device config file (contract: profiles/README.md, "The device config file"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provision/profile/profile_priv.h"

#define CONFIG_MAX 2048

/* A growing buffer that wipes what it leaves behind (it holds passwords). */
struct out {
    char *buf;
    size_t len, cap;
    bool nomem;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->nomem) {
        return;
    }
    if (o->len + n + 1 > o->cap) {
        size_t cap = (o->cap ? o->cap : 512);
        while (cap < o->len + n + 1) {
            cap *= 2;
        }
        char *grown = malloc(cap);
        if (grown == NULL) {
            o->nomem = true;
            return;
        }
        if (o->buf != NULL) {
            memcpy(grown, o->buf, o->len);
        }
        pv_secret_free(o->buf, o->cap);
        o->buf = grown;
        o->cap = cap;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
    o->buf[o->len] = '\0';
}

static void raw(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

/* The writer escapes '"', '\' and control characters only (the contract). */
static void str(struct out *o, const char *s)
{
    put(o, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        const char *rep = NULL;
        switch (*p) {
        case '"':
            rep = "\\\"";
            break;
        case '\\':
            rep = "\\\\";
            break;
        case '\b':
            rep = "\\b";
            break;
        case '\f':
            rep = "\\f";
            break;
        case '\n':
            rep = "\\n";
            break;
        case '\r':
            rep = "\\r";
            break;
        case '\t':
            rep = "\\t";
            break;
        default:
            if (*p < 0x20) {
                snprintf(esc, sizeof esc, "\\u%04x", *p);
                rep = esc;
            }
        }
        if (rep != NULL) {
            raw(o, rep);
        } else {
            put(o, (const char *)p, 1);
        }
    }
    put(o, "\"", 1);
}

/* "," "name": "value" with an expanded template, checked against [1, max]. */
static int tmpl_member(struct out *o, const char *name, const char *tmpl, size_t max, bool comma,
                       const struct pv_profile *p, const struct pv_device *dev,
                       struct pv_error *err)
{
    char val[1100];
    if (pv_template_expand(tmpl, p, dev, val, sizeof val, err) != PV_OK) {
        return err->code;
    }
    if (val[0] == '\0' || strlen(val) > max) {
        return pv_error_set(err, PV_ERR_INVALID, NULL,
                            "config value \"%s\" for device %s is %zu bytes (allowed 1-%zu)", name,
                            dev->id, strlen(val), max);
    }
    if (comma) {
        raw(o, ",");
    }
    str(o, name);
    raw(o, ":");
    str(o, val);
    return PV_OK;
}

static int require(const struct pv_profile *p, const char *value, const char *path,
                   struct pv_error *err)
{
    return value != NULL ? PV_OK : pv_profile_missing(p, path, err);
}

int pv_devconfig_build(const struct pv_profile *p, const struct pv_device *dev, char **out,
                       size_t *len, struct pv_error *err)
{
    *out = NULL;
    *len = 0;
    if (require(p, p->wifi.ssid, ".wifi.ssid", err) != PV_OK ||
        require(p, p->wifi.password, ".wifi.password", err) != PV_OK ||
        require(p, p->mqtt.host, ".mqtt.host", err) != PV_OK ||
        require(p, p->mqtt.client_id, ".mqtt.client_id", err) != PV_OK ||
        (pv_profile_unset_var(p, ".mqtt.username") &&
         require(p, NULL, ".mqtt.username", err) != PV_OK) ||
        (pv_profile_unset_var(p, ".mqtt.password") &&
         require(p, NULL, ".mqtt.password", err) != PV_OK) ||
        (pv_profile_unset_var(p, ".mqtt.token") && require(p, NULL, ".mqtt.token", err) != PV_OK)) {
        return err->code;
    }
    if (dev->id[0] == '\0' || strlen(dev->id) > PV_ID_MAX) {
        return pv_error_set(err, PV_ERR_INVALID, NULL, "the device has no valid id");
    }
    struct out o = {0};
    char num[16];
    raw(&o, "{\"v\":1,\"id\":");
    str(&o, dev->id);
    raw(&o, ",\"wifi\":{\"ssid\":");
    str(&o, p->wifi.ssid);
    raw(&o, ",\"password\":");
    str(&o, p->wifi.password);
    raw(&o, "},\"mqtt\":{\"host\":");
    str(&o, p->mqtt.host);
    snprintf(num, sizeof num, "%u", (unsigned)p->mqtt.port);
    raw(&o, ",\"port\":");
    raw(&o, num);
    int rc = tmpl_member(&o, "client_id", p->mqtt.client_id, 64, true, p, dev, err);
    if (rc == PV_OK && p->mqtt.username != NULL) {
        rc = tmpl_member(&o, "username", p->mqtt.username, 64, true, p, dev, err);
    }
    if (rc == PV_OK && p->mqtt.password != NULL) {
        raw(&o, ",\"password\":");
        str(&o, p->mqtt.password);
    }
    if (rc == PV_OK && p->mqtt.token != NULL) {
        raw(&o, ",\"token\":");
        str(&o, p->mqtt.token);
    }
    raw(&o, ",\"topics\":{");
    for (size_t i = 0; rc == PV_OK && i < p->mqtt.topic_count; i++) {
        rc = tmpl_member(&o, p->mqtt.topics[i].name, p->mqtt.topics[i].value, 128, i > 0, p, dev,
                         err);
    }
    raw(&o, "}},\"tls\":{\"format\":");
    str(&o, pv_format_name(p->device.format));
    raw(&o, ",\"ca\":");
    str(&o, p->paths.ca);
    raw(&o, ",\"cert\":");
    str(&o, p->paths.cert);
    raw(&o, ",\"key\":");
    str(&o, p->paths.key);
    raw(&o, "}");
    if (p->ntp_count > 0) {
        raw(&o, ",\"ntp\":[");
        for (size_t i = 0; i < p->ntp_count; i++) {
            if (i > 0) {
                raw(&o, ",");
            }
            str(&o, p->ntp[i]);
        }
        raw(&o, "]");
    }
    raw(&o, "}");
    if (rc == PV_OK && o.nomem) {
        rc = pv_error_set(err, PV_ERR_NOMEM, NULL, "out of memory building the config file");
    }
    if (rc == PV_OK && o.len > CONFIG_MAX) {
        rc = pv_error_set(err, PV_ERR_INVALID, "shorten topics, names or the token",
                          "the config file for device %s is %zu bytes, more than %d", dev->id,
                          o.len, CONFIG_MAX);
    }
    if (rc != PV_OK) {
        pv_secret_free(o.buf, o.cap);
        return rc;
    }
    *out = o.buf;
    *len = o.len;
    return PV_OK;
}
