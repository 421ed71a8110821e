/*
 * proxy_link: see proxy_link.h.
 */
#include "proxy_link.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "log.h"
#include "proxy_upstream.h"

proxy_link_t *proxy_link_add(worker_t *w, int fd, struct proxy_s *owner,
                             proxy_upstream_state_t *st)
{
    proxy_link_t *l = w->proxy_links;
    if (l != NULL)
        w->proxy_links = l->next_free;
    else if ((l = malloc(sizeof(*l))) == NULL) {
        log_error("proxy: out of memory for an upstream connection");
        return NULL;
    }
    memset(l, 0, sizeof(*l));
    l->fd = fd;
    l->owner = owner;
    l->st = st;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                             .data.u64 = (uint64_t)(uintptr_t)l | PROXY_EV_TAG};
    if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        log_error("proxy: epoll_ctl(upstream): %s", strerror(errno));
        l->fd = -1;
        l->owner = NULL;
        l->next_free = w->proxy_links;
        w->proxy_links = l;
        return NULL;
    }
    return l;
}

static void proxy_link__free(worker_t *w, proxy_link_t *l)
{
    l->fd = -1;
    l->owner = NULL;
    l->pooled = 0;
    l->next_free = w->proxy_links;
    w->proxy_links = l;
}

void proxy_link_take(proxy_link_t *l, struct proxy_s *owner)
{
    l->pooled = 0;
    l->owner = owner;
}

void proxy_link_release(worker_t *w, proxy_link_t *l, int server, int pool)
{
    /* A pooled socket stays in the epoll set with its link as the data.
     * A draining worker keeps none: the next generation has its own. */
    if (pool && !w->draining && proxy_conn_put(l->st, server, l->fd, l, w->now)) {
        l->owner = NULL;
        l->pooled = 1;
        return;
    }
    if (!pool || w->draining)
        close(l->fd); /* else proxy_conn_put closed it */
    proxy_link__free(w, l);
}

void proxy_link_event(worker_t *w, uint64_t d, uint32_t events)
{
    proxy_link_t *l = (proxy_link_t *)(uintptr_t)(d & ~(uint64_t)3);
    proxy_t *p = l->owner;
    if (p != NULL && p->c != NULL) {
        p->woken = 1;
        if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
            p->rx_empty = 0;
        if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
            p->rx_hup = 1;
        conn_ready_push(p->c);
    } else if (l->pooled && proxy_conn_idle_event(l->st, l->fd, events)) {
        /* The server closed its idle connection: out of the pool. */
        proxy_link__free(w, l);
    }
}

/* Links stay allocated (on the free list): events of this epoll batch may
 * still name them. */
static void proxy_link__drop_idle(void *tag, void *arg)
{
    proxy_link__free(arg, tag);
}

void proxy_link_tick(worker_t *w)
{
    proxy_conn_trim(w, w->now, proxy_link__drop_idle, w);
}

void proxy_link_drain(worker_t *w)
{
    proxy_conn_close_idle(w, proxy_link__drop_idle, w);
}

static void proxy_link__drop_pooled(void *tag)
{
    free(tag);
}

void proxy_link_worker_exit(worker_t *w)
{
    proxy_conn_close_all(w, proxy_link__drop_pooled);
    while (w->proxy_links != NULL) {
        proxy_link_t *l = w->proxy_links;
        w->proxy_links = l->next_free;
        free(l);
    }
}
