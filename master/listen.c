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

#include "log.h"

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

int listen_bind(listen_sock_t *set, size_t *num, size_t max, const conf_t *conf, int *fds)
{
    size_t opened_from = *num;
    for (size_t i = 0; i < conf->num_listen; i++) {
        size_t j;
        for (j = 0; j < *num; j++)
            if (listen_same(&set[j].addr, &conf->listen[i]))
                break;
        if (j == *num) {
            char err[256];
            if (*num == max) {
                log_error("too many listen addresses");
                goto fail;
            }
            int fd = listen_open(&conf->listen[i], err, sizeof(err));
            if (fd < 0) {
                log_error("%s", err);
                goto fail;
            }
            set[j].addr = conf->listen[i];
            set[j].addr.spec = NULL;
            set[j].fd = fd;
            (*num)++;
            log_info("listening on %s", conf->listen[i].spec);
        }
        fds[i] = set[j].fd;
        if (listen_set_defer(fds[i], conf->defer_accept) < 0)
            log_warn("setsockopt(TCP_DEFER_ACCEPT) on %s: %s", conf->listen[i].spec, strerror(errno));
    }
    return 0;

fail:
    /* Close what this call opened: a failed reload leaves the set as it was. */
    while (*num > opened_from) {
        (*num)--;
        close(set[*num].fd);
    }
    return -1;
}

void listen_unbind_unused(listen_sock_t *set, size_t *num, const conf_t *const *confs, size_t nconfs)
{
    size_t out = 0;
    for (size_t i = 0; i < *num; i++) {
        int used = 0;
        for (size_t c = 0; c < nconfs && !used; c++)
            for (size_t k = 0; confs[c] && k < confs[c]->num_listen; k++)
                if (listen_same(&set[i].addr, &confs[c]->listen[k]))
                    used = 1;
        if (used) {
            set[out++] = set[i];
        } else {
            log_info("closing listen address :%d, no longer in the configuration", set[i].addr.port);
            close(set[i].fd);
        }
    }
    *num = out;
}

void listen_close_all(listen_sock_t *set, size_t *num)
{
    for (size_t i = 0; i < *num; i++)
        close(set[i].fd);
    *num = 0;
}
