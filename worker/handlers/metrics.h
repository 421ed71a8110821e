/*
 * metrics: what a worker counts for /metrics, and the /metrics page
 * itself (Prometheus text format 0.0.4), served to the addresses in
 * metrics.allow from the master's shared metrics page
 * (common/metrics_page.h) without asking the master anything.
 *
 * Counting is inline and cheap, for every request: one array increment
 * when a response is framed, and at its end one clock_gettime
 * (CLOCK_MONOTONIC, a vDSO call of some 20 ns; the coarse clock's 4 ms
 * would put every request in one bucket) and a bucket found by a short
 * loop that usually stops at the first bound. A request's time runs from
 * the loop turn in which its head was read (w->now: the bytes were there
 * when epoll_wait returned) to the moment its last byte was handed to the
 * kernel.
 */
#ifndef DROVER_METRICS_H
#define DROVER_METRICS_H

#include <stdint.h>
#include <time.h>

#include "handler.h"
#include "metrics_counts.h"
#include "report.h"
#include "response.h"
#include "worker.h"

/* A response framed: count it by method and status class, with the
 * request bytes read for it. */
static inline void metrics_count(report_t *rep, unsigned method, int status, uint64_t req_bytes)
{
    unsigned k = status >= 100 && status < 600 ? (unsigned)status / 100 : 0;
    rep->m.requests[method < METRICS_METHODS ? method : 0][k]++;
    rep->m.request_bytes += req_bytes;
}

/* A response written to its last byte: its duration since started (a
 * w->now). */
static inline void metrics_time(report_t *rep, double started)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double d = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 - started;
    uint64_t ns = d > 0 ? (uint64_t)(d * 1e9) : 0;
    rep->m.duration[metrics_bucket(ns)]++;
    rep->m.duration_ns += ns;
}

/* Before a report: the present counts (connections by state, the file
 * cache's lookups) into w->report. */
void metrics_report(worker_t *w);

/* The handler of metrics.path. */
void metrics_respond(const handler_req_t *h, response_t *r);

#endif
