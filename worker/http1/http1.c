/*
 * http1: see http1.h.
 */
#include "config.h"

#include "http1.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "access_log.h"
#include "discard.h"
#include "error_page.h"
#include "handler.h"
#include "host.h"
#include "redirect_https.h"
#include "http_parser.h"
#include "metrics.h"
#include "host_metrics.h"
#include "proxy.h"
#include "response.h"

/* The request line and log fields, for the access log. */
static void http1__log_fields(conn_t *c, const http_request_t *req)
{
    if (req != NULL) {
        const char *start = req->method_name.p;
        const char *end = memchr(start, '\r', (size_t)(c->rbuf + c->head_len - start));
        c->log_request = str_make(start, end ? (size_t)(end - start) : 0);
        c->log_referer = req->referer;
        c->log_agent = req->user_agent;
        c->log_host = req->host;
    } else {
        size_t n = c->rlen < 1024 ? c->rlen : 1024;
        const char *s = c->rbuf ? c->rbuf : "";
        size_t i = 0;
        while (i < n && s[i] != '\r' && s[i] != '\n')
            i++;
        c->log_request = str_make(s, i);
        c->log_referer = STR_NULL;
        c->log_agent = STR_NULL;
        c->log_host = STR_NULL;
    }
    c->log_start = c->w->now;
    c->log_upstream = NULL;
    c->log_upstream_status = 0;
}

#define HTTP1_LIT(p, lit) (memcpy((p), (lit), sizeof(lit) - 1), sizeof(lit) - 1)

/* The head of r in wbuf: r's status line and header lines, the
 * Connection line when one is due, the blank line. Returns its length, or
 * -1 when it does not fit. */
static ssize_t http1__head(conn_t *c, const response_t *r)
{
    const char *server = c->w->a.conf->server_tokens ? RESPONSE_SERVER_VERSION : RESPONSE_SERVER;
    const char *hsts = !c->https ? NULL : r->hsts_set ? r->hsts : c->w->a.conf->tls_hsts;
    ssize_t n = response_head_as(r, c->w->wall, server, hsts, c->wbuf, CONN_WBUF_SIZE - 32);
    if (n < 0)
        return -1;
    size_t len = (size_t)n;
    if (!c->keep_alive)
        len += HTTP1_LIT(c->wbuf + len, "Connection: close\r\n");
    else if (c->requests_http10)
        len += HTTP1_LIT(c->wbuf + len, "Connection: keep-alive\r\n");
    len += HTTP1_LIT(c->wbuf + len, "\r\n");
    return (ssize_t)len;
}

/* Pieces after the head: the part headers and the file's ranges. Returns
 * -1 when they do not fit the write buffer. */
static int http1__pieces(conn_t *c, response_t *r, size_t head)
{
    size_t n = r->nparts;
    size_t plen = r->part[n].head_end;
    if (r->bytes != NULL) {
        /* In memory: the whole body goes into wbuf, one send. */
        if (head + r->length > CONN_WBUF_SIZE)
            return -1;
        char *p = c->wbuf + head;
        size_t from = 0;
        for (size_t i = 0; i <= n; i++) {
            memcpy(p, r->parts + from, r->part[i].head_end - from);
            p += r->part[i].head_end - from;
            from = r->part[i].head_end;
            if (i < n) {
                size_t len = (size_t)(r->part[i].end - r->part[i].off);
                memcpy(p, r->bytes + r->part[i].off, len);
                p += len;
            }
        }
        c->wlen = (size_t)(p - c->wbuf);
        response_release(r, c->w->fc);
        return 0;
    }
    /* sendfile: wbuf holds the head, every part header and, at its end,
     * the table of pieces (aligned for conn_piece_t). */
    size_t table = n * sizeof(conn_piece_t) + sizeof(conn_piece_t);
    size_t table_at = (CONN_WBUF_SIZE - table) & ~(sizeof(off_t) - 1);
    if (head + plen > table_at)
        return -1;
    memcpy(c->wbuf + head, r->parts, plen);
    conn_piece_t *pieces = (conn_piece_t *)(void *)(c->wbuf + table_at);
    for (size_t i = 1; i <= n; i++) {
        pieces[i - 1].wend = head + r->part[i].head_end;
        pieces[i - 1].off = r->part[i].off;
        pieces[i - 1].end = r->part[i].end;
    }
    c->wlen = head + r->part[0].head_end;
    c->pieces = pieces;
    c->npieces = (unsigned)n;
    c->piece = 0;
    c->file_ref = r->ref;
    c->file_fd = r->fd;
    c->io.map = conn_file_map(c);
    c->file_off = r->part[0].off;
    c->file_end = r->part[0].end;
    return 0;
}

/* Writes r onto c: the head into wbuf, then the body (see http1.h). Takes
 * what r's body holds. */
static void http1__frame(conn_t *c, response_t *r, int head_only)
{
    worker_t *w = c->w;
    c->status = r->status;
    c->log_rule = r->rule;
    c->rule_log = r->log;
    c->body_bytes = 0;
    if (r->close)
        c->keep_alive = 0;
    if (c->wbuf == NULL)
        c->wbuf = conn_buf_get(w, 1);
    if (c->wbuf == NULL) {
        /* Out of memory for a write buffer: nothing can be sent; the
         * connection closes after its empty response. */
        response_release(r, w->fc);
        c->wlen = 0;
        c->keep_alive = 0;
        return;
    }
    ssize_t head = r->overflow ? -1 : http1__head(c, r);
    if (head < 0)
        goto overflow;
    c->wlen = (size_t)head;
    if (head_only || r->body == RESPONSE_BODY_NONE) {
        response_release(r, w->fc);
        return;
    }
    switch (r->body) {
    case RESPONSE_BODY_BYTES:
        if (r->length > CONN_WBUF_SIZE - c->wlen)
            goto overflow; /* cannot happen: FILE_CACHE_SMALL < CONN_WBUF_SIZE */
        memcpy(c->wbuf + c->wlen, r->bytes, (size_t)r->length);
        c->wlen += (size_t)r->length;
        c->body_bytes = r->length;
        response_release(r, w->fc);
        return;
    case RESPONSE_BODY_FILE:
        c->file_ref = r->ref;
        c->file_fd = r->fd;
        c->io.map = conn_file_map(c);
        c->file_off = r->off;
        c->file_end = r->off + (off_t)r->length;
        c->body_bytes = r->length;
        return;
    case RESPONSE_BODY_PIECES:
        if (http1__pieces(c, r, (size_t)head) < 0)
            goto overflow;
        c->body_bytes = r->length;
        return;
    case RESPONSE_BODY_NONE:
        return;
    }
    return;

overflow:
    /* Only a huge Location can overflow: answer 500 instead (a 500 always
     * fits, so this recurses once). */
    response_release(r, w->fc);
    c->keep_alive = 0;
    if (r->status == 500) {
        c->wlen = 0;
        return;
    }
    error_page_status(w, r, 500);
    http1__frame(c, r, head_only);
}

/* The upstream gave no response (c->status: 502, 504): the error page.
 * A request body not forwarded whole is not read: close after it. */
static void http1__proxy_failed(conn_t *c, int head_only)
{
    response_t r;
    int status = c->status;
    c->keep_alive = 0;
    c->linger = 1;
    error_page_status(c->w, &r, status);
    http1__frame(c, &r, head_only);
}

/* An error for a request that could not be parsed (or a head too large):
 * the connection closes after it. */
static void http1__error(conn_t *c, int status)
{
    response_t r;
    c->keep_alive = 0;
    c->body_left = 0;
    c->requests_http10 = 0;
    c->method = 0;
    http1__log_fields(c, NULL);
    c->host = host_select(c->w, NULL);
    error_page_status(c->w, &r, status);
    http1__frame(c, &r, 0);
}

/* A request for a location with proxy: (proxy.h). Its body, if any, is
 * forwarded rather than discarded, so the connection may stay open. */
static void http1__proxy(conn_t *c, const http_request_t *req, const response_t *r, int keep_alive)
{
    c->log_rule = r->rule;
    c->rule_log = r->log;
    c->keep_alive = keep_alive;
    c->linger = 0;
    c->body_left = 0;
    proxy_route_t rt = {
        .conf = r->proxy, .prefix = r->proxy_prefix, .path = r->proxy_path,
        .extra = { .rule_headers = r->rule_headers, .rule_headers_len = r->rule_headers_len,
                   .rule_unset = r->rule_unset, .rule_unset_len = r->rule_unset_len,
                   .hsts = r->hsts, .hsts_set = r->hsts_set },
    };
    if (proxy_start(c, req, &rt) == PROXY_FAIL) {
        http1__proxy_failed(c, req->method == HTTP_METHOD_HEAD);
        return;
    }
    c->state = CONN_PROXY;
}

/* A parsed request: the framing's decisions, then the handlers'. */
static void http1__request(conn_t *c, const http_request_t *req)
{
    worker_t *w = c->w;
    const conf_t *conf = w->a.conf;
    int head_only = req->method == HTTP_METHOD_HEAD;
    response_t r;

    http1__log_fields(c, req);
    /* Once per request, before any answer: even a 413 is the host's. */
    c->host = host_select(w, req);
    c->method = req->method;
    c->requests_http10 = req->version_minor == 0;
    c->keep_alive = req->keep_alive && !w->draining && conf->keepalive_timeout > 0 &&
                    c->requests + 1 < (unsigned)conf->keepalive_requests;
    c->body_left = 0;
    c->linger = 0;
    int keep_alive = c->keep_alive;

    if (req->content_length > 0) {
        if ((uint64_t)req->content_length > conf->max_body_size) {
            c->keep_alive = 0;
            c->linger = 1;
            error_page_status(w, &r, 413);
            http1__frame(c, &r, head_only);
            return;
        }
        if (req->expect_continue) {
            /* The client waits for 100 before sending its body; we do not
             * want the body, so answer and close (RFC 9110 10.1.1). */
            c->keep_alive = 0;
            c->linger = 1;
        } else if (!discard_keep(req->content_length - (int64_t)(c->rlen - c->head_len))) {
            /* Too much to read for a body we do not want: close, and
             * linger so the response is not lost to a RST. */
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
        error_page_status(w, &r, 417);
        http1__frame(c, &r, head_only);
        return;
    }

    /* Over HTTPS, a Host whose certificate is not the one SNI chose. */
    if (host_misdirected(c, req->host)) {
        error_page_status(w, &r, 421);
        http1__frame(c, &r, head_only);
        return;
    }
    if (c->redirect_https) {
        redirect_https_respond(w, req, &r);
        http1__frame(c, &r, head_only);
        return;
    }
    handler_req_t h = { .w = w, .req = req, .conn_id = (uint64_t)(uintptr_t)c, .seq = c->requests,
                        .host = c->host, .https = c->https, .conn_limit = &c->limit_conn_key,
                        .waiter = c, .job = &c->auth_job, .can_proxy = 1 };
    int pf;
    const void *pa = conn_peer(c, &pf);
    real_ip_resolve(w->a.conf->real_ip, req, pf, pa, &c->client);
    h.family = c->client.family;
    h.addr = c->client.addr;
    handler_respond(&h, &r);
    if (r.pending) {
        /* Parked: no answer, nothing counted; conn_resume runs it again. */
        c->state = CONN_WAIT;
        return;
    }
    if (r.proxy != NULL) {
        http1__proxy(c, req, &r, keep_alive);
        return;
    }
    http1__frame(c, &r, head_only);
}

/* The response is written: log it, then the next request or close. */
static void http1__finish(conn_t *c)
{
    worker_t *w = c->w;
    metrics_time(&w->report, c->started);
    access_log_t *log = c->rule_log != NULL ? (access_log_t *)c->rule_log
                        : c->host != NULL ? c->host->log : &w->access_log;
    if (access_log_on(log)) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        double took = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 - c->log_start;
        access_log_record_t rec = {
            .addr = c->client.text[0] != '\0' ? c->client.text : conn_addr(c),
            .request = c->log_request, .status = c->status,
            .body_bytes = c->body_bytes, .referer = c->log_referer, .agent = c->log_agent,
            .scheme = c->https ? "https" : "http", .tls_version = c->tls_version,
            .host = c->log_host, .duration_us = took > 0 ? (uint64_t)(took * 1e6) : 0,
            .rule = c->log_rule, .upstream = c->log_upstream,
            .upstream_status = c->log_upstream_status, .upstream_us = c->log_upstream_us,
        };
        access_log_write(log, &rec, w->wall);
    }
    c->client.text[0] = '\0';
    conn_output_done(c);

    if (!c->keep_alive) {
        if (c->rlen > c->head_len || c->body_left > 0)
            c->linger = 1;
        conn_start_linger(c);
        return;
    }
    /* Drop the served head; keep any pipelined bytes after it. */
    if (c->head_len < c->rlen) {
        memmove(c->rbuf, c->rbuf + c->head_len, c->rlen - c->head_len);
        c->rlen -= c->head_len;
    } else {
        c->rlen = 0;
    }
    c->head_len = 0;
    c->last_len = 0;
    c->state = CONN_READ_HEAD;
    if (c->body_left > 0)
        discard_start(c);
    else if (c->rlen == 0)
        conn_keepalive(c);
    else
        conn_list_append(&w->header_list, c, w->now);
}

/* A response is decided: count it. */
static void http1__count(conn_t *c)
{
    worker_t *w = c->w;
    c->requests++;
    w->report.requests++;
    if (c->status >= 100 && c->status < 600)
        w->report.status_class[c->status / 100]++;
    metrics_count(&w->report, c->method, c->status, c->head_len);
    host_metrics_count(c, c->status);
    c->started = w->now;
}

/* After a response is framed: count it, then write. */
static void http1__prepare(conn_t *c, int parsed)
{
    worker_t *w = c->w;
    http1__count(c);
    c->state = CONN_WRITE;
    c->woff = 0;
    c->sent_bytes = 0;
    if (!parsed)
        c->linger = 1;
    conn_list_append(&w->send_list, c, w->now);
}

void http1_process(conn_t *c, uint32_t events)
{
    worker_t *w = c->w;
    http_request_t req;

    conn_note_events(c, events);

    for (int turn = 0; turn < 64; turn++) {
        switch (c->state) {
        case CONN_LINGER:
            conn_linger(c);
            return;

        case CONN_WAIT:
            return; /* its bytes stay unread until it runs again */

        case CONN_PROXY: {
            int r = proxy_run(c);
            if (r == PROXY_AGAIN)
                return;
            if (r == PROXY_CLOSE) {
                /* Logged and counted with what the client got (499: it
                 * left before the answer), then closed without linger. */
                if (c->proto_ops != NULL && c->proto_ops->release != NULL)
                    c->proto_ops->release(c);
                double started = c->log_start;
                http1__count(c);
                c->started = started;
                c->keep_alive = 0;
                c->linger = 0;
                http1__finish(c);
                return;
            }
            if (r == PROXY_FAIL) {
                http1__proxy_failed(c, c->method == HTTP_METHOD_HEAD);
                http1__prepare(c, 1);
                break;
            }
            /* Counted and timed like a response written by CONN_WRITE. */
            double started = c->log_start;
            http1__count(c);
            c->started = started;
            int open = c->keep_alive;
            http1__finish(c);
            if (!open)
                return;
            break;
        }

        case CONN_WRITE: {
            int r = conn_write(c);
            if (r < 0) {
                conn_close(c);
                return;
            }
            if (r == 0)
                return;
            int open = c->keep_alive;
            http1__finish(c);
            if (!open)
                return;
            break;
        }

        case CONN_DISCARD_BODY: {
            int r = discard_run(c);
            if (r < 0) {
                conn_close(c);
                return;
            }
            if (r == 0)
                return;
            c->state = CONN_READ_HEAD;
            if (c->rlen)
                conn_list_append(&w->header_list, c, w->now);
            else
                conn_keepalive(c);
            break;
        }

        case CONN_READ_HEAD: {
            if (c->rlen > 0 && c->rlen != c->last_len) {
                ssize_t n = http_parse_request(c->rbuf, c->rlen, c->last_len,
                                               w->a.conf->max_header_size, &req);
                if (n > 0) {
                    c->head_len = (size_t)n;
                    http1__request(c, &req);
                    if (c->state == CONN_WAIT)
                        return;
                    if (c->state == CONN_PROXY)
                        break;
                    http1__prepare(c, 1);
                    break;
                }
                if (n == -1) {
                    c->head_len = c->rlen;
                    http1__error(c, req.status);
                    http1__prepare(c, 0);
                    break;
                }
                c->last_len = c->rlen;
            }
            size_t before = c->rlen;
            ssize_t r = conn_read(c);
            if (r < 0) {
                conn_close(c);
                return;
            }
            if (r == 0) {
                if (c->rlen == 0 && c->rbuf != NULL) {
                    /* Idle: the buffer goes back to the pool. */
                    conn_buf_put(w, c->rbuf, 0);
                    c->rbuf = NULL;
                }
                if (c->rlen == w->rbuf_size && c->last_len == c->rlen) {
                    /* Full and still no end of head: the parser has
                     * answered 414/431 above unless the buffer holds a
                     * pipelined tail; treat it as too large. */
                    c->head_len = c->rlen;
                    http1__error(c, 431);
                    http1__prepare(c, 0);
                    break;
                }
                return;
            }
            if (before == 0 && c->list == &w->keepalive_list) {
                /* First byte of a new request: the header timeout counts
                 * from here and is not re-armed by later bytes. */
                conn_list_append(&w->header_list, c, w->now);
            }
            break;
        }
        }
    }
    /* Many pipelined requests in a row: let other connections run first.
     * No edge will come for bytes already read, so queue it to run again;
     * it stays on its timer list meanwhile. */
    conn_ready_push(c);
}
