/*
 * metrics_upstreams: see metrics_upstreams.h.
 */
#include "metrics_upstreams.h"

#include <stdio.h>

#include "metrics_text.h"

/* Per row, more than any row writes (a server's histogram is 19 lines). */
#define METRICS_UPSTREAMS_ROW_BYTES 4096


/* Opens a sample: name{upstream="..."[,server="..."]; the caller adds
 * any further labels, the closing brace and the value. */
static void metrics_upstreams__start(metrics_text_t *b, const char *name,
                                     const upstream_row_t *r, int server)
{
    metrics_text_printf(b, "%s{upstream=\"", name);
    metrics_text_label(b, r->upstream);
    if (server) {
        metrics_text_printf(b, "\",server=\"");
        metrics_text_label(b, r->server);
    }
    metrics_text_printf(b, "\"");
}

static void metrics_upstreams__counter(metrics_text_t *b, const char *name,
                                       const upstream_row_t *r, int server, const uint64_t *v)
{
    metrics_upstreams__start(b, name, r, server);
    metrics_text_printf(b, "} %llu\n", (unsigned long long)upstream_table_get(v));
}

/* Rows of one kind: the upstreams' own (server 0) or the servers'. The
 * overflow row is both. */
static int metrics_upstreams__is(const upstream_row_t *r, int server)
{
    return upstream_table_is_other(r) || (r->server[0] != '\0') == (server != 0);
}

static void metrics_upstreams__histogram(metrics_text_t *b, const upstream_row_t *r)
{
    uint64_t cum = 0;
    for (int i = 0; i <= METRICS_BUCKETS; i++) {
        cum += upstream_table_get(&r->duration[i]);
        metrics_upstreams__start(b, "drover_upstream_response_duration_seconds_bucket", r, 1);
        if (i < METRICS_BUCKETS)
            metrics_text_printf(b, ",le=\"%g\"} %llu\n", metrics_bucket_us[i] / 1e6,
                                      (unsigned long long)cum);
        else
            metrics_text_printf(b, ",le=\"+Inf\"} %llu\n", (unsigned long long)cum);
    }
    metrics_upstreams__start(b, "drover_upstream_response_duration_seconds_sum", r, 1);
    metrics_text_printf(b, "} %.9f\n", (double)upstream_table_get(&r->duration_ns) / 1e9);
    metrics_upstreams__start(b, "drover_upstream_response_duration_seconds_count", r, 1);
    metrics_text_printf(b, "} %llu\n", (unsigned long long)cum);
}

/* The gauge, for the servers of the worker's own configuration. */
static void metrics_upstreams__down(metrics_text_t *b, upstream_table_t *t,
                                    const conf_upstreams_t *serving)
{
    int64_t now = upstream_table_now();
    metrics_text_family(b, "drover_upstream_server_down", "gauge",
                              "1 when a server is taken out: by the active health checks "
                              "(check=\"active\", servers with health checks only) or by "
                              "failures of requests within fail_timeout in any worker "
                              "(check=\"passive\").");
    for (size_t i = 0; serving != NULL && i < serving->n; i++) {
        const conf_upstream_t *u = &serving->items[i];
        for (size_t j = 0; j < u->nservers; j++) {
            const upstream_row_t *r = upstream_table_find(t, u->name, u->servers[j].spec);
            if (r == NULL || upstream_table_is_other(r))
                continue;
            if (__atomic_load_n(&r->checked, __ATOMIC_RELAXED)) {
                metrics_upstreams__start(b, "drover_upstream_server_down", r, 1);
                metrics_text_printf(b, ",check=\"active\"} %d\n", upstream_table_down(r));
            }
            int64_t until = __atomic_load_n(&r->passive_until, __ATOMIC_RELAXED);
            metrics_upstreams__start(b, "drover_upstream_server_down", r, 1);
            metrics_text_printf(b, ",check=\"passive\"} %d\n", until > now);
        }
    }
}

size_t metrics_upstreams_size(const upstream_table_t *t)
{
    if (t == NULL)
        return 0;
    uint32_t n = __atomic_load_n(&t->nrows, __ATOMIC_ACQUIRE);
    return 4096 + (size_t)(n > UPSTREAM_TABLE_ROWS ? UPSTREAM_TABLE_ROWS : n) *
                      METRICS_UPSTREAMS_ROW_BYTES;
}

ssize_t metrics_upstreams_render(char *out, size_t size, upstream_table_t *t,
                                 const conf_upstreams_t *serving)
{
    metrics_text_t b = { out, 0, size, 0 };
    if (t == NULL)
        return 0;
    uint32_t n = __atomic_load_n(&t->nrows, __ATOMIC_ACQUIRE);
    if (n > UPSTREAM_TABLE_ROWS)
        n = UPSTREAM_TABLE_ROWS;
    const upstream_row_t *rows = t->rows;

    metrics_text_family(&b, "drover_upstream_requests_total", "counter",
                              "Client requests forwarded to an upstream, counted when they end.");
    for (uint32_t i = 0; i < n; i++)
        if (metrics_upstreams__is(&rows[i], 0))
            metrics_upstreams__counter(&b, "drover_upstream_requests_total", &rows[i], 0,
                                       &rows[i].requests);
    metrics_text_family(&b, "drover_upstream_retries_total", "counter",
                              "Tries of a server after a request's first (the next server, or "
                              "a fresh connection for a pooled one that died).");
    for (uint32_t i = 0; i < n; i++)
        if (metrics_upstreams__is(&rows[i], 0))
            metrics_upstreams__counter(&b, "drover_upstream_retries_total", &rows[i], 0,
                                       &rows[i].retries);
    metrics_text_family(&b, "drover_upstream_gateway_errors_total", "counter",
                              "Requests drover answered 502 (no server left, a bad response "
                              "head) or 504 (a timeout before the response head) itself.");
    for (uint32_t i = 0; i < n; i++) {
        if (!metrics_upstreams__is(&rows[i], 0))
            continue;
        for (int k = 0; k < 2; k++) {
            metrics_upstreams__start(&b, "drover_upstream_gateway_errors_total", &rows[i], 0);
            metrics_text_printf(&b, ",code=\"%d\"} %llu\n", k ? 504 : 502,
                                      (unsigned long long)upstream_table_get(&rows[i].gateway[k]));
        }
    }

    metrics_text_family(&b, "drover_upstream_attempts_total", "counter",
                              "Tries of a server: a connect, or a pooled connection reused; "
                              "retries included.");
    for (uint32_t i = 0; i < n; i++)
        if (metrics_upstreams__is(&rows[i], 1))
            metrics_upstreams__counter(&b, "drover_upstream_attempts_total", &rows[i], 1,
                                       &rows[i].attempts);
    metrics_text_family(&b, "drover_upstream_responses_total", "counter",
                              "Response heads received from a server, by status class.");
    for (uint32_t i = 0; i < n; i++) {
        if (!metrics_upstreams__is(&rows[i], 1))
            continue;
        for (int k = 1; k < METRICS_CLASSES; k++) {
            uint64_t v = upstream_table_get(&rows[i].responses[k]);
            if (v == 0 && k != 2)
                continue; /* 2xx always, so the series exists from the start */
            metrics_upstreams__start(&b, "drover_upstream_responses_total", &rows[i], 1);
            metrics_text_printf(&b, ",code=\"%dxx\"} %llu\n", k, (unsigned long long)v);
        }
    }
    metrics_text_family(&b, "drover_upstream_response_duration_seconds", "histogram",
                              "From the start of a server's try (connect or pooled reuse) to "
                              "the end of its response, per response head received.");
    for (uint32_t i = 0; i < n; i++)
        if (metrics_upstreams__is(&rows[i], 1))
            metrics_upstreams__histogram(&b, &rows[i]);
    metrics_text_family(&b, "drover_upstream_connect_failures_total", "counter",
                              "Connects to a server that were refused, failed or timed out.");
    for (uint32_t i = 0; i < n; i++)
        if (metrics_upstreams__is(&rows[i], 1))
            metrics_upstreams__counter(&b, "drover_upstream_connect_failures_total", &rows[i], 1,
                                       &rows[i].connect_failures);
    metrics_text_family(&b, "drover_upstream_health_checks_total", "counter",
                              "Active health checks of a server, by result.");
    for (uint32_t i = 0; i < n; i++) {
        if (!metrics_upstreams__is(&rows[i], 1) ||
            (upstream_table_get(&rows[i].checks[0]) == 0 &&
             upstream_table_get(&rows[i].checks[1]) == 0))
            continue;
        for (int k = 0; k < 2; k++) {
            metrics_upstreams__start(&b, "drover_upstream_health_checks_total", &rows[i], 1);
            metrics_text_printf(&b, ",result=\"%s\"} %llu\n", k ? "fail" : "pass",
                                      (unsigned long long)upstream_table_get(&rows[i].checks[k]));
        }
    }
    metrics_upstreams__down(&b, t, serving);
    return b.full ? -1 : (ssize_t)b.len;
}
