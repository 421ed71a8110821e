/*
 * metrics: see metrics.h.
 *
 * The page is the sum of the master's retired totals and every live
 * worker's latest report, so it lags the truth by at most the report
 * interval (a second) and never goes backwards.
 */
#include "config.h"

#include "metrics.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "conn.h"
#include "error_page.h"
#include "file_cache.h"
#include "log.h"
#include "metrics_page.h"
#include "metrics_text.h"
#include "metrics_upstreams.h"

/* By HTTP_METHOD_* (http_parser.h); 0 is everything else. */
static const char *const metrics_method_names[METRICS_METHODS] = {
    "other", "GET", "HEAD", "OPTIONS", "POST", "PUT", "DELETE", "PATCH", "CONNECT", "TRACE",
};

static const char *const metrics_restart_names[METRICS_RESTART_REASONS] = { "crash", "hang", "recycle" };
static const char *const metrics_reload_names[METRICS_RELOAD_RESULTS] = { "ok", "refused", "aborted" };
static const char *const metrics_conn_names[METRICS_CONN_STATES] = { "reading", "writing", "idle" };

#define METRICS_OUT_SIZE (128 * 1024)

void metrics_report(worker_t *w)
{
    uint32_t n[METRICS_CONN_STATES] = { 0, 0, 0 };
    /* Every connection is on exactly one timer list (conn.h); a second's
     * walk is cheap next to the requests it counts. */
    list_t *q, *tmp;
    list_foreach_safe(q, tmp, &w->header_list.head)
        n[list_entry(q, conn_t, timer)->rlen > 0 ? METRICS_CONN_READING : METRICS_CONN_IDLE]++;
    list_foreach_safe(q, tmp, &w->keepalive_list.head)
        n[METRICS_CONN_IDLE]++;
    list_foreach_safe(q, tmp, &w->send_list.head)
        n[list_entry(q, conn_t, timer)->state == CONN_DISCARD_BODY ? METRICS_CONN_READING
                                                                    : METRICS_CONN_WRITING]++;
    list_foreach_safe(q, tmp, &w->linger_list.head)
        n[METRICS_CONN_WRITING]++;
    list_foreach_safe(q, tmp, &w->body_list.head)
        n[METRICS_CONN_READING]++; /* a request body being discarded */
    memcpy(w->report.conn_state, n, sizeof(n));
    if (w->fc != NULL)
        file_cache_stats(w->fc, &w->report.m.cache_hits, &w->report.m.cache_misses);
}

/* TLS families: only when the configuration has certificates, so a plain
 * HTTP server's page carries no empty TLS series. */
static void metrics__tls(metrics_text_t *b, const metrics_page_t *pg, const report_t *t)
{
    if (pg->ncerts == 0 && t->tls_handshakes == 0 && t->tls_handshake_failures == 0)
        return;
    metrics_text_family(b, "drover_tls_handshakes_total", "counter",
                    "TLS handshakes completed, resumed ones included.");
    metrics_text_printf(b, "drover_tls_handshakes_total %llu\n", (unsigned long long)t->tls_handshakes);
    metrics_text_family(b, "drover_tls_resumptions_total", "counter",
                    "TLS handshakes that resumed a session (ticket or cache).");
    metrics_text_printf(b, "drover_tls_resumptions_total %llu\n", (unsigned long long)t->tls_resumed);
    metrics_text_family(b, "drover_tls_handshake_failures_total", "counter", "TLS handshakes that failed.");
    metrics_text_printf(b, "drover_tls_handshake_failures_total %llu\n",
                        (unsigned long long)t->tls_handshake_failures);
    metrics_text_family(b, "drover_tls_sendfile_total", "counter",
                    "TLS connections that sent a file, by path: kTLS sendfile or read and SSL_write.");
    metrics_text_printf(b, "drover_tls_sendfile_total{path=\"ktls\"} %llu\n",
                        (unsigned long long)t->tls_sendfile_ktls);
    metrics_text_printf(b, "drover_tls_sendfile_total{path=\"fallback\"} %llu\n",
                        (unsigned long long)t->tls_sendfile_fallback);
    metrics_text_family(b, "drover_tls_certificate_expiry_timestamp_seconds", "gauge",
                    "When each certificate expires (notAfter), in Unix seconds, by its names and key type.");
    for (uint32_t i = 0; i < pg->ncerts && i < METRICS_PAGE_CERTS; i++) {
        metrics_text_printf(b, "drover_tls_certificate_expiry_timestamp_seconds{names=\"");
        metrics_text_label(b, pg->certs[i].names);
        metrics_text_printf(b, "\",key_type=\"");
        metrics_text_label(b, pg->certs[i].key_type);
        metrics_text_printf(b, "\"} %lld\n", (long long)pg->certs[i].not_after);
    }
}

/* By virtual host: rows appear as hosts answer (metrics_hosts.h bounds
 * them); the families are always there, so a dashboard finds them. */
static void metrics__hosts(metrics_text_t *b, const metrics_hosts_t *hosts)
{
    uint32_t n = hosts->n < METRICS_HOSTS ? hosts->n : METRICS_HOSTS;
    metrics_text_family(b, "drover_host_requests_total", "counter",
                    "HTTP responses by virtual host (_default: no host matched) and status class.");
    for (uint32_t i = 0; i < n; i++) {
        for (int k = 1; k < METRICS_CLASSES; k++) {
            if (hosts->rows[i].requests[k] == 0)
                continue;
            metrics_text_printf(b, "drover_host_requests_total{code=\"%dxx\",host=\"", k);
            metrics_text_label(b, hosts->rows[i].name);
            metrics_text_printf(b, "\"} %llu\n", (unsigned long long)hosts->rows[i].requests[k]);
        }
    }
    metrics_text_family(b, "drover_host_response_bytes_total", "counter",
                    "Response bytes handed to the kernel, heads included, by virtual host.");
    for (uint32_t i = 0; i < n; i++) {
        metrics_text_printf(b, "drover_host_response_bytes_total{host=\"");
        metrics_text_label(b, hosts->rows[i].name);
        metrics_text_printf(b, "\"} %llu\n", (unsigned long long)hosts->rows[i].bytes);
    }
}

/* The Prometheus text of page pg (a consistent copy). */
static void metrics__render(metrics_text_t *b, const metrics_page_t *pg)
{
    report_t t = pg->retired;
    uint32_t conns[METRICS_CONN_STATES] = { 0, 0, 0 };
    for (uint32_t i = 0; i < pg->nworkers; i++) {
        report_add(&t, &pg->workers[i].r);
        for (int s = 0; s < METRICS_CONN_STATES; s++)
            conns[s] += pg->workers[i].r.conn_state[s];
    }

    metrics_text_family(b, "drover_build_info", "gauge", "A constant 1, labelled by the version of drover.");
    metrics_text_printf(b, "drover_build_info{version=\"%s\"} 1\n", DROVER_VERSION);
    metrics_text_family(b, "drover_start_time_seconds", "gauge", "When the master started, in Unix seconds.");
    metrics_text_printf(b, "drover_start_time_seconds %.3f\n", pg->start_time);

    metrics_text_family(b, "drover_http_requests_total", "counter",
                    "HTTP responses, by request method and status class.");
    for (int m = 0; m < METRICS_METHODS; m++) {
        for (int k = 2; k < METRICS_CLASSES; k++) {
            uint64_t v = t.m.requests[m][k];
            /* GET and HEAD always, so their series exist from the start;
             * the rest once seen. */
            if (v != 0 || m == 1 || m == 2)
                metrics_text_printf(b, "drover_http_requests_total{code=\"%dxx\",method=\"%s\"} %llu\n", k,
                                    metrics_method_names[m], (unsigned long long)v);
        }
    }

    metrics_text_family(b, "drover_http_request_duration_seconds", "histogram",
                    "From the request head's arrival to the response's last byte handed to the kernel.");
    uint64_t cum = 0;
    for (int i = 0; i < METRICS_BUCKETS; i++) {
        cum += t.m.duration[i];
        metrics_text_printf(b, "drover_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
                            metrics_bucket_us[i] / 1e6, (unsigned long long)cum);
    }
    cum += t.m.duration[METRICS_BUCKETS];
    metrics_text_printf(b, "drover_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
                        (unsigned long long)cum);
    metrics_text_printf(b, "drover_http_request_duration_seconds_sum %.9f\n", (double)t.m.duration_ns / 1e9);
    metrics_text_printf(b, "drover_http_request_duration_seconds_count %llu\n", (unsigned long long)cum);

    metrics_text_family(b, "drover_http_response_bytes_total", "counter",
                    "Response bytes handed to the kernel, heads included.");
    metrics_text_printf(b, "drover_http_response_bytes_total %llu\n", (unsigned long long)t.bytes_sent);
    metrics_text_family(b, "drover_http_request_bytes_total", "counter",
                    "Request bytes read: heads and the bodies read or discarded.");
    metrics_text_printf(b, "drover_http_request_bytes_total %llu\n", (unsigned long long)t.m.request_bytes);

    metrics_text_family(b, "drover_connections", "gauge", "Open client connections, by state.");
    for (int s = 0; s < METRICS_CONN_STATES; s++)
        metrics_text_printf(b, "drover_connections{state=\"%s\"} %u\n", metrics_conn_names[s], conns[s]);
    metrics_text_family(b, "drover_connections_accepted_total", "counter", "Client connections accepted.");
    metrics_text_printf(b, "drover_connections_accepted_total %llu\n", (unsigned long long)t.accepted);

    metrics_text_family(b, "drover_workers", "gauge", "Live worker processes, by configuration generation.");
    for (uint32_t i = 0; i < pg->nworkers; i++) {
        uint32_t gen = pg->workers[i].r.generation, n = 0, seen = 0;
        for (uint32_t j = 0; j < pg->nworkers; j++) {
            if (pg->workers[j].r.generation == gen) {
                seen |= j < i; /* this generation's line is written at its first row */
                n++;
            }
        }
        if (!seen)
            metrics_text_printf(b, "drover_workers{generation=\"%u\"} %u\n", gen, n);
    }
    metrics_text_family(b, "drover_worker_restarts_total", "counter",
                    "Workers replaced: died, killed for missing heartbeats, or recycled.");
    for (int i = 0; i < METRICS_RESTART_REASONS; i++)
        metrics_text_printf(b, "drover_worker_restarts_total{reason=\"%s\"} %llu\n", metrics_restart_names[i],
                            (unsigned long long)pg->restarts[i]);
    metrics_text_family(b, "drover_reloads_total", "counter",
                    "Reloads: done, refused (bad configuration), aborted (its workers failed).");
    for (int i = 0; i < METRICS_RELOAD_RESULTS; i++)
        metrics_text_printf(b, "drover_reloads_total{result=\"%s\"} %llu\n", metrics_reload_names[i],
                            (unsigned long long)pg->reloads[i]);
    metrics_text_family(b, "drover_last_reload_success_timestamp_seconds", "gauge",
                    "When the serving configuration was loaded (the start when never reloaded).");
    metrics_text_printf(b, "drover_last_reload_success_timestamp_seconds %.3f\n",
                        pg->last_reload_ok != 0 ? pg->last_reload_ok : pg->start_time);

    metrics_text_family(b, "drover_file_cache_hits_total", "counter", "File lookups answered from the cache.");
    metrics_text_printf(b, "drover_file_cache_hits_total %llu\n", (unsigned long long)t.m.cache_hits);
    metrics_text_family(b, "drover_file_cache_misses_total", "counter", "File lookups built from disk.");
    metrics_text_printf(b, "drover_file_cache_misses_total %llu\n", (unsigned long long)t.m.cache_misses);
    static const char *const why[METRICS_REFUSED_REASONS] = {
        "auth", "auth_limited", "address", "limit_req", "limit_conn",
    };
    metrics_text_family(b, "drover_refused_total", "counter",
                    "Requests refused by access control: auth (401), auth_limited (429 after "
                    "failed logins), address (allow/deny, 403), limit_req, limit_conn.");
    for (int i = 0; i < METRICS_REFUSED_REASONS; i++)
        metrics_text_printf(b, "drover_refused_total{reason=\"%s\"} %llu\n", why[i],
                            (unsigned long long)t.m.refused[i]);
    metrics__tls(b, pg, &t);
    metrics__hosts(b, &pg->hosts);
}

void metrics_respond(const handler_req_t *h, response_t *r)
{
    worker_t *w = h->w;
    const conf_t *conf = w->a.conf;
    if (!conf_cidr_match(conf->metrics_allow, conf->num_metrics_allow, h->family, h->addr)) {
        error_page_status(w, r, 403);
        return;
    }
    if (w->a.metrics == NULL) {
        error_page_status(w, r, 503);
        return;
    }
    /* Scrapes are rare: buffers for each are cheaper than ones kept for
     * the worker's life. */
    metrics_page_t *pg = malloc(sizeof(*pg));
    size_t size = METRICS_OUT_SIZE + metrics_upstreams_size(w->a.upstreams);
    metrics_text_t b = { malloc(size), 0, size, 0 };
    int status = 500, fd = -1;
    if (pg == NULL || b.p == NULL)
        goto fail;
    if (metrics_page_read(w->a.metrics, pg) < 0) {
        status = 503;
        goto fail;
    }
    metrics__render(&b, pg);
    ssize_t up = b.full ? -1 : metrics_upstreams_render(b.p + b.len, b.size - b.len,
                                                         w->a.upstreams, conf->upstreams);
    b.full |= up < 0;
    b.len += up > 0 ? (size_t)up : 0;
    if (b.full) {
        log_error("metrics: the page does not fit in %zu bytes", size);
        goto fail;
    }
    /* Larger than the write buffer with many generations: sent like the
     * status page, from an anonymous file. */
    fd = memfd_create("drover-metrics", MFD_CLOEXEC);
    if (fd < 0 || write(fd, b.p, b.len) != (ssize_t)b.len) {
        log_error("memfd_create/write(metrics): %s", strerror(errno));
        goto fail;
    }
    free(pg);
    free(b.p);
    response_init(r, 200);
    response_addf(r, "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                     "Content-Length: %zu\r\nCache-Control: no-store\r\n", b.len);
    response_file(r, fd, 0, (uint64_t)b.len, NULL);
    return;

fail:
    if (fd >= 0)
        close(fd);
    free(pg);
    free(b.p);
    error_page_status(w, r, status);
}
