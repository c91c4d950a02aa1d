/*
 * Text that comes from outside (file names in an image, ids read back from a
 * board, boot log lines, ledger fields) on its way to a terminal, and device
 * file names on their way to a host folder.
 */
#include <stdio.h>
#include <string.h>

#include "provision/core/core.h"

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when it is not one. */
static size_t utf8_len(const unsigned char *s, unsigned *cp)
{
    unsigned c = s[0];
    size_t n;
    unsigned min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2, min = 0x80, c &= 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3, min = 0x800, c &= 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4, min = 0x10000, c &= 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0; /* also stops at the terminating NUL */
        }
        c = (c << 6) | (s[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
        return 0;
    }
    *cp = c;
    return n;
}

/* Code points a terminal acts on or that reorder what is shown: C1 controls,
 * line/paragraph separators and the bidirectional overrides and isolates. */
static bool invisible(unsigned cp)
{
    return (cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 ||
           (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

const char *pv_escape(const char *s, char *out, size_t cap)
{
    if (cap == 0) {
        return out;
    }
    size_t o = 0;
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    while (*p != '\0') {
        char piece[16];
        size_t plen;
        unsigned cp = 0;
        size_t n = utf8_len(p, &cp);
        if (n == 0) {
            plen = (size_t)snprintf(piece, sizeof piece, "\\x%02x", *p);
            n = 1;
        } else if (cp < 0x20 || cp == 0x7f) {
            plen = (size_t)snprintf(piece, sizeof piece, "\\x%02x", cp);
        } else if (invisible(cp)) {
            plen = (size_t)snprintf(piece, sizeof piece, "\\u%04x", cp);
        } else {
            memcpy(piece, p, n);
            plen = n;
        }
        if (o + plen >= cap) {
            break; /* never half an escape or half a character */
        }
        memcpy(out + o, piece, plen);
        o += plen;
        p += n;
    }
    out[o] = '\0';
    return out;
}

bool pv_text_is_plain(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p != '\0') {
        unsigned cp = 0;
        size_t n = utf8_len(p, &cp);
        if (n == 0 || cp < 0x20 || cp == 0x7f || invisible(cp)) {
            return false;
        }
        p += n;
    }
    return true;
}

int pv_devname_check(const char *name, struct pv_error *err)
{
    static const char hint[] = "device file names are '/' then parts separated by single '/', "
                               "none of them '.' or '..', without control characters";
    char shown[160];
    pv_escape(name, shown, sizeof shown);
    if (name[0] != '/' || name[1] == '\0') {
        return pv_error_set(err, PV_ERR_INVALID, hint,
                            "'%s' does not start with '/' followed by a name", shown);
    }
    for (const unsigned char *s = (const unsigned char *)name; *s; s++) {
        if (*s < 0x20 || *s == 0x7f) {
            return pv_error_set(err, PV_ERR_INVALID, hint, "'%s' contains a control character",
                                shown);
        }
    }
    for (const char *p = name + 1;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) {
            return pv_error_set(err, PV_ERR_INVALID, hint,
                                "'%s' has an empty, '.' or '..' part: as a path below a folder "
                                "it would not stay there",
                                shown);
        }
        if (slash == NULL) {
            return PV_OK;
        }
        p = slash + 1;
    }
}
