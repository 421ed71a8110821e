/*
 * status_buf: see status_buf.h.
 */
#include "status_buf.h"

#include <stdarg.h>
#include <stdio.h>

void status_buf_init(status_buf_t *b, char *buf, size_t size)
{
    b->p = buf;
    b->len = 0;
    b->size = b->end = size;
    b->full = 0;
    if (size > 0)
        buf[0] = '\0';
}

void status_buf_printf(status_buf_t *b, const char *fmt, ...)
{
    if (b->full || b->len + 1 >= b->end) {
        b->full = 1;
        return;
    }
    size_t room = b->end - b->len;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p + b->len, room, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->p[b->len] = '\0';
        return;
    }
    if ((size_t)n >= room) {
        b->full = 1;
        n = (int)(room - 1);
    }
    b->len += (size_t)n;
}

void status_buf_json_str(status_buf_t *b, const char *s)
{
    status_buf_printf(b, "\"");
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        /* A run of bytes that need no escape goes in one write (paths are
         * up to 4 KiB, and the master renders this at every change). */
        size_t run = 0;
        while (p[run] >= 0x20 && p[run] != '"' && p[run] != '\\')
            run++;
        if (run > 0) {
            status_buf_printf(b, "%.*s", (int)run, (const char *)p);
            p += run;
        } else if (*p == '"' || *p == '\\') {
            status_buf_printf(b, "\\%c", *p++);
        } else {
            status_buf_printf(b, "\\u%04x", *p++);
        }
    }
    status_buf_printf(b, "\"");
}

size_t status_buf_item_begin(status_buf_t *b)
{
    b->end = b->size > STATUS_BUF_RESERVE ? b->size - STATUS_BUF_RESERVE : 0;
    b->full = 0;
    return b->len;
}

int status_buf_item_end(status_buf_t *b, size_t mark)
{
    int kept = !b->full;
    if (!kept) {
        b->len = mark;
        if (b->size > 0)
            b->p[mark] = '\0';
    }
    b->end = b->size;
    b->full = 0;
    return kept;
}
