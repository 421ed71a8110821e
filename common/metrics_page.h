/*
 * metrics_page: the figures behind /metrics and "drover -s top", shared
 * by the master with every worker.
 *
 * The master publishes, in one shared anonymous mapping made before the
 * first fork, the totals of the workers that have gone (retired), each
 * live worker's latest report (report.h) and its own counts (restarts,
 * reloads). A scrape adds retired and the rows up, without asking the
 * master anything. Counters therefore never go backwards: a worker that
 * dies or is replaced leaves its last report in retired in the same
 * publication that drops its row. Like status_page.h, a sequence counter
 * that is odd while the master writes lets a reader detect a torn copy (a
 * seqlock); the master is the only writer.
 *
 * The same bytes (header and rows in use) answer the control socket's
 * "metrics" command, which is what "drover -s top" reads: master and top
 * are the same binary, so the layout is shared.
 */
#ifndef DROVER_METRICS_PAGE_H
#define DROVER_METRICS_PAGE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "report.h"

#define METRICS_PAGE_MAX_WORKERS 1024

typedef enum {
    METRICS_WORKER_STARTING = 0,
    METRICS_WORKER_READY,
    METRICS_WORKER_DRAINING,
    METRICS_WORKER_RECYCLING,
} metrics_worker_state_t;

typedef struct {
    uint32_t state;        /* metrics_worker_state_t */
    uint32_t restarts;     /* of its slot */
    double uptime;         /* seconds, when published */
    report_t r;            /* its latest report: pid, slot, generation, counters */
} metrics_worker_t;

typedef struct metrics_page_s {
    uint32_t seq;
    uint32_t nworkers;     /* rows in use */
    double start_time;     /* the master's start, Unix seconds */
    double published;      /* Unix seconds */
    double last_reload_ok; /* Unix seconds; 0: none yet */
    uint32_t generation;   /* serving */
    uint32_t workers_wanted;
    uint64_t restarts[METRICS_RESTART_REASONS];
    uint64_t reloads[METRICS_RELOAD_RESULTS];
    report_t retired;      /* workers that have exited */
    metrics_worker_t workers[METRICS_PAGE_MAX_WORKERS];
} metrics_page_t;

/* The bytes of a page with n rows: what is copied and sent. */
static inline size_t metrics_page_size(uint32_t n)
{
    if (n > METRICS_PAGE_MAX_WORKERS)
        n = METRICS_PAGE_MAX_WORKERS;
    return offsetof(metrics_page_t, workers) + (size_t)n * sizeof(metrics_worker_t);
}

/* Publishes src (built by the master in private memory) into the shared pg. */
static inline void metrics_page_write(metrics_page_t *pg, const metrics_page_t *src)
{
    __atomic_add_fetch(&pg->seq, 1, __ATOMIC_ACQ_REL); /* odd: writing */
    memcpy((char *)pg + sizeof(pg->seq), (const char *)src + sizeof(src->seq),
           metrics_page_size(src->nworkers) - sizeof(pg->seq));
    __atomic_add_fetch(&pg->seq, 1, __ATOMIC_ACQ_REL); /* even: done */
}

/* Copies a consistent page into out. Returns 0, or -1 when none could be
 * taken in a few tries (the master kept writing). */
static inline int metrics_page_read(const metrics_page_t *pg, metrics_page_t *out)
{
    for (int tries = 0; tries < 8; tries++) {
        uint32_t s1 = __atomic_load_n(&pg->seq, __ATOMIC_ACQUIRE);
        if (s1 & 1)
            continue;
        uint32_t n = __atomic_load_n(&pg->nworkers, __ATOMIC_RELAXED);
        memcpy(out, pg, metrics_page_size(n));
        out->nworkers = n > METRICS_PAGE_MAX_WORKERS ? METRICS_PAGE_MAX_WORKERS : n;
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&pg->seq, __ATOMIC_RELAXED) == s1)
            return 0;
    }
    return -1;
}

#endif
