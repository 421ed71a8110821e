/*
 * proxy_metrics: what the reverse proxy counts, into the shared upstream
 * table (upstream_table.h), for /metrics (metrics_upstreams.c renders it).
 *
 * proxy.c calls these at a few points of an exchange: each try of a
 * server (proxy_metrics_try), each failure that passive health counts
 * (proxy_metrics_failed, which is where proxy_balance_failed is called
 * from), each 502 or 504 drover answers itself (proxy_metrics_gateway),
 * and the end of the exchange (proxy_metrics_end). A worker without the
 * table (it could not be mapped) counts nothing and balances as before.
 *
 * The response time of a server is from the start of its try (the connect,
 * or the reuse of a pooled connection) to the end of the exchange, and is
 * observed once per response head received, so a server's histogram count
 * equals the sum of its responses_total.
 */
#ifndef DROVER_PROXY_METRICS_H
#define DROVER_PROXY_METRICS_H

#include "proxy_conn.h"
#include "worker.h"

/* One exchange's part: kept in its proxy_t. */
typedef struct {
    double since; /* the current try's start, monotonic seconds */
    int tries;
} proxy_tele_t;

/* Finds st's rows (st is new: proxy_conn_state) and points its peers at
 * their servers' rows, so active health applies to them. */
void proxy_metrics_attach(worker_t *w, proxy_upstream_state_t *st);

/* Server i is tried (again, when t->tries > 0: a retry). */
void proxy_metrics_try(proxy_upstream_state_t *st, int i, proxy_tele_t *t);

/* Server i failed (refused, reset, timed out); connecting: before the
 * connection was made. Counts it for passive health (proxy_balance_failed)
 * and returns what that returns: 1 when it took the server out. */
int proxy_metrics_failed(proxy_upstream_state_t *st, int i, int connecting, double now);

/* drover answers the client status (502 and 504 are counted). */
void proxy_metrics_gateway(proxy_upstream_state_t *st, int status);

/* The exchange ends; status: the response head's from server i, or 0. */
void proxy_metrics_end(proxy_upstream_state_t *st, int i, int status, const proxy_tele_t *t);

#endif
