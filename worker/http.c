/*
 * http: see http.h.
 *
 * What a path resolves to comes from the worker's file cache, which opens
 * files with openat2(RESOLVE_BENEATH) relative to the root: path_normalize()
 * already refused every way out of the root, and the kernel refuses them
 * again (a symlink that points outside included).
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

#include "http_date.h"
#include "file_cache.h"
#include "status.h"
#include "http_range.h"
#include "log.h"
#include "path.h"

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

static void http__simple(conn_t *c, int status, int head_only, const char *extra_name,
                         const char *extra_value, size_t extra_len)
{
    char body[256];
    int blen = 0;
    if (status >= 300 && status != 304)
        blen = snprintf(body, sizeof(body),
                        "<!doctype html>\n<html><head><title>%d %s</title></head>\n"
                        "<body><h1>%d %s</h1><hr>drover</body></html>\n",
                        status, http_status_reason(status), status, http_status_reason(status));
    http_out_t o = http__begin(c, status);
    if (extra_name != NULL) {
        out_str(&o, extra_name);
        OUT_LIT(&o, ": ");
        out_mem(&o, extra_value, extra_len);
        OUT_LIT(&o, "\r\n");
    }
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
        /* Only a huge Location can overflow: answer without it. */
        c->keep_alive = 0;
        http__simple(c, 500, head_only, NULL, NULL, 0);
    }
}

void http_respond_error(conn_t *c, int status)
{
    c->keep_alive = 0;
    c->body_left = 0;
    c->requests_http10 = 0;
    http__log_fields(c, NULL);
    http__simple(c, status, 0, NULL, NULL, 0);
}

/* --- files --------------------------------------------------------------- */

/* One entity-tag of a list, with its weakness, from position *i. */
static int http__next_etag(str_t v, size_t *i, str_t *tag, int *weak)
{
    while (*i < v.len && (v.p[*i] == ' ' || v.p[*i] == '\t' || v.p[*i] == ','))
        (*i)++;
    if (*i >= v.len)
        return 0;
    *weak = 0;
    if (v.len - *i >= 2 && v.p[*i] == 'W' && v.p[*i + 1] == '/') {
        *weak = 1;
        *i += 2;
    }
    size_t s = *i;
    if (*i < v.len && v.p[*i] == '"') {
        (*i)++;
        while (*i < v.len && v.p[*i] != '"')
            (*i)++;
        if (*i < v.len)
            (*i)++;
    } else {
        while (*i < v.len && v.p[*i] != ',')
            (*i)++;
    }
    *tag = str_make(v.p + s, *i - s);
    return 1;
}

/* If-Match / If-None-Match: 1 when the list holds our tag or "*". strong:
 * the comparison of RFC 9110 8.8.3.2 (no weak tags on either side). */
static int http__etag_match(str_t list, const char *etag, int strong)
{
    size_t i = 0;
    str_t tag;
    int weak;
    size_t elen = strlen(etag);
    if (list.len == 1 && list.p[0] == '*')
        return 1;
    for (int n = 0; n < 64 && http__next_etag(list, &i, &tag, &weak); n++) {
        if (strong && weak)
            continue;
        if (str_eq(tag, etag, elen))
            return 1;
    }
    return 0;
}

/* Accept-Encoding: 1 when `coding` is acceptable (q > 0), by name or "*". */
static int http__accepts(str_t v, const char *coding)
{
    size_t clen = strlen(coding), i = 0;
    int star = 0;
    while (i < v.len) {
        while (i < v.len && (v.p[i] == ' ' || v.p[i] == '\t' || v.p[i] == ','))
            i++;
        size_t s = i;
        while (i < v.len && v.p[i] != ',' && v.p[i] != ';' && v.p[i] != ' ' && v.p[i] != '\t')
            i++;
        str_t name = str_make(v.p + s, i - s);
        int q0 = 0;
        while (i < v.len && v.p[i] != ',') {
            if (v.p[i] == 'q' && i + 1 < v.len && v.p[i + 1] == '=') {
                size_t j = i + 2;
                q0 = 1;
                for (; j < v.len && v.p[j] != ',' && v.p[j] != ';' && v.p[j] != ' '; j++)
                    if (v.p[j] >= '1' && v.p[j] <= '9')
                        q0 = 0;
                i = j;
                continue;
            }
            i++;
        }
        if (str_caseeq(name, coding, clen))
            return !q0;
        if (STR_EQ(name, "*"))
            star = !q0;
    }
    return star;
}

static int http__not_modified_since(str_t v, time_t mtime)
{
    time_t t;
    return v.len > 0 && http_date_parse(v.p, v.len, &t) == 0 && mtime <= t;
}

/* Directory listing into an anonymous file, sent like any other file. */
static int http__listing(conn_t *c, int dirfd, const char *path, size_t *len)
{
    int mfd = memfd_create("drover-index", MFD_CLOEXEC);
    FILE *f = NULL;
    DIR *d = NULL;
    struct dirent **names = NULL;
    int n = -1;
    if (mfd < 0)
        goto fail;
    int dupfd = dup(dirfd);
    if (dupfd < 0)
        goto fail;
    d = fdopendir(dupfd);
    if (d == NULL) {
        close(dupfd);
        goto fail;
    }
    int dup2fd = dup(mfd);
    if (dup2fd < 0 || (f = fdopen(dup2fd, "w")) == NULL) {
        if (dup2fd >= 0)
            close(dup2fd);
        goto fail;
    }
    n = scandirat(dirfd, ".", &names, NULL, alphasort);
    if (n < 0)
        goto fail;
    fputs("<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Index of ", f);
    for (const char *p = path; *p; p++) {
        if (*p == '<') fputs("&lt;", f);
        else if (*p == '>') fputs("&gt;", f);
        else if (*p == '&') fputs("&amp;", f);
        else if (*p == '"') fputs("&quot;", f);
        else fputc(*p, f);
    }
    fputs("</title></head>\n<body><h1>Index</h1><pre>\n<a href=\"../\">../</a>\n", f);
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
        fprintf(f, "%s\">", dir ? "/" : "");
        for (const char *p = name; *p; p++) {
            if (*p == '<') fputs("&lt;", f);
            else if (*p == '>') fputs("&gt;", f);
            else if (*p == '&') fputs("&amp;", f);
            else if (*p == '"') fputs("&quot;", f);
            else fputc(*p, f);
        }
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
    closedir(d);
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    c->file_fd = mfd;
    return 0;

fail:
    log_error("directory listing of %s: %s", path, strerror(errno));
    if (f != NULL)
        fclose(f);
    if (d != NULL)
        closedir(d);
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (mfd >= 0)
        close(mfd);
    return -1;
}

/* Sends the file of entry f (e itself, or its .gz); e is the referenced
 * entry the connection keeps while sendfile needs f's descriptor. */
static void http__send_entry(conn_t *c, const http_request_t *req, file_cache_entry_t *e,
                             file_cache_entry_t *f)
{
    int head_only = req->method == HTTP_METHOD_HEAD;
    const struct stat *st = &f->st;

    /* RFC 9110 13.2.2: If-Match, If-Unmodified-Since, If-None-Match,
     * If-Modified-Since, then If-Range, in that order. */
    int status = 200;
    if (req->if_match.len > 0) {
        if (!http__etag_match(req->if_match, f->etag, 1))
            status = 412;
    } else if (req->if_unmodified_since.len > 0) {
        time_t t;
        if (http_date_parse(req->if_unmodified_since.p, req->if_unmodified_since.len, &t) == 0 &&
            st->st_mtime > t)
            status = 412;
    }
    if (status == 200) {
        if (req->if_none_match.len > 0) {
            if (http__etag_match(req->if_none_match, f->etag, 0))
                status = 304;
        } else if (http__not_modified_since(req->if_modified_since, st->st_mtime)) {
            status = 304;
        }
    }

    int64_t start = 0, end = (int64_t)st->st_size - 1;
    if (status == 200 && req->range.len > 0 && req->method == HTTP_METHOD_GET) {
        int use = 1;
        if (req->if_range.len > 0) {
            time_t t;
            if (req->if_range.p[0] == '"')
                use = str_eq(req->if_range, f->etag, f->etag_len);
            else
                use = http_date_parse(req->if_range.p, req->if_range.len, &t) == 0 &&
                      t == st->st_mtime;
        }
        if (use) {
            switch (http_range_parse(req->range, st->st_size, &start, &end)) {
            case HTTP_RANGE_OK:
                status = 206;
                break;
            case HTTP_RANGE_UNSATISFIABLE:
                status = 416;
                break;
            case HTTP_RANGE_NONE:
                break;
            }
        }
    }

    if (status == 412 || status == 416) {
        file_cache_unref(c->w->fc, e);
        char cr[48];
        int n = snprintf(cr, sizeof(cr), "bytes */%lld", (long long)st->st_size);
        http__simple(c, status, head_only, status == 416 ? "Content-Range" : NULL, cr, (size_t)n);
        return;
    }

    http_out_t o = http__begin(c, status);
    if (status == 200) {
        /* The common case: every header line of the file, prebuilt. */
        out_mem(&o, f->headers, f->headers_len);
    } else {
        if (status == 206) {
            char cr[160];
            int n = snprintf(cr, sizeof(cr),
                             "Content-Type: %s\r\nContent-Length: %lld\r\n"
                             "Content-Range: bytes %lld-%lld/%lld\r\n",
                             f->type, (long long)(end - start + 1), (long long)start,
                             (long long)end, (long long)st->st_size);
            out_mem(&o, cr, (size_t)n);
        }
        OUT_LIT(&o, "Last-Modified: ");
        out_str(&o, f->last_modified);
        OUT_LIT(&o, "\r\nETag: ");
        out_mem(&o, f->etag, f->etag_len);
        OUT_LIT(&o, "\r\nAccept-Ranges: bytes\r\n");
        if (f != e)
            OUT_LIT(&o, "Content-Encoding: gzip\r\n");
        if (f->vary)
            OUT_LIT(&o, "Vary: Accept-Encoding\r\n");
    }
    http__end(c, &o);

    c->body_bytes = 0;
    if (status == 304 || head_only || st->st_size == 0) {
        file_cache_unref(c->w->fc, e);
        return;
    }
    size_t body = (size_t)(end - start + 1);
    c->body_bytes = body;
    if (f->body != NULL && body <= CONN_WBUF_SIZE - c->wlen) {
        /* Small: headers and body in one write. */
        memcpy(c->wbuf + c->wlen, f->body + start, body);
        c->wlen += body;
        file_cache_unref(c->w->fc, e);
        return;
    }
    if (f->body != NULL) {
        /* In memory but larger than the write buffer can take after the
         * headers: cannot happen with FILE_CACHE_SMALL < CONN_WBUF_SIZE. */
        file_cache_unref(c->w->fc, e);
        c->keep_alive = 0;
        http__simple(c, 500, head_only, NULL, NULL, 0);
        return;
    }
    c->file_ref = e;
    c->file_fd = f->fd;
    c->file_off = start;
    c->file_end = end + 1;
}

static void http__redirect(conn_t *c, const http_request_t *req, int head_only)
{
    /* "/dir" -> "/dir/": relative links in its index need the slash. The
     * raw path is echoed; the parser let no CR, LF or space into it. */
    char loc[HTTP_PATH_MAX * 2];
    if (req->path.len + req->query.len + 3 > sizeof(loc)) {
        http__simple(c, 414, head_only, NULL, NULL, 0);
        return;
    }
    size_t n = req->path.len;
    memcpy(loc, req->path.p, n);
    loc[n++] = '/';
    if (req->query.len > 0) {
        loc[n++] = '?';
        memcpy(loc + n, req->query.p, req->query.len);
        n += req->query.len;
    }
    http__simple(c, 301, head_only, "Location", loc, n);
}

static void http__autoindex(conn_t *c, const char *path, size_t plen, int head_only)
{
    int dirfd = file_cache_openat(c->w->root_fd, plen > 1 ? path + 1 : ".");
    size_t len;
    if (dirfd < 0 || http__listing(c, dirfd, path, &len) < 0) {
        if (dirfd >= 0)
            close(dirfd);
        http__simple(c, 500, head_only, NULL, NULL, 0);
        return;
    }
    close(dirfd);
    http_out_t o = http__begin(c, 200);
    OUT_LIT(&o, "Content-Type: text/html; charset=utf-8\r\nContent-Length: ");
    out_num(&o, (long long)len);
    OUT_LIT(&o, "\r\n");
    http__end(c, &o);
    c->body_bytes = head_only ? 0 : len;
    c->file_off = 0;
    c->file_end = head_only ? 0 : (off_t)len;
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
    c->file_fd = fd;
    c->file_off = 0;
    c->file_end = head_only ? 0 : (off_t)len;
    c->body_bytes = head_only ? 0 : len;
}

void http_respond_status(conn_t *c, int status, int head_only)
{
    http__simple(c, status, head_only, NULL, NULL, 0);
}

static void http__serve(conn_t *c, const http_request_t *req)
{
    worker_t *w = c->w;
    int head_only = req->method == HTTP_METHOD_HEAD;
    char path[HTTP_PATH_MAX + 8];

    if (req->path.len >= HTTP_PATH_MAX) {
        c->keep_alive = 0;
        http__simple(c, 414, head_only, NULL, NULL, 0);
        return;
    }
    ssize_t plen = path_normalize(req->path.p, req->path.len, path, HTTP_PATH_MAX);
    if (plen < 0) {
        c->keep_alive = 0;
        http__simple(c, 400, head_only, NULL, NULL, 0);
        return;
    }
    if (path_has_dotfile(path, (size_t)plen) || w->fc == NULL) {
        http__simple(c, 404, head_only, NULL, NULL, 0);
        return;
    }

    file_cache_entry_t *e = file_cache_get(w->fc, path, (size_t)plen, w->wall);
    if (e == NULL) {
        http__simple(c, 500, head_only, NULL, NULL, 0);
        return;
    }
    file_cache_kind_t kind = e->kind;
    if (kind == FC_FILE) {
        file_cache_entry_t *f = e;
        if (e->gz != NULL && http__accepts(req->accept_encoding, "gzip"))
            f = e->gz;
        http__send_entry(c, req, e, f);
        return;
    }
    file_cache_unref(w->fc, e);
    switch (kind) {
    case FC_REDIRECT:
        http__redirect(c, req, head_only);
        break;
    case FC_LISTING:
        http__autoindex(c, path, (size_t)plen, head_only);
        break;
    case FC_FORBIDDEN:
        http__simple(c, 403, head_only, NULL, NULL, 0);
        break;
    case FC_NOTFOUND:
        http__simple(c, 404, head_only, NULL, NULL, 0);
        break;
    default:
        http__simple(c, 500, head_only, NULL, NULL, 0);
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
            http__simple(c, 413, head_only, NULL, NULL, 0);
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
        http__simple(c, 417, head_only, NULL, NULL, 0);
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
            http__simple(c, 400, head_only, NULL, NULL, 0);
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
        http__simple(c, 501, head_only, NULL, NULL, 0);
        return;
    default:
        http__simple(c, 405, head_only, NULL, NULL, 0);
        return;
    }
}
