/*
 * access_log: see access_log.h.
 */
#include "access_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "http_date.h"
#include "log.h"
#include "http_parser.h"

/* The longest line we write: fields are cut to these lengths. */
#define ACCESS_LOG_FIELD_MAX 2048

_Static_assert(sizeof(((access_log_t *)0)->clf) > HTTP_DATE_CLF_LEN, "room for a CLF date");

int access_log_open(access_log_t *l, const char *path)
{
    l->fd = -1;
    l->path = NULL;
    l->len = 0;
    l->failing = 0;
    l->dropped = l->dropped_total = 0;
    l->format = 0; /* combined, until the caller says otherwise */
    l->buf = NULL;
    if (path == NULL)
        return 0;
    l->path = strdup(path);
    l->buf = malloc(ACCESS_LOG_BUF);
    if (l->path == NULL || l->buf == NULL)
        goto fail;
    l->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (l->fd < 0)
        goto fail;
    l->clf_at = -1;
    return 0;

fail:;
    int saved = l->path == NULL || l->buf == NULL ? ENOMEM : errno;
    free(l->path);
    free(l->buf);
    l->path = NULL;
    l->buf = NULL;
    errno = saved;
    return -1;
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

/* How many lines (newlines) buf[0, len) holds. */
static uint64_t access_log__lines(const char *buf, size_t len)
{
    uint64_t n = 0;
    for (const char *p = buf; (p = memchr(p, '\n', (size_t)(buf + len - p))) != NULL; p++)
        n++;
    return n;
}

/* A write wrote n of the len bytes at p and then failed: cut the file back
 * to the last whole line of what it wrote, so no torn line stays on disk.
 * Safe with other workers appending: the disk is full, so none of them
 * can have written after us. Returns the whole bytes kept. */
static size_t access_log__untear(access_log_t *l, const char *p, size_t n)
{
    size_t whole = n;
    while (whole > 0 && p[whole - 1] != '\n')
        whole--;
    if (whole < n) {
        off_t end = lseek(l->fd, 0, SEEK_END);
        if (end >= (off_t)(n - whole) && ftruncate(l->fd, end - (off_t)(n - whole)) < 0)
            log_error("ftruncate(\"%s\"): %s", l->path, strerror(errno));
    }
    return whole;
}

/* Writing failed with err: the lines left are dropped; the error log hears
 * of it at once, then once a minute with the count. */
static void access_log__failed(access_log_t *l, int err, uint64_t lines)
{
    time_t now = time(NULL);
    l->dropped += lines;
    l->dropped_total += lines;
    if (!l->failing) {
        l->failing = 1;
        l->reported_at = now;
        log_error("access log \"%s\": write(): %s: dropping lines until it can be written again",
                  l->path, strerror(err));
        l->dropped = 0;
    } else if (now - l->reported_at >= 60) {
        log_error("access log \"%s\": write(): %s: %llu lines dropped in the last %lds", l->path,
                  strerror(err), (unsigned long long)l->dropped, (long)(now - l->reported_at));
        l->reported_at = now;
        l->dropped = 0;
    }
}

void access_log_flush(access_log_t *l)
{
    size_t off = 0;
    while (off < l->len) {
        ssize_t n = write(l->fd, l->buf + off, l->len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == (ssize_t)(l->len - off))
            break;
        /* Short or failed: most often a full disk (ENOSPC), or EIO. Never
         * block serving for the log: keep what was written whole, drop the
         * rest in whole lines. */
        int err = n < 0 ? errno : ENOSPC;
        if (n > 0)
            off += access_log__untear(l, l->buf + off, (size_t)n);
        access_log__failed(l, err, access_log__lines(l->buf + off, l->len - off));
        l->len = 0;
        return;
    }
    if (l->failing && l->len > 0) {
        log_info("access log \"%s\": writing again; %llu lines were dropped", l->path,
                 (unsigned long long)l->dropped_total);
        l->failing = 0;
        l->dropped = l->dropped_total = 0;
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
    free(l->buf);
    l->buf = NULL;
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

/* Appends s as the inside of a JSON string: '"', '\\' and control bytes
 * escaped; a byte above 0x7e as \u00XX, so an invalid UTF-8 request can
 * never make an invalid JSON line (bytes read as Latin-1). */
static char *access_log__json(char *o, str_t s)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = s.len < ACCESS_LOG_FIELD_MAX ? s.len : ACCESS_LOG_FIELD_MAX;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s.p[i];
        if (ch == '"' || ch == '\\') {
            *o++ = '\\';
            *o++ = (char)ch;
        } else if (ch < 0x20 || ch >= 0x7f) {
            o += sprintf(o, "\\u00%c%c", hex[ch >> 4], hex[ch & 15]);
        } else {
            *o++ = (char)ch;
        }
    }
    *o++ = '"';
    return o;
}

/* The normalised Host of r into buf, "-" when there is none. */
static str_t access_log__host(const access_log_record_t *r, char *buf, size_t size)
{
    ssize_t n = r->host.len > 0 ? http_host_normalize(r->host, buf, size) : -1;
    return n > 0 ? str_make(buf, (size_t)n) : STR_LIT("-");
}

/* method, target and protocol of a request line; empty when it has fewer
 * parts (a request that could not be parsed). */
static void access_log__split(str_t line, str_t part[3])
{
    size_t i = 0;
    for (int k = 0; k < 3; k++) {
        size_t start = i;
        while (i < line.len && line.p[i] != ' ')
            i++;
        part[k] = str_make(line.p + start, i - start);
        if (i < line.len)
            i++;
    }
}

static void access_log__write_json(access_log_t *l, const access_log_record_t *r, time_t now)
{
    char hostbuf[256], when[32];
    str_t part[3];
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    access_log__split(r->request, part);
    char *o = l->buf + l->len;
    o += sprintf(o, "{\"time\":\"%s\",\"host\":", when);
    o = access_log__json(o, access_log__host(r, hostbuf, sizeof(hostbuf)));
    o += sprintf(o, ",\"client\":\"%s\",\"method\":", r->addr);
    o = access_log__json(o, part[0]);
    o += sprintf(o, ",\"path\":");
    o = access_log__json(o, part[1]);
    o += sprintf(o, ",\"protocol\":");
    o = access_log__json(o, part[2]);
    o += sprintf(o, ",\"status\":%d,\"bytes\":%llu,\"referer\":", r->status,
                 (unsigned long long)r->body_bytes);
    o = access_log__json(o, r->referer);
    o += sprintf(o, ",\"agent\":");
    o = access_log__json(o, r->agent);
    o += sprintf(o, ",\"duration_us\":%llu,\"scheme\":\"%s\",\"tls\":", (unsigned long long)r->duration_us,
                 r->scheme != NULL ? r->scheme : "http");
    o += r->tls_version != NULL ? sprintf(o, "\"%s\"", r->tls_version) : sprintf(o, "null");
    /* The location that answered: the question a rule's user asks first. */
    o += sprintf(o, ",\"rule\":");
    if (r->rule != NULL) {
        size_t rl = strlen(r->rule);
        o = access_log__json(o, str_make(r->rule, rl > 256 ? 256 : rl));
    } else {
        o += sprintf(o, "null");
    }
    if (r->upstream != NULL) {
        size_t ul = strlen(r->upstream);
        o += sprintf(o, ",\"upstream\":");
        o = access_log__json(o, str_make(r->upstream, ul > 256 ? 256 : ul));
        o += r->upstream_status != 0 ? sprintf(o, ",\"upstream_status\":%d", r->upstream_status)
                                     : sprintf(o, ",\"upstream_status\":null");
        o += sprintf(o, ",\"upstream_us\":%llu", (unsigned long long)r->upstream_us);
    }
    o += sprintf(o, "}\n");
    l->len = (size_t)(o - l->buf);
}

void access_log_write(access_log_t *l, const access_log_record_t *r, time_t now)
{
    if (l->fd < 0)
        return;
    /* Worst case for this record: every byte of its fields escaped (6
     * bytes in json, 4 otherwise; each field cut at ACCESS_LOG_FIELD_MAX),
     * plus the rest of the line. */
    size_t worst = 6 * (3 * ACCESS_LOG_FIELD_MAX) + 2048;
    if (r->request.len + r->referer.len + r->agent.len < ACCESS_LOG_FIELD_MAX)
        worst = 6 * (r->request.len + r->referer.len + r->agent.len) + 2048;
    if (l->len + worst > ACCESS_LOG_BUF)
        access_log_flush(l);
    if (l->format == 2) {
        access_log__write_json(l, r, now);
        return;
    }
    if (now != l->clf_at) {
        http_date_clf(now, l->clf);
        l->clf_at = now;
    }
    char *o = l->buf + l->len;
    if (l->format == 1) {
        /* Apache's vhost_combined: "%v:%p %h ...", here the host as asked
         * for (normalised, without the port), "-" when there was none. */
        char hostbuf[256];
        o = access_log__escaped(o, access_log__host(r, hostbuf, sizeof(hostbuf)));
        *o++ = ' ';
    }
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
