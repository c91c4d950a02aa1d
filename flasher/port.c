#include <stdio.h>
#include <string.h>

#include "flasher/port_priv.h"

int fl_port_open(const char *name, uint32_t baud, struct fl_port **out, struct fl_error *err)
{
    static const char scheme[] = "rfc2217://";
    *out = NULL;
    if (name == NULL || name[0] == '\0') {
        return fl_error_set(err, FL_ERR_INVALID, "name a port with --port, e.g. /dev/ttyUSB0",
                            "no serial port given");
    }
    if (strncmp(name, scheme, sizeof scheme - 1) == 0) {
        return fl_rfc2217_open(name + sizeof scheme - 1, baud, out, err);
    }
    return fl_tty_open(name, baud, out, err);
}

void fl_port_close(struct fl_port *port)
{
    if (port != NULL) {
        port->ops->close(port);
    }
}
