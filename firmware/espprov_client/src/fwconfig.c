/* Schema pass of the device config reader: fills struct fwc_config. */
#include <string.h>

#include "fwconfig_priv.h"

#define OFF(member) ((uint16_t)offsetof(struct fwc_config, member))
#define COUNT(a)    ((unsigned char)(sizeof(a) / sizeof((a)[0])))

static const struct field wifi_fields[] = {
    {"ssid", K_STR, 1, 1, FWC_SSID_MAX, OFF(wifi.ssid), NULL, 0},
    {"password", K_WIFI_PASS, 1, 0, FWC_WIFI_PASS_MAX, OFF(wifi.password), NULL, 0},
};

static const struct field mqtt_fields[] = {
    {"host", K_STR, 1, 1, FWC_HOST_MAX, OFF(mqtt.host), NULL, 0},
    {"port", K_U16, 1, 1, 65535, OFF(mqtt.port), NULL, 0},
    {"client_id", K_STR, 1, 1, FWC_CLIENT_ID_MAX, OFF(mqtt.client_id), NULL, 0},
    {"username", K_STR, 0, 1, FWC_USERNAME_MAX, OFF(mqtt.username), NULL, 0},
    {"password", K_STR, 0, 1, FWC_MQTT_PASS_MAX, OFF(mqtt.password), NULL, 0},
    {"token", K_STR, 0, 1, FWC_TOKEN_MAX, OFF(mqtt.token), NULL, 0},
    {"topics", K_TOPICS, 1, 1, FWC_TOPICS_MAX, OFF(mqtt.topics), NULL, 0},
};

static const struct field tls_fields[] = {
    {"format", K_FORMAT, 1, 0, 0, OFF(tls.format), NULL, 0},
    {"ca", K_PATH, 1, 2, FWC_PATH_MAX, OFF(tls.ca), NULL, 0},
    {"cert", K_PATH, 1, 2, FWC_PATH_MAX, OFF(tls.cert), NULL, 0},
    {"key", K_PATH, 1, 2, FWC_PATH_MAX, OFF(tls.key), NULL, 0},
};

static const struct field root_fields[] = {
    {"v", K_VERSION, 1, 1, 1, 0, NULL, 0},
    {"id", K_STR, 1, 1, FWC_ID_MAX, OFF(id), NULL, 0},
    {"wifi", K_OBJECT, 1, 0, 0, 0, wifi_fields, COUNT(wifi_fields)},
    {"mqtt", K_OBJECT, 1, 0, 0, 0, mqtt_fields, COUNT(mqtt_fields)},
    {"tls", K_OBJECT, 1, 0, 0, 0, tls_fields, COUNT(tls_fields)},
    {"ntp", K_NTP, 0, 1, FWC_NTP_MAX, OFF(ntp), NULL, 0},
};

static int valid_topic_name(const char *name, size_t len)
{
    for (size_t k = 0; k < len; k++) {
        char ch = name[k];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_')) {
            return 0;
        }
    }
    return 1;
}

static enum fwc_err read_topics(struct pctx *c)
{
    struct fwc_config *cfg = c->cfg;
    size_t open_at = c->j.pos;
    enum fwc_err rc = fwj_expect(&c->j, '{', "expected '{'");
    int more = 1;
    fwj_ws(&c->j);
    if (rc == FWC_OK && fwj_peek(&c->j) == '}') {
        c->j.pos++;
        more = 0;
    }
    while (rc == FWC_OK && more) {
        char key[KEY_SHOWN + 1];
        size_t len, at;
        int nul;
        rc = fwp_read_key(c, key, &len, &nul, &at);
        if (rc != FWC_OK) {
            return rc;
        }
        if (cfg->mqtt.topic_count == FWC_TOPICS_MAX) {
            return fwp_fail_n(c, FWC_ERR_LENGTH, at, "more than ", FWC_TOPICS_MAX, " topics");
        }
        if (len == 0) {
            return fwp_fail(c, FWC_ERR_LENGTH, at, "empty topic name");
        }
        size_t saved = fwp_push_key(c, key, len);
        if (len > FWC_TOPIC_NAME_MAX) {
            return fwp_fail_n(c, FWC_ERR_LENGTH, at, "topic name too long (max ",
                              FWC_TOPIC_NAME_MAX, " bytes)");
        }
        if (nul || !valid_topic_name(key, len)) {
            return fwp_fail(c, FWC_ERR_VALUE, at, "topic names use only a-z, 0-9 and _");
        }
        for (unsigned t = 0; t < cfg->mqtt.topic_count; t++) {
            if (strcmp(cfg->mqtt.topics[t].name, key) == 0) {
                return fwp_fail(c, FWC_ERR_DUPLICATE, at, "duplicate key");
            }
        }
        struct fwc_topic *slot = &cfg->mqtt.topics[cfg->mqtt.topic_count];
        rc = fwp_read_str(c, slot->topic, 1, FWC_TOPIC_MAX);
        if (rc != FWC_OK) {
            return rc;
        }
        memcpy(slot->name, key, len + 1);
        cfg->mqtt.topic_count++;
        fwp_pop_path(c, saved);
        rc = fwp_next_or_close(c, '}', &more);
    }
    if (rc == FWC_OK && fwc_topic(cfg, "status") == NULL) {
        fwp_push_key(c, "status", 6);
        rc = fwp_fail(c, FWC_ERR_MISSING, open_at, "missing (the firmware publishes there)");
    }
    return rc;
}

static enum fwc_err read_ntp(struct pctx *c)
{
    struct fwc_config *cfg = c->cfg;
    size_t open_at = c->j.pos;
    enum fwc_err rc = fwj_expect(&c->j, '[', "expected '['");
    int more = 1;
    fwj_ws(&c->j);
    if (rc == FWC_OK && fwj_peek(&c->j) == ']') {
        return fwp_fail_n(c, FWC_ERR_LENGTH, open_at, "must list 1-", FWC_NTP_MAX, " servers");
    }
    while (rc == FWC_OK && more) {
        if (cfg->ntp_count == FWC_NTP_MAX) {
            fwj_ws(&c->j);
            return fwp_fail_n(c, FWC_ERR_LENGTH, c->j.pos, "more than ", FWC_NTP_MAX, " servers");
        }
        size_t saved = fwp_push_index(c, cfg->ntp_count);
        rc = fwp_read_str(c, cfg->ntp[cfg->ntp_count], 1, FWC_NTP_HOST_MAX);
        if (rc != FWC_OK) {
            return rc;
        }
        cfg->ntp_count++;
        fwp_pop_path(c, saved);
        rc = fwp_next_or_close(c, ']', &more);
    }
    return rc;
}

static enum fwc_err read_object(struct pctx *c, const struct field *f, size_t nf);

static enum fwc_err read_value(struct pctx *c, const struct field *f)
{
    char *dst = (char *)c->cfg + f->off;
    enum fwc_err rc;
    switch (f->kind) {
    case K_VERSION:
        return fwp_read_version(c);
    case K_U16:
        return fwp_read_u16(c, f, (uint16_t *)(void *)dst);
    case K_STR:
        return fwp_read_str(c, dst, f->min, f->max);
    case K_WIFI_PASS:
        return fwp_read_wifi_password(c, dst);
    case K_PATH: {
        fwj_ws(&c->j);
        size_t at = c->j.pos;
        rc = fwp_read_str(c, dst, f->min, f->max);
        if (rc == FWC_OK && dst[0] != '/') {
            rc = fwp_fail(c, FWC_ERR_VALUE, at, "must be a file name starting with '/'");
        }
        return rc;
    }
    case K_FORMAT:
        return fwp_read_format(c, &c->cfg->tls.format);
    case K_OBJECT:
        rc = fwp_need(c, '{', "must be an object");
        return rc == FWC_OK ? read_object(c, f->sub, f->nsub) : rc;
    case K_TOPICS:
        rc = fwp_need(c, '{', "must be an object of named topics");
        return rc == FWC_OK ? read_topics(c) : rc;
    default: /* K_NTP */
        rc = fwp_need(c, '[', "must be an array of strings");
        return rc == FWC_OK ? read_ntp(c) : rc;
    }
}

/* Recursion is bounded by the tables: root -> wifi/mqtt/tls, no deeper. */
static enum fwc_err read_object(struct pctx *c, const struct field *f, size_t nf)
{
    unsigned seen = 0;
    size_t open_at = c->j.pos;
    enum fwc_err rc = fwj_expect(&c->j, '{', "expected '{'");
    int more = 1;
    fwj_ws(&c->j);
    if (rc == FWC_OK && fwj_peek(&c->j) == '}') {
        c->j.pos++;
        more = 0;
    }
    while (rc == FWC_OK && more) {
        char key[KEY_SHOWN + 1];
        size_t len, at, i;
        int nul;
        rc = fwp_read_key(c, key, &len, &nul, &at);
        if (rc != FWC_OK) {
            return rc;
        }
        size_t saved = fwp_push_key(c, key, len);
        for (i = 0; i < nf; i++) {
            if (!nul && len == strlen(f[i].name) && memcmp(key, f[i].name, len) == 0) {
                break;
            }
        }
        if (i == nf) {
            return fwp_fail(c, FWC_ERR_UNKNOWN, at, "unknown key");
        }
        if (seen & (1u << i)) {
            return fwp_fail(c, FWC_ERR_DUPLICATE, at, "duplicate key");
        }
        seen |= 1u << i;
        rc = read_value(c, &f[i]);
        if (rc != FWC_OK) {
            return rc;
        }
        fwp_pop_path(c, saved);
        rc = fwp_next_or_close(c, '}', &more);
    }
    for (size_t i = 0; rc == FWC_OK && i < nf; i++) {
        if (f[i].required && !(seen & (1u << i))) {
            fwp_push_key(c, f[i].name, strlen(f[i].name));
            rc = fwp_fail(c, FWC_ERR_MISSING, open_at, "missing");
        }
    }
    return rc;
}

/* ---- entry point --------------------------------------------------------- */

static void describe(struct pctx *c, enum fwc_err rc, size_t len, struct fwc_error *err)
{
    struct fwj_out o;
    if (err == NULL) {
        return;
    }
    fwj_out_init(&o, err->msg, sizeof err->msg);
    err->code = rc;
    err->offset = (uint16_t)(c->j.at > 0xFFFF ? 0xFFFF : c->j.at);
    if (rc == FWC_ERR_TOO_BIG) {
        fwj_out_str(&o, "file is ");
        fwj_out_uint(&o, len);
        fwj_out_str(&o, " bytes, the format allows at most ");
        fwj_out_uint(&o, FWC_FILE_MAX);
    } else if (rc == FWC_ERR_EMPTY || rc == FWC_ERR_ARG) {
        fwj_out_str(&o, c->j.why);
    } else if (c->path[0] != '\0') {
        fwj_out_str(&o, c->path);
        fwj_out_str(&o, ": ");
        fwj_out_str(&o, c->j.why);
    } else {
        fwj_out_str(&o, "byte ");
        fwj_out_uint(&o, c->j.at);
        fwj_out_str(&o, ": ");
        fwj_out_str(&o, c->j.why);
    }
}

enum fwc_err fwc_parse(const char *json, size_t len, struct fwc_config *cfg, struct fwc_error *err)
{
    struct pctx c;
    enum fwc_err rc = FWC_OK;
    size_t v_at;

    if (err != NULL) {
        memset(err, 0, sizeof *err);
    }
    memset(&c, 0, sizeof c);
    fwj_out_init(&c.path_out, c.path, sizeof c.path);
    c.j.s = (const unsigned char *)json;
    c.j.len = len;
    c.cfg = cfg;
    if (cfg == NULL || (json == NULL && len > 0)) {
        rc = fwj_fail(&c.j, FWC_ERR_ARG, 0, "no config or no text given");
    } else if (len > FWC_FILE_MAX) {
        rc = fwj_fail(&c.j, FWC_ERR_TOO_BIG, FWC_FILE_MAX, "");
    }
    if (rc != FWC_OK) {
        describe(&c, rc, len, err);
        if (cfg != NULL) {
            memset(cfg, 0, sizeof *cfg);
        }
        return rc;
    }
    memset(cfg, 0, sizeof *cfg);
    /* Editors on some systems add a byte order mark; JSON readers may skip it. */
    if (len >= 3 && c.j.s[0] == 0xEF && c.j.s[1] == 0xBB && c.j.s[2] == 0xBF) {
        c.j.pos = 3;
    }
    size_t start = c.j.pos;
    rc = fwj_scan(&c.j, &v_at);
    /* The version decides how to read everything else, so it is judged first. */
    if (rc == FWC_OK && v_at == (size_t)-1) {
        fwp_push_key(&c, "v", 1);
        rc = fwp_fail(&c, FWC_ERR_MISSING, start, "missing (not an espprov device config?)");
    } else if (rc == FWC_OK) {
        c.j.pos = v_at;
        size_t saved = fwp_push_key(&c, "v", 1);
        rc = fwp_read_version(&c);
        if (rc == FWC_OK) {
            fwp_pop_path(&c, saved);
        }
    }
    if (rc == FWC_OK) {
        c.j.pos = start;
        rc = read_object(&c, root_fields, COUNT(root_fields));
    }
    if (rc != FWC_OK) {
        describe(&c, rc, len, err);
        memset(cfg, 0, sizeof *cfg);
    }
    return rc;
}
