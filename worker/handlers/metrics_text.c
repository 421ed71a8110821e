/*
 * metrics_text: see metrics_text.h.
 */
#include "metrics_text.h"

#include <stdarg.h>
#include <stdio.h>

void metrics_text_printf(metrics_text_t *b, const char *fmt, ...)
{
    if (b->full)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p + b->len, b->size - b->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= b->size - b->len)
        b->full = 1;
    else
        b->len += (size_t)n;
}

void metrics_text_family(metrics_text_t *b, const char *name, const char *type, const char *help)
{
    metrics_text_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void metrics_text_label(metrics_text_t *b, const char *v)
{
    for (; *v != '\0'; v++) {
        if (*v == '"' || *v == '\\')
            metrics_text_printf(b, "\\%c", *v);
        else if (*v == '\n')
            metrics_text_printf(b, "\\n");
        else
            metrics_text_printf(b, "%c", *v);
    }
}
