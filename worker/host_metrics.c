/*
 * host_metrics: see host_metrics.h.
 */
#include "config.h"

#include "host_metrics.h"

#include <errno.h>
#include <mqueue.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "report.h"

/* Messages per report while running: the queue (REPORT_QUEUE_MAXMSG) is
 * shared by every worker's reports, so a server of many busy hosts sends
 * them in turns rather than crowd the reports out; what waits is kept. */
#define HOST_METRICS_MSGS_PER_TICK 2

static int host_metrics__busy(const host_t *h)
{
    if (h->metrics_bytes != 0)
        return 1;
    for (int k = 0; k < METRICS_CLASSES; k++)
        if (h->metrics_requests[k] != 0)
            return 1;
    return 0;
}

/* Sends msg; on success clears the counts of the hosts it carried (idx).
 * Returns 0, or -1 when the queue refused it (they stay to be sent). */
static int host_metrics__flush(worker_t *w, metrics_hosts_msg_t *msg, const size_t *idx)
{
    int rc = 0;
    if (msg->n == 0)
        return 0;
    if (mq_send(w->a.mq, (const char *)msg, sizeof(*msg), 0) == 0) {
        for (uint32_t j = 0; j < msg->n; j++) {
            host_t *h = &w->hosts->hosts[idx[j]];
            memset(h->metrics_requests, 0, sizeof(h->metrics_requests));
            h->metrics_bytes = 0;
        }
    } else {
        rc = -1; /* EAGAIN: the queue is full; anything else is no better */
    }
    msg->n = 0;
    return rc;
}

void host_metrics_send(worker_t *w, int all)
{
    host_set_t *s = w->hosts;
    if (s == NULL || s->n == 0)
        return;
    metrics_hosts_msg_t msg;
    size_t idx[METRICS_HOSTS_PER_MSG];
    memset(&msg, 0, sizeof(msg));
    msg.type = REPORT_HOSTS;
    msg.pid = (int32_t)getpid();
    int sent = 0;
    size_t i = s->metrics_next % s->n;
    /* One lap at most, from where the last report stopped. */
    for (size_t step = 0; step < s->n; step++, i = (i + 1) % s->n) {
        const host_t *h = &s->hosts[i];
        if (!host_metrics__busy(h))
            continue;
        if (msg.n == METRICS_HOSTS_PER_MSG) {
            if (host_metrics__flush(w, &msg, idx) < 0 ||
                (++sent >= HOST_METRICS_MSGS_PER_TICK && !all))
                break;
        }
        metrics_host_t *r = &msg.rows[msg.n];
        idx[msg.n++] = i;
        memset(r->name, 0, sizeof(r->name));
        snprintf(r->name, sizeof(r->name), "%s", h->name[0] != '\0' ? h->name : METRICS_HOST_DEFAULT);
        memcpy(r->requests, h->metrics_requests, sizeof(r->requests));
        r->bytes = h->metrics_bytes;
    }
    s->metrics_next = i;
    host_metrics__flush(w, &msg, idx);
}
