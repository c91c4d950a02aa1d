/* Placeholder until the RFC 2217 client lands (replaced by that work). */
#include "flasher/port_priv.h"

int fl_rfc2217_open(const char *hostport, uint32_t baud, struct fl_port **out,
                    struct fl_error *err)
{
    (void)baud;
    *out = NULL;
    return fl_error_set(err, FL_ERR_UNSUPPORTED, NULL, "rfc2217://%s: remote ports are not supported yet",
                        hostport);
}
