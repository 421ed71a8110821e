/*
 * proxy: see proxy.h.
 */
#include "proxy.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "conf_upstreams.h"
#include "http_response_parser.h"
#include "log.h"
#include "proxy_balance.h"
#include "proxy_conn.h"
#include "proxy_metrics.h"
#include "proxy_request.h"

/* A chunked request body framed anew, before it is sent. */
#define PROXY_OBUF_SIZE 16384

typedef enum {
    PROXY_CONNECT = 0, /* a connect under way */
    PROXY_SEND,        /* the request head, then its body */
    PROXY_HEAD,        /* waiting for the response head */
    PROXY_BODY,        /* the response to the client */
} proxy_phase_t;

typedef struct proxy_s {
    conn_t *c; /* NULL: on the free list (a stale event finds it so) */
    struct proxy_s *next_free;
    proxy_upstream_state_t *st;
    const conf_upstream_t *up;
    int server;     /* the one tried now */
    int fd;         /* its socket, or -1 */
    int reused;     /* fd came from the pool */
    int fresh;      /* the next try must not take from the pool */
    uint64_t tried; /* servers that failed this request */
    int attempts;
    proxy_phase_t phase;
    char *req; /* the head sent upstream */
    size_t req_len, req_off;
    int64_t body_left; /* request body bytes still to forward */
    uint64_t body_sent;
    /* A chunked request body: decoded from c->rbuf, framed anew in obuf. */
    int chunked, chunked_done;
    http_chunked_t rch;
    char *obuf;
    size_t ooff, olen;
    uint64_t body_decoded;
    uint64_t decoded; /* of the response's chunked body */
    int idempotent;
    int head_only;
    char *buf;         /* PROXY_BUF_SIZE bytes of the upstream's */
    size_t boff, blen; /* unsent bytes: buf[boff, blen) */
    size_t last_len;   /* blen at the last parse of the head */
    http_response_t res;
    proxy_body_t mode;
    int64_t left; /* PROXY_BODY_LENGTH: body bytes still to come */
    http_chunked_t ch;
    int upstream_done; /* the whole response is read */
    int reusable;      /* and fd may go back to the pool */
    int timed_out;
    int progress; /* bytes moved this run: re-arm the timer */
    proxy_extra_t extra;
    double started;         /* proxy__clock() at proxy_start, for the access log */
    proxy_tele_t tele;      /* for /metrics (proxy_metrics.h) */
} proxy_t;

/* The free proxy_t structures (their buffers freed). They are never
 * freed while the worker runs: an event of the same epoll batch may still
 * name one after its exchange ended. */
static proxy_t *proxy__alloc(worker_t *w)
{
    proxy_t *p = w->proxy_free;
    if (p != NULL)
        w->proxy_free = p->next_free;
    else if ((p = malloc(sizeof(*p))) == NULL)
        return NULL;
    memset(p, 0, sizeof(*p));
    p->fd = -1;
    p->server = -1;
    p->buf = malloc(PROXY_BUF_SIZE);
    if (p->buf == NULL) {
        p->next_free = w->proxy_free;
        w->proxy_free = p;
        return NULL;
    }
    return p;
}

/* The socket is closed (or pooled) and the structure goes back. */
static void proxy__drop_fd(proxy_t *p, worker_t *w, int pool)
{
    if (p->fd < 0)
        return;
    /* A pooled socket stays in the epoll set (its events find p free, or
     * wake whichever request p serves next: harmless), so reusing it costs
     * one EPOLL_CTL_MOD instead of a DEL and an ADD. */
    if (pool)
        proxy_conn_put(p->st, p->server, p->fd);
    else
        close(p->fd);
    p->fd = -1;
}

static const char *proxy__name(const proxy_t *p)
{
    return p->up->servers[p->server].spec;
}

/* The monotonic clock, finer than the turn's w->now: an upstream's time. */
static double proxy__clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void proxy__end(conn_t *c, int pool)
{
    proxy_t *p = c->proto;
    worker_t *w = c->w;
    if (p->server >= 0) {
        double took = proxy__clock() - p->started;
        c->log_upstream = proxy__name(p);
        c->log_upstream_status = p->phase == PROXY_BODY ? p->res.status : 0;
        c->log_upstream_us = took > 0 ? (uint64_t)(took * 1e6) : 0;
    }
    proxy_metrics_end(p->st, p->server, p->phase == PROXY_BODY ? p->res.status : 0, &p->tele);
    proxy__drop_fd(p, w, pool);
    free(p->req);
    free(p->buf);
    free(p->obuf);
    p->req = p->buf = p->obuf = NULL;
    p->c = NULL;
    p->next_free = w->proxy_free;
    w->proxy_free = p;
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

/* On the worker's proxy timer list, sorted by deadline (upstreams have
 * timeouts of their own, so appending would not keep it sorted). */
static void proxy__arm(conn_t *c, double secs)
{
    worker_t *w = c->w;
    list_remove(&c->timer);
    c->deadline = w->now + secs;
    c->list = &w->proxy_list;
    list_t *q = w->proxy_list.head.prev;
    for (int n = 0; q != &w->proxy_list.head && n < 4096; n++, q = q->prev)
        if (list_entry(q, conn_t, timer)->deadline <= c->deadline)
            break;
    list_insert_head(q, &c->timer);
}

void proxy_event(worker_t *w, uint64_t d)
{
    (void)w;
    proxy_t *p = (proxy_t *)(uintptr_t)(d & ~(uint64_t)3);
    if (p->c != NULL)
        conn_ready_push(p->c);
}

static int proxy__fail(conn_t *c, int status)
{
    c->status = status;
    proxy_metrics_gateway(((proxy_t *)c->proto)->st, status);
    proxy__end(c, 0);
    return PROXY_FAIL;
}

/* Picks a server and opens (or takes) a connection: PROXY_AGAIN, or
 * PROXY_FAIL when no server is left. */
static int proxy__connect(conn_t *c, proxy_t *p)
{
    worker_t *w = c->w;
    for (int n = 0; n < CONF_UPSTREAM_SERVERS_MAX + 2; n++) {
        int i = p->fresh ? p->server : proxy_balance_pick(p->st->peer, p->up, p->tried, w->now);
        if (i < 0) {
            log_error("proxy: upstream \"%s\": no server left for %s", p->up->name, conn_addr(c));
            return proxy__fail(c, 502);
        }
        p->server = i;
        proxy_metrics_try(p->st, i, &p->tele);
        int pending = 0;
        int fd = p->fresh ? -1 : proxy_conn_take(p->st, i);
        p->reused = fd >= 0;
        p->fresh = 0;
        if (fd < 0 && (fd = proxy_conn_open(&p->up->servers[i], &pending)) < 0) {
            log_error("proxy: connect() to %s: %s", proxy__name(p), strerror(errno));
            proxy_metrics_failed(p->st, i, 1, w->now);
            p->tried |= (uint64_t)1 << i;
            continue;
        }
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                                 .data.u64 = (uint64_t)(uintptr_t)p | PROXY_EV_TAG};
        if (epoll_ctl(w->epfd, p->reused ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) < 0) {
            log_error("proxy: epoll_ctl(upstream): %s", strerror(errno));
            close(fd);
            return proxy__fail(c, 502);
        }
        p->fd = fd;
        p->phase = pending ? PROXY_CONNECT : PROXY_SEND;
        p->req_off = 0;
        p->boff = p->blen = p->last_len = 0;
        return PROXY_AGAIN;
    }
    return proxy__fail(c, 502);
}

/* The connection failed before any byte of the response (why: for the
 * log). Tries again where that is safe, else 502. */
static int proxy__retry(conn_t *c, proxy_t *p, const char *why, int err)
{
    worker_t *w = c->w;
    int sent = p->req_off > 0;
    int pooled = p->reused;
    proxy__drop_fd(p, w, 0);
    if (pooled && p->idempotent && p->body_sent == 0 && p->attempts++ < 4) {
        /* The server closed its idle connection as we used it. */
        p->fresh = 1;
        return proxy__connect(c, p);
    }
    log_error("proxy: %s %s: %s", why, proxy__name(p), err ? strerror(err) : "closed");
    proxy_metrics_failed(p->st, p->server, p->phase == PROXY_CONNECT, w->now);
    p->tried |= (uint64_t)1 << p->server;
    if ((!sent || p->idempotent) && p->body_sent == 0)
        return proxy__connect(c, p);
    return proxy__fail(c, 502);
}

int proxy_start(conn_t *c, const http_request_t *req, const proxy_route_t *route)
{
    worker_t *w = c->w;
    const conf_t *rc = route->conf;
    c->status = 502;
    proxy_upstream_state_t *st = proxy_conn_state(w, rc->proxy_upstream);
    proxy_t *p = st != NULL ? proxy__alloc(w) : NULL;
    if (p == NULL) {
        log_error("proxy: out of memory");
        return PROXY_FAIL;
    }
    p->c = c;
    p->started = proxy__clock();
    p->st = st;
    p->up = st->conf;
    c->proto = p;
    c->proto_ops = &proxy_ops;
    p->extra = route->extra;
    p->idempotent = req->method == HTTP_METHOD_GET || req->method == HTTP_METHOD_HEAD ||
                    req->method == HTTP_METHOD_PUT || req->method == HTTP_METHOD_DELETE ||
                    req->method == HTTP_METHOD_OPTIONS;
    p->head_only = req->method == HTTP_METHOD_HEAD;
    p->body_left = req->content_length > 0 ? req->content_length : 0;
    p->chunked = req->chunked;
    if (p->chunked && (p->obuf = malloc(PROXY_OBUF_SIZE)) == NULL)
        return proxy__fail(c, 502);

    const char *client = c->client.text[0] != '\0' ? c->client.text : conn_addr(c);
    const conf_upstream_server_t *s0 = &p->up->servers[0];
    proxy_request_args_t a = {
        .prefix = route->prefix,
        .path = route->path,
        .uri = rc->proxy_uri,
        .client = client,
        .client_v6 = strchr(client, ':') != NULL,
        .https = c->https,
        .host = s0->addr.ss_family == AF_UNIX ? "localhost" : s0->spec,
        .keepalive = p->up->keepalive > 0,
        .content_length = req->chunked ? -1 : req->content_length,
        .chunked = req->chunked,
    };
    size_t cap = w->a.conf->max_header_size + 2048 + (rc->proxy_uri ? strlen(rc->proxy_uri) : 0);
    p->req = malloc(cap);
    ssize_t n = p->req != NULL ? proxy_request_head(req, &a, p->req, cap) : -1;
    if (n < 0) {
        log_error("proxy: the request head for %s does not fit %zu bytes", client, cap);
        return proxy__fail(c, 502);
    }
    p->req_len = (size_t)n;
    if (req->expect_continue && (p->body_left > 0 || p->chunked)) {
        /* The client waits for it before sending the body we forward. */
        if (c->wbuf == NULL && (c->wbuf = conn_buf_get(w, 1)) == NULL)
            return proxy__fail(c, 502);
        memcpy(c->wbuf, "HTTP/1.1 100 Continue\r\n\r\n", 25);
        c->woff = 0;
        c->wlen = 25;
    }
    return proxy__connect(c, p);
}

/* Client output in wbuf[woff, wlen): 1 sent, 0 blocked, -1 error. */
static int proxy__flush(conn_t *c, proxy_t *p)
{
    while (c->woff < c->wlen) {
        ssize_t k = c->tr->send(&c->io, c->wbuf + c->woff, c->wlen - c->woff, 0);
        if (k < 0)
            return errno == EAGAIN ? 0 : -1;
        c->woff += (size_t)k;
        c->sent_bytes += (uint64_t)k;
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

/* PROXY_SEND: the head, then the body from c->rbuf after the request head. */
static int proxy__send(conn_t *c, proxy_t *p)
{
    for (int turn = 0; turn < 256; turn++) {
        if (c->woff < c->wlen) {
            int f = proxy__flush(c, p);
            if (f <= 0)
                return f < 0 ? PROXY_CLOSE : PROXY_AGAIN;
        }
        const char *out;
        size_t len;
        if (p->req_off < p->req_len) {
            out = p->req + p->req_off;
            len = p->req_len - p->req_off;
        } else if (p->body_left > 0) {
            size_t have = c->rlen - c->head_len;
            if (have == 0) {
                ssize_t r = conn_read(c);
                if (r < 0) {
                    log_info("proxy: client %s closed during its request body", conn_addr(c));
                    return PROXY_CLOSE;
                }
                if (r == 0)
                    return PROXY_AGAIN;
                p->progress = 1;
                continue;
            }
            out = c->rbuf + c->head_len;
            len = have < (uint64_t)p->body_left ? have : (size_t)p->body_left;
        } else if (p->chunked && !(p->chunked_done && p->ooff == p->olen)) {
            if (p->ooff == p->olen) {
                p->ooff = p->olen = 0;
                int f = proxy__chunked_fill(c, p);
                if (f == 0)
                    return PROXY_AGAIN;
                if (f < 0) {
                    log_info("proxy: client %s closed during its request body", conn_addr(c));
                    return PROXY_CLOSE;
                }
                if (f > 1) {
                    log_info("proxy: client %s: chunked request body %s: %d", conn_addr(c),
                             f == 413 ? "over max_body_size" : "malformed", f);
                    return proxy__fail(c, f);
                }
                continue;
            }
            out = p->obuf + p->ooff;
            len = p->olen - p->ooff;
        } else {
            p->phase = PROXY_HEAD;
            return PROXY_AGAIN;
        }
        ssize_t k = send(p->fd, out, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (k < 0) {
            if (errno == EAGAIN)
                return PROXY_AGAIN;
            return proxy__retry(c, p, "send() to", errno);
        }
        p->progress = 1;
        if (p->req_off < p->req_len) {
            p->req_off += (size_t)k;
            continue;
        }
        if (p->chunked) {
            p->ooff += (size_t)k;
            p->body_sent += (uint64_t)k;
            continue;
        }
        /* Body bytes sent: what follows them in rbuf (a pipelined
     * request) moves up behind the head. */
        size_t rest = c->rlen - c->head_len - (size_t)k;
        memmove(c->rbuf + c->head_len, c->rbuf + c->head_len + k, rest);
        c->rlen -= (size_t)k;
        c->last_len = c->rlen;
        p->body_left -= k;
        p->body_sent += (uint64_t)k;
    }
    conn_ready_push(c);
    return PROXY_AGAIN;
}

/* PROXY_HEAD: reads and checks the response head; on it, the client's. */
static int proxy__head(conn_t *c, proxy_t *p)
{
    worker_t *w = c->w;
    size_t max =
        w->a.conf->max_header_size < PROXY_BUF_SIZE ? w->a.conf->max_header_size : PROXY_BUF_SIZE;
    for (int turn = 0; turn < 64; turn++) {
        if (p->blen > p->last_len) {
            ssize_t n = http_parse_response(p->buf, p->blen, p->last_len, max, &p->res);
            if (n == -1) {
                log_error("proxy: %s sent a malformed or too large response head", proxy__name(p));
                return proxy__fail(c, 502);
            }
            if (n > 0 && p->res.status < 200) {
                if (p->res.status == 101) {
                    log_error("proxy: %s answered 101 (upgrade is not proxied)", proxy__name(p));
                    return proxy__fail(c, 502);
                }
                /* 100 Continue, 103 Early Hints: not passed on. */
                memmove(p->buf, p->buf + n, p->blen - (size_t)n);
                p->blen -= (size_t)n;
                p->last_len = 0;
                continue;
            }
            if (n > 0) {
                p->boff = (size_t)n;
                return 1;
            }
            p->last_len = p->blen;
            if (p->blen >= max) {
                log_error("proxy: %s sent a response head over %zu bytes", proxy__name(p), max);
                return proxy__fail(c, 502);
            }
        }
        ssize_t k = recv(p->fd, p->buf + p->blen, PROXY_BUF_SIZE - p->blen, MSG_DONTWAIT);
        if (k > 0) {
            p->blen += (size_t)k;
            p->progress = 1;
            continue;
        }
        if (k < 0 && errno == EAGAIN)
            return PROXY_AGAIN;
        if (p->blen == 0)
            return proxy__retry(c, p, "reading the response head from", k < 0 ? errno : 0);
        log_error("proxy: %s closed within its response head", proxy__name(p));
        return proxy__fail(c, 502);
    }
    conn_ready_push(c);
    return PROXY_AGAIN;
}

/* The head is read: the client's head into wbuf, the body's mode. */
static int proxy__answer(conn_t *c, proxy_t *p)
{
    worker_t *w = c->w;
    proxy_balance_ok(p->st->peer, p->server);
    p->mode = proxy_response_mode(&p->res, p->head_only, c->requests_http10);
    if (p->mode == PROXY_BODY_CLOSE || p->mode == PROXY_BODY_DECHUNKED)
        c->keep_alive = 0;
    p->left = p->res.content_length;
    if (c->wbuf == NULL && (c->wbuf = conn_buf_get(w, 1)) == NULL)
        return proxy__fail(c, 502);
    ssize_t n = proxy_response_head(c, &p->res, p->mode, &p->extra, c->wbuf, CONN_WBUF_SIZE);
    if (n < 0) {
        log_error("proxy: the response head of %s does not fit %d bytes", proxy__name(p),
                  CONN_WBUF_SIZE);
        return proxy__fail(c, 502);
    }
    c->status = p->res.status;
    c->woff = 0;
    c->wlen = (size_t)n;
    c->body_bytes = 0;
    p->phase = PROXY_BODY;
    p->reusable = !p->res.close;
    if (p->mode == PROXY_BODY_NONE || (p->mode == PROXY_BODY_LENGTH && p->left == 0))
        p->upstream_done = 1;
    if (p->mode == PROXY_BODY_LENGTH || p->mode == PROXY_BODY_CLOSE) {
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

/* PROXY_BODY: upstream bytes to the client, reading only when they are
 * sent. */
static int proxy__body(conn_t *c, proxy_t *p)
{
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
                    log_error("proxy: %s sent a malformed chunked body", proxy__name(p));
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
                c->sent_bytes += (uint64_t)k;
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
        if (p->boff > 0) {
            memmove(p->buf, p->buf + p->boff, p->blen - p->boff);
            p->blen -= p->boff;
            p->boff = 0;
        }
        ssize_t k = recv(p->fd, p->buf + p->blen, PROXY_BUF_SIZE - p->blen, MSG_DONTWAIT);
        if (k > 0) {
            p->blen += (size_t)k;
            p->progress = 1;
            continue;
        }
        if (k < 0 && errno == EAGAIN)
            return PROXY_AGAIN;
        if (k == 0 && p->mode == PROXY_BODY_CLOSE) {
            p->upstream_done = 1;
            p->reusable = 0;
            continue;
        }
        log_error("proxy: %s closed its response body before the end (%s): closing "
                  "client %s",
                  proxy__name(p), k < 0 ? strerror(errno) : "end of file", conn_addr(c));
        return PROXY_CLOSE;
    }
    conn_ready_push(c);
    return PROXY_AGAIN;
}

int proxy_run(conn_t *c)
{
    proxy_t *p = c->proto;
    worker_t *w = c->w;
    if (p->timed_out) {
        const char *what = p->phase == PROXY_CONNECT ? "connect"
                           : p->phase == PROXY_SEND  ? "send"
                                                     : "read";
        log_error("proxy: %s timed out (%s) for client %s", proxy__name(p), what, conn_addr(c));
        if (p->phase != PROXY_BODY || p->res.status == 0) {
            proxy_metrics_failed(p->st, p->server, p->phase == PROXY_CONNECT, w->now);
            return proxy__fail(c, 504);
        }
        return PROXY_CLOSE;
    }
    p->progress = 0;
    proxy_phase_t was = p->phase;
    int r = PROXY_AGAIN;
    for (int turn = 0; turn < 8 && r == PROXY_AGAIN; turn++) {
        proxy_phase_t ph = p->phase;
        switch (ph) {
        case PROXY_CONNECT: {
            int k = proxy_conn_ready(p->fd);
            if (k < 0)
                r = proxy__retry(c, p, "connect() to", errno);
            else if (k > 0)
                p->phase = PROXY_SEND;
            break;
        }
        case PROXY_SEND:
            r = proxy__send(c, p);
            break;
        case PROXY_HEAD:
            r = proxy__head(c, p);
            if (r == 1)
                r = proxy__answer(c, p);
            break;
        case PROXY_BODY:
            r = proxy__body(c, p);
            break;
        }
        if (r == PROXY_AGAIN && p->phase == ph && c->proto == p)
            break;
    }
    if (r != PROXY_AGAIN || c->proto != p)
        return r;
    if (p->progress || p->phase != was || c->list != &w->proxy_list) {
        double t = p->phase == PROXY_CONNECT ? p->up->connect_timeout
                   : p->phase == PROXY_SEND  ? p->up->send_timeout
                   : c->woff < c->wlen       ? w->send_list.timeout
                                             : p->up->read_timeout;
        proxy__arm(c, t);
    }
    return PROXY_AGAIN;
}

void proxy_worker_exit(worker_t *w)
{
    proxy_conn_close_all(w);
    while (w->proxy_free != NULL) {
        proxy_t *p = w->proxy_free;
        w->proxy_free = p->next_free;
        free(p);
    }
}
