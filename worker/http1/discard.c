/*
 * discard: see discard.h.
 */
#include "discard.h"

#include <string.h>

#include "log.h"

/* Puts c on the body list at its deadline, the sooner of the gap limit
 * and the total limit. The list stays sorted, so expiry still only looks at
 * its head; most deadlines are the latest and go at the tail at once. */
static void discard__arm(conn_t *c)
{
    worker_t *w = c->w;
    conn_list_t *l = &w->body_list;
    double deadline = w->now + l->timeout;
    if (deadline > c->discard_until)
        deadline = c->discard_until;
    list_remove(&c->timer);
    list_t *q = l->head.prev;
    for (int n = 0; q != &l->head && n < 100000; n++, q = q->prev) {
        if (list_entry(q, conn_t, timer)->deadline <= deadline)
            break;
    }
    /* After q: insert_head on q's link puts c right behind it. */
    list_insert_head(q, &c->timer);
    c->deadline = deadline;
    c->list = l;
}

void discard_start(conn_t *c)
{
    c->state = CONN_DISCARD_BODY;
    c->discard_until = c->w->now + DISCARD_TIME;
    discard__arm(c);
}

int discard_run(conn_t *c)
{
    for (int turn = 0; turn < 64; turn++) {
        if (c->rlen > 0) {
            size_t n = c->rlen < (uint64_t)c->body_left ? c->rlen : (size_t)c->body_left;
            memmove(c->rbuf, c->rbuf + n, c->rlen - n);
            c->rlen -= n;
            c->body_left -= (int64_t)n;
            c->w->report.m.request_bytes += n; /* for /metrics */
        }
        if (c->body_left == 0)
            return 1;
        if (c->w->now >= c->discard_until) {
            log_info("client %s: request body not sent within %.0fs: closing", conn_addr(c),
                     DISCARD_TIME);
            return -1;
        }
        ssize_t r = conn_read(c);
        if (r < 0)
            return -1;
        if (r == 0)
            return 0;
        /* Progress: the gap counts from this read. */
        discard__arm(c);
    }
    /* Still coming fast: go on next turn, after the other connections (no
     * edge comes for bytes already waiting). */
    conn_ready_push(c);
    return 0;
}
