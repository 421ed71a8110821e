/*
 * proxy_balance: see proxy_balance.h.
 */
#include "proxy_balance.h"

static int proxy_balance__up(const proxy_peer_t *pe, double now)
{
    return pe->down_until <= now && (pe->row == NULL || !upstream_table_down(pe->row));
}

/* The smooth round robin over the servers with backup == backup. */
static int proxy_balance__round(proxy_peer_t *peers, const conf_upstream_t *u, uint64_t tried,
                                double now, int backup)
{
    int best = -1, total = 0;
    for (size_t i = 0; i < u->nservers && i < 64; i++) {
        if ((u->servers[i].backup != 0) != backup || (tried >> i & 1) ||
            !proxy_balance__up(&peers[i], now))
            continue;
        peers[i].current += u->servers[i].weight;
        total += u->servers[i].weight;
        if (best < 0 || peers[i].current > peers[best].current)
            best = (int)i;
    }
    if (best >= 0)
        peers[best].current -= total;
    return best;
}

int proxy_balance_pick(proxy_peer_t *peers, const conf_upstream_t *u, uint64_t tried, double now)
{
    int i = proxy_balance__round(peers, u, tried, now, 0);
    return i >= 0 ? i : proxy_balance__round(peers, u, tried, now, 1);
}

int proxy_balance_failed(proxy_peer_t *peers, const conf_upstream_t *u, int i, double now)
{
    proxy_peer_t *pe = &peers[i];
    /* One server is never taken out (nginx ignores max_fails there too):
   * there is nothing else to send the request to. */
    if (u->max_fails <= 0 || u->nservers <= 1)
        return 0;
    if (pe->fails == 0 || now - pe->fail_start > u->fail_timeout) {
        pe->fails = 0;
        pe->fail_start = now;
    }
    if (++pe->fails < u->max_fails)
        return 0;
    pe->fails = 0;
    pe->down_until = now + u->fail_timeout;
    return 1;
}

void proxy_balance_ok(proxy_peer_t *peers, int i)
{
    peers[i].fails = 0;
}
