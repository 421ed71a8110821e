/*
 * metrics_upstreams: the reverse proxy's families of /metrics, from the
 * shared upstream table (upstream_table.h; proxy_metrics.h says what is
 * counted when):
 *
 *   drover_upstream_requests_total{upstream}            client requests, at their end
 *   drover_upstream_retries_total{upstream}             tries after a request's first
 *   drover_upstream_gateway_errors_total{upstream,code} 502 and 504 answered by drover
 *   drover_upstream_attempts_total{upstream,server}     tries of a server
 *   drover_upstream_responses_total{upstream,server,code}  response heads by class
 *   drover_upstream_response_duration_seconds{upstream,server}  histogram
 *   drover_upstream_connect_failures_total{upstream,server}
 *   drover_upstream_health_checks_total{upstream,server,result}  pass, fail
 *   drover_upstream_server_down{upstream,server,check}  gauge: active, passive
 *
 * Counters come from every row (every generation's upstreams: they never
 * go backwards); the gauge only for the servers of the rendering worker's
 * configuration. Nothing is written without a table.
 */
#ifndef DROVER_METRICS_UPSTREAMS_H
#define DROVER_METRICS_UPSTREAMS_H

#include <stddef.h>
#include <sys/types.h>

#include "conf_upstreams.h"
#include "upstream_table.h"

/* Bytes to reserve for the families of table t (0 without one). */
size_t metrics_upstreams_size(const upstream_table_t *t);

/* Writes the families into out[0, size): the bytes written, or -1 when
 * they do not fit. serving: the worker's upstreams (may be NULL). */
ssize_t metrics_upstreams_render(char *out, size_t size, upstream_table_t *t,
                                 const conf_upstreams_t *serving);

#endif
