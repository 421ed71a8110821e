/*
 * host_metrics: see host_metrics.h.
 */
#include "config.h"

#include "host_metrics.h"

#include <mqueue.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "report.h"

static int host_metrics__busy(const host_t *h)
{
    if (h->metrics_bytes != 0)
        return 1;
    for (int k = 0; k < METRICS_CLASSES; k++)
        if (h->metrics_requests[k] != 0)
            return 1;
    return 0;
}

/* Sends msg; on success clears the counts of hosts[from..to) it carried. */
static void host_metrics__flush(worker_t *w, metrics_hosts_msg_t *msg, size_t from, size_t to)
{
    if (msg->n == 0)
        return;
    if (mq_send(w->a.mq, (const char *)msg, sizeof(*msg), 0) == 0) {
        for (size_t i = from; i < to; i++) {
            host_t *h = &w->hosts->hosts[i];
            memset(h->metrics_requests, 0, sizeof(h->metrics_requests));
            h->metrics_bytes = 0;
        }
    }
    msg->n = 0;
}

void host_metrics_send(worker_t *w)
{
    if (w->hosts == NULL)
        return;
    metrics_hosts_msg_t msg;
    memset(&msg, 0, sizeof(msg));
    msg.type = REPORT_HOSTS;
    msg.pid = (int32_t)getpid();
    size_t from = 0;
    for (size_t i = 0; i < w->hosts->n; i++) {
        const host_t *h = &w->hosts->hosts[i];
        if (!host_metrics__busy(h))
            continue;
        if (msg.n == METRICS_HOSTS_PER_MSG) {
            host_metrics__flush(w, &msg, from, i);
            from = i;
        }
        metrics_host_t *r = &msg.rows[msg.n++];
        memset(r->name, 0, sizeof(r->name));
        snprintf(r->name, sizeof(r->name), "%s", h->name[0] != '\0' ? h->name : METRICS_HOST_DEFAULT);
        memcpy(r->requests, h->metrics_requests, sizeof(r->requests));
        r->bytes = h->metrics_bytes;
    }
    host_metrics__flush(w, &msg, from, w->hosts->n);
}
