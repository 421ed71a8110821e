/*
 * http2_proxy: see http2_proxy.h.
 */
#include "config.h"

#include "http2_proxy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "host.h"
#include "http2_proxy_body.h"
#include "http2_tunnel.h"
#include "log.h"
#include "proxy_compress.h"
#include "proxy_upstream.h"

/* The request body held per stream: one stream window. */
#define HTTP2_PROXY_IN HTTP2_STREAM_WINDOW
/* Response header fields: the upstream's, plus Server, Date, the host's
 * and the rule's. */
#define HTTP2_PROXY_NV (HTTP_MAX_HEADERS + 32)


/* The exchange's access log fields into the stream, and its upstream side
 * freed (the socket pooled only when pool). */
static void http2_proxy__end(http2_proxy_t *hp, int pool)
{
    if (hp->p == NULL)
        return;
    proxy_upstream_log(hp->p, &hp->s->log_upstream, &hp->s->log_upstream_status,
                       &hp->s->log_upstream_us);
    proxy_upstream_free(hp->p, pool);
    hp->p = NULL;
}

/* --- the request body -------------------------------------------------- */

void http2_proxy_data(nghttp2_session *session, http2_stream_t *s, const uint8_t *data, size_t len)
{
    http2_proxy_t *hp = s->proxy;
    /* The connection's window comes back at once: what bounds a stream's
     * body is its own window (and the buffer below). */
    nghttp2_session_consume_connection(session, len);
    if (hp->p == NULL || (hp->p->phase > PROXY_SEND && (!hp->tunnel || hp->p->fd < 0))) {
        nghttp2_session_consume_stream(session, s->id, len); /* not wanted any more */
        return;
    }
    if (hp->in == NULL && (hp->in = malloc(HTTP2_PROXY_IN)) == NULL) {
        log_error("proxy: out of memory for the request body of an HTTP/2 stream");
        nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_INTERNAL_ERROR);
        return;
    }
    if (len > HTTP2_PROXY_IN - hp->in_len) {
        /* More than the window we gave: nghttp2 refuses that first, so
         * this is only a guard. */
        nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_FLOW_CONTROL_ERROR);
        return;
    }
    memcpy(hp->in + hp->in_len, data, len);
    hp->in_len += len;
    hp->kick = 1;
}

void http2_proxy_kick(http2_stream_t *s)
{
    http2_proxy_t *hp = s->proxy;
    if (hp != NULL)
        hp->kick = 1;
}

/* proxy_side_t.body: the DATA held, as they are (Content-Length) or as
 * chunks framed in p->obuf. The stream's window comes back as bytes
 * leave in[]. */
static int http2_proxy__body(proxy_t *p, const char **out, size_t *len)
{
    http2_proxy_t *hp = p->data;
    http2_stream_t *s = hp->s;
    if (hp->tunnel)
        return 2; /* nothing before the upstream's 101: then DATA goes both ways */
    if (s->body_in > p->c->w->a.conf->max_body_size) {
        log_info("proxy: client %s: HTTP/2 request body over max_body_size: 413",
                 conn_addr(p->c));
        return 413;
    }
    if (!hp->chunked) {
        if (hp->in_len > 0) {
            *out = hp->in;
            *len = hp->in_len;
            return 1;
        }
        return s->request_ended ? 2 : 0;
    }
    if (p->ooff == p->olen) {
        p->ooff = p->olen = 0;
        if (hp->in_len > 0) {
            size_t n = hp->in_len < PROXY_OBUF_SIZE - 32 ? hp->in_len : PROXY_OBUF_SIZE - 32;
            p->olen = (size_t)snprintf(p->obuf, 32, "%zx\r\n", n);
            memcpy(p->obuf + p->olen, hp->in, n);
            memcpy(p->obuf + p->olen + n, "\r\n", 2);
            p->olen += n + 2;
            memmove(hp->in, hp->in + n, hp->in_len - n);
            hp->in_len -= n;
            nghttp2_session_consume_stream(hp->session, s->id, n);
        } else if (s->request_ended && !hp->last_chunk) {
            memcpy(p->obuf, "0\r\n\r\n", 5);
            p->olen = 5;
            hp->last_chunk = 1;
        } else {
            return s->request_ended ? 2 : 0;
        }
    }
    *out = p->obuf + p->ooff;
    *len = p->olen - p->ooff;
    return 1;
}

static void http2_proxy__body_sent(proxy_t *p, size_t n)
{
    http2_proxy_t *hp = p->data;
    if (hp->chunked) {
        p->ooff += n;
        return;
    }
    memmove(hp->in, hp->in + n, hp->in_len - n);
    hp->in_len -= n;
    nghttp2_session_consume_stream(hp->session, hp->s->id, n);
}

/* --- the response -------------------------------------------------------- */

/* The upstream's 101 to an extended CONNECT: :status 200 (RFC 8441 5),
 * with the subprotocol and extensions it chose, then the tunnel (the
 * upstream's bytes until it closes, the client's DATA to it). */
static int http2_proxy__tunnel(http2_proxy_t *hp, proxy_t *p)
{
    nghttp2_nv nv[3];
    size_t nnv = http2_tunnel_fields(&p->res, nv, 3);
    p->mode = PROXY_BODY_CLOSE;
    p->phase = PROXY_BODY;
    p->tunnel = 1;
    p->reusable = 0;
    http2_stream_answered(p->c, hp->s, hp->method, 200);
    nghttp2_data_provider dp = {.source.ptr = hp, .read_callback = http2_proxy_body_read};
    int rv = nghttp2_submit_response(hp->session, hp->s->id, nv, nnv, &dp);
    if (rv != 0) {
        log_error("proxy: nghttp2_submit_response(): %s", nghttp2_strerror(rv));
        return PROXY_CLOSE;
    }
    hp->answered = 1;
    hp->kick = 1;
    return PROXY_AGAIN;
}

/* proxy_side_t.answer: HEADERS from the upstream's head, and the data
 * provider (none for a response without a body). */
static int http2_proxy__answer(proxy_t *p)
{
    http2_proxy_t *hp = p->data;
    http2_stream_t *s = hp->s;
    conn_t *c = p->c;
    if (p->res.status == 101)
        return http2_proxy__tunnel(hp, p);
    hp->tunnel = 0; /* refused: an answer like any other, the client's DATA dropped */
    /* A chunked body is decoded and sent bare, as to an HTTP/1.0 client:
     * HTTP/2 frames it. */
    p->mode = proxy_response_mode(&p->res, p->head_only, 1);
    p->left = p->res.content_length;
    char head[CONN_WBUF_SIZE];
    nghttp2_nv nv[HTTP2_PROXY_NV];
    char status[3];
    int coding = 0;
    if (p->mode != PROXY_BODY_NONE && p->z_any != 0) {
        /* Compressed as it passes, unframed: HTTP/2 frames it. */
        p->zc = proxy_compress_start(p->zconf, p->z_any, p->z_stream, &p->res, 0, &coding);
        if (p->zc != NULL && (p->zin = malloc(PROXY_ZIN_SIZE)) == NULL) {
            p->status = 502;
            return PROXY_FAIL;
        }
    } else if (p->head_only && p->z_any != 0) {
        /* A HEAD says what the GET's head would (RFC 9110 9.3.2). */
        coding = proxy_compress_coding(p->zconf, p->z_any, p->z_stream, &p->res);
    }
    proxy_head_args_t ha = {
        .mode = p->zc != NULL ? PROXY_BODY_DECHUNKED : p->mode,
        .coding = coding,
        .vary = p->zc != NULL || proxy_compress_eligible(p->zconf, &p->res),
    };
    ssize_t n = proxy_response_head_for(c->w, s->host, c->https, 1, 0, &p->res, &ha, &p->extra,
                                        head, sizeof(head));
    /* Without the blank line that ends an HTTP/1 head. */
    int nnv = n < 2 ? -1 : http2_stream_nv(head, (size_t)n - 2, nv, HTTP2_PROXY_NV, status);
    if (nnv < 0) {
        log_error("proxy: the response head of %s does not fit %zu bytes (or fields)",
                  proxy_upstream_name(p), sizeof(head));
        p->status = 502;
        return PROXY_FAIL;
    }
    if ((p->mode == PROXY_BODY_DECHUNKED || p->zc != NULL) &&
        (hp->out = malloc(PROXY_OBUF_SIZE)) == NULL) {
        p->status = 502;
        return PROXY_FAIL;
    }
    p->phase = PROXY_BODY;
    p->reusable = !p->res.close;
    if (p->mode == PROXY_BODY_LENGTH && p->zc == NULL) {
        /* left counts what is still to be read; bytes past the body make
         * the connection unfit for reuse. (Compressed, proxy_upstream_zdecode
         * counts it.) */
        size_t have = p->blen - p->boff;
        if ((uint64_t)have > (uint64_t)p->left) {
            p->blen = p->boff + (size_t)p->left;
            p->reusable = 0;
            have = (size_t)p->left;
        }
        p->left -= (int64_t)have;
    }
    if (p->mode == PROXY_BODY_NONE || (p->mode == PROXY_BODY_LENGTH && p->left == 0))
        p->upstream_done = 1;
    if (p->mode == PROXY_BODY_NONE)
        p->boff = p->blen; /* whatever follows the head is not a body */
    http2_stream_answered(c, s, hp->method, p->res.status);
    nghttp2_data_provider dp = {.source.ptr = hp, .read_callback = http2_proxy_body_read};
    int rv = nghttp2_submit_response(hp->session, s->id, nv, (size_t)nnv,
                                     p->mode == PROXY_BODY_NONE ? NULL : &dp);
    if (rv != 0) {
        log_error("proxy: nghttp2_submit_response(): %s", nghttp2_strerror(rv));
        return PROXY_CLOSE;
    }
    hp->answered = 1;
    return PROXY_AGAIN;
}

static const proxy_side_t http2_proxy__side = {
    .body = http2_proxy__body,
    .body_sent = http2_proxy__body_sent,
    .answer = http2_proxy__answer,
    .stream = http2_proxy_body_stream,
    .blocked = http2_proxy_body_blocked,
};

/* --- the stream ---------------------------------------------------------- */

/* An exchange that ended before its response was whole (r: PROXY_FAIL,
 * the error page if no head went yet; PROXY_CLOSE, a reset). */
static void http2_proxy__failed(http2_proxy_t *hp, conn_t *c, int r)
{
    http2_stream_t *s = hp->s;
    int status = hp->p != NULL ? hp->p->status : 502;
    if (r == PROXY_CLOSE && hp->answered && hp->p != NULL) {
        /* The bytes that came still go out; the data provider resets the
         * stream after them. */
        proxy_upstream_drop_fd(hp->p, 0);
        hp->cut = 1;
        if (hp->deferred) {
            hp->deferred = 0;
            nghttp2_session_resume_data(hp->session, s->id);
        }
        return;
    }
    http2_proxy__end(hp, 0);
    if (r == PROXY_FAIL && !hp->answered) {
        int rv = http2_stream_error(hp->session, c, s, hp->method, status);
        if (rv == 0)
            return;
        log_error("proxy: nghttp2_submit_response(): %s", nghttp2_strerror(rv));
    }
    hp->reset = 1;
    nghttp2_submit_rst_stream(hp->session, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_INTERNAL_ERROR);
}

int http2_proxy_start(nghttp2_session *session, conn_t *c, http2_stream_t *s)
{
    http_request_t req;
    str_t method = STR_NULL;
    http2_stream_request(s, &req, &method);
    http2_proxy_t *hp = calloc(1, sizeof(*hp));
    if (hp == NULL) {
        log_error("proxy: out of memory");
        return http2_stream_error(session, c, s, req.method, 502);
    }
    hp->s = s;
    hp->session = session;
    hp->method = req.method;
    s->proxy = hp;
    /* DATA that came while its password was hashed is the body's start
     * (its stream window still ours: given back as the upstream takes it,
     * as for any DATA from now on). */
    hp->in = s->held;
    hp->in_len = s->held_len;
    s->held = NULL;
    s->held_len = 0;
    str_t upgrade = STR_NULL;
    if (req.method == HTTP_METHOD_CONNECT) {
        /* Extended CONNECT (RFC 8441): ":protocol: websocket" is an
         * HTTP/1.1 GET with Upgrade to the upstream, its key made here (the
         * version, subprotocols and extensions are the client's fields). */
        if (!http2_tunnel_websocket(s)) {
            log_info("proxy: client %s: CONNECT without :protocol websocket: 501", conn_addr(c));
            return http2_stream_error(session, c, s, req.method, 501);
        }
        req.method = HTTP_METHOD_GET;
        req.method_name = STR_LIT("GET");
        hp->tunnel = 1;
        upgrade = STR_LIT("websocket");
        if (http2_tunnel_key(hp->key, sizeof(hp->key)) < 0)
            return http2_stream_error(session, c, s, HTTP_METHOD_CONNECT, 502);
    }
    /* No Content-Length and a body to come: chunked to the upstream. A
     * body that is all in (it came while the password was hashed) has
     * its length. */
    hp->chunked = !hp->tunnel && !s->request_ended && req.content_length < 0;
    int64_t length = req.content_length;
    if (length < 0 && s->request_ended && s->body_in > 0)
        length = (int64_t)s->body_in;
    proxy_start_args_t a = {
        .client = s->client.text[0] != '\0' ? s->client.text : conn_addr(c),
        .https = c->https,
        .content_length = hp->chunked || hp->tunnel ? -1 : length,
        .chunked = hp->chunked,
        .upgrade = upgrade,
        .extra = upgrade.len > 0 ? hp->key : NULL,
    };
    int r;
    hp->p = proxy_upstream_start(c, &req, &s->route, &a, &http2_proxy__side, hp, &r);
    if (hp->p == NULL)
        return http2_stream_error(session, c, s, req.method, 502);
    hp->p->zconf = &s->route.conf->compress;
    if (!hp->tunnel)
        proxy_compress_want(hp->p->zconf, req.accept_encoding, &hp->p->z_any, &hp->p->z_stream);
    if (r == PROXY_AGAIN && hp->chunked && (hp->p->obuf = malloc(PROXY_OBUF_SIZE)) == NULL) {
        hp->p->status = 502;
        r = PROXY_FAIL;
    }
    if (r != PROXY_AGAIN) {
        http2_proxy__failed(hp, c, r);
        return 0;
    }
    if (req.expect_continue && !s->request_ended) {
        /* The client may wait for it before sending the body. */
        static const nghttp2_nv cont = {(uint8_t *)":status", (uint8_t *)"100", 7, 3,
                                        NGHTTP2_NV_FLAG_NONE};
        nghttp2_submit_headers(session, NGHTTP2_FLAG_NONE, s->id, NULL, &cont, 1, NULL);
    }
    hp->kick = 1;
    return 0;
}

/* 1 when hp has something to do. */
static int http2_proxy__due(const http2_proxy_t *hp)
{
    return hp != NULL && hp->p != NULL && !hp->s->closed && !hp->cut &&
           (hp->kick || hp->p->woken || hp->p->timed_out || hp->deadline == 0);
}

void http2_proxy_run(conn_t *c, list_t *streams)
{
    list_t *q, *tmp;
    list_foreach_safe(q, tmp, streams) {
        http2_proxy_t *hp = list_entry(q, http2_stream_t, link)->proxy;
        if (!http2_proxy__due(hp))
            continue;
        proxy_t *p = hp->p;
        hp->kick = 0;
        p->armed = hp->deadline > 0;
        int r = proxy_upstream_run(p);
        if (r == PROXY_AGAIN) {
            if (p->rearm)
                hp->deadline = c->w->now + p->timeout;
            continue;
        }
        http2_proxy__failed(hp, c, r);
    }
}

int http2_proxy_due(list_t *streams)
{
    list_t *q, *tmp;
    list_foreach_safe(q, tmp, streams) {
        if (http2_proxy__due(list_entry(q, http2_stream_t, link)->proxy))
            return 1;
    }
    return 0;
}

double http2_proxy_deadline(list_t *streams)
{
    double at = 0;
    list_t *q, *tmp;
    list_foreach_safe(q, tmp, streams) {
        http2_proxy_t *hp = list_entry(q, http2_stream_t, link)->proxy;
        if (hp != NULL && hp->p != NULL && !hp->cut && hp->deadline > 0 &&
            (at == 0 || hp->deadline < at))
            at = hp->deadline;
    }
    return at;
}

void http2_proxy_expire(list_t *streams, double now)
{
    list_t *q, *tmp;
    list_foreach_safe(q, tmp, streams) {
        http2_proxy_t *hp = list_entry(q, http2_stream_t, link)->proxy;
        if (hp != NULL && hp->p != NULL && hp->deadline > 0 && hp->deadline <= now) {
            hp->p->timed_out = 1;
            hp->deadline = 0;
        }
    }
}

void http2_proxy_close(http2_stream_t *s)
{
    http2_proxy_t *hp = s->proxy;
    if (hp == NULL)
        return;
    /* A socket still open here carried a response not read to its end. */
    http2_proxy__end(hp, 0);
    free(hp->in);
    free(hp->out);
    free(hp);
    s->proxy = NULL;
}
