/*
 * access: the access controls of the location (or host) that answers a
 * request, in nginx's order: deny, then allow (403), then limit_conn and
 * limit_req (429 with Retry-After, or the status they name), then auth
 * (401 with WWW-Authenticate, or 429 after too many failures).
 *
 * The client is handler_req_t's address: the peer after a PROXY header
 * and real_ip (real_ip.h), which the protocols resolved. The limits count
 * in the shared table the master mapped (limit_table.h, w->a.limits);
 * without one (a unit test's worker) they are not applied. Each refusal is
 * counted for /metrics (metrics_counts.h: drover_refused_total).
 */
#ifndef DROVER_ACCESS_H
#define DROVER_ACCESS_H

#include "conf.h"
#include "handler.h"
#include "response.h"

/* 1 when c has any access control at all: the fast path skips the rest. */
static inline int access_any(const conf_t *c)
{
    return c->num_allow != 0 || c->num_deny != 0 || c->auth != NULL || c->limit_req != NULL ||
           c->limit_conn != NULL;
}

/* 0: the request goes on; 1: r holds the refusal. */
int access_check(const handler_req_t *h, response_t *r, const conf_t *c);

/* A connection that registered with a limit_conn (conn.c, on close). */
void access_conn_closed(worker_t *w, uint64_t *key);

#endif
