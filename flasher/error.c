#include <stdarg.h>
#include <stdio.h>

#include "flasher/error_priv.h"

int fl_error_set(struct fl_error *err, int code, const char *hint, const char *fmt, ...)
{
    if (err == NULL) {
        return code;
    }
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    snprintf(err->hint, sizeof err->hint, "%s", hint ? hint : "");
    return code;
}
