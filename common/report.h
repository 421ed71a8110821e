/*
 * report: what workers tell the master over the POSIX message queue (the
 * one-byte messages of the per-worker pipes are in channel.h).
 *
 * The queue is named "/drover.<master pid>" so that a stale one can be told
 * from a live one by the pid in its name. Workers open it O_NONBLOCK: a full
 * queue drops a report rather than stall an event loop, and the next report
 * (at most a second later) carries the counters again, because counters are
 * totals, not deltas.
 */
#ifndef DROVER_REPORT_H
#define DROVER_REPORT_H

#include <stdint.h>
#include <sys/types.h>

#include "metrics_counts.h"

#define REPORT_QUEUE_PREFIX "drover."
#define REPORT_QUEUE_MAXMSG 10

typedef enum {
    REPORT_STARTED = 1,
    REPORT_COUNTERS,
    REPORT_STOPPING, /* draining or stopping: no more accepts */
    REPORT_EXITED,   /* the final counters, sent just before exit */
    REPORT_HOSTS,    /* per-host counts: a metrics_hosts_msg_t (metrics_hosts.h) */
} report_type_t;

typedef struct {
    uint32_t type;            /* report_type_t */
    int32_t pid;
    uint32_t generation;
    uint32_t slot;
    uint64_t requests;
    uint64_t bytes_sent;
    uint64_t accepted;
    uint64_t status_class[6]; /* [1]..[5]: 1xx..5xx */
    uint32_t connections;     /* open now */
    uint32_t conn_state[METRICS_CONN_STATES]; /* of those, by metrics_conn_t (a present count) */
    uint64_t h2_connections;  /* connections that spoke HTTP/2 */
    uint64_t h2_streams;      /* HTTP/2 streams (requests) opened */
    /* TLS (worker/tls.h tls_stats_t), totals like the rest. */
    uint64_t tls_handshakes;
    uint64_t tls_handshake_failures;
    uint64_t tls_resumed;
    uint64_t tls_sendfile_ktls;     /* connections that sent a file by kTLS */
    uint64_t tls_sendfile_fallback; /* ... by read + SSL_write */
    metrics_counts_t m;       /* by label, for /metrics (metrics_counts.h) */
} report_t;

/* Adds b's totals (not its connections, a present count) into a. */
static inline void report_add(report_t *a, const report_t *b)
{
    a->requests += b->requests;
    a->bytes_sent += b->bytes_sent;
    a->accepted += b->accepted;
    for (int k = 1; k < 6; k++)
        a->status_class[k] += b->status_class[k];
    a->h2_connections += b->h2_connections;
    a->h2_streams += b->h2_streams;
    a->tls_handshakes += b->tls_handshakes;
    a->tls_handshake_failures += b->tls_handshake_failures;
    a->tls_resumed += b->tls_resumed;
    a->tls_sendfile_ktls += b->tls_sendfile_ktls;
    a->tls_sendfile_fallback += b->tls_sendfile_fallback;
    metrics_counts_add(&a->m, &b->m);
}

#endif
