#include <stdio.h>
#include <string.h>

#include "provision/core/core.h"

int pv_error_setv(struct pv_error *err, int code, const char *hint, const char *fmt, va_list ap)
{
    if (err == NULL) {
        return code;
    }
    err->code = code;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    snprintf(err->hint, sizeof err->hint, "%s", hint ? hint : "");
    return code;
}

int pv_error_set(struct pv_error *err, int code, const char *hint, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pv_error_setv(err, code, hint, fmt, ap);
    va_end(ap);
    return code;
}

int pv_error_prefix(struct pv_error *err, const char *fmt, ...)
{
    if (err == NULL) {
        return PV_ERR_INVALID;
    }
    char prefix[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    char joined[sizeof err->msg];
    snprintf(joined, sizeof joined, "%s: %s", prefix, err->msg);
    memcpy(err->msg, joined, sizeof err->msg);
    return err->code;
}

void pv_error_clear(struct pv_error *err)
{
    if (err != NULL) {
        memset(err, 0, sizeof *err);
    }
}
