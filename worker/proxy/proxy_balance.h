/*
 * proxy_balance: which server of an upstream gets the next request.
 *
 * Smooth weighted round robin (nginx's): every eligible server's current
 * weight grows by its weight, the largest is chosen and loses the total,
 * so weights 5,1,1 give a a b a c a a rather than a a a a a b c. Backup
 * servers are eligible only when no primary is. A server already tried
 * for this request (tried, a bit per server) is not eligible again.
 *
 * Passive health: max_fails failures within fail_timeout take a server out
 * for fail_timeout (max_fails 0: never). Active health: a server whose
 * shared row (upstream_table.h) the master's checks marked down is not
 * eligible either, in any worker. Pure but for that one shared word: time
 * is passed in, so the unit tests (tests/unit/check_proxy_balance.c) drive
 * it.
 */
#ifndef DROVER_PROXY_BALANCE_H
#define DROVER_PROXY_BALANCE_H

#include <stdint.h>

#include "conf_upstreams.h"
#include "upstream_table.h"

typedef struct {
    int current; /* the smooth round robin's running weight */
    int fails;   /* within the window that began at fail_start */
    double fail_start;
    double down_until; /* out until then */
    const upstream_row_t *row; /* its shared row (active checks), or NULL */
} proxy_peer_t;

/* The server to try next, or -1: every one is tried or down. */
int proxy_balance_pick(proxy_peer_t *peers, const conf_upstream_t *u, uint64_t tried, double now);

/* A failure of server i (refused, reset, timed out); returns 1 when it
 * takes the server out. */
int proxy_balance_failed(proxy_peer_t *peers, const conf_upstream_t *u, int i, double now);

/* Server i answered: its failures are forgotten. */
void proxy_balance_ok(proxy_peer_t *peers, int i);

#endif
