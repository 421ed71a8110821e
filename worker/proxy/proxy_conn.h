/*
 * proxy_conn: sockets to upstream servers, and the worker's pool of idle
 * keep-alive ones.
 *
 * A worker keeps, per upstream, its servers' health (proxy_balance.h) and
 * `keepalive` idle connections. More may be idle for a moment: a
 * connection done with its response is always kept, and those above
 * `keepalive` are closed by proxy_conn_trim once unused for
 * PROXY_CONN_SURPLUS_IDLE. A load whose requests in flight swing around
 * `keepalive` (32 clients, keepalive 16) then reuses connections instead
 * of closing one and connecting another on each swing: closing at once,
 * as nginx does, made 0.29 connects per request in tests/bench/proxy.
 * HAProxy keeps its idle surplus the same way (pool-purge-delay). An idle connection stays in the
 * epoll set with the data it had in use (proxy.c keeps its exchange
 * structure with it, the entry's tag), so taking one costs no system
 * call: a server that closes an idle connection (the common way a pooled
 * one dies: an application's own idle timeout) is seen by its event, which
 * proxy.c hands to proxy_conn_idle_event. One that dies in the moment
 * between is a reset before any response byte, which the caller retries
 * (proxy.c).
 */
#ifndef DROVER_PROXY_CONN_H
#define DROVER_PROXY_CONN_H

#include "conf_upstreams.h"
#include "proxy_balance.h"
#include "worker.h"

typedef struct {
    int fd;
    int server;
    void *tag;    /* the caller's, for this connection (proxy_upstream.c: its link) */
    double since; /* w->now when it went idle */
} proxy_idle_t;

/* Seconds an idle connection above `keepalive` is kept unused. */
#define PROXY_CONN_SURPLUS_IDLE 1.0

typedef struct {
    const conf_upstream_t *conf;
    proxy_peer_t peer[CONF_UPSTREAM_SERVERS_MAX];
    proxy_idle_t *idle; /* oldest idle first, room for cap */
    size_t nidle, cap;
    /* Its rows of the shared table (upstream_table.h; proxy_metrics.h),
     * NULL without one: the upstream's own, and each server's. */
    upstream_row_t *row;
    upstream_row_t *srow[CONF_UPSTREAM_SERVERS_MAX];
} proxy_upstream_state_t;

/* The worker's state of upstream index (of the top level conf's
 * upstreams), made on first use; NULL when out of memory. */
proxy_upstream_state_t *proxy_conn_state(worker_t *w, int index);

/* A non-blocking socket connecting to server s: its fd (*pending 1 while
 * the connect is under way), or -1 with errno. */
int proxy_conn_open(const conf_upstream_server_t *s, int *pending);

/* A connect under way on fd: 1 connected, 0 not yet, -1 failed (errno). */
int proxy_conn_ready(int fd);

/* An idle connection to server i, or -1; its tag in *tag. */
int proxy_conn_take(proxy_upstream_state_t *st, int server, void **tag);

/* fd, done with a response and reusable: 1 kept idle with tag since now,
 * 0 closed (no pool: keepalive 0, or out of memory). */
int proxy_conn_put(proxy_upstream_state_t *st, int server, int fd, void *tag, double now);

/* An event (epoll events) of idle connection fd: 1 it is dead (the server
 * closed it or sent bytes it should not have), closed and out of the pool,
 * 0 it lives (an edge for room to write, say). */
int proxy_conn_idle_event(proxy_upstream_state_t *st, int fd, uint32_t events);

/* Closes, of each upstream's idle connections above keepalive, the oldest
 * that have been unused for PROXY_CONN_SURPLUS_IDLE at now, handing each
 * tag to drop(tag, arg): how many it closed. The worker calls it every
 * second. */
size_t proxy_conn_trim(worker_t *w, double now, void (*drop)(void *tag, void *arg), void *arg);

/* Closes the idle connections (the worker drains: an old generation
 * holds no upstream connection it will not use), handing each tag to
 * drop(tag, arg); the pools stay, empty. */
void proxy_conn_close_idle(worker_t *w, void (*drop)(void *tag, void *arg), void *arg);

/* Closes every idle connection (the worker exits), handing each tag to
 * drop. */
void proxy_conn_close_all(worker_t *w, void (*drop)(void *tag));

#endif
