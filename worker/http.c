/*
 * http: see http.h.
 *
 * What a path resolves to comes from the worker's file cache, which opens
 * files with openat2(RESOLVE_BENEATH) relative to the root: path_normalize()
 * already refused every way out of the root, and the kernel refuses them
 * again (a symlink that points outside included).
 *
 * The common case, a 200 for a small file, is one file_cache_get(), a
 * memcpy of the entry's prebuilt header lines and of its bytes, and one
 * send: everything that varies by file (type, validators, encodings,
 * Cache-Control) was decided when the entry was built. Conditional
 * requests, ranges and negotiation cost only the requests that ask for
 * them: each is behind a test of whether its field was sent at all.
 */
#include "config.h"

#include "http.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "file_cache.h"
#include "http_accept.h"
#include "http_conditional.h"
#include "http_date.h"
#include "http_range.h"
#include "log.h"
#include "path.h"
#include "status.h"

#define HTTP_PATH_MAX 4096
#define HTTP_ALLOW "GET, HEAD, OPTIONS"

typedef struct {
    char *p;
    size_t len;
    size_t cap;
    int overflow;
} http_out_t;

static void out_mem(http_out_t *o, const char *s, size_t n)
{
    if (o->len + n > o->cap) {
        o->overflow = 1;
        return;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

#define OUT_LIT(o, lit) out_mem((o), (lit), sizeof(lit) - 1)

static void out_str(http_out_t *o, const char *s)
{
    out_mem(o, s, strlen(s));
}

static void out_num(http_out_t *o, long long v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof(tmp), "%lld", v);
    out_mem(o, tmp, (size_t)n);
}

/* The request line and log fields, for the access log. */
static void http__log_fields(conn_t *c, const http_request_t *req)
{
    if (req != NULL) {
        const char *start = req->method_name.p;
        const char *end = memchr(start, '\r', (size_t)(c->rbuf + c->head_len - start));
        c->log_request = str_make(start, end ? (size_t)(end - start) : 0);
        c->log_referer = req->referer;
        c->log_agent = req->user_agent;
    } else {
        size_t n = c->rlen < 1024 ? c->rlen : 1024;
        const char *s = c->rbuf ? c->rbuf : "";
        size_t i = 0;
        while (i < n && s[i] != '\r' && s[i] != '\n')
            i++;
        c->log_request = str_make(s, i);
        c->log_referer = STR_NULL;
        c->log_agent = STR_NULL;
    }
}

static http_out_t http__begin(conn_t *c, int status)
{
    if (c->wbuf == NULL)
        c->wbuf = conn_buf_get(c->w, 1);
    http_out_t o = { c->wbuf, 0, c->wbuf ? CONN_WBUF_SIZE : 0, c->wbuf == NULL };
    c->status = status;
    OUT_LIT(&o, "HTTP/1.1 ");
    out_num(&o, status);
    OUT_LIT(&o, " ");
    out_str(&o, http_status_reason(status));
    OUT_LIT(&o, "\r\nServer: drover\r\nDate: ");
    out_mem(&o, http_date_now(c->w->wall), HTTP_DATE_LEN);
    OUT_LIT(&o, "\r\n");
    return o;
}

static void http__end(conn_t *c, http_out_t *o)
{
    if (!c->keep_alive)
        OUT_LIT(o, "Connection: close\r\n");
    else if (c->requests_http10)
        OUT_LIT(o, "Connection: keep-alive\r\n");
    OUT_LIT(o, "\r\n");
    c->wlen = o->len;
}

static void http__body(conn_t *c, file_cache_entry_t *e, file_cache_entry_t *f, int64_t start,
                       int64_t len, int head_only);

/* The configured page (error_pages) for an error status, sent with that
 * status and the header lines of the caller. Returns 0 when sent, -1 when
 * there is none to send (the built-in page is then used). */
static int http__error_page(conn_t *c, int status, int head_only, const char *lines,
                            size_t lines_len)
{
    worker_t *w = c->w;
    const conf_map_t *pages = &w->a.conf->error_pages;
    if (pages->n == 0 || w->fc == NULL)
        return -1;
    char key[8];
    int klen = snprintf(key, sizeof(key), "%d", status);
    const char *path = conf_map_get(pages, key, (size_t)klen);
    if (path == NULL)
        return -1;
    file_cache_entry_t *e = file_cache_get(w->fc, path, strlen(path), w->wall);
    if (e == NULL)
        return -1;
    if (e->kind != FC_FILE) {
        file_cache_unref(w->fc, e);
        return -1;
    }
    /* No validators and no Accept-Ranges: they describe the page's file,
     * not the resource that was asked for, and must not make a cache keep
     * the error as a version of it. */
    http_out_t o = http__begin(c, status);
    if (lines != NULL)
        out_mem(&o, lines, lines_len);
    if (status == 405 || status == 501)
        OUT_LIT(&o, "Allow: " HTTP_ALLOW "\r\n");
    out_mem(&o, e->headers, e->meta_off); /* Content-Type, Content-Length */
    http__end(c, &o);
    if (o.overflow) {
        file_cache_unref(w->fc, e);
        return -1;
    }
    http__body(c, e, e, 0, e->st.st_size, head_only);
    return 0;
}

/* A short response with a small built-in HTML body, or the configured
 * error page; lines: extra header lines ("Name: value\r\n"...), or NULL. */
static void http__simple_lines(conn_t *c, int status, int head_only, const char *lines,
                               size_t lines_len)
{
    if (status >= 400 && http__error_page(c, status, head_only, lines, lines_len) == 0)
        return;
    char body[256];
    int blen = 0;
    if (status >= 300 && status != 304)
        blen = snprintf(body, sizeof(body),
                        "<!doctype html>\n<html><head><title>%d %s</title></head>\n"
                        "<body><h1>%d %s</h1><hr>drover</body></html>\n",
                        status, http_status_reason(status), status, http_status_reason(status));
    http_out_t o = http__begin(c, status);
    if (lines != NULL)
        out_mem(&o, lines, lines_len);
    if (status == 405 || status == 501)
        OUT_LIT(&o, "Allow: " HTTP_ALLOW "\r\n");
    if (blen > 0)
        OUT_LIT(&o, "Content-Type: text/html; charset=utf-8\r\n");
    if (status != 304) {
        OUT_LIT(&o, "Content-Length: ");
        out_num(&o, blen);
        OUT_LIT(&o, "\r\n");
    }
    http__end(c, &o);
    c->body_bytes = 0;
    if (!head_only && blen > 0) {
        out_mem(&o, body, (size_t)blen);
        c->wlen = o.len;
        c->body_bytes = (uint64_t)blen;
    }
    if (o.overflow) {
        c->keep_alive = 0;
        if (c->wbuf == NULL) {
            /* Out of memory for a write buffer: nothing can be sent. */
            c->wlen = 0;
            return;
        }
        /* Only a huge Location can overflow: answer without it (a 500
         * without extra lines always fits, so this recurses once). */
        if (status != 500 || lines != NULL)
            http__simple_lines(c, 500, head_only, NULL, 0);
    }
}

static void http__simple(conn_t *c, int status, int head_only)
{
    http__simple_lines(c, status, head_only, NULL, 0);
}

void http_respond_error(conn_t *c, int status)
{
    c->keep_alive = 0;
    c->body_left = 0;
    c->requests_http10 = 0;
    http__log_fields(c, NULL);
    http__simple(c, status, 0);
}

/* --- files --------------------------------------------------------------- */

/*
 * Queues bytes [start, start + len) of f as the body, after the head that
 * is in wbuf: copied into wbuf when f is in memory (one send for all),
 * else sent with sendfile from f's descriptor. Takes the caller's
 * reference to e, the cached entry f belongs to (f itself or a variant),
 * which the connection keeps while sendfile needs the descriptor.
 */
static void http__body(conn_t *c, file_cache_entry_t *e, file_cache_entry_t *f, int64_t start,
                       int64_t len, int head_only)
{
    c->body_bytes = 0;
    if (head_only || len == 0 || c->wbuf == NULL) {
        /* (no wbuf: out of memory, nothing can be sent; the connection
         * closes after its empty response) */
        if (c->wbuf == NULL)
            c->keep_alive = 0;
        file_cache_unref(c->w->fc, e);
        return;
    }
    c->body_bytes = (uint64_t)len;
    if (f->body != NULL && (size_t)len <= CONN_WBUF_SIZE - c->wlen) {
        memcpy(c->wbuf + c->wlen, f->body + start, (size_t)len);
        c->wlen += (size_t)len;
        file_cache_unref(c->w->fc, e);
        return;
    }
    if (f->body != NULL) {
        /* In memory but larger than the write buffer can take after the
         * headers: cannot happen with FILE_CACHE_SMALL < CONN_WBUF_SIZE. */
        file_cache_unref(c->w->fc, e);
        c->keep_alive = 0;
        http__simple(c, 500, head_only);
        return;
    }
    c->file_ref = e;
    c->file_fd = f->fd;
    c->file_off = (off_t)start;
    c->file_end = (off_t)(start + len);
}

/* 412 and 416 for a file: the short built-in page (or the configured one),
 * with what a cache needs to know about the resource. */
static void http__file_error(conn_t *c, file_cache_entry_t *f, int status, int head_only)
{
    char lines[96];
    int n = 0;
    if (status == 416)
        n = snprintf(lines, sizeof(lines), "Content-Range: bytes */%lld\r\n",
                     (long long)f->st.st_size);
    if (f->vary)
        n += snprintf(lines + n, sizeof(lines) - (size_t)n, "Vary: Accept-Encoding\r\n");
    http__simple_lines(c, status, head_only, lines, (size_t)n);
}

/* A boundary that no part of this response is likely to contain: drawn
 * from the representation, the connection and the clock, so two responses
 * differ and a file cannot be written to match it in advance. */
static void http__boundary(conn_t *c, const file_cache_entry_t *f, char out[24])
{
    uint64_t h = 1469598103934665603ULL;
    uint64_t mix[3] = { (uint64_t)(uintptr_t)c, (uint64_t)(c->w->now * 1e9), c->requests };
    for (size_t i = 0; i < f->etag_len; i++)
        h = (h ^ (unsigned char)f->etag[i]) * 1099511628211ULL;
    for (size_t i = 0; i < 3; i++)
        h = (h ^ mix[i]) * 1099511628211ULL;
    snprintf(out, 24, "drover%016llx", (unsigned long long)h);
}

/*
 * 206 with a multipart/byteranges body for several ranges of f. The part
 * headers are written first, to know the Content-Length of the whole; for
 * a file sent with sendfile each part becomes a conn_piece_t (its header
 * in wbuf, then its bytes from the file), the table of pieces kept in
 * wbuf's tail. Returns -1 without sending anything when the parts would
 * cost more than the whole file, or do not fit the write buffer: the
 * caller then sends the whole file with 200.
 */
static int http__send_multipart(conn_t *c, file_cache_entry_t *e, file_cache_entry_t *f,
                                const http_range_t *r, size_t n)
{
    char boundary[24];
    http__boundary(c, f, boundary);
    char parts[8192];
    size_t part_end[HTTP_RANGE_MAX + 1]; /* where part i's header ends in parts (n: closing) */
    size_t plen = 0;
    int64_t total = 0;
    for (size_t i = 0; i <= n; i++) {
        int k;
        if (i < n)
            k = snprintf(parts + plen, sizeof(parts) - plen,
                         "\r\n--%s\r\nContent-Type: %s\r\nContent-Range: bytes %lld-%lld/%lld\r\n\r\n",
                         boundary, f->type, (long long)r[i].start, (long long)r[i].end,
                         (long long)f->st.st_size);
        else
            k = snprintf(parts + plen, sizeof(parts) - plen, "\r\n--%s--\r\n", boundary);
        if (k < 0 || (size_t)k >= sizeof(parts) - plen)
            return -1;
        plen += (size_t)k;
        part_end[i] = plen;
        if (i < n)
            total += r[i].end - r[i].start + 1;
    }
    total += (int64_t)plen;
    if (total > f->st.st_size)
        return -1; /* a range request must not cost more than the file */

    http_out_t o = http__begin(c, 206);
    OUT_LIT(&o, "Content-Type: multipart/byteranges; boundary=");
    out_str(&o, boundary);
    OUT_LIT(&o, "\r\nContent-Length: ");
    out_num(&o, (long long)total);
    OUT_LIT(&o, "\r\n");
    out_mem(&o, f->headers + f->meta_off, f->headers_len - f->meta_off);
    http__end(c, &o);
    size_t head = c->wlen;
    size_t table = n * sizeof(conn_piece_t) + sizeof(conn_piece_t);
    if (o.overflow)
        return -1;

    if (f->body != NULL) {
        /* In memory: the whole body goes into wbuf, one send. */
        if (head + (size_t)total > CONN_WBUF_SIZE)
            return -1;
        char *p = c->wbuf + head;
        size_t from = 0;
        for (size_t i = 0; i <= n; i++) {
            memcpy(p, parts + from, part_end[i] - from);
            p += part_end[i] - from;
            from = part_end[i];
            if (i < n) {
                size_t len = (size_t)(r[i].end - r[i].start + 1);
                memcpy(p, f->body + r[i].start, len);
                p += len;
            }
        }
        c->wlen = (size_t)(p - c->wbuf);
        c->body_bytes = (uint64_t)total;
        file_cache_unref(c->w->fc, e);
        return 0;
    }

    /* sendfile: wbuf holds the head, every part header and, at its end,
     * the table of pieces (aligned for conn_piece_t). */
    size_t table_at = (CONN_WBUF_SIZE - table) & ~(sizeof(off_t) - 1);
    if (head + plen > table_at)
        return -1;
    memcpy(c->wbuf + head, parts, plen);
    conn_piece_t *pieces = (conn_piece_t *)(void *)(c->wbuf + table_at);
    for (size_t i = 1; i <= n; i++) {
        pieces[i - 1].wend = head + part_end[i];
        pieces[i - 1].off = i < n ? (off_t)r[i].start : 0;
        pieces[i - 1].end = i < n ? (off_t)r[i].end + 1 : 0;
    }
    c->wlen = head + part_end[0];
    c->pieces = pieces;
    c->npieces = (unsigned)n;
    c->piece = 0;
    c->file_ref = e;
    c->file_fd = f->fd;
    c->file_off = (off_t)r[0].start;
    c->file_end = (off_t)r[0].end + 1;
    c->body_bytes = (uint64_t)total;
    return 0;
}

/* Range is not a list: sent on two lines it cannot be read as one, and is
 * ignored (the whole file is sent) rather than guessed at. */
static int http__single_range(const http_request_t *req)
{
    int lines = 0;
    for (size_t i = 0; i < req->num_headers && lines < 2; i++)
        if (STR_CASEEQ(req->headers[i].name, "range"))
            lines++;
    return lines < 2;
}

/* 206 for one range of f. */
static void http__send_range(conn_t *c, file_cache_entry_t *e, file_cache_entry_t *f,
                             const http_range_t *r)
{
    http_out_t o = http__begin(c, 206);
    OUT_LIT(&o, "Content-Type: ");
    out_str(&o, f->type);
    OUT_LIT(&o, "\r\nContent-Length: ");
    out_num(&o, (long long)(r->end - r->start + 1));
    OUT_LIT(&o, "\r\nContent-Range: bytes ");
    out_num(&o, (long long)r->start);
    OUT_LIT(&o, "-");
    out_num(&o, (long long)r->end);
    OUT_LIT(&o, "/");
    out_num(&o, (long long)f->st.st_size);
    OUT_LIT(&o, "\r\n");
    out_mem(&o, f->headers + f->meta_off, f->headers_len - f->meta_off);
    http__end(c, &o);
    http__body(c, e, f, r->start, r->end - r->start + 1, 0);
}

/*
 * Answers for file f (e itself, or one of its precompressed variants) of
 * the referenced entry e: preconditions first (RFC 9110 13.2.2), then
 * Range (only for GET), then the whole file.
 */
static void http__send_entry(conn_t *c, const http_request_t *req, file_cache_entry_t *e,
                             file_cache_entry_t *f)
{
    int head_only = req->method == HTTP_METHOD_HEAD;
    const struct stat *st = &f->st;
    str_t etag = str_make(f->etag, f->etag_len);

    if (req->if_match.p != NULL || req->if_none_match.p != NULL ||
        req->if_modified_since.p != NULL || req->if_unmodified_since.p != NULL) {
        int status = http_conditional_check(req, etag, st->st_mtime, c->w->wall);
        if (status == 304) {
            /* What a 200 would say about the representation, for the
             * cache to update its copy with; no body, no Content-Length. */
            http_out_t o = http__begin(c, 304);
            out_mem(&o, f->headers + f->meta_off, f->headers_len - f->meta_off);
            http__end(c, &o);
            c->body_bytes = 0;
            file_cache_unref(c->w->fc, e);
            return;
        }
        if (status == 412) {
            http__file_error(c, f, 412, head_only);
            file_cache_unref(c->w->fc, e);
            return;
        }
    }

    if (req->range.p != NULL && req->method == HTTP_METHOD_GET && http__single_range(req) &&
        http_conditional_if_range(req, etag, st->st_mtime, c->w->wall)) {
        http_range_t r[HTTP_RANGE_MAX];
        size_t n = 0;
        switch (http_range_parse(req->range, st->st_size, r, HTTP_RANGE_MAX, &n)) {
        case HTTP_RANGE_OK:
            if (n > 1) {
                if (http__send_multipart(c, e, f, r, n) == 0)
                    return;
                break; /* the whole file costs less: 200 */
            }
            http__send_range(c, e, f, &r[0]);
            return;
        case HTTP_RANGE_UNSATISFIABLE:
            http__file_error(c, f, 416, head_only);
            file_cache_unref(c->w->fc, e);
            return;
        case HTTP_RANGE_NONE:
            break;
        }
    }

    /* The common case: every header line of the file, prebuilt. */
    http_out_t o = http__begin(c, 200);
    out_mem(&o, f->headers, f->headers_len);
    http__end(c, &o);
    http__body(c, e, f, 0, st->st_size, head_only);
}

static void http__html_escape(FILE *f, const char *s)
{
    for (const char *p = s; *p; p++) {
        switch (*p) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*p, f);
        }
    }
}

/* Directory listing into an anonymous file, sent like any other file:
 * entries sorted by name (byte order), dotfiles hidden, names
 * percent-encoded in links and HTML-escaped in text. */
static int http__listing(int dirfd, const char *path, int *out_fd, size_t *len)
{
    int mfd = memfd_create("drover-index", MFD_CLOEXEC);
    FILE *f = NULL;
    struct dirent **names = NULL;
    int n = -1;
    if (mfd < 0)
        goto fail;
    int dupfd = dup(mfd);
    if (dupfd < 0 || (f = fdopen(dupfd, "w")) == NULL) {
        if (dupfd >= 0)
            close(dupfd);
        goto fail;
    }
    n = scandirat(dirfd, ".", &names, NULL, alphasort);
    if (n < 0)
        goto fail;
    fputs("<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Index of ", f);
    http__html_escape(f, path);
    fputs("</title></head>\n<body><h1>Index of ", f);
    http__html_escape(f, path);
    fputs("</h1><hr><pre>\n<a href=\"../\">../</a>\n", f);
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        struct stat st;
        if (name[0] == '.' || fstatat(dirfd, name, &st, 0) < 0)
            continue;
        int dir = S_ISDIR(st.st_mode);
        fputs("<a href=\"", f);
        for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
            if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                strchr("-._~", *p))
                fputc(*p, f);
            else
                fprintf(f, "%%%02X", *p);
        }
        fputs(dir ? "/\">" : "\">", f);
        http__html_escape(f, name);
        char date[HTTP_DATE_LEN + 1];
        http_date_format(st.st_mtime, date);
        if (dir)
            fprintf(f, "/</a>  %s  -\n", date);
        else
            fprintf(f, "</a>  %s  %lld\n", date, (long long)st.st_size);
    }
    fputs("</pre><hr>drover</body></html>\n", f);
    if (fflush(f) != 0)
        goto fail;
    *len = (size_t)ftell(f);
    fclose(f);
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    *out_fd = mfd;
    return 0;

fail:
    log_error("directory listing of %s: %s", path, strerror(errno));
    if (f != NULL)
        fclose(f);
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (mfd >= 0)
        close(mfd);
    return -1;
}

static void http__redirect(conn_t *c, const http_request_t *req, const char *path, size_t plen,
                           int head_only)
{
    /* "/dir" -> "/dir/": relative links in its index need the slash. The
     * Location is built from the normalised path, percent-encoded again,
     * never from the raw one: "//evil.example/../dir" normalises to "/dir",
     * and echoing it raw would send a browser to another host. */
    static const char hex[] = "0123456789ABCDEF";
    char loc[HTTP_PATH_MAX * 3 + 32];
    if (plen * 3 + req->query.len + 16 > sizeof(loc)) {
        http__simple(c, 414, head_only);
        return;
    }
    size_t n = 0;
    memcpy(loc, "Location: ", 10);
    n += 10;
    for (size_t i = 0; i < plen; i++) {
        unsigned char ch = (unsigned char)path[i];
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            strchr("/-._~!$&'()*+,;=:@", ch) != NULL) {
            loc[n++] = (char)ch;
        } else {
            loc[n++] = '%';
            loc[n++] = hex[ch >> 4];
            loc[n++] = hex[ch & 15];
        }
    }
    loc[n++] = '/';
    if (req->query.len > 0) {
        loc[n++] = '?';
        memcpy(loc + n, req->query.p, req->query.len);
        n += req->query.len;
    }
    loc[n++] = '\r';
    loc[n++] = '\n';
    http__simple_lines(c, 301, head_only, loc, n);
}

static void http__autoindex(conn_t *c, const char *path, size_t plen, int head_only)
{
    int dirfd = file_cache_openat(c->w->root_fd, plen > 1 ? path + 1 : ".");
    int fd = -1;
    size_t len;
    if (dirfd < 0 || http__listing(dirfd, path, &fd, &len) < 0) {
        if (dirfd >= 0)
            close(dirfd);
        http__simple(c, 500, head_only);
        return;
    }
    close(dirfd);
    http_respond_fd(c, 200, "text/html; charset=utf-8", NULL, fd, len, head_only);
}

void http_respond_fd(conn_t *c, int status, const char *type, const char *extra, int fd,
                     size_t len, int head_only)
{
    http_out_t o = http__begin(c, status);
    OUT_LIT(&o, "Content-Type: ");
    out_str(&o, type);
    OUT_LIT(&o, "\r\nContent-Length: ");
    out_num(&o, (long long)len);
    OUT_LIT(&o, "\r\n");
    if (extra != NULL)
        out_str(&o, extra);
    http__end(c, &o);
    if (o.overflow) {
        /* No write buffer (out of memory): never a body without a head. */
        close(fd);
        c->wlen = 0;
        c->keep_alive = 0;
        return;
    }
    c->file_fd = fd;
    c->file_off = 0;
    c->file_end = head_only ? 0 : (off_t)len;
    c->body_bytes = head_only ? 0 : len;
}

void http_respond_status(conn_t *c, int status, int head_only)
{
    http__simple(c, status, head_only);
}

static void http__serve(conn_t *c, const http_request_t *req)
{
    worker_t *w = c->w;
    int head_only = req->method == HTTP_METHOD_HEAD;
    char path[HTTP_PATH_MAX + 8];

    if (req->path.len >= HTTP_PATH_MAX) {
        c->keep_alive = 0;
        http__simple(c, 414, head_only);
        return;
    }
    ssize_t plen = path_normalize(req->path.p, req->path.len, path, HTTP_PATH_MAX);
    if (plen < 0) {
        c->keep_alive = 0;
        http__simple(c, 400, head_only);
        return;
    }
    if (path_has_dotfile(path, (size_t)plen) || w->fc == NULL) {
        http__simple(c, 404, head_only);
        return;
    }

    file_cache_entry_t *e = file_cache_get(w->fc, path, (size_t)plen, w->wall);
    if (e == NULL) {
        http__simple(c, 500, head_only);
        return;
    }
    file_cache_kind_t kind = e->kind;
    int err = e->err;
    if (kind == FC_FILE) {
        file_cache_entry_t *f = e;
        if (e->codings != 0) {
            http_coding_t coding = http_accept_encoding_select(req->accept_encoding, e->codings);
            if (coding != HTTP_CODING_IDENTITY)
                f = e->variant[coding];
        }
        http__send_entry(c, req, e, f);
        return;
    }
    file_cache_unref(w->fc, e);
    switch (kind) {
    case FC_REDIRECT:
        http__redirect(c, req, path, (size_t)plen, head_only);
        break;
    case FC_LISTING:
        http__autoindex(c, path, (size_t)plen, head_only);
        break;
    case FC_FORBIDDEN:
        http__simple(c, 403, head_only);
        break;
    case FC_NOTFOUND:
        http__simple(c, 404, head_only);
        break;
    default:
        /* Out of descriptors is a passing state, not a fault of the file. */
        http__simple(c, err == EMFILE || err == ENFILE ? 503 : 500, head_only);
        break;
    }
}

void http_respond(conn_t *c, const http_request_t *req)
{
    worker_t *w = c->w;
    const conf_t *conf = w->a.conf;
    int head_only = req->method == HTTP_METHOD_HEAD;

    http__log_fields(c, req);
    c->requests_http10 = req->version_minor == 0;
    c->keep_alive = req->keep_alive && !w->draining && conf->keepalive_timeout > 0 &&
                    c->requests + 1 < (unsigned)conf->keepalive_requests;
    c->body_left = 0;
    c->linger = 0;

    if (req->content_length > 0) {
        if ((uint64_t)req->content_length > conf->max_body_size) {
            c->keep_alive = 0;
            c->linger = 1;
            http__simple(c, 413, head_only);
            return;
        }
        if (req->expect_continue) {
            /* The client waits for 100 before sending its body; we do not
             * want the body, so answer and close (RFC 9110 10.1.1). */
            c->keep_alive = 0;
            c->linger = 1;
        } else {
            c->body_left = req->content_length;
        }
    }
    if (req->chunked) {
        /* A chunked body is not read: answer, then close. */
        c->keep_alive = 0;
        c->linger = 1;
    }
    if (req->bad_expect) {
        http__simple(c, 417, head_only);
        return;
    }

    if (conf->status_path != NULL && (req->method == HTTP_METHOD_GET || req->method == HTTP_METHOD_HEAD) &&
        str_eq(req->path, conf->status_path, strlen(conf->status_path))) {
        status_respond(c, head_only);
        return;
    }

    switch (req->method) {
    case HTTP_METHOD_GET:
    case HTTP_METHOD_HEAD:
        if (req->target.len == 1 && req->target.p[0] == '*') {
            http__simple(c, 400, head_only);
            return;
        }
        http__serve(c, req);
        return;
    case HTTP_METHOD_OPTIONS: {
        http_out_t o = http__begin(c, 200);
        OUT_LIT(&o, "Allow: " HTTP_ALLOW "\r\nContent-Length: 0\r\n");
        http__end(c, &o);
        c->body_bytes = 0;
        return;
    }
    case HTTP_METHOD_UNKNOWN:
        http__simple(c, 501, head_only);
        return;
    default:
        http__simple(c, 405, head_only);
        return;
    }
}
