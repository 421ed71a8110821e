/*
 * access: see access.h.
 */
#include "access.h"

#include <string.h>

#include "auth.h"
#include "auth_pool.h"
#include "conf_access.h"
#include "error_page.h"
#include "limit_table.h"

static void access__count(worker_t *w, metrics_refused_t why)
{
    w->report.m.refused[why]++;
}

static int64_t access__now(const worker_t *w)
{
    return (int64_t)(w->now * 1e6);
}

static int access__limited(worker_t *w, response_t *r, int status, int64_t retry_us)
{
    response_init(r, status);
    long s = (long)((retry_us + 999999) / 1000000);
    response_addf(r, "Retry-After: %ld\r\n", s > 0 ? s : 1);
    error_page_respond(w, r);
    return 1;
}

static int access__limits(const handler_req_t *h, response_t *r, const conf_t *c)
{
    worker_t *w = h->w;
    limit_table_t *lt = w->a.limits;
    if (lt == NULL)
        return 0;
    /* The loop's clock, read once a turn: a clock_gettime per request is a
     * system call on a VM without a stable TSC (kvm-clock), which cost this
     * check a third of a small request's CPU. A turn is short next to any
     * rate's interval. */
    int64_t now = access__now(w);
    const conf_limit_t *l = c->limit_conn;
    if (l != NULL && h->conn_limit != NULL) {
        uint64_t key = limit_table_key(lt, l->zone, h->family, h->addr);
        if (*h->conn_limit != key) {
            /* One registration per connection: the one of its latest limit. */
            if (limit_table_conn(lt, key, +1, l->max, now)) {
                access__count(w, METRICS_REFUSED_LIMIT_CONN);
                return access__limited(w, r, l->status, 1000000);
            }
            access_conn_closed(w, h->conn_limit);
            *h->conn_limit = key;
        }
    }
    if ((l = c->limit_req) != NULL) {
        uint64_t key = limit_table_key(lt, l->zone, h->family, h->addr);
        int64_t interval = (int64_t)(1e6 / l->rate + 0.5), retry;
        if (limit_table_req(lt, key, now, interval > 0 ? interval : 1, l->burst, 0, &retry)) {
            access__count(w, METRICS_REFUSED_LIMIT_REQ);
            return access__limited(w, r, l->status, retry);
        }
    }
    return 0;
}

int access_check(const handler_req_t *h, response_t *r, const conf_t *c)
{
    worker_t *w = h->w;
    if ((c->num_deny > 0 && conf_value_cidr_match(c->deny, c->num_deny, h->family, h->addr)) ||
        (c->num_allow > 0 && !conf_value_cidr_match(c->allow, c->num_allow, h->family, h->addr))) {
        access__count(w, METRICS_REFUSED_ADDRESS);
        error_page_status(w, r, 403);
        return 1;
    }
    if (access__limits(h, r, c))
        return 1;
    if (c->auth == NULL)
        return 0;
    real_ip_t client;
    client.family = h->family;
    memcpy(client.addr, h->addr, h->family == AF_INET6 ? 16 : 4);
    int retry = 0;
    if (w->auth_pool == NULL && !w->auth_pool_failed && h->waiter != NULL &&
        (w->auth_pool = auth_pool_new(w->epfd, WORKER_EV_AUTH)) == NULL)
        w->auth_pool_failed = 1; /* hashed inline from now on; logged */
    switch (auth_check(&w->auth, w->a.limits, w->auth_pool, h->waiter, h->job, c->auth, h->req,
                       &client, access__now(w), &retry)) {
    case AUTH_OK:
        return 0;
    case AUTH_PENDING:
        response_init(r, 0);
        r->pending = 1;
        return 1;
    case AUTH_LIMITED:
        access__count(w, METRICS_REFUSED_AUTH_LIMITED);
        return access__limited(w, r, 429, (int64_t)retry * 1000000);
    default:
        access__count(w, METRICS_REFUSED_AUTH);
        response_init(r, 401);
        response_addf(r, "WWW-Authenticate: Basic realm=\"%s\", charset=\"UTF-8\"\r\n",
                      c->auth->realm);
        error_page_respond(w, r);
        return 1;
    }
}

void access_conn_closed(worker_t *w, uint64_t *key)
{
    if (*key != 0 && w->a.limits != NULL)
        limit_table_conn(w->a.limits, *key, -1, 0, access__now(w));
    *key = 0;
}
