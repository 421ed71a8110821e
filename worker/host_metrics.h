/*
 * host_metrics: a worker's per-host counts (common/metrics_hosts.h says
 * how they reach /metrics).
 */
#ifndef DROVER_HOST_METRICS_H
#define DROVER_HOST_METRICS_H

#include <stdint.h>

#include "conn.h"
#include "host.h"
#include "metrics_hosts.h"
#include "worker.h"

/* A response framed for host h (NULL: none, not counted). */
static inline void host_metrics_count_host(host_t *h, int status)
{
    if (h != NULL && status >= 100 && status < 600)
        h->metrics_requests[status / 100]++;
}

/* A response framed on c (HTTP/1): count it for the host that answered. */
static inline void host_metrics_count(conn_t *c, int status)
{
    host_metrics_count_host(c->host, status);
}

/* n response bytes of c handed to the kernel. */
static inline void host_metrics_bytes(conn_t *c, uint64_t n)
{
    if (c->host != NULL)
        c->host->metrics_bytes += n;
}

/* Sends what the hosts counted since the queue last took their counts, a
 * few messages a call (all: as many as the queue takes, at exit); what is
 * not sent stays for the next call. */
void host_metrics_send(worker_t *w, int all);

#endif
