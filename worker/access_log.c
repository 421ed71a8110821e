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

#define ACCESS_LOG_BUF (64 * 1024)
/* The longest line we write: fields are cut to these lengths. */
#define ACCESS_LOG_FIELD_MAX 2048

static struct {
    int fd;
    char *path;
    char buf[ACCESS_LOG_BUF];
    size_t len;
    time_t clf_at;
    char clf[HTTP_DATE_CLF_LEN + 1];
} access_log = { .fd = -1 };

int access_log_open(const char *path)
{
    if (path == NULL)
        return 0;
    access_log.fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (access_log.fd < 0)
        return -1;
    access_log.path = strdup(path);
    access_log.clf_at = -1;
    return access_log.path ? 0 : -1;
}

int access_log_reopen(void)
{
    if (access_log.fd < 0)
        return 0;
    access_log_flush();
    int fd = open(access_log.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    close(access_log.fd);
    access_log.fd = fd;
    return 0;
}

void access_log_flush(void)
{
    size_t off = 0;
    while (off < access_log.len) {
        ssize_t n = write(access_log.fd, access_log.buf + off, access_log.len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* disk full or the like: drop rather than block serving */
        off += (size_t)n;
    }
    access_log.len = 0;
}

void access_log_close(void)
{
    if (access_log.fd >= 0) {
        access_log_flush();
        close(access_log.fd);
        access_log.fd = -1;
    }
    free(access_log.path);
    access_log.path = NULL;
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

void access_log_write(conn_t *c, time_t now)
{
    if (access_log.fd < 0)
        return;
    /* Worst case: three escaped fields at 4 bytes per byte, plus the rest. */
    size_t worst = 3 * 4 * ACCESS_LOG_FIELD_MAX + 256;
    if (access_log.len + worst > sizeof(access_log.buf))
        access_log_flush();
    if (now != access_log.clf_at) {
        http_date_clf(now, access_log.clf);
        access_log.clf_at = now;
    }
    char *o = access_log.buf + access_log.len;
    o += sprintf(o, "%s - - [%s] \"", conn_addr(c), access_log.clf);
    o = access_log__escaped(o, c->log_request);
    o += sprintf(o, "\" %d %llu \"", c->status, (unsigned long long)c->body_bytes);
    o = access_log__escaped(o, c->log_referer);
    *o++ = '"';
    *o++ = ' ';
    *o++ = '"';
    o = access_log__escaped(o, c->log_agent);
    *o++ = '"';
    *o++ = '\n';
    access_log.len = (size_t)(o - access_log.buf);
}
