/* TCP side of the rfc2217:// port: address parsing and a connect with a deadline. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "flasher/rfc2217_port.h"

static const char addr_hint[] =
    "write the port as rfc2217://HOST:PORT, e.g. rfc2217://192.168.1.20:4000 "
    "or rfc2217://[fe80::1%eth0]:4000";

int rfc_parse_hostport(const char *hostport, char *host, size_t host_size, char *port,
                       size_t port_size, struct fl_error *err)
{
    const char *colon;
    const char *host_start = hostport;
    size_t host_len;
    if (hostport[0] == '[') {
        const char *close = strchr(hostport, ']');
        if (close == NULL || close[1] != ':') {
            return fl_error_set(err, FL_ERR_INVALID, addr_hint,
                                "rfc2217://%s: an IPv6 address needs [brackets] and a :PORT",
                                hostport);
        }
        host_start = hostport + 1;
        host_len = (size_t)(close - host_start);
        colon = close + 1;
    } else {
        colon = strrchr(hostport, ':');
        if (colon == NULL) {
            return fl_error_set(err, FL_ERR_INVALID, addr_hint, "rfc2217://%s: no TCP port given",
                                hostport);
        }
        host_len = (size_t)(colon - hostport);
        if (memchr(hostport, ':', host_len) != NULL) {
            return fl_error_set(err, FL_ERR_INVALID, addr_hint,
                                "rfc2217://%s: put an IPv6 address in [brackets]", hostport);
        }
    }
    const char *digits = colon + 1;
    char *end = NULL;
    errno = 0;
    long num = strtol(digits, &end, 10);
    if (host_len == 0 || digits[0] == '\0' || *end != '\0' || errno != 0 || num < 1 ||
        num > 65535 || digits[0] == '-' || digits[0] == '+') {
        return fl_error_set(err, FL_ERR_INVALID, addr_hint,
                            "rfc2217://%s: expected HOST:PORT with a port from 1 to 65535",
                            hostport);
    }
    if (host_len >= host_size) {
        return fl_error_set(err, FL_ERR_INVALID, addr_hint, "rfc2217://%s: host name too long",
                            hostport);
    }
    memcpy(host, host_start, host_len);
    host[host_len] = '\0';
    snprintf(port, port_size, "%ld", num);
    return FL_OK;
}

/* Non-blocking connect to one address, finished within timeout_ms. Returns
 * the socket or -1 with errno set (ETIMEDOUT when the deadline passed). */
static int connect_one(const struct addrinfo *ai, int timeout_ms)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) {
        return -1;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        if (errno != EINPROGRESS) {
            int saved = errno;
            close(fd);
            errno = saved;
            return -1;
        }
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        int64_t deadline = rfc_mono_ms() + timeout_ms;
        int r;
        do {
            int64_t left = deadline - rfc_mono_ms();
            r = poll(&pfd, 1, left > 0 ? (int)left : 0);
        } while (r < 0 && errno == EINTR);
        int soerr = 0;
        socklen_t len = sizeof soerr;
        if (r == 0) {
            soerr = ETIMEDOUT;
        } else if (r < 0) {
            soerr = errno;
        } else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0) {
            soerr = errno;
        }
        if (soerr != 0) {
            close(fd);
            errno = soerr;
            return -1;
        }
    }
    /* Each DTR/RTS change and each small ROM command must leave at once,
     * not wait for Nagle to coalesce it with the next write. */
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

int rfc_connect(const char *hostport, int timeout_ms, int *fd_out, struct fl_error *err)
{
    char host[256];
    char port[8];
    int rc = rfc_parse_hostport(hostport, host, sizeof host, port, sizeof port, err);
    if (rc != FL_OK) {
        return rc;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG};
    struct addrinfo *list = NULL;
    int gai = getaddrinfo(host, port, &hints, &list);
    if (gai == EAI_NONAME || gai == EAI_NODATA || gai == EAI_FAIL) {
        return fl_error_set(err, FL_ERR_NOT_FOUND,
                            "check the host name (and DNS), or use the server's IP address",
                            "rfc2217://%s: unknown host '%s'", hostport, host);
    }
    if (gai != 0) {
        return fl_error_set(err, FL_ERR_IO, "check the network and DNS settings",
                            "rfc2217://%s: cannot resolve '%s': %s", hostport, host,
                            gai_strerror(gai));
    }
    int last_errno = 0;
    int fd = -1;
    /* Each address gets the whole timeout (an unreachable IPv6 one must not
     * starve the IPv4 one after it), so only the first few are tried. */
    int tries = 0;
    for (const struct addrinfo *ai = list; ai != NULL && fd < 0 && tries < RFC_CONNECT_ADDRS;
         ai = ai->ai_next, tries++) {
        fd = connect_one(ai, timeout_ms);
        if (fd < 0) {
            last_errno = errno;
        }
    }
    freeaddrinfo(list);
    if (fd >= 0) {
        *fd_out = fd;
        return FL_OK;
    }
    if (last_errno == ECONNREFUSED) {
        return fl_error_set(err, FL_ERR_NOT_FOUND,
                            "is the serial server (ser2net, esp_rfc2217_server) running and "
                            "listening on that port?",
                            "rfc2217://%s: connection refused", hostport);
    }
    if (last_errno == ETIMEDOUT) {
        return fl_error_set(err, FL_ERR_TIMEOUT,
                            "check the address, that the server is up, and any firewall between",
                            "rfc2217://%s: no answer within %d ms", hostport, timeout_ms);
    }
    return fl_error_set(err, FL_ERR_IO, "check the address and the network",
                        "rfc2217://%s: cannot connect: %s", hostport, strerror(last_errno));
}
