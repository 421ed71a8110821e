/*
 * proxy_conn: see proxy_conn.h.
 */
#include "proxy_conn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "proxy_metrics.h"

/* The worker's upstream states, in the order of the top level's. */
typedef struct proxy_conns_s {
    proxy_upstream_state_t *ups;
    size_t n;
} proxy_conns_t;

proxy_upstream_state_t *proxy_conn_state(worker_t *w, int index)
{
    const conf_upstreams_t *u = w->a.conf->upstreams;
    if (u == NULL || index < 0 || (size_t)index >= u->n)
        return NULL;
    if (w->proxy == NULL) {
        proxy_conns_t *pc = calloc(1, sizeof(*pc));
        if (pc == NULL || (pc->ups = calloc(u->n, sizeof(*pc->ups))) == NULL) {
            free(pc);
            log_error("proxy: out of memory for the upstreams' state");
            return NULL;
        }
        pc->n = u->n;
        w->proxy = pc;
    }
    proxy_upstream_state_t *st = &w->proxy->ups[index];
    if (st->conf == NULL) {
        st->conf = &u->items[index];
        if (st->conf->keepalive > 0 &&
            (st->idle = calloc((size_t)st->conf->keepalive, sizeof(*st->idle))) != NULL)
            st->cap = (size_t)st->conf->keepalive;
        /* No pool (out of memory) only costs a connect per request. */
        proxy_metrics_attach(w, st);
    }
    return st;
}

int proxy_conn_open(const conf_upstream_server_t *s, int *pending)
{
    int fd = socket(s->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    *pending = 0;
    if (connect(fd, (const struct sockaddr *)&s->addr, s->addr_len) == 0)
        return fd;
    /* A unix socket whose listener's backlog is full says EAGAIN: as
   * good as refused, the caller tries the next server. */
    if (errno == EINPROGRESS) {
        *pending = 1;
        return fd;
    }
    int e = errno;
    close(fd);
    errno = e;
    return -1;
}

int proxy_conn_ready(int fd)
{
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        return -1;
    if (err != 0) {
        errno = err;
        return -1;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0)
        return 1;
    return errno == ENOTCONN ? 0 : -1;
}

/* Out of the pool, keeping the others in the order they went idle: the
 * oldest are the ones proxy_conn_trim closes. */
static void proxy_conn__remove(proxy_upstream_state_t *st, size_t i)
{
    memmove(&st->idle[i], &st->idle[i + 1], (st->nidle - i - 1) * sizeof(*st->idle));
    st->nidle--;
}

int proxy_conn_take(proxy_upstream_state_t *st, int server, void **tag)
{
    /* The newest first: the one least likely to have met the server's
     * idle timeout, and the one that leaves the oldest to the trim. */
    for (size_t i = st->nidle; i-- > 0;) {
        if (st->idle[i].server != server)
            continue;
        int fd = st->idle[i].fd;
        *tag = st->idle[i].tag;
        proxy_conn__remove(st, i);
        return fd;
    }
    return -1;
}

int proxy_conn_put(proxy_upstream_state_t *st, int server, int fd, void *tag, double now)
{
    if (st->idle == NULL) {
        close(fd);
        return 0;
    }
    if (st->nidle == st->cap) {
        /* Above keepalive: kept until proxy_conn_trim finds it unused for
         * PROXY_CONN_SURPLUS_IDLE. The surplus is bounded by the requests
         * that were in flight at once, whose connections these are. */
        proxy_idle_t *n = realloc(st->idle, st->cap * 2 * sizeof(*n));
        if (n == NULL) {
            close(fd);
            return 0;
        }
        st->idle = n;
        st->cap *= 2;
    }
    st->idle[st->nidle].fd = fd;
    st->idle[st->nidle].server = server;
    st->idle[st->nidle].tag = tag;
    st->idle[st->nidle].since = now;
    st->nidle++;
    return 1;
}

int proxy_conn_idle_event(proxy_upstream_state_t *st, int fd, uint32_t events)
{
    if (!(events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
        return 0;
    char b;
    ssize_t n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return 0;
    for (size_t i = 0; i < st->nidle; i++)
        if (st->idle[i].fd == fd) {
            proxy_conn__remove(st, i);
            break;
        }
    close(fd);
    return 1;
}

size_t proxy_conn_trim(worker_t *w, double now, void (*drop)(void *tag, void *arg), void *arg)
{
    size_t closed = 0;
    if (w->proxy == NULL)
        return 0;
    for (size_t i = 0; i < w->proxy->n; i++) {
        proxy_upstream_state_t *st = &w->proxy->ups[i];
        size_t keep = st->conf != NULL ? (size_t)st->conf->keepalive : 0;
        size_t n = 0;
        /* The oldest idle come first; of the surplus, those unused for
         * PROXY_CONN_SURPLUS_IDLE go. */
        while (st->nidle - n > keep && st->idle[n].since + PROXY_CONN_SURPLUS_IDLE <= now) {
            close(st->idle[n].fd);
            drop(st->idle[n].tag, arg);
            n++;
        }
        if (n > 0) {
            memmove(st->idle, st->idle + n, (st->nidle - n) * sizeof(*st->idle));
            st->nidle -= n;
            closed += n;
        }
    }
    return closed;
}

void proxy_conn_close_idle(worker_t *w, void (*drop)(void *tag, void *arg), void *arg)
{
    if (w->proxy == NULL)
        return;
    for (size_t i = 0; i < w->proxy->n; i++) {
        proxy_upstream_state_t *st = &w->proxy->ups[i];
        for (size_t j = 0; j < st->nidle; j++) {
            close(st->idle[j].fd);
            drop(st->idle[j].tag, arg);
        }
        st->nidle = 0;
    }
}

void proxy_conn_close_all(worker_t *w, void (*drop)(void *tag))
{
    if (w->proxy == NULL)
        return;
    for (size_t i = 0; i < w->proxy->n; i++) {
        proxy_upstream_state_t *st = &w->proxy->ups[i];
        for (size_t j = 0; j < st->nidle; j++) {
            close(st->idle[j].fd);
            drop(st->idle[j].tag);
        }
        st->nidle = 0;
        free(st->idle);
        st->idle = NULL;
        st->cap = 0;
    }
    free(w->proxy->ups);
    free(w->proxy);
    w->proxy = NULL;
}
