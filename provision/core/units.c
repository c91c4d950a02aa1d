#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "provision/core/core.h"

int pv_parse_size(const char *text, uint64_t max, uint64_t *out)
{
    if (max == 0) {
        max = UINT32_MAX;
    }
    if (text == NULL || *text == '\0' || !isdigit((unsigned char)text[0])) {
        return PV_ERR_INVALID;
    }
    errno = 0;
    char *end = NULL;
    bool hex = text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
    if (hex && !isxdigit((unsigned char)text[2])) {
        return PV_ERR_INVALID;
    }
    unsigned long long value = strtoull(text, &end, hex ? 16 : 10);
    if (errno != 0) {
        return PV_ERR_INVALID;
    }
    unsigned long long scale = 1;
    if (*end != '\0') {
        /* A hex digit string cannot take a suffix: "0x1B" would be ambiguous. */
        if (hex) {
            return PV_ERR_INVALID;
        }
        static const char *const kilo[] = {"k", "kb", "kib"};
        static const char *const mega[] = {"m", "mb", "mib"};
        for (size_t i = 0; i < 3 && scale == 1; i++) {
            if (strcasecmp(end, kilo[i]) == 0) {
                scale = 1024;
            } else if (strcasecmp(end, mega[i]) == 0) {
                scale = 1024 * 1024;
            }
        }
        if (scale == 1) {
            return PV_ERR_INVALID;
        }
    }
    if (value > max / scale) {
        return PV_ERR_INVALID;
    }
    *out = value * scale;
    return PV_OK;
}
