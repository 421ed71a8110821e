/*
 * access_log: see access_log.h.
 */
#include "access_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http_date.h"

/* The longest line we write: fields are cut to these lengths. */
#define ACCESS_LOG_FIELD_MAX 2048

_Static_assert(sizeof(((access_log_t *)0)->clf) > HTTP_DATE_CLF_LEN, "room for a CLF date");

int access_log_open(access_log_t *l, const char *path)
{
    l->fd = -1;
    l->path = NULL;
    l->len = 0;
    if (path == NULL)
        return 0;
    l->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (l->fd < 0)
        return -1;
    l->path = strdup(path);
    l->clf_at = -1;
    return l->path ? 0 : -1;
}

int access_log_reopen(access_log_t *l)
{
    if (l->fd < 0)
        return 0;
    access_log_flush(l);
    int fd = open(l->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    close(l->fd);
    l->fd = fd;
    return 0;
}

void access_log_flush(access_log_t *l)
{
    size_t off = 0;
    while (off < l->len) {
        ssize_t n = write(l->fd, l->buf + off, l->len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* disk full or the like: drop rather than block serving */
        off += (size_t)n;
    }
    l->len = 0;
}

void access_log_close(access_log_t *l)
{
    if (l->fd >= 0) {
        access_log_flush(l);
        close(l->fd);
        l->fd = -1;
    }
    free(l->path);
    l->path = NULL;
}

/* Appends s, escaping what would break the line or its quoting, as nginx
 * does: '"', '\' and bytes outside printable ASCII become \xHH. */
static char *access_log__escaped(char *o, str_t s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = s.len < ACCESS_LOG_FIELD_MAX ? s.len : ACCESS_LOG_FIELD_MAX;
    if (n == 0) {
        *o++ = '-';
        return o;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s.p[i];
        if (ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\') {
            *o++ = '\\';
            *o++ = 'x';
            *o++ = hex[ch >> 4];
            *o++ = hex[ch & 15];
        } else {
            *o++ = (char)ch;
        }
    }
    return o;
}

void access_log_write(access_log_t *l, const access_log_record_t *r, time_t now)
{
    if (l->fd < 0)
        return;
    /* Worst case: three escaped fields at 4 bytes per byte, plus the rest. */
    size_t worst = 3 * 4 * ACCESS_LOG_FIELD_MAX + 256;
    if (l->len + worst > sizeof(l->buf))
        access_log_flush(l);
    if (now != l->clf_at) {
        http_date_clf(now, l->clf);
        l->clf_at = now;
    }
    char *o = l->buf + l->len;
    o += sprintf(o, "%s - - [%s] \"", r->addr, l->clf);
    o = access_log__escaped(o, r->request);
    o += sprintf(o, "\" %d %llu \"", r->status, (unsigned long long)r->body_bytes);
    o = access_log__escaped(o, r->referer);
    *o++ = '"';
    *o++ = ' ';
    *o++ = '"';
    o = access_log__escaped(o, r->agent);
    *o++ = '"';
    *o++ = '\n';
    l->len = (size_t)(o - l->buf);
}
