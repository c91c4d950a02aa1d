/* flasher-internal: the concrete port constructors fl_port_open() picks from. */
#ifndef ESPPROV_FLASHER_PORT_PRIV_H
#define ESPPROV_FLASHER_PORT_PRIV_H

#include "flasher/error_priv.h"
#include "flasher/flasher.h"

/* A local tty: /dev/ttyUSB0, /dev/ttyACM0, /dev/pts/N. */
int fl_tty_open(const char *path, uint32_t baud, struct fl_port **out, struct fl_error *err);
/* A remote port over RFC 2217; `hostport` is what follows "rfc2217://". */
int fl_rfc2217_open(const char *hostport, uint32_t baud, struct fl_port **out,
                    struct fl_error *err);

#endif
