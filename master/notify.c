/*
 * notify: see notify.h.
 *
 * The protocol is small: one datagram of "KEY=VALUE" lines to the AF_UNIX
 * socket named by $NOTIFY_SOCKET (a path, or '@' for the abstract
 * namespace). The built-in sender below speaks it, and is the default:
 * linking libsystemd for its sd_notify() loads five more libraries into
 * the master and every worker (configure.ac says how much that costs).
 * ./configure --with-libsystemd uses sd_notify() instead, which knows every
 * corner of the protocol; DROVER_NOTIFY_BUILTIN forces the built-in sender
 * even then, so that the tests exercise it (drover-next is built that way).
 */
#include "config.h"

#if defined(HAVE_LIBSYSTEMD) && !defined(DROVER_NOTIFY_BUILTIN)
#define NOTIFY_LIBSYSTEMD 1
#endif

#include "notify.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#ifdef NOTIFY_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "log.h"

unsigned long long notify_monotonic_usec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000ULL;
}

#ifndef NOTIFY_LIBSYSTEMD
/* 0, or -1 with errno. */
static int notify__send(const char *path, const char *msg)
{
    struct sockaddr_un sun;
    size_t plen = strlen(path);
    if (plen >= sizeof(sun.sun_path) || (path[0] != '/' && path[0] != '@')) {
        errno = EINVAL;
        return -1;
    }
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    memcpy(sun.sun_path, path, plen);
    if (path[0] == '@')
        sun.sun_path[0] = '\0';
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen + (path[0] == '/'));
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    ssize_t n = sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sun, len);
    int saved = errno;
    close(fd);
    errno = saved;
    return n < 0 ? -1 : 0;
}
#endif

void notify_send(const char *fmt, ...)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (path == NULL || path[0] == '\0')
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
#ifdef NOTIFY_LIBSYSTEMD
    int r = sd_notify(0, msg);
    if (r < 0)
        log_warn("sd_notify(\"%s\"): %s", path, strerror(-r));
#else
    if (notify__send(path, msg) < 0)
        log_warn("sendto(NOTIFY_SOCKET \"%s\"): %s", path, strerror(errno));
#endif
}
