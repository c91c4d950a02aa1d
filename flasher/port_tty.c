/* Placeholder until the termios port lands (replaced by that work). */
#include "flasher/port_priv.h"

int fl_tty_open(const char *path, uint32_t baud, struct fl_port **out, struct fl_error *err)
{
    (void)baud;
    *out = NULL;
    return fl_error_set(err, FL_ERR_UNSUPPORTED, NULL, "%s: local ports are not supported yet",
                        path);
}
