/*
 * response: see response.h.
 */
#include "response.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "file_cache.h"
#include "http_date.h"
#include "http_parser.h"

void response_init(response_t *r, int status)
{
    r->status = status;
    r->close = 0;
    r->overflow = 0;
    r->pending = 0;
    r->proxy = NULL;
    r->nlines = 0;
    r->body = RESPONSE_BODY_NONE;
    r->length = 0;
    r->bytes = NULL;
    r->fd = -1;
    r->off = 0;
    r->ref = NULL;
    r->parts = NULL;
    r->nparts = 0;
    r->rule = NULL;
    r->log = NULL;
    r->nolog = 0;
    r->rule_headers = NULL;
    r->rule_unset = NULL;
    r->hsts = NULL;
    r->hsts_set = 0;
    r->used = 0;
}

void response_add(response_t *r, const char *lines, size_t len)
{
    if (r->nlines == RESPONSE_MAX_LINES) {
        r->overflow = 1;
        return;
    }
    r->lines[r->nlines++] = str_make(lines, len);
}

char *response_alloc(response_t *r, size_t n)
{
    if (n > sizeof(r->scratch) - r->used) {
        r->overflow = 1;
        return NULL;
    }
    char *p = r->scratch + r->used;
    r->used += n;
    return p;
}

void response_addf(response_t *r, const char *fmt, ...)
{
    size_t room = sizeof(r->scratch) - r->used;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(r->scratch + r->used, room, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= room) {
        r->overflow = 1;
        return;
    }
    response_add(r, r->scratch + r->used, (size_t)n);
    r->used += (size_t)n;
}

/* 1 when the header line at p (up to end) is named name[0..len). */
static int response__named(const char *p, const char *end, const char *name, size_t len)
{
    return (size_t)(end - p) > len && p[len] == ':' && strncasecmp(p, name, len) == 0;
}

void response_remove_header(response_t *r, const char *name, size_t len)
{
    for (unsigned i = 0; i < r->nlines; i++) {
        const char *p = r->lines[i].p, *end = p + r->lines[i].len;
        int found = 0;
        for (const char *q = p; q < end && !found;) {
            const char *nl = memchr(q, '\n', (size_t)(end - q));
            const char *next = nl != NULL ? nl + 1 : end;
            found = response__named(q, next, name, len);
            q = next;
        }
        if (!found)
            continue;
        char *out = response_alloc(r, r->lines[i].len);
        if (out == NULL)
            return;
        size_t n = 0;
        for (const char *q = p; q < end;) {
            const char *nl = memchr(q, '\n', (size_t)(end - q));
            const char *next = nl != NULL ? nl + 1 : end;
            if (!response__named(q, next, name, len)) {
                memcpy(out + n, q, (size_t)(next - q));
                n += (size_t)(next - q);
            }
            q = next;
        }
        r->lines[i] = str_make(out, n);
    }
}

void response_replace_headers(response_t *r, const char *lines, size_t len)
{
    const char *end = lines + len;
    for (const char *q = lines; q < end;) {
        const char *colon = memchr(q, ':', (size_t)(end - q));
        const char *nl = memchr(q, '\n', (size_t)(end - q));
        if (colon == NULL || nl == NULL)
            break;
        response_remove_header(r, q, (size_t)(colon - q));
        q = nl + 1;
    }
    response_add(r, lines, len);
}

void response_bytes(response_t *r, const char *p, size_t len, struct file_cache_entry_s *ref)
{
    r->body = RESPONSE_BODY_BYTES;
    r->bytes = p;
    r->length = len;
    r->ref = ref;
}

void response_file(response_t *r, int fd, off_t off, uint64_t len, struct file_cache_entry_s *ref)
{
    r->body = RESPONSE_BODY_FILE;
    r->fd = fd;
    r->off = off;
    r->length = len;
    r->ref = ref;
}

void response_release(response_t *r, struct file_cache_s *fc)
{
    if (r->ref != NULL)
        file_cache_unref(fc, r->ref);
    else if (r->fd >= 0)
        close(r->fd);
    r->ref = NULL;
    r->fd = -1;
    r->body = RESPONSE_BODY_NONE;
    r->bytes = NULL;
    r->length = 0;
}

#define RESPONSE_PUT(p, lit) (memcpy((p), (lit), sizeof(lit) - 1), (p) + sizeof(lit) - 1)

ssize_t response_head(const response_t *r, time_t wall, char *out, size_t cap)
{
    return response_head_as(r, wall, RESPONSE_SERVER, NULL, out, cap);
}

ssize_t response_head_as(const response_t *r, time_t wall, const char *server, const char *hsts,
                         char *out, size_t cap)
{
    const char *reason = http_status_reason(r->status);
    size_t rlen = strlen(reason);
    size_t slen = strlen(server);
    size_t hlen = hsts != NULL ? strlen(hsts) : 0;
    size_t need = sizeof("HTTP/1.1 000 \r\nServer: \r\nDate: \r\n") - 1 + rlen + slen + HTTP_DATE_LEN;
    if (hsts != NULL)
        need += sizeof("Strict-Transport-Security: \r\n") - 1 + hlen;
    for (unsigned i = 0; i < r->nlines; i++)
        need += r->lines[i].len;
    if (need > cap || r->status < 100 || r->status > 999)
        return -1;
    char *p = RESPONSE_PUT(out, "HTTP/1.1 ");
    *p++ = (char)('0' + r->status / 100);
    *p++ = (char)('0' + r->status / 10 % 10);
    *p++ = (char)('0' + r->status % 10);
    *p++ = ' ';
    memcpy(p, reason, rlen);
    p += rlen;
    p = RESPONSE_PUT(p, "\r\nServer: ");
    memcpy(p, server, slen);
    p += slen;
    p = RESPONSE_PUT(p, "\r\nDate: ");
    memcpy(p, http_date_now(wall), HTTP_DATE_LEN);
    p += HTTP_DATE_LEN;
    p = RESPONSE_PUT(p, "\r\n");
    for (unsigned i = 0; i < r->nlines; i++) {
        memcpy(p, r->lines[i].p, r->lines[i].len);
        p += r->lines[i].len;
    }
    if (hsts != NULL) {
        p = RESPONSE_PUT(p, "Strict-Transport-Security: ");
        memcpy(p, hsts, hlen);
        p += hlen;
        p = RESPONSE_PUT(p, "\r\n");
    }
    return p - out;
}
