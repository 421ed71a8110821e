/*
 * http2_stream: see http2_stream.h.
 */
#include "config.h"

#include "http2_stream.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "access_log.h"
#include "auth_pool.h"
#include "error_page.h"
#include "file_cache.h"
#include "handler.h"
#include "host.h"
#include "host_metrics.h"
#include "http_parser.h"
#include "log.h"
#include "metrics.h"
#include "response.h"

/* Header lines of a response: RESPONSE_MAX_LINES slices, each possibly
 * several lines, plus Server and Date. */
#define HTTP2_MAX_NV 64
/* What response_head_as() adds to the handler's lines: status, Server,
 * Date, and a Strict-Transport-Security value of up to 256 bytes. */
#define HTTP2_HEAD_EXTRA 512

http2_stream_t *http2_stream_new(int32_t id)
{
    http2_stream_t *s = malloc(sizeof(*s));
    if (s == NULL)
        return NULL;
    /* The field table is not cleared: nfields says how much is used. */
    memset(s, 0, offsetof(http2_stream_t, field));
    s->nfields = 0;
    s->body_in = 0;
    s->status = 0;
    s->host = NULL;
    s->rule = NULL;
    s->rule_log = NULL;
    s->client.text[0] = '\0';
    s->auth_job = NULL;
    s->held = NULL;
    s->held_len = 0;
    s->sent = 0;
    s->chunk = NULL;
    s->nchunks = s->ci = 0;
    s->copy = NULL;
    s->ref = NULL;
    s->fd = -1;
    s->frame_mem = NULL;
    s->frame_fd = -1;
    s->frame_off = 0;
    s->early = NULL;
    s->route_path = NULL;
    s->proxy = NULL;
    s->log_upstream = NULL;
    s->log_upstream_status = 0;
    s->log_upstream_us = 0;
    list_init(&s->link);
    s->id = id;
    return s;
}

void http2_stream_free(worker_t *w, http2_stream_t *s)
{
    auth_pool_forget(s->auth_job); /* a verdict still to come resumes nothing */
    if (s->ref != NULL)
        file_cache_unref(w->fc, s->ref);
    else if (s->fd >= 0)
        close(s->fd);
    list_remove(&s->link);
    if (s->early != NULL) {
        response_release(s->early, w->fc);
        free(s->early);
    }
    free(s->held);
    free(s->route_path);
    free(s->chunk);
    free(s->copy);
    free(s->buf);
    free(s);
}

int http2_stream_hold(http2_stream_t *s, const uint8_t *data, size_t len)
{
    if (s->held == NULL && (s->held = malloc(HTTP2_STREAM_WINDOW)) == NULL) {
        log_error("HTTP/2: out of memory for the request body of stream %d", (int)s->id);
        return -1;
    }
    /* nghttp2 refuses DATA past the window we gave: this is only a guard. */
    if (len > HTTP2_STREAM_WINDOW - s->held_len)
        return -1;
    memcpy(s->held + s->held_len, data, len);
    s->held_len += len;
    return 0;
}

void http2_stream_drop_held(nghttp2_session *session, http2_stream_t *s)
{
    if (s->held_len > 0)
        nghttp2_session_consume_stream(session, s->id, s->held_len);
    free(s->held);
    s->held = NULL;
    s->held_len = 0;
}

int http2_stream_field(http2_stream_t *s, const uint8_t *name, size_t nlen, const uint8_t *value,
                       size_t vlen, size_t max_list)
{
    /* RFC 9113 6.5.2: a field counts its name, its value and 32. */
    s->list_size += nlen + vlen + 32;
    if (s->list_size > max_list) {
        s->too_large = 1;
        return 0;
    }
    if (s->nfields == sizeof(s->field) / sizeof(s->field[0])) {
        s->too_many = 1;
        return 0;
    }
    if (s->len + nlen + vlen > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 512;
        while (cap < s->len + nlen + vlen)
            cap *= 2;
        char *b = realloc(s->buf, cap);
        if (b == NULL)
            return -1;
        s->buf = b;
        s->cap = cap;
    }
    http2_field_t *f = &s->field[s->nfields++];
    f->name = (uint32_t)s->len;
    f->name_len = (uint32_t)nlen;
    memcpy(s->buf + s->len, name, nlen);
    s->len += nlen;
    f->value = (uint32_t)s->len;
    f->value_len = (uint32_t)vlen;
    memcpy(s->buf + s->len, value, vlen);
    s->len += vlen;
    return 0;
}

static str_t http2__name(const http2_stream_t *s, unsigned i)
{
    return str_make(s->buf + s->field[i].name, s->field[i].name_len);
}

static str_t http2__value(const http2_stream_t *s, unsigned i)
{
    return str_make(s->buf + s->field[i].value, s->field[i].value_len);
}

/* The request from the stream's fields, as the HTTP/1 parser would make it.
 * nghttp2 has checked the pseudo-header fields (present once, in front,
 * none unknown) and refused connection-specific ones. Returns 0, or the
 * status to answer with. */
int http2_stream_request(const http2_stream_t *s, http_request_t *req, str_t *method)
{
    memset(req, 0, sizeof(*req));
    req->content_length = -1;
    req->version_minor = 1;
    req->keep_alive = 1;
    str_t authority = STR_NULL, host = STR_NULL;
    int has_authority = 0, has_protocol = 0, st = 0;
    for (unsigned i = 0; i < s->nfields; i++) {
        str_t name = http2__name(s, i), value = http2__value(s, i);
        if (name.len > 0 && name.p[0] == ':') {
            if (STR_EQ(name, ":method"))
                *method = value;
            else if (STR_EQ(name, ":path"))
                req->target = value;
            else if (STR_EQ(name, ":authority")) {
                authority = value;
                has_authority = 1;
            } else if (STR_EQ(name, ":protocol")) {
                has_protocol = 1;
            }
            continue;
        }
        if (req->num_headers < HTTP_MAX_HEADERS) {
            req->headers[req->num_headers].name = name;
            req->headers[req->num_headers].value = value;
            req->num_headers++;
        }
        if (STR_EQ(name, "host")) {
            host = value;
            continue;
        }
        int fst = http_request_field(req, name, value);
        if (fst > 0 && st == 0)
            st = fst;
    }
    req->method_name = *method;
    req->method = http_method_lookup(*method);
    /* RFC 9113 8.3.1: :authority, else Host, names the host. */
    req->host = has_authority ? authority : host;
    str_t h;
    int port;
    if (req->host.len > 0 && http_host_parse(req->host, &h, &port) < 0)
        return 400;
    /* An extended CONNECT (RFC 8441, :protocol) has a :path like any
     * request; a plain one names an authority. */
    if (req->method == HTTP_METHOD_CONNECT && !has_protocol) {
        req->target = req->host; /* authority-form */
        if (req->target.len == 0)
            return 400;
    }
    /* An extended CONNECT's :path is parsed as any origin-form target. */
    int extended = req->method == HTTP_METHOD_CONNECT && has_protocol;
    if (extended)
        req->method = HTTP_METHOD_GET;
    int bad = http_request_target(req) < 0;
    if (extended)
        req->method = HTTP_METHOD_CONNECT;
    if (bad)
        return 400;
    if (s->too_large || s->too_many)
        return 431;
    return st;
}

/* Turns the HTTP/1 head response_head() wrote into name/value pairs: the
 * status, then each "Name: value" line with its name in lower case, minus
 * the fields HTTP/2 forbids. Returns the pair count, or -1. */
int http2_stream_nv(char *head, size_t len, nghttp2_nv *nv, int max, char *status)
{
    char *p = memchr(head, '\n', len);
    char *end = head + len;
    if (p == NULL || len < 12)
        return -1;
    memcpy(status, head + 9, 3);
    int n = 0;
    nv[n++] = (nghttp2_nv){ (uint8_t *)":status", (uint8_t *)status, 7, 3, NGHTTP2_NV_FLAG_NONE };
    p++;
    while (p < end) {
        char *eol = memchr(p, '\r', (size_t)(end - p));
        char *colon = eol ? memchr(p, ':', (size_t)(eol - p)) : NULL;
        if (colon == NULL)
            return -1;
        size_t nlen = (size_t)(colon - p);
        for (size_t i = 0; i < nlen; i++)
            p[i] = (char)tolower((unsigned char)p[i]);
        char *v = colon + 1;
        while (v < eol && (*v == ' ' || *v == '\t'))
            v++;
        str_t name = str_make(p, nlen);
        int skip = STR_EQ(name, "connection") || STR_EQ(name, "keep-alive") ||
                   STR_EQ(name, "transfer-encoding") || STR_EQ(name, "upgrade") ||
                   STR_EQ(name, "proxy-connection");
        if (!skip) {
            if (n == max)
                return -1;
            nv[n++] = (nghttp2_nv){ (uint8_t *)p, (uint8_t *)v, nlen, (size_t)(eol - v),
                                    NGHTTP2_NV_FLAG_NONE };
        }
        p = eol + 2;
    }
    return n;
}

/* The data source: the next chunk's bytes, never copied here (http2.c's
 * send_data_callback writes them after the frame header). */
static ssize_t http2__read(nghttp2_session *session, int32_t id, uint8_t *buf, size_t length,
                           uint32_t *flags, nghttp2_data_source *source, void *user_data)
{
    http2_stream_t *s = source->ptr;
    while (s->ci < s->nchunks && s->chunk[s->ci].len == 0)
        s->ci++;
    if (s->ci == s->nchunks) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        return 0;
    }
    http2_chunk_t *ch = &s->chunk[s->ci];
    size_t n = ch->len < length ? (size_t)ch->len : length;
    s->frame_mem = ch->mem ? ch->mem + ch->off : NULL;
    s->frame_fd = ch->fd;
    s->frame_off = ch->off;
    ch->off += (off_t)n;
    ch->len -= n;
    while (s->ci < s->nchunks && s->chunk[s->ci].len == 0)
        s->ci++;
    *flags |= NGHTTP2_DATA_FLAG_NO_COPY;
    if (s->ci == s->nchunks)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

/* Takes r's body over as chunks. Returns 0, or -1 when out of memory (r
 * still owns its body then). */
static int http2__body(worker_t *w, http2_stream_t *s, response_t *r)
{
    unsigned n = r->body == RESPONSE_BODY_PIECES ? 2 * r->nparts + 1 : 1;
    s->chunk = calloc(n, sizeof(*s->chunk));
    if (s->chunk == NULL)
        return -1;
    s->nchunks = n;
    if (r->body == RESPONSE_BODY_BYTES) {
        const char *p = r->bytes;
        if (r->ref == NULL) {
            /* In the response's scratch (an error page, the status page):
             * it dies with r. */
            s->copy = malloc(r->length ? r->length : 1);
            if (s->copy == NULL)
                return -1;
            memcpy(s->copy, r->bytes, r->length);
            p = s->copy;
        }
        s->chunk[0] = (http2_chunk_t){ p, -1, 0, r->length };
    } else if (r->body == RESPONSE_BODY_FILE) {
        s->chunk[0] = (http2_chunk_t){ NULL, r->fd, r->off, r->length };
    } else {
        size_t plen = r->part[r->nparts].head_end;
        s->copy = malloc(plen ? plen : 1);
        if (s->copy == NULL)
            return -1;
        memcpy(s->copy, r->parts, plen);
        size_t from = 0;
        unsigned k = 0;
        for (unsigned i = 0; i <= r->nparts; i++) {
            s->chunk[k++] = (http2_chunk_t){ s->copy, -1, (off_t)from, r->part[i].head_end - from };
            from = r->part[i].head_end;
            if (i < r->nparts) {
                uint64_t len = (uint64_t)(r->part[i].end - r->part[i].off);
                if (r->bytes != NULL)
                    s->chunk[k++] = (http2_chunk_t){ r->bytes, -1, r->part[i].off, len };
                else
                    s->chunk[k++] = (http2_chunk_t){ NULL, r->fd, r->part[i].off, len };
            }
        }
    }
    s->ref = r->ref;
    s->fd = r->ref == NULL ? r->fd : -1; /* a memfd or an uncached file: ours now */
    r->ref = NULL;
    r->fd = -1;
    r->body = RESPONSE_BODY_NONE;
    (void)w;
    return 0;
}

void http2_stream_answered(conn_t *c, http2_stream_t *s, unsigned method, int status)
{
    worker_t *w = c->w;
    s->status = status;
    s->responded = 1;
    w->report.requests++;
    if (status >= 100 && status < 600)
        w->report.status_class[status / 100]++;
    /* /metrics counts streams as HTTP/1 counts requests; what a stream
     * read is its body (its header block was decoded by nghttp2). */
    metrics_count(&w->report, method, status, s->body_in);
    host_metrics_count_host(s->host, status);
    s->started = w->now;
}

/* Submits r (taken over: its body becomes the stream's chunks). */
static int http2__submit(nghttp2_session *session, conn_t *c, http2_stream_t *s, response_t *r,
                         unsigned method)
{
    worker_t *w = c->w;
    int head_only = method == HTTP_METHOD_HEAD;
    char head[RESPONSE_SCRATCH + HTTP2_HEAD_EXTRA];
    nghttp2_nv nv[HTTP2_MAX_NV];
    char status[3];
    /* The head HTTP/1 would send (Server as server_tokens says, HSTS
     * over HTTPS), turned into header fields. */
    const char *server = w->a.conf->server_tokens ? RESPONSE_SERVER_VERSION : RESPONSE_SERVER;
    const char *hsts = !c->https ? NULL : r->hsts_set ? r->hsts : w->a.conf->tls_hsts;
    ssize_t hlen = r->overflow ? -1 : response_head_as(r, w->wall, server, hsts, head, sizeof(head));
    int nnv = hlen < 0 ? -1 : http2_stream_nv(head, (size_t)hlen, nv, HTTP2_MAX_NV, status);
    if (nnv < 0) {
        /* Only a huge Location overflows: a 500 always fits. */
        response_release(r, w->fc);
        error_page_status(w, r, 500);
        hlen = response_head_as(r, w->wall, server, hsts, head, sizeof(head));
        nnv = http2_stream_nv(head, (size_t)hlen, nv, HTTP2_MAX_NV, status);
    }
    s->rule = r->rule;
    s->rule_log = r->log;
    http2_stream_answered(c, s, method, r->status);

    nghttp2_data_provider dp = { .source.ptr = s, .read_callback = http2__read };
    const nghttp2_data_provider *body = &dp;
    if (head_only || r->body == RESPONSE_BODY_NONE || r->length == 0 || http2__body(w, s, r) < 0) {
        response_release(r, w->fc);
        body = NULL;
    }
    return nghttp2_submit_response(session, s->id, nv, (size_t)nnv, body);
}

int http2_stream_error(nghttp2_session *session, conn_t *c, http2_stream_t *s, unsigned method,
                       int status)
{
    response_t r;
    error_page_status(c->w, &r, status);
    return http2__submit(session, c, s, &r, method);
}

/* A response routed before the request body ended, or NULL. */
static void http2__drop_early(worker_t *w, http2_stream_t *s)
{
    if (s->early == NULL)
        return;
    response_release(s->early, w->fc);
    free(s->early);
    s->early = NULL;
}

/* r says proxy: the route into the stream (r's scratch dies with it). */
static int http2__route(http2_stream_t *s, const response_t *r)
{
    free(s->route_path);
    s->route_path = malloc(r->proxy_path.len ? r->proxy_path.len : 1);
    if (s->route_path == NULL)
        return -1;
    if (r->proxy_path.len > 0)
        memcpy(s->route_path, r->proxy_path.p, r->proxy_path.len);
    s->route = (proxy_route_t){
        .conf = r->proxy, .prefix = r->proxy_prefix,
        .path = str_make(s->route_path, r->proxy_path.len),
        .extra = { .rule_headers = r->rule_headers, .rule_headers_len = r->rule_headers_len,
                   .rule_unset = r->rule_unset, .rule_unset_len = r->rule_unset_len,
                   .hsts = r->hsts, .hsts_set = r->hsts_set },
    };
    s->rule = r->rule;
    s->rule_log = r->log;
    return 0;
}

int http2_stream_respond(nghttp2_session *session, conn_t *c, http2_stream_t *s)
{
    worker_t *w = c->w;
    const conf_t *conf = w->a.conf;
    http_request_t req;
    response_t stack, *r = &stack;
    str_t method = STR_NULL;

    int st = http2_stream_request(s, &req, &method);
    if (st == 0 && req.content_length > 0 && (uint64_t)req.content_length > conf->max_body_size)
        st = 413;
    if (st == 0 && s->body_in > conf->max_body_size)
        st = 413;
    if (st == 0 && req.bad_expect)
        st = 417;
    /* The virtual host by :authority (or Host), once, as HTTP/1 does;
     * over HTTPS a name whose certificate SNI did not choose is a 421. */
    s->host = host_select(w, &req);
    if (st == 0 && host_misdirected(c, req.host))
        st = 421;
    if (st == 0 && s->early != NULL && s->request_ended) {
        r = s->early; /* routed when its head came: answered now the body is in */
    } else if (st != 0) {
        http2__drop_early(w, s);
        error_page_status(w, r, st);
    } else {
        /* A body still to come: routed now, so a proxied request streams
         * it; any other answer is kept until the body is in (it is read
         * and dropped meanwhile, as before). */
        if (!s->request_ended && s->early == NULL && (s->early = malloc(sizeof(*r))) != NULL)
            r = s->early;
        handler_req_t h = { .w = w, .req = &req, .conn_id = (uint64_t)(uintptr_t)c,
                            .seq = (unsigned)s->id, .host = s->host, .https = c->https,
                            .conn_limit = &c->limit_conn_key, .waiter = c, .job = &s->auth_job,
                            .can_proxy = 1 };
        int pf;
        const void *pa = conn_peer(c, &pf);
        real_ip_resolve(w->a.conf->real_ip, &req, pf, pa, &s->client);
        h.family = s->client.family;
        h.addr = s->client.addr;
        handler_respond(&h, r);
        if (r->pending || r->proxy != NULL) {
            int proxied = r->proxy != NULL;
            int routed = proxied && http2__route(s, r) == 0;
            if (r == s->early) {
                free(s->early);
                s->early = NULL;
            }
            if (proxied && !routed) {
                error_page_status(w, &stack, 500);
                return http2__submit(session, c, s, &stack, req.method);
            }
            /* pending: its password is hashed off the loop, http2__resume answers it */
            return routed ? HTTP2_STREAM_PROXY : 0;
        }
        if (r == s->early)
            return 0; /* answered when the body is in */
    }
    int rv = http2__submit(session, c, s, r, req.method);
    if (r == s->early) {
        free(s->early);
        s->early = NULL;
    }
    return rv;
}

void http2_stream_log(conn_t *c, http2_stream_t *s)
{
    worker_t *w = c->w;
    if (s->responded)
        metrics_time(&w->report, s->started);
    access_log_t *log = s->rule_log != NULL ? (access_log_t *)s->rule_log
                        : s->host != NULL ? s->host->log : &w->access_log;
    if (!s->responded || !access_log_on(log))
        return;
    str_t method = STR_NULL, path = STR_NULL, referer = STR_NULL, agent = STR_NULL, host = STR_NULL;
    for (unsigned i = 0; i < s->nfields; i++) {
        str_t name = http2__name(s, i);
        if (STR_EQ(name, ":method"))
            method = http2__value(s, i);
        else if (STR_EQ(name, ":path"))
            path = http2__value(s, i);
        else if (STR_EQ(name, ":authority"))
            host = http2__value(s, i);
        else if (STR_EQ(name, "host") && host.len == 0)
            host = http2__value(s, i);
        else if (STR_EQ(name, "referer"))
            referer = http2__value(s, i);
        else if (STR_EQ(name, "user-agent"))
            agent = http2__value(s, i);
    }
    /* "GET /path HTTP/2.0", as the combined format expects; long paths are
     * cut rather than dropped. */
    char line[2048];
    int n = snprintf(line, sizeof(line), "%.*s %.*s HTTP/2.0", (int)(method.len > 32 ? 32 : method.len),
                     method.p ? method.p : "", (int)(path.len > 1900 ? 1900 : path.len),
                     path.p ? path.p : "");
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double took = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 - s->log_start;
    access_log_record_t rec = {
        .addr = s->client.text[0] != '\0' ? s->client.text : conn_addr(c),
        .request = str_make(line, n > 0 ? (size_t)n : 0), .status = s->status,
        .duration_us = took > 0 ? (uint64_t)(took * 1e6) : 0,
        .body_bytes = s->sent, .referer = referer, .agent = agent,
        .scheme = c->https ? "https" : "http", .tls_version = c->tls_version, .host = host,
        .rule = s->rule, .upstream = s->log_upstream,
        .upstream_status = s->log_upstream_status, .upstream_us = s->log_upstream_us,
    };
    access_log_write(log, &rec, w->wall);
}
