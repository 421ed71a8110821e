/*
 * proxy: see proxy.h.
 */
#include "proxy.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "proxy_compress.h"
#include "proxy_link.h"
#include "proxy_tunnel.h"

/* The exchange is over: the access log's fields, p freed, c back to HTTP/1. */
static void proxy__end(conn_t *c, int pool)
{
    proxy_t *p = c->proto;
    proxy_upstream_log(p, &c->log_upstream, &c->log_upstream_status, &c->log_upstream_us);
    proxy_tunnel_free(p->tun);
    p->tun = NULL;
    proxy_upstream_free(p, pool);
    c->proto = NULL;
    c->proto_ops = NULL;
    conn_list_remove(c);
}

static void proxy__expire(conn_t *c)
{
    proxy_t *p = c->proto;
    conn_list_remove(c);
    p->timed_out = 1;
    conn_ready_push(c);
}

static void proxy__release(conn_t *c)
{
    proxy__end(c, 0);
}

static const conn_proto_t proxy_ops = {.expire = proxy__expire, .release = proxy__release};

void proxy_event(worker_t *w, uint64_t d, uint32_t events)
{
    proxy_link_event(w, d, events);
}

/* Client output in wbuf[woff, wlen): 1 sent, 0 blocked, -1 error. */
static int proxy__flush(conn_t *c, proxy_t *p)
{
    while (c->woff < c->wlen) {
        ssize_t k = c->tr->send(&c->io, c->wbuf + c->woff, c->wlen - c->woff, 0);
        if (k < 0)
            return errno == EAGAIN ? 0 : -1;
        c->woff += (size_t)k;
        conn_sent(c, (size_t)k);
        p->progress = 1;
    }
    c->woff = c->wlen = 0;
    return 1;
}

/* More of a chunked request body into obuf, decoded from c->rbuf after the
 * head and framed anew (so extensions and trailers stay behind): 1 bytes
 * (or the end) are there, 0 wait for the client, -1 it closed, else the
 * status to answer (400 malformed, 413 over max_body_size). */
static int proxy__chunked_fill(conn_t *c, proxy_t *p)
{
    for (int turn = 0; turn < 4; turn++) {
        size_t have = c->rlen - c->head_len, in = have;
        if (have > 0) {
            int r = proxy_response_dechunk(&p->rch, 1, c->rbuf + c->head_len, &in, p->obuf,
                                           &p->olen, PROXY_OBUF_SIZE, &p->body_decoded);
            if (r < 0)
                return 400;
            c->rlen -= have - in;
            c->last_len = c->rlen;
            if (p->body_decoded > c->w->a.conf->max_body_size)
                return 413;
            if (r == 1)
                p->chunked_done = 1;
            if (r == 1 || p->olen > 0)
                return 1;
            if (c->rlen == c->w->rbuf_size)
                return 400; /* a chunk's framing longer than the buffer */
        }
        ssize_t r = conn_read(c);
        if (r < 0)
            return -1;
        if (r == 0)
            return 0;
        p->progress = 1;
    }
    return 0;
}

/* proxy_side_t.body: the request body from c->rbuf after the request
 * head (Content-Length), or framed anew in obuf (chunked). A 100 Continue
 * still unsent goes first. */
static int proxy__body_next(proxy_t *p, const char **out, size_t *len)
{
    conn_t *c = p->c;
    for (int turn = 0; turn < 8; turn++) {
        if (c->woff < c->wlen) {
            int f = proxy__flush(c, p);
            if (f <= 0)
                return f;
        }
        if (p->body_left > 0) {
            size_t have = c->rlen - c->head_len;
            if (have == 0) {
                ssize_t r = conn_read(c);
                if (r < 0) {
                    log_info("proxy: client %s closed during its request body", conn_addr(c));
                    return -1;
                }
                if (r == 0)
                    return 0;
                p->progress = 1;
                continue;
            }
            *out = c->rbuf + c->head_len;
            *len = have < (uint64_t)p->body_left ? have : (size_t)p->body_left;
            return 1;
        }
        if (!p->chunked || (p->chunked_done && p->ooff == p->olen))
            return 2;
        if (p->ooff == p->olen) {
            p->ooff = p->olen = 0;
            int f = proxy__chunked_fill(c, p);
            if (f == 0)
                return 0;
            if (f < 0) {
                log_info("proxy: client %s closed during its request body", conn_addr(c));
                return -1;
            }
            if (f > 1) {
                log_info("proxy: client %s: chunked request body %s: %d", conn_addr(c),
                         f == 413 ? "over max_body_size" : "malformed", f);
                return f;
            }
            continue;
        }
        *out = p->obuf + p->ooff;
        *len = p->olen - p->ooff;
        return 1;
    }
    return 0;
}

static void proxy__body_sent(proxy_t *p, size_t k)
{
    conn_t *c = p->c;
    if (p->chunked) {
        p->ooff += k;
        return;
    }
    /* Body bytes sent: what follows them in rbuf (a pipelined request)
     * moves up behind the head. */
    size_t rest = c->rlen - c->head_len - k;
    memmove(c->rbuf + c->head_len, c->rbuf + c->head_len + k, rest);
    c->rlen -= k;
    c->last_len = c->rlen;
    p->body_left -= (int64_t)k;
}

/* proxy_side_t.answer: the client's head into wbuf, the body's mode. */
static int proxy__answer(proxy_t *p)
{
    conn_t *c = p->c;
    worker_t *w = c->w;
    p->mode = proxy_response_mode(&p->res, p->head_only, c->requests_http10);
    /* An upgrade refused: what the client sent after its head may be
     * frames of the protocol it hoped for, never a next request. An early
     * answer: the rest of the body is still coming. */
    if (p->mode == PROXY_BODY_CLOSE || p->mode == PROXY_BODY_DECHUNKED || p->upgrade)
        c->keep_alive = 0;
    if (p->early) {
        c->keep_alive = 0;
        c->linger = 1;
    }
    p->left = p->res.content_length;
    if (c->wbuf == NULL && (c->wbuf = conn_buf_get(w, 1)) == NULL) {
        p->status = 502;
        return PROXY_FAIL;
    }
    int coding = 0;
    proxy_body_t framing = p->mode;
    if (p->mode != PROXY_BODY_NONE && p->z_any != 0 && p->res.status != 101) {
        p->zc = proxy_compress_start(p->zconf, p->z_any, p->z_stream, &p->res,
                                     !c->requests_http10, &coding);
        if (p->zc != NULL && (p->zin = malloc(PROXY_ZIN_SIZE)) == NULL) {
            p->status = 502;
            return PROXY_FAIL;
        }
    }
    if (p->head_only && p->z_any != 0) /* a HEAD says what the GET's head would */
        coding = proxy_compress_coding(p->zconf, p->z_any, p->z_stream, &p->res);
    if (p->zc != NULL) {
        /* Compressed: chunked for HTTP/1.1, until close for 1.0. */
        framing = c->requests_http10 ? PROXY_BODY_DECHUNKED : PROXY_BODY_CHUNKED;
        if (c->requests_http10)
            c->keep_alive = 0;
    }
    proxy_head_args_t ha = {
        .mode = framing,
        .coding = coding,
        .vary = p->zc != NULL || proxy_compress_eligible(p->zconf, &p->res),
    };
    ssize_t n = proxy_response_head(c, &p->res, &ha, &p->extra, c->wbuf, CONN_WBUF_SIZE);
    if (n < 0) {
        log_error("proxy: the response head of %s does not fit %d bytes", proxy_upstream_name(p),
                  CONN_WBUF_SIZE);
        p->status = 502;
        return PROXY_FAIL;
    }
    c->status = p->res.status;
    c->woff = 0;
    c->wlen = (size_t)n;
    c->body_bytes = 0;
    p->phase = PROXY_BODY;
    p->reusable = !p->res.close && !p->early && !p->upgrade;
    if (p->res.status == 101) {
        p->tun = proxy_tunnel_start(c, p->fd, p->buf, PROXY_BUF_SIZE, p->boff, p->blen);
        p->buf = NULL; /* the tunnel's now */
        if (p->tun == NULL)
            return PROXY_CLOSE;
        p->phase = PROXY_TUNNEL;
        return PROXY_AGAIN;
    }
    if (p->mode == PROXY_BODY_NONE || (p->mode == PROXY_BODY_LENGTH && p->left == 0))
        p->upstream_done = 1;
    if (p->zc == NULL && (p->mode == PROXY_BODY_LENGTH || p->mode == PROXY_BODY_CLOSE)) {
        /* The body bytes read with the head go out in the head's send: a
         * small response is one write, as a small file's is. */
        size_t k = p->blen - p->boff, room = CONN_WBUF_SIZE - c->wlen;
        if (k > room)
            k = room;
        if (p->mode == PROXY_BODY_LENGTH && (uint64_t)k > (uint64_t)p->left)
            k = (size_t)p->left;
        memcpy(c->wbuf + c->wlen, p->buf + p->boff, k);
        c->wlen += k;
        p->boff += k;
        c->body_bytes += k;
        if (p->mode == PROXY_BODY_LENGTH && (p->left -= (int64_t)k) == 0)
            p->upstream_done = 1;
    }
    return PROXY_AGAIN;
}

/* Compressed: upstream bytes decoded, through the coder, to the client;
 * the coder is flushed whenever the upstream has nothing more for now, so
 * a slow stream is not held back. */
static int proxy__zbody(proxy_t *p)
{
    conn_t *c = p->c;
    for (int turn = 0; turn < 256; turn++) {
        int f = proxy__flush(c, p);
        if (f < 0)
            return PROXY_CLOSE;
        if (f == 0)
            return PROXY_AGAIN;
        if (p->zfinished) {
            int pool = p->reusable && p->boff == p->blen;
            proxy__end(c, pool);
            return PROXY_DONE;
        }
        int d = proxy_upstream_zdecode(p);
        if (d < 0) {
            log_error("proxy: %s sent a malformed chunked body", proxy_upstream_name(p));
            return PROXY_CLOSE;
        }
        if (d > 0) {
            size_t used = 0, before = c->wlen;
            int r = proxy_compress_pump(p->zc, p->zin, p->zinlen, &used, p->upstream_done, 0,
                                        c->wbuf, &c->wlen, CONN_WBUF_SIZE);
            if (r < 0) {
                log_error("proxy: compressing the response of %s failed (or it ran over its "
                          "length): closing client %s",
                          proxy_upstream_name(p), conn_addr(c));
                return PROXY_CLOSE;
            }
            memmove(p->zin, p->zin + used, p->zinlen - used);
            p->zinlen -= used;
            c->body_bytes += c->wlen - before;
            p->zflushed = 0;
            p->zfinished = r == 1;
            continue;
        }
        int k = proxy_upstream_recv(p);
        if (k == PROXY_CLOSE)
            return PROXY_CLOSE;
        if (k != 0)
            continue; /* bytes, or the end with the connection */
        if (p->zflushed)
            return PROXY_AGAIN;
        size_t used = 0, before = c->wlen;
        if (proxy_compress_pump(p->zc, NULL, 0, &used, 0, 1, c->wbuf, &c->wlen,
                                CONN_WBUF_SIZE) < 0)
            return PROXY_CLOSE;
        c->body_bytes += c->wlen - before;
        p->zflushed = !proxy_compress_pending(p->zc);
    }
    conn_ready_push(c);
    return PROXY_AGAIN;
}

/* proxy_side_t.stream: upstream bytes to the client, reading only when
 * they are sent; after a 101, the tunnel. */
static int proxy__body(proxy_t *p)
{
    conn_t *c = p->c;
    if (p->phase == PROXY_TUNNEL) {
        if (proxy_tunnel_run(p->tun, c, &p->progress) != 1)
            return PROXY_AGAIN;
        c->keep_alive = 0;
        proxy__end(c, 0);
        return PROXY_DONE;
    }
    if (p->zc != NULL)
        return proxy__zbody(p);
    for (int turn = 0; turn < 256; turn++) {
        int f = proxy__flush(c, p);
        if (f < 0)
            return PROXY_CLOSE;
        if (f == 0)
            return PROXY_AGAIN;
        if (p->boff < p->blen && !p->upstream_done) {
            if (p->mode == PROXY_BODY_CHUNKED || p->mode == PROXY_BODY_DECHUNKED) {
                size_t before = p->blen - p->boff, in = before;
                int r =
                    proxy_response_dechunk(&p->ch, p->mode == PROXY_BODY_CHUNKED, p->buf + p->boff,
                                           &in, c->wbuf, &c->wlen, CONN_WBUF_SIZE, &p->decoded);
                if (r < 0) {
                    log_error("proxy: %s sent a malformed chunked body", proxy_upstream_name(p));
                    return PROXY_CLOSE;
                }
                p->blen = p->boff + in;
                c->body_bytes += c->wlen;
                if (r == 1)
                    p->upstream_done = 1;
                if (r == 1 || in != before || c->wlen > 0)
                    continue;
                /* A chunk's framing cut short: more bytes are needed. */
            } else {
                size_t n = p->blen - p->boff;
                if (p->mode == PROXY_BODY_LENGTH && (uint64_t)n > (uint64_t)p->left)
                    n = (size_t)p->left;
                ssize_t k = c->tr->send(&c->io, p->buf + p->boff, n, 0);
                if (k < 0)
                    return errno == EAGAIN ? PROXY_AGAIN : PROXY_CLOSE;
                p->progress = 1;
                p->boff += (size_t)k;
                c->body_bytes += (uint64_t)k;
                conn_sent(c, (size_t)k);
                if (p->mode == PROXY_BODY_LENGTH && (p->left -= k) == 0)
                    p->upstream_done = 1;
                continue;
            }
        }
        if (p->upstream_done) {
            /* Bytes after the response's end: the connection is not clean. */
            int pool = p->reusable && p->boff == p->blen;
            proxy__end(c, pool);
            return PROXY_DONE;
        }
        int k = proxy_upstream_recv(p);
        if (k == 0)
            return PROXY_AGAIN;
        if (k == PROXY_CLOSE)
            return PROXY_CLOSE;
    }
    conn_ready_push(c);
    return PROXY_AGAIN;
}

static int proxy__blocked(proxy_t *p)
{
    return p->c->woff < p->c->wlen;
}

static const proxy_side_t proxy__side = {
    .body = proxy__body_next,
    .body_sent = proxy__body_sent,
    .answer = proxy__answer,
    .stream = proxy__body,
    .blocked = proxy__blocked,
};

int proxy_start(conn_t *c, const http_request_t *req, const proxy_route_t *route)
{
    worker_t *w = c->w;
    c->status = 502;
    const char *client = c->client.text[0] != '\0' ? c->client.text : conn_addr(c);
    proxy_start_args_t a = {
        .client = client,
        .https = c->https,
        .content_length = req->chunked ? -1 : req->content_length,
        .chunked = req->chunked,
        .upgrade = proxy_tunnel_wanted(req),
    };
    int r;
    proxy_t *p = proxy_upstream_start(c, req, route, &a, &proxy__side, NULL, &r);
    if (p == NULL)
        return PROXY_FAIL;
    c->proto = p;
    c->proto_ops = &proxy_ops;
    p->zconf = &route->conf->compress;
    if (!p->upgrade)
        proxy_compress_want(p->zconf, req->accept_encoding, &p->z_any, &p->z_stream);
    p->body_left = req->content_length > 0 ? req->content_length : 0;
    p->chunked = req->chunked;
    if (r == PROXY_AGAIN && p->chunked && (p->obuf = malloc(PROXY_OBUF_SIZE)) == NULL) {
        p->status = 502;
        r = PROXY_FAIL;
    }
    if (r == PROXY_AGAIN && req->expect_continue && (p->body_left > 0 || p->chunked)) {
        /* The client waits for it before sending the body we forward. */
        if (c->wbuf == NULL && (c->wbuf = conn_buf_get(w, 1)) == NULL) {
            p->status = 502;
            r = PROXY_FAIL;
        } else {
            memcpy(c->wbuf, "HTTP/1.1 100 Continue\r\n\r\n", 25);
            c->woff = 0;
            c->wlen = 25;
        }
    }
    if (r == PROXY_FAIL) {
        c->status = p->status;
        proxy__end(c, 0);
    }
    return r;
}

int proxy_run(conn_t *c)
{
    proxy_t *p = c->proto;
    if (p->timed_out && p->phase == PROXY_TUNNEL) {
        log_info("proxy: tunnel of client %s to %s idle for tunnel_timeout: closed", conn_addr(c),
                 proxy_upstream_name(p));
        c->keep_alive = 0;
        proxy__end(c, 0);
        return PROXY_DONE; /* logged as the 101 it was */
    }
    if (c->rdhup && p->body_left == 0 && (!p->chunked || p->chunked_done) &&
        p->phase != PROXY_TUNNEL) {
        /* The client shut its side with the whole request sent: it has
         * gone (nginx's proxy_ignore_client_abort off). The upstream
         * connection closes now rather than at read_timeout. An upgrade
         * still waiting for its 101 is such a request too (nginx treats
         * it alike); only a tunnel passes a half-close on, since after
         * the 101 the bytes are the application's. */
        log_info("proxy: client %s closed the connection before the response ended (%s)",
                 conn_addr(c), p->server >= 0 ? proxy_upstream_name(p) : "-");
        if (p->phase < PROXY_BODY)
            c->status = 499;
        return PROXY_CLOSE;
    }
    p->armed = c->list == &c->w->proxy_list;
    int r = proxy_upstream_run(p);
    if (r == PROXY_DONE)
        return r; /* proxy__body ended it */
    if (r == PROXY_FAIL) {
        c->status = p->status;
        proxy__end(c, 0);
        return r;
    }
    if (r == PROXY_CLOSE)
        return r; /* conn_close releases p */
    if (p->rearm)
        proxy_upstream_arm(c, c->w->now + p->timeout);
    return PROXY_AGAIN;
}

void proxy_worker_drain(worker_t *w)
{
    proxy_link_drain(w);
}

void proxy_worker_tick(worker_t *w)
{
    proxy_link_tick(w);
}

void proxy_worker_exit(worker_t *w)
{
    proxy_upstream_worker_exit(w);
}
