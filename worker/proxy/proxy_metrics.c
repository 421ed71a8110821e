/*
 * proxy_metrics: see proxy_metrics.h.
 */
#include "proxy_metrics.h"

#include <time.h>

#include "log.h"
#include "proxy_balance.h"
#include "upstream_table.h"

static double proxy_metrics__clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void proxy_metrics_attach(worker_t *w, proxy_upstream_state_t *st)
{
    upstream_table_t *t = w->a.upstreams;
    const conf_upstream_t *u = st->conf;
    st->row = upstream_table_find(t, u->name, NULL);
    for (size_t i = 0; i < u->nservers && i < CONF_UPSTREAM_SERVERS_MAX; i++) {
        upstream_row_t *r = upstream_table_find(t, u->name, u->servers[i].spec);
        st->srow[i] = r;
        /* The shared overflow row is never checked: its down bit is not
         * this server's. */
        st->peer[i].row = r != NULL && !upstream_table_is_other(r) ? r : NULL;
    }
    if (t != NULL && st->row == NULL)
        log_warn("proxy: upstream \"%s\" has no row in the shared table: not counted", u->name);
}

void proxy_metrics_try(proxy_upstream_state_t *st, int i, proxy_tele_t *t)
{
    t->since = proxy_metrics__clock();
    if (st->row != NULL && t->tries > 0)
        upstream_table_add(&st->row->retries, 1);
    t->tries++;
    if (st->srow[i] != NULL)
        upstream_table_add(&st->srow[i]->attempts, 1);
}

int proxy_metrics_failed(proxy_upstream_state_t *st, int i, int connecting, double now)
{
    upstream_row_t *r = st->srow[i];
    if (r != NULL && connecting)
        upstream_table_add(&r->connect_failures, 1);
    int out = proxy_balance_failed(st->peer, st->conf, i, now);
    if (out && r != NULL) {
        /* For the gauge: the latest end of any worker's verdict. */
        int64_t until = upstream_table_now() + (int64_t)(st->conf->fail_timeout * 1e6);
        int64_t was = __atomic_load_n(&r->passive_until, __ATOMIC_RELAXED);
        for (int n = 0; n < 8 && was < until; n++)
            if (__atomic_compare_exchange_n(&r->passive_until, &was, until, 0, __ATOMIC_RELAXED,
                                            __ATOMIC_RELAXED))
                break;
    }
    return out;
}

void proxy_metrics_gateway(proxy_upstream_state_t *st, int status)
{
    if (st->row != NULL && (status == 502 || status == 504))
        upstream_table_add(&st->row->gateway[status == 504], 1);
}

void proxy_metrics_end(proxy_upstream_state_t *st, int i, int status, const proxy_tele_t *t)
{
    if (st->row != NULL)
        upstream_table_add(&st->row->requests, 1);
    if (i < 0 || status < 100 || status > 599 || st->srow[i] == NULL)
        return;
    upstream_row_t *r = st->srow[i];
    double took = proxy_metrics__clock() - t->since;
    uint64_t ns = took > 0 ? (uint64_t)(took * 1e9) : 0;
    upstream_table_add(&r->responses[status / 100], 1);
    upstream_table_add(&r->duration[metrics_bucket(ns)], 1);
    upstream_table_add(&r->duration_ns, ns);
}
