/* Per-device templates: {mac} {mac_suffix} {seq} {seq:N} {chip} {id} {profile}. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "provision/profile/profile_priv.h"

struct placeholder {
    const char *name;
    unsigned bit;
};

static const struct placeholder placeholders[] = {
    {"mac", TP_MAC}, {"mac_suffix", TP_MAC_SUFFIX}, {"seq", TP_SEQ}, {"chip", TP_CHIP},
    {"id", TP_ID},   {"profile", TP_PROFILE},
};

/* Longest chip name a detected board can report. */
#define CHIP_NAME_MAX  16
#define SEQ_DIGITS_MAX 10

/*
 * Walks a template; for each piece calls back with either literal text or a
 * placeholder (bit, width). Returns 0, or -1 with `why` set.
 */
struct piece {
    const char *lit; /* literal text, or NULL for a placeholder */
    size_t lit_len;
    unsigned bit;
    int width; /* {seq:N}: N, else 0 */
};

static int next_piece(const char **cursor, struct piece *pc, char *why, size_t whylen)
{
    const char *s = *cursor;
    memset(pc, 0, sizeof *pc);
    if (s[0] == '{' && s[1] == '{') {
        pc->lit = s;
        pc->lit_len = 1;
        *cursor = s + 2;
        return 0;
    }
    if (s[0] == '}' && s[1] == '}') {
        pc->lit = s;
        pc->lit_len = 1;
        *cursor = s + 2;
        return 0;
    }
    if (s[0] == '}') {
        snprintf(why, whylen, "a lone '}' (write '}}' for a literal brace)");
        return -1;
    }
    if (s[0] != '{') {
        size_t n = strcspn(s, "{}");
        pc->lit = s;
        pc->lit_len = n;
        *cursor = s + n;
        return 0;
    }
    const char *end = strchr(s, '}');
    if (end == NULL) {
        snprintf(why, whylen, "'{' without a closing '}' (write '{{' for a literal brace)");
        return -1;
    }
    size_t n = (size_t)(end - s - 1);
    const char *name = s + 1;
    size_t name_len = n;
    const char *colon = memchr(name, ':', n);
    if (colon != NULL) {
        name_len = (size_t)(colon - name);
        const char *w = colon + 1;
        size_t wl = (size_t)(end - w);
        if (name_len != 3 || strncmp(name, "seq", 3) != 0 || wl != 1 || w[0] < '1' || w[0] > '9') {
            snprintf(why, whylen,
                     "unknown placeholder {%.*s} (only {seq:N} takes a width, N = 1-9)",
                     (int)(n > 40 ? 40 : n), name);
            return -1;
        }
        pc->width = w[0] - '0';
    }
    for (size_t i = 0; i < sizeof placeholders / sizeof placeholders[0]; i++) {
        if (strlen(placeholders[i].name) == name_len &&
            strncmp(placeholders[i].name, name, name_len) == 0) {
            pc->bit = placeholders[i].bit;
            *cursor = end + 1;
            return 0;
        }
    }
    snprintf(why, whylen,
             "unknown placeholder {%.*s} (known: {mac} {mac_suffix} {seq} {chip} {id} "
             "{profile})",
             (int)(n > 40 ? 40 : n), name);
    return -1;
}

int pv_tmpl_scan(const char *tmpl, unsigned allowed, size_t id_max, size_t profile_len,
                 struct tmpl_info *info, char *why, size_t whylen)
{
    memset(info, 0, sizeof *info);
    const char *cur = tmpl;
    while (*cur) {
        struct piece pc;
        if (next_piece(&cur, &pc, why, whylen) != 0) {
            return -1;
        }
        if (pc.lit != NULL) {
            info->max_len += pc.lit_len;
            continue;
        }
        if (!(pc.bit & allowed)) {
            const char *name = "?";
            for (size_t i = 0; i < sizeof placeholders / sizeof placeholders[0]; i++) {
                if (placeholders[i].bit == pc.bit) {
                    name = placeholders[i].name;
                }
            }
            snprintf(why, whylen, "{%s} cannot be used here", name);
            return -1;
        }
        info->used |= pc.bit;
        switch (pc.bit) {
        case TP_MAC:
            info->max_len += 12;
            break;
        case TP_MAC_SUFFIX:
            info->max_len += 6;
            break;
        case TP_SEQ:
            info->max_len += pc.width > SEQ_DIGITS_MAX ? (size_t)pc.width : SEQ_DIGITS_MAX;
            break;
        case TP_CHIP:
            info->max_len += CHIP_NAME_MAX;
            break;
        case TP_ID:
            info->max_len += id_max;
            break;
        default:
            info->max_len += profile_len;
            break;
        }
    }
    return 0;
}

static const char *missing_hint(unsigned bit)
{
    switch (bit) {
    case TP_MAC:
    case TP_MAC_SUFFIX:
        return "the board's MAC address is needed: pass --mac (or provision the board)";
    case TP_SEQ:
        return "a sequence number is needed: pass --seq";
    default:
        return "the device id is needed: pass --id";
    }
}

int pv_template_expand(const char *tmpl, const struct pv_profile *p, const struct pv_device *dev,
                       char *out, size_t len, struct pv_error *err)
{
    size_t used = 0;
    const char *cur = tmpl;
    char why[160];
    while (*cur) {
        struct piece pc;
        if (next_piece(&cur, &pc, why, sizeof why) != 0) {
            return pv_error_set(err, PV_ERR_INVALID, NULL, "template \"%s\": %s", tmpl, why);
        }
        char val[64];
        const char *text = val;
        size_t n;
        if (pc.lit != NULL) {
            text = pc.lit;
            n = pc.lit_len;
        } else {
            bool have = true;
            switch (pc.bit) {
            case TP_MAC:
                have = dev->has_mac;
                snprintf(val, sizeof val, "%02x%02x%02x%02x%02x%02x", dev->mac[0], dev->mac[1],
                         dev->mac[2], dev->mac[3], dev->mac[4], dev->mac[5]);
                break;
            case TP_MAC_SUFFIX:
                have = dev->has_mac;
                snprintf(val, sizeof val, "%02x%02x%02x", dev->mac[3], dev->mac[4], dev->mac[5]);
                break;
            case TP_SEQ:
                have = dev->has_seq;
                snprintf(val, sizeof val, "%0*u", pc.width, (unsigned)dev->seq);
                break;
            case TP_CHIP:
                snprintf(val, sizeof val, "%s", dev->chip[0] ? dev->chip : p->chip);
                break;
            case TP_ID:
                have = dev->id[0] != '\0';
                text = dev->id;
                break;
            default:
                text = p->name;
                break;
            }
            if (!have) {
                return pv_error_set(err, PV_ERR_INVALID, missing_hint(pc.bit),
                                    "template \"%s\" needs a value this device does not have",
                                    tmpl);
            }
            n = strlen(text);
        }
        if (used + n >= len) {
            return pv_error_set(err, PV_ERR_INVALID, NULL,
                                "template \"%s\" expands to more than %zu bytes", tmpl, len - 1);
        }
        memcpy(out + used, text, n);
        used += n;
    }
    out[used] = '\0';
    return PV_OK;
}

void pv_format_mac(const uint8_t mac[6], char out[18])
{
    snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
             mac[5]);
}

int pv_parse_mac(const char *text, uint8_t mac[6])
{
    uint8_t tmp[6];
    size_t nib = 0;
    char sep = 0;
    for (const char *s = text; *s; s++) {
        if (*s == ':' || *s == '-') {
            /* Separators only between byte pairs, and all the same kind. */
            if (nib % 2 != 0 || nib == 0 || nib >= 12 || (sep && sep != *s) || s[1] == '\0') {
                return PV_ERR_INVALID;
            }
            sep = *s;
            continue;
        }
        if (!isxdigit((unsigned char)*s) || nib >= 12) {
            return PV_ERR_INVALID;
        }
        int v = isdigit((unsigned char)*s) ? *s - '0' : (tolower((unsigned char)*s) - 'a' + 10);
        if (nib % 2 == 0) {
            tmp[nib / 2] = (uint8_t)(v << 4);
        } else {
            tmp[nib / 2] |= (uint8_t)v;
        }
        nib++;
    }
    if (nib != 12) {
        return PV_ERR_INVALID;
    }
    memcpy(mac, tmp, 6);
    return PV_OK;
}

bool pv_id_valid(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > PV_ID_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)id[i];
        if (!isalnum(c) && c != '-' && c != '_' && c != '.') {
            return false;
        }
    }
    return id[0] != '.';
}

int pv_device_init(struct pv_device *dev, const struct pv_profile *p, const char *id,
                   const uint8_t *mac, int64_t seq, const char *chip, struct pv_error *err)
{
    memset(dev, 0, sizeof *dev);
    if (mac != NULL) {
        dev->has_mac = true;
        memcpy(dev->mac, mac, 6);
    }
    if (seq >= 0) {
        if (seq > UINT32_MAX) {
            return pv_error_set(err, PV_ERR_INVALID, NULL, "sequence number %lld is too large",
                                (long long)seq);
        }
        dev->has_seq = true;
        dev->seq = (uint32_t)seq;
    }
    snprintf(dev->chip, sizeof dev->chip, "%s", chip ? chip : p->chip);
    if (id != NULL) {
        if (!pv_id_valid(id)) {
            return pv_error_set(err, PV_ERR_INVALID,
                                "use 1-64 letters, digits, '-', '_' or '.' (not first)",
                                "'%s' is not a valid device id", id);
        }
        snprintf(dev->id, sizeof dev->id, "%s", id);
        return PV_OK;
    }
    char buf[PV_ID_MAX + 1];
    if (pv_template_expand(p->device.id, p, dev, buf, sizeof buf, err) != PV_OK) {
        return pv_error_prefix(err, "cannot make the device id from .device.id");
    }
    if (!pv_id_valid(buf)) {
        return pv_error_set(err, PV_ERR_INVALID, NULL,
                            ".device.id expands to '%s', which is not a valid device id", buf);
    }
    memcpy(dev->id, buf, sizeof buf);
    return PV_OK;
}
