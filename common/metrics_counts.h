/*
 * metrics_counts: what a worker counts for /metrics and "drover -s top"
 * beyond report_t's totals, and the label sets they are counted by.
 *
 * A worker counts into the metrics_counts_t of its report_t (report.h),
 * sent to the master at least once a second; metrics_page.h says how the
 * master publishes them.
 *
 * Label sets are array dimensions of metrics_counts_t (method x status
 * class today). Another label (a virtual host, say) is one more dimension
 * here and one more loop in worker/metrics.c's renderer.
 */
#ifndef DROVER_METRICS_COUNTS_H
#define DROVER_METRICS_COUNTS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Methods are counted by http_parser.h's HTTP_METHOD_* (0, UNKNOWN, and a
 * request that could not be parsed: "other"), so the label set is bounded
 * whatever clients send. */
#define METRICS_METHODS 10
#define METRICS_CLASSES 6   /* [1]..[5]: 1xx..5xx */

/* Request duration buckets (upper bounds, microseconds): a static server
 * answers from memory in tens of microseconds, a slow client takes
 * seconds. */
#define METRICS_BUCKETS 16
static const uint32_t metrics_bucket_us[METRICS_BUCKETS] = {
    100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000,
    250000, 500000, 1000000, 2500000, 5000000, 10000000,
};

typedef enum {
    METRICS_RESTART_CRASH = 0,
    METRICS_RESTART_HANG,
    METRICS_RESTART_RECYCLE,
    METRICS_RESTART_REASONS,
} metrics_restart_t;

typedef enum {
    METRICS_RELOAD_OK = 0,
    METRICS_RELOAD_REFUSED,   /* the new configuration did not load */
    METRICS_RELOAD_ABORTED,   /* its workers did not come up */
    METRICS_RELOAD_RESULTS,
} metrics_reload_t;

typedef enum {
    METRICS_CONN_READING = 0, /* a request head (or body) under way */
    METRICS_CONN_WRITING,     /* a response under way, or closing */
    METRICS_CONN_IDLE,        /* between requests, or nothing sent yet */
    METRICS_CONN_STATES,
} metrics_conn_t;

/* Requests refused by access control (worker/access/access.c). */
typedef enum {
    METRICS_REFUSED_AUTH = 0,     /* 401: no or wrong credentials */
    METRICS_REFUSED_AUTH_LIMITED, /* 429: too many failed attempts */
    METRICS_REFUSED_ADDRESS,      /* 403: allow/deny */
    METRICS_REFUSED_LIMIT_REQ,    /* limit_req */
    METRICS_REFUSED_LIMIT_CONN,   /* limit_conn */
    METRICS_REFUSED_REASONS,
} metrics_refused_t;

/* What a worker counts. Totals, never deltas: a lost report costs
 * nothing but a second's delay. */
typedef struct {
    uint64_t requests[METRICS_METHODS][METRICS_CLASSES];
    uint64_t duration[METRICS_BUCKETS + 1]; /* per bucket; [METRICS_BUCKETS]: above the last */
    uint64_t duration_ns;                   /* their sum */
    uint64_t request_bytes;                 /* heads and the bodies read */
    uint64_t cache_hits, cache_misses;      /* file cache lookups */
    uint64_t refused[METRICS_REFUSED_REASONS];
} metrics_counts_t;

static inline void metrics_counts_add(metrics_counts_t *a, const metrics_counts_t *b)
{
    for (int i = 0; i < METRICS_METHODS; i++)
        for (int k = 0; k < METRICS_CLASSES; k++)
            a->requests[i][k] += b->requests[i][k];
    for (int i = 0; i <= METRICS_BUCKETS; i++)
        a->duration[i] += b->duration[i];
    a->duration_ns += b->duration_ns;
    a->request_bytes += b->request_bytes;
    a->cache_hits += b->cache_hits;
    a->cache_misses += b->cache_misses;
    for (int i = 0; i < METRICS_REFUSED_REASONS; i++)
        a->refused[i] += b->refused[i];
}

/* The bucket of a duration: most requests land in the first, after one
 * comparison. */
static inline unsigned metrics_bucket(uint64_t ns)
{
    unsigned b = 0;
    while (b < METRICS_BUCKETS && ns > (uint64_t)metrics_bucket_us[b] * 1000)
        b++;
    return b;
}

#endif
