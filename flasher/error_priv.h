/* flasher-internal: the one error setter both layers (protocol and port) use. */
#ifndef ESPPROV_FLASHER_ERROR_PRIV_H
#define ESPPROV_FLASHER_ERROR_PRIV_H

#include "flasher/flasher.h"

/* Fills err (code, message, hint) and returns the code; err may be NULL. */
int fl_error_set(struct fl_error *err, int code, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
