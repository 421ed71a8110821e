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

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "tls_ctx.h"

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

/* Each certificate's names and expiry, for its expiry gauge: known to the
 * master only (workers hold contexts, not these records). */
static void metrics__certs(const master_t *m, metrics_page_t *pg)
{
    pg->ncerts = 0;
    if (m->tls == NULL)
        return;
    for (size_t i = 0; i < m->tls->ncerts && pg->ncerts < METRICS_PAGE_CERTS; i++) {
        const tls_ctx_cert_t *c = &m->tls->certs[i];
        metrics_cert_t *out = &pg->certs[pg->ncerts++];
        size_t len = 0;
        out->names[0] = '\0';
        for (size_t j = 0; j < c->nnames && len < sizeof(out->names); j++) {
            int n = snprintf(out->names + len, sizeof(out->names) - len, "%s%s", j ? "," : "",
                             c->names[j]);
            if (n < 0)
                break;
            len += (size_t)n;
        }
        snprintf(out->key_type, sizeof(out->key_type), "%s", c->key_type);
        out->not_after = (int64_t)c->not_after;
        /* Series must be unique: a repeat of names and key type (cut names,
         * say) keeps the earliest expiry, the one that matters. */
        for (uint32_t k = 0; k + 1 < pg->ncerts; k++) {
            metrics_cert_t *o = &pg->certs[k];
            if (strcmp(o->names, out->names) == 0 && strcmp(o->key_type, out->key_type) == 0) {
                if (out->not_after < o->not_after)
                    o->not_after = out->not_after;
                pg->ncerts--;
                break;
            }
        }
    }
}

/* The per-host totals: one table for the master's life (it is one
 * process), never per worker (metrics_hosts.h). */
static metrics_hosts_t metrics__hosts;

void metrics_hosts(master_t *m, const metrics_hosts_msg_t *msg)
{
    (void)m;
    for (uint32_t i = 0; i < msg->n && i < METRICS_HOSTS_PER_MSG; i++)
        metrics_hosts_add(&metrics__hosts, &msg->rows[i]);
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
    metrics__certs(m, &pg);
    pg.hosts = metrics__hosts;
    uint32_t n = 0;
    for (size_t i = 0; i < m->workers_end && n < METRICS_PAGE_MAX_WORKERS; i++) {
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
