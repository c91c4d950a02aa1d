/*
 * ESP8266 Arduino flash layouts: the FS region of every "Flash Size" menu
 * entry of the core (tools/boards.txt.py flash_map(), core >= 2.6.0, where
 * the FS end is rounded down to whole blocks).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "provision/core/core.h"
#include "provision/layout/layout.h"

#define KB 1024u
#define MB (1024u * 1024u)

static const struct pv_esp8266_layout layouts[] = {
    {"512K32", 512 * KB, 32 * KB, 0x073000, 0x8000, 4096, 256},
    {"512K64", 512 * KB, 64 * KB, 0x06B000, 0x10000, 4096, 256},
    {"512K128", 512 * KB, 128 * KB, 0x05B000, 0x20000, 4096, 256},
    {"1M64", 1 * MB, 64 * KB, 0x0EB000, 0x10000, 4096, 256},
    {"1M128", 1 * MB, 128 * KB, 0x0DB000, 0x20000, 4096, 256},
    {"1M144", 1 * MB, 144 * KB, 0x0D7000, 0x24000, 4096, 256},
    {"1M160", 1 * MB, 160 * KB, 0x0D3000, 0x28000, 4096, 256},
    {"1M192", 1 * MB, 192 * KB, 0x0CB000, 0x30000, 4096, 256},
    {"1M256", 1 * MB, 256 * KB, 0x0BB000, 0x40000, 4096, 256},
    {"1M512", 1 * MB, 512 * KB, 0x07B000, 0x80000, 8192, 256},
    {"2M64", 2 * MB, 64 * KB, 0x1F0000, 0xB000, 4096, 256},
    {"2M128", 2 * MB, 128 * KB, 0x1E0000, 0x1B000, 4096, 256},
    {"2M256", 2 * MB, 256 * KB, 0x1C0000, 0x3B000, 4096, 256},
    {"2M512", 2 * MB, 512 * KB, 0x180000, 0x7A000, 8192, 256},
    {"2M1M", 2 * MB, 1 * MB, 0x100000, 0xFA000, 8192, 256},
    {"4M1M", 4 * MB, 1 * MB, 0x300000, 0xFA000, 8192, 256},
    {"4M2M", 4 * MB, 2 * MB, 0x200000, 0x1FA000, 8192, 256},
    {"4M3M", 4 * MB, 3 * MB, 0x100000, 0x2FA000, 8192, 256},
    {"8M6M", 8 * MB, 6 * MB, 0x200000, 0x5FA000, 8192, 256},
    {"8M7M", 8 * MB, 7 * MB, 0x100000, 0x6FA000, 8192, 256},
    {"16M14M", 16 * MB, 14 * MB, 0x200000, 0xDFA000, 8192, 256},
    {"16M15M", 16 * MB, 15 * MB, 0x100000, 0xEFA000, 8192, 256},
};

#define LAYOUT_COUNT (sizeof layouts / sizeof layouts[0])

const struct pv_esp8266_layout *pv_layout_get(size_t i)
{
    return i < LAYOUT_COUNT ? &layouts[i] : NULL;
}

/* Characters that only decorate a name: "4M (FS:2MB)", "4MB-FS2MB". */
static bool is_filler(char c)
{
    return c == ' ' || c == '(' || c == ')' || c == '-' || c == '_' || c == ':' || c == '~' ||
           c == ',' || c == '/';
}

static const char *skip_filler(const char *p)
{
    for (;;) {
        while (is_filler(*p)) {
            p++;
        }
        if (strncmp(p, "fs", 2) == 0 && (isdigit((unsigned char)p[2]) || is_filler(p[2]))) {
            p += 2;
        } else {
            return p;
        }
    }
}

/* A number with an optional unit (k, kb, kib, m, mb, mib); no unit means
 * `default_unit`. Returns the end, or NULL if there is no number. */
static const char *parse_amount(const char *p, uint32_t default_unit, uint64_t *out)
{
    if (!isdigit((unsigned char)*p)) {
        return NULL;
    }
    uint64_t n = 0;
    while (isdigit((unsigned char)*p) && n < 100000) {
        n = n * 10 + (uint64_t)(*p++ - '0');
    }
    if (isdigit((unsigned char)*p)) {
        return NULL;
    }
    uint64_t unit = default_unit;
    if (*p == 'k' || *p == 'm') {
        unit = *p == 'k' ? KB : MB;
        p++;
        if (strncmp(p, "ib", 2) == 0) {
            p += 2;
        } else if (*p == 'b') {
            p++;
        }
    }
    *out = n * unit;
    return p;
}

/* Turns any accepted spelling into (flash size, FS menu size). */
static bool parse_name(const char *name, uint64_t *flash, uint64_t *fs)
{
    char buf[96];
    size_t n = strlen(name);
    if (n == 0 || n >= sizeof buf) {
        return false;
    }
    for (size_t i = 0; i <= n; i++) {
        buf[i] = (char)tolower((unsigned char)name[i]);
    }
    const char *p = buf;
    if (strncmp(p, "eagle.flash.", 12) == 0) {
        p += 12;
        size_t len = strlen(p);
        if (len < 3 || strcmp(p + len - 3, ".ld") != 0) {
            return false;
        }
        buf[(size_t)(p - buf) + len - 3] = '\0';
    }
    /* The flash size always has its unit; "4" alone would be ambiguous. */
    const char *q = parse_amount(p, 0, flash);
    if (q == NULL || *flash == 0) {
        return false;
    }
    q = parse_amount(skip_filler(q), KB, fs);
    if (q == NULL) {
        return false;
    }
    q = skip_filler(q);
    /* Arduino's menu label goes on with the OTA size, which adds nothing. */
    return *q == '\0' || strncmp(q, "ota", 3) == 0;
}

static void list_names(char *buf, size_t cap, uint32_t only_flash)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < LAYOUT_COUNT && used < cap; i++) {
        if (only_flash != 0 && layouts[i].flash_size != only_flash) {
            continue;
        }
        int w = snprintf(buf + used, cap - used, "%s%s", used ? ", " : "", layouts[i].name);
        if (w < 0) {
            break;
        }
        used += (size_t)w;
    }
}

int pv_layout_find(const char *name, const struct pv_esp8266_layout **out, struct pv_error *err)
{
    uint64_t flash = 0, fs = 0;
    bool parsed = name != NULL && parse_name(name, &flash, &fs);
    bool flash_known = false;
    for (size_t i = 0; parsed && i < LAYOUT_COUNT; i++) {
        if (layouts[i].flash_size == flash) {
            flash_known = true;
            if (layouts[i].fs_label == fs) {
                *out = &layouts[i];
                return PV_OK;
            }
        }
    }
    char names[400];
    char hint[sizeof names + 64];
    list_names(names, sizeof names, flash_known ? (uint32_t)flash : 0);
    if (flash_known) {
        snprintf(hint, sizeof hint, "layouts for this flash size: %s", names);
    } else {
        snprintf(hint, sizeof hint,
                 "name the flash size, then the FS size (4M2M = 4 MB flash, 2 MB FS); known: %s",
                 names);
    }
    return pv_error_set(err, PV_ERR_NOT_FOUND, hint, "unknown ESP8266 flash layout '%s'",
                        name ? name : "");
}
