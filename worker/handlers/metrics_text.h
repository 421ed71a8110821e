/*
 * metrics_text: the Prometheus text format's pieces, written into a fixed
 * buffer (the /metrics page's, metrics.c, and the upstream families',
 * metrics_upstreams.c). A write that does not fit sets full and every
 * later one is dropped: the caller answers 500 rather than a torn page.
 */
#ifndef DROVER_METRICS_TEXT_H
#define DROVER_METRICS_TEXT_H

#include <stddef.h>

typedef struct {
    char *p;
    size_t len, size;
    int full;
} metrics_text_t;

void metrics_text_printf(metrics_text_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* "# HELP name help" and "# TYPE name type". */
void metrics_text_family(metrics_text_t *b, const char *name, const char *type, const char *help);

/* A label value, escaped (a quote, a backslash, a newline). */
void metrics_text_label(metrics_text_t *b, const char *v);

#endif
