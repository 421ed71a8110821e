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

/* The length of the well-formed UTF-8 sequence at p (RFC 3629: no
 * overlong forms, no surrogates, nothing past U+10FFFF), or 0. */
static size_t status_buf__utf8(const unsigned char *p)
{
    size_t n = p[0] >= 0xc2 && p[0] <= 0xdf ? 2 : p[0] >= 0xe0 && p[0] <= 0xef ? 3
             : p[0] >= 0xf0 && p[0] <= 0xf4 ? 4 : 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0) ||
        (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] >= 0x90))
        return 0;
    return n;
}

void status_buf_json_str(status_buf_t *b, const char *s)
{
    status_buf_printf(b, "\"");
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        /* A run of bytes that need no escape goes in one write (paths are
         * up to 4 KiB, and the master renders this at every change): ASCII
         * and well-formed UTF-8. A byte of neither (a certificate's name
         * is raw IA5String bytes, a path any bytes) is escaped as the
         * code point of its value, so the JSON stays valid. */
        size_t run = 0, u;
        for (;;) {
            if (p[run] >= 0x20 && p[run] < 0x80 && p[run] != '"' && p[run] != '\\')
                run++;
            else if (p[run] >= 0x80 && (u = status_buf__utf8(p + run)) > 0)
                run += u;
            else
                break;
        }
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
