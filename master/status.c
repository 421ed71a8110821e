/*
 * status: renders the master's view of its workers (status.h).
 *
 * Counters are what the workers last reported over the message queue (at
 * least once a second); state, uptime and heartbeat age are the master's
 * own knowledge.
 *
 * Worker rows and certificates are the lists that can outgrow the buffer;
 * status_buf.h writes them a whole item at a time and keeps room for the
 * totals and the TLS counters, so the text always ends with them and the
 * JSON is always closed. A list cut short is told by its total beside it
 * ("workers" in "totals", "certificates_total").
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "status.h"
#include "status_buf.h"
#include "tls_status.h"

static const char *status__state(const master_worker_t *w)
{
    if (w->state == WORKER_DRAINING)
        return "draining";
    if (w->state == WORKER_READY)
        return w->recycling ? "recycling" : "ready";
    return "starting";
}

static void status__totals(const master_t *m, report_t *t, size_t *n)
{
    *t = m->retired;
    t->connections = 0;
    *n = 0;
    for (size_t i = 0; i < MASTER_MAX_WORKERS; i++) {
        const master_worker_t *w = &m->workers[i];
        if (w->pid == 0)
            continue;
        (*n)++;
        report_add(t, &w->report);
        t->connections += w->report.connections;
    }
}

size_t status_render_text(const master_t *m, char *buf, size_t size)
{
    status_buf_t b;
    status_buf_init(&b, buf, size);
    double now = master__now();
    report_t t;
    size_t n;
    status__totals(m, &t, &n);
    status_buf_printf(&b, "drover %s, master %ld, up %.0fs, generation %u serving, "
                          "%zu worker%s (%d wanted)\n",
                      DROVER_VERSION, (long)m->pid, now - m->started, m->generation, n,
                      n == 1 ? "" : "s", m->target_workers);
    if (m->pending != NULL)
        status_buf_printf(&b, "reload: generation %u starting\n", m->pending_generation);
    if (m->last_reload[0])
        status_buf_printf(&b, "last reload: %s\n", m->last_reload);
    if (m->last_upgrade[0])
        status_buf_printf(&b, "last upgrade: %s\n", m->last_upgrade);
    status_buf_printf(&b, "%-8s %4s %4s %-9s %8s %6s %10s %9s %12s %9s %8s\n", "pid", "slot",
                      "gen", "state", "uptime", "conns", "requests", "accepted", "bytes",
                      "heartbeat", "restarts");
    size_t shown = 0;
    for (size_t i = 0; i < MASTER_MAX_WORKERS; i++) {
        const master_worker_t *w = &m->workers[i];
        if (w->pid == 0)
            continue;
        size_t mark = status_buf_item_begin(&b);
        status_buf_printf(&b, "%-8ld %4u %4u %-9s %7.0fs %6u %10llu %9llu %12llu %8.1fs %8u\n",
                          (long)w->pid, w->slot, w->generation, status__state(w),
                          now - w->started, w->report.connections,
                          (unsigned long long)w->report.requests,
                          (unsigned long long)w->report.accepted,
                          (unsigned long long)w->report.bytes_sent, now - w->last_heartbeat,
                          w->slot < MASTER_MAX_WORKERS ? m->slots[w->slot].restarts : 0);
        if (!status_buf_item_end(&b, mark))
            break;
        shown++;
    }
    if (shown < n)
        status_buf_printf(&b, "(%zu more workers not shown)\n", n - shown);
    status_buf_printf(&b, "total: %u connections, %llu requests, %llu accepted, %llu bytes; "
                          "1xx %llu, 2xx %llu, 3xx %llu, 4xx %llu, 5xx %llu\n",
                      t.connections, (unsigned long long)t.requests, (unsigned long long)t.accepted,
                      (unsigned long long)t.bytes_sent, (unsigned long long)t.status_class[1],
                      (unsigned long long)t.status_class[2], (unsigned long long)t.status_class[3],
                      (unsigned long long)t.status_class[4], (unsigned long long)t.status_class[5]);
    tls_status_text(m->tls, m->ticket_ring, &t, &b);
    return b.len;
}

size_t status_render_json(const master_t *m, char *buf, size_t size)
{
    status_buf_t b;
    status_buf_init(&b, buf, size);
    double now = master__now();
    report_t t;
    size_t n;
    status__totals(m, &t, &n);
    status_buf_printf(&b, "{\"version\":\"%s\",\"master_pid\":%ld,\"uptime\":%.3f,\"generation\":%u,"
                          "\"workers_wanted\":%d,\"reloads\":{\"ok\":%u,\"failed\":%u},\"workers\":[",
                      DROVER_VERSION, (long)m->pid, now - m->started, m->generation,
                      m->target_workers, m->reloads_ok, m->reloads_failed);
    const char *sep = "";
    for (size_t i = 0; i < MASTER_MAX_WORKERS; i++) {
        const master_worker_t *w = &m->workers[i];
        if (w->pid == 0)
            continue;
        size_t mark = status_buf_item_begin(&b);
        status_buf_printf(&b, "%s{\"pid\":%ld,\"slot\":%u,\"generation\":%u,\"state\":\"%s\","
                              "\"uptime\":%.3f,\"connections\":%u,\"requests\":%llu,"
                              "\"accepted\":%llu,\"bytes_sent\":%llu,\"responses\":{\"1xx\":%llu,"
                              "\"2xx\":%llu,\"3xx\":%llu,\"4xx\":%llu,\"5xx\":%llu},"
                              "\"heartbeat_age\":%.3f,\"restarts\":%u}",
                          sep, (long)w->pid, w->slot, w->generation, status__state(w),
                          now - w->started, w->report.connections,
                          (unsigned long long)w->report.requests,
                          (unsigned long long)w->report.accepted,
                          (unsigned long long)w->report.bytes_sent,
                          (unsigned long long)w->report.status_class[1],
                          (unsigned long long)w->report.status_class[2],
                          (unsigned long long)w->report.status_class[3],
                          (unsigned long long)w->report.status_class[4],
                          (unsigned long long)w->report.status_class[5], now - w->last_heartbeat,
                          w->slot < MASTER_MAX_WORKERS ? m->slots[w->slot].restarts : 0);
        if (!status_buf_item_end(&b, mark))
            break;
        sep = ",";
    }
    status_buf_printf(&b, "],\"totals\":{\"workers\":%zu,\"connections\":%u,\"requests\":%llu,"
                          "\"accepted\":%llu,\"bytes_sent\":%llu,\"responses\":{\"1xx\":%llu,"
                          "\"2xx\":%llu,\"3xx\":%llu,\"4xx\":%llu,\"5xx\":%llu},"
                          "\"http2\":{\"connections\":%llu,\"streams\":%llu}}",
                      n, t.connections, (unsigned long long)t.requests,
                      (unsigned long long)t.accepted,
                      (unsigned long long)t.bytes_sent, (unsigned long long)t.status_class[1],
                      (unsigned long long)t.status_class[2], (unsigned long long)t.status_class[3],
                      (unsigned long long)t.status_class[4], (unsigned long long)t.status_class[5],
                      (unsigned long long)t.h2_connections, (unsigned long long)t.h2_streams);
    tls_status_json(m->tls, m->ticket_ring, &t, &b);
    status_buf_printf(&b, "}\n");
    return b.len;
}

void status_publish(master_t *m)
{
    static char json[sizeof(m->page->json)];
    if (m->page == NULL)
        return;
    /* The page's size, not STATUS_PAGE_SIZE: status_page_write would cut
     * the rest, closing brackets included. */
    size_t n = status_render_json(m, json, sizeof(json));
    status_page_write(m->page, json, n);
    m->status_dirty = 0;
}
