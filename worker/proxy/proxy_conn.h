/*
 * proxy_conn: sockets to upstream servers, and the worker's pool of idle
 * keep-alive ones.
 *
 * A worker keeps, per upstream, its servers' health (proxy_balance.h) and
 * up to `keepalive` idle connections. An idle connection stays in the
 * epoll set as it was (proxy.c re-points it when it is reused); before it
 * is used again a peek
 * tells whether the server closed it meanwhile, which is the common way a
 * pooled connection dies (an application's own idle timeout). One that
 * dies in the moment between is a reset before any response byte, which
 * the caller retries (proxy.c).
 */
#ifndef DROVER_PROXY_CONN_H
#define DROVER_PROXY_CONN_H

#include "conf_upstreams.h"
#include "proxy_balance.h"
#include "worker.h"

typedef struct {
    int fd;
    int server;
} proxy_idle_t;

typedef struct {
    const conf_upstream_t *conf;
    proxy_peer_t peer[CONF_UPSTREAM_SERVERS_MAX];
    proxy_idle_t *idle; /* conf->keepalive of them */
    size_t nidle;
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

/* A live idle connection to server i, or -1; dead ones are closed. */
int proxy_conn_take(proxy_upstream_state_t *st, int server);

/* fd, done with a response and reusable: kept idle, or closed when the
 * pool is full. */
void proxy_conn_put(proxy_upstream_state_t *st, int server, int fd);

/* Closes every idle connection (the worker exits). */
void proxy_conn_close_all(worker_t *w);

#endif
