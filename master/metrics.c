/*
 * metrics: the master's side of the metrics page (metrics_page.h).
 *
 * The page is rebuilt from master_t whenever the status is published
 * (after a report, a spawn, a reap, a reload): the workers' latest reports
 * as they are, and the master's own counts. It is built in private memory
 * and copied into the shared page under the seqlock, so a reader's retry
 * window is one memcpy, not the building.
 */
#include "config.h"

#include <time.h>

#include "internal.h"

double metrics_wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint32_t metrics__state(const master_worker_t *w)
{
    if (w->state == WORKER_DRAINING)
        return METRICS_WORKER_DRAINING;
    if (w->state == WORKER_READY)
        return w->recycling ? METRICS_WORKER_RECYCLING : METRICS_WORKER_READY;
    return METRICS_WORKER_STARTING;
}

void metrics_publish(master_t *m)
{
    static metrics_page_t pg; /* large; one per process */
    if (m->metrics == NULL)
        return;
    double now = master__now();
    pg.start_time = m->started_wall;
    pg.published = metrics_wall();
    pg.last_reload_ok = m->last_reload_ok;
    pg.generation = m->generation;
    pg.workers_wanted = (uint32_t)m->target_workers;
    memcpy(pg.restarts, m->restarts_by, sizeof(pg.restarts));
    memcpy(pg.reloads, m->reloads_by, sizeof(pg.reloads));
    pg.retired = m->retired;
    uint32_t n = 0;
    for (size_t i = 0; i < MASTER_MAX_WORKERS && n < METRICS_PAGE_MAX_WORKERS; i++) {
        const master_worker_t *w = &m->workers[i];
        if (w->pid == 0)
            continue;
        metrics_worker_t *row = &pg.workers[n++];
        row->state = metrics__state(w);
        row->restarts = w->slot < MASTER_MAX_WORKERS ? m->slots[w->slot].restarts : 0;
        row->uptime = now - w->started;
        row->r = w->report;
        /* Until its first report, a worker's row names it all the same. */
        row->r.pid = (int32_t)w->pid;
        row->r.slot = w->slot;
        row->r.generation = w->generation;
    }
    pg.nworkers = n;
    metrics_page_write(m->metrics, &pg);
}
