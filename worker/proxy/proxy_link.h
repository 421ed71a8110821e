/*
 * proxy_link: an upstream socket's epoll data, and its life between the
 * exchanges that use it.
 *
 * A link stays with its socket from the connect to the close, across the
 * requests that use the connection and the times it idles in the pool
 * (proxy_conn.h), so a pooled connection is taken without a system call
 * (no peek, no EPOLL_CTL_MOD) and an event finds whichever exchange holds
 * the socket now, or, idle, tells the pool that the server closed it.
 * Links are never freed while the worker runs (a free list keeps them):
 * an event of the same epoll batch may name one whose socket was closed.
 */
#ifndef DROVER_PROXY_LINK_H
#define DROVER_PROXY_LINK_H

#include <stdint.h>

#include "proxy_conn.h"
#include "worker.h"

struct proxy_s;

typedef struct proxy_link_s {
    int fd;
    int pooled;            /* idle in the pool */
    struct proxy_s *owner; /* the exchange using it; NULL: pooled or free */
    proxy_upstream_state_t *st;
    struct proxy_link_s *next_free;
} proxy_link_t;

/* A link for fd, a new connection of owner to an upstream of st, in the
 * worker's epoll set (edge-triggered, both ways): NULL when out of memory
 * or epoll_ctl failed (logged; fd is left to the caller). */
proxy_link_t *proxy_link_add(worker_t *w, int fd, struct proxy_s *owner,
                             proxy_upstream_state_t *st);

/* A pooled link (proxy_conn_take's tag) is owner's now. */
void proxy_link_take(proxy_link_t *l, struct proxy_s *owner);

/* The exchange is done with l's socket (to server of its upstream): with
 * pool, it goes idle into the pool, unless the pool has no room or the
 * worker drains; otherwise it is closed. */
void proxy_link_release(worker_t *w, proxy_link_t *l, int server, int pool);

/* An event (epoll events) of an upstream socket (epoll data d): wakes its
 * exchange (sets woken and what the read side learns, queues the client
 * connection), or checks an idle one (proxy_conn_idle_event). */
void proxy_link_event(worker_t *w, uint64_t d, uint32_t events);

/* The worker's second: the pool's unused surplus closed (proxy_conn_trim). */
void proxy_link_tick(worker_t *w);

/* The worker drains: its idle upstream connections close. */
void proxy_link_drain(worker_t *w);

/* The worker exits: the pool closed, the links freed. */
void proxy_link_worker_exit(worker_t *w);

#endif
