/*
 * listen: see listen.h.
 */
#include "listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int listen_same(const conf_listen_t *a, const conf_listen_t *b)
{
    return a->family == b->family && a->port == b->port && strcmp(a->host, b->host) == 0;
}

int listen_set_defer(int fd, int on)
{
    int secs = on ? 1 : 0;
    return setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &secs, sizeof(secs));
}

int listen_open(const conf_listen_t *addr, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t sslen;
    memset(&ss, 0, sizeof(ss));
    if (addr->family == AF_INET6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)addr->port);
        if (inet_pton(AF_INET6, addr->host, &s6->sin6_addr) != 1)
            s6->sin6_addr = in6addr_any;
        sslen = sizeof(*s6);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)addr->port);
        if (addr->host[0] == '\0' || inet_pton(AF_INET, addr->host, &s4->sin_addr) != 1)
            s4->sin_addr.s_addr = htonl(INADDR_ANY);
        sslen = sizeof(*s4);
    }

    const char *call = "socket";
    int one = 1;
    int fd = socket(addr->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        goto fail;
    call = "setsockopt(SO_REUSEADDR)";
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
        goto fail;
    if (addr->family == AF_INET6) {
        call = "setsockopt(IPV6_V6ONLY)";
        if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
            goto fail;
    }
    /* Set here, inherited by every accepted socket: a response written in
     * pieces (or pipelined responses) is not held back by Nagle waiting for
     * the client's delayed ACK, and no setsockopt per connection is paid. */
    call = "setsockopt(TCP_NODELAY)";
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
        goto fail;
    call = "bind";
    if (bind(fd, (struct sockaddr *)&ss, sslen) < 0)
        goto fail;
    call = "listen";
    if (listen(fd, LISTEN_BACKLOG) < 0)
        goto fail;
    return fd;

fail:;
    int saved = errno;
    snprintf(err, errlen, "%s() on %s%s%s:%d failed: %s%s", call,
             addr->family == AF_INET6 ? "[" : "", addr->host[0] ? addr->host : (addr->family == AF_INET6 ? "::" : "0.0.0.0"),
             addr->family == AF_INET6 ? "]" : "", addr->port, strerror(saved),
             saved == EADDRINUSE ? " (is another server running on this address?)" : "");
    if (fd >= 0)
        close(fd);
    errno = saved;
    return -1;
}
