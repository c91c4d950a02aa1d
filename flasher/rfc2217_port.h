/* flasher-internal: pieces of the rfc2217:// port shared by its source files. */
#ifndef ESPPROV_FLASHER_RFC2217_PORT_H
#define ESPPROV_FLASHER_RFC2217_PORT_H

#include <stddef.h>
#include <stdint.h>

#include "flasher/port_priv.h"

/* Splits "host:port" / "[v6]:port" into host and a validated decimal port. */
int rfc_parse_hostport(const char *hostport, char *host, size_t host_size, char *port,
                       size_t port_size, struct fl_error *err);

/* Resolves and connects (every address in turn, each within timeout_ms);
 * the socket is non-blocking with TCP_NODELAY. */
int rfc_connect(const char *hostport, int timeout_ms, int *fd_out, struct fl_error *err);

/* Runs the telnet/RFC 2217 set-up on a connected stream socket (owned from
 * here on, closed on failure) and returns the port. Split from the connect
 * so the fuzz target can drive it over a socketpair. */
int rfc_attach(int fd, const char *name, uint32_t baud, struct fl_port **out, struct fl_error *err);

#endif
