/*
 * listen: see listen.h.
 */
#include "listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <fcntl.h>
#include <stdlib.h>
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

/* The address a listen entry binds: a wildcard for an empty host. */
static socklen_t listen__sockaddr(const conf_listen_t *addr, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (addr->family == AF_INET6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)addr->port);
        if (inet_pton(AF_INET6, addr->host, &s6->sin6_addr) != 1)
            s6->sin6_addr = in6addr_any;
        return sizeof(*s6);
    }
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)addr->port);
    if (addr->host[0] == '\0' || inet_pton(AF_INET, addr->host, &s4->sin_addr) != 1)
        s4->sin_addr.s_addr = htonl(INADDR_ANY);
    return sizeof(*s4);
}

int listen_open(const conf_listen_t *addr, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t sslen = listen__sockaddr(addr, &ss);

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

/* 1 when fd is a listening TCP socket bound to exactly addr's address. */
static int listen__fd_is(int fd, const conf_listen_t *addr)
{
    struct sockaddr_storage want, have;
    socklen_t wlen = listen__sockaddr(addr, &want), hlen = sizeof(have);
    int type = 0, acc = 0;
    socklen_t ilen = sizeof(int);
    memset(&have, 0, sizeof(have));
    if (getsockname(fd, (struct sockaddr *)&have, &hlen) < 0 || hlen != wlen)
        return 0;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &ilen) < 0 || type != SOCK_STREAM)
        return 0;
    ilen = sizeof(int);
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &ilen) < 0 || !acc)
        return 0;
    if (want.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const void *)&want, *b = (const void *)&have;
        return b->sin6_family == AF_INET6 && a->sin6_port == b->sin6_port &&
               memcmp(&a->sin6_addr, &b->sin6_addr, sizeof(a->sin6_addr)) == 0;
    }
    const struct sockaddr_in *a = (const void *)&want, *b = (const void *)&have;
    return b->sin_family == AF_INET && a->sin_port == b->sin_port &&
           a->sin_addr.s_addr == b->sin_addr.s_addr;
}

int listen_adopt(listen_sock_t *set, size_t *num, size_t max, const conf_t *conf)
{
    const char *fds_s = getenv("LISTEN_FDS"), *pid_s = getenv("LISTEN_PID");
    int adopted = 0;
    long n = fds_s != NULL ? strtol(fds_s, NULL, 10) : 0;
    long pid = pid_s != NULL ? strtol(pid_s, NULL, 10) : 0;
    /* The variables are for this process alone: a child must not take them
     * for its own (sd_listen_fds(1) unsets them the same way). */
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDNAMES");
    if (n <= 0 || pid != (long)getpid())
        return 0;
    if (n > 4096)
        n = 4096;
    for (int fd = LISTEN_FDS_START; fd < LISTEN_FDS_START + n; fd++) {
        size_t i, j;
        for (i = 0; i < conf->num_listen; i++)
            if (listen__fd_is(fd, &conf->listen[i]))
                break;
        for (j = 0; i < conf->num_listen && j < *num; j++)
            if (listen_same(&set[j].addr, &conf->listen[i]))
                break;
        if (i == conf->num_listen || j < *num || *num == max) {
            /* Not ours to serve (or a second socket for one address): a
             * socket kept open but never accepted on would take connections
             * nobody answers. */
            if (fcntl(fd, F_GETFD) >= 0)
                log_info("closing inherited socket (fd %d): no listen entry has its address", fd);
            close(fd);
            continue;
        }
        int fl = fcntl(fd, F_GETFL);
        if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 || fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
            log_warn("fcntl(inherited fd %d): %s: binding %s instead", fd, strerror(errno),
                     conf->listen[i].spec);
            close(fd);
            continue;
        }
        /* Our backlog and TCP_NODELAY (see listen_open()), whatever the
         * passer chose: a socket unit may set neither. */
        int one = 1;
        if (listen(fd, LISTEN_BACKLOG) < 0)
            log_warn("listen(inherited %s): %s", conf->listen[i].spec, strerror(errno));
        if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
            log_warn("setsockopt(TCP_NODELAY) on inherited %s: %s", conf->listen[i].spec,
                     strerror(errno));
        set[*num].addr = conf->listen[i];
        set[*num].addr.spec = NULL;
        set[*num].fd = fd;
        set[*num].in_use = 0;
        (*num)++;
        adopted++;
        log_info("listening on %s (inherited socket, fd %d)", conf->listen[i].spec, fd);
    }
    return adopted;
}

void listen_fdname(const listen_sock_t *s, char *buf, size_t size)
{
    /* ':' separates names in LISTEN_FDNAMES and may not appear in one. */
    const char *host = s->addr.host[0] ? s->addr.host : (s->addr.family == AF_INET6 ? "::" : "0.0.0.0");
    size_t n = 0;
    if (s->addr.family == AF_INET6 && n + 1 < size)
        buf[n++] = '[';
    for (const char *p = host; *p && n + 1 < size; p++)
        buf[n++] = *p == ':' ? '_' : *p;
    snprintf(buf + n, size - n, "%s_%d", s->addr.family == AF_INET6 ? "]" : "", s->addr.port);
}
