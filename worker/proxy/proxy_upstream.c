/*
 * proxy_upstream: see proxy_upstream.h.
 */
#include "proxy_upstream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "proxy_balance.h"
#include "proxy_compress.h"
#include "proxy_link.h"
#include "proxy_request.h"

/* The free proxy_t structures (their buffers freed). They are never
 * freed while the worker runs: an event of the same epoll batch may still
 * name one after its exchange ended. */
static proxy_t *proxy_upstream__alloc(worker_t *w)
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

void proxy_upstream_drop_fd(proxy_t *p, int pool)
{
    if (p->fd < 0)
        return;
    proxy_link_t *l = p->link;
    p->fd = -1;
    p->link = NULL;
    /* The server's FIN (or an error) came while we held the socket: its
     * event is spent, so in the pool nothing would tell that it died, and
     * the next request, taken as empty (rx_empty), would wait on it for
     * read_timeout. */
    proxy_link_release(p->c->w, l, p->server, pool && !p->rx_hup);
}

const char *proxy_upstream_name(const proxy_t *p)
{
    return p->up->servers[p->server].spec;
}

/* The monotonic clock, finer than the turn's w->now: an upstream's time. */
static double proxy_upstream__clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void proxy_upstream_log(const proxy_t *p, const char **upstream, int *status, uint64_t *us)
{
    if (p->server < 0)
        return;
    double took = proxy_upstream__clock() - p->started;
    *upstream = proxy_upstream_name(p);
    *status = p->phase >= PROXY_BODY ? p->res.status : 0;
    *us = took > 0 ? (uint64_t)(took * 1e6) : 0;
}

void proxy_upstream_free(proxy_t *p, int pool)
{
    worker_t *w = p->c->w;
    proxy_metrics_end(p->st, p->server, p->phase >= PROXY_BODY ? p->res.status : 0, &p->tele);
    proxy_compress_free(p->zc);
    free(p->zin);
    p->zc = NULL;
    p->zin = NULL;
    proxy_upstream_drop_fd(p, pool);
    free(p->req);
    free(p->buf);
    free(p->obuf);
    p->req = p->buf = p->obuf = NULL;
    p->c = NULL;
    p->next_free = w->proxy_free;
    w->proxy_free = p;
}

void proxy_upstream_arm(conn_t *c, double deadline)
{
    worker_t *w = c->w;
    list_remove(&c->timer);
    c->deadline = deadline;
    c->list = &w->proxy_list;
    list_t *q = w->proxy_list.head.prev;
    for (int n = 0; q != &w->proxy_list.head && n < 4096; n++, q = q->prev)
        if (list_entry(q, conn_t, timer)->deadline <= c->deadline)
            break;
    list_insert_head(q, &c->timer);
}

static int proxy_upstream__fail(proxy_t *p, int status)
{
    p->status = status;
    proxy_metrics_gateway(p->st, status);
    proxy_upstream_drop_fd(p, 0);
    return PROXY_FAIL;
}

/* Picks a server and opens (or takes) a connection: PROXY_AGAIN, or
 * PROXY_FAIL when no server is left. */
static int proxy_upstream__connect(proxy_t *p)
{
    conn_t *c = p->c;
    worker_t *w = c->w;
    for (int n = 0; n < CONF_UPSTREAM_SERVERS_MAX + 2; n++) {
        int i = p->fresh ? p->server : proxy_balance_pick(p->st->peer, p->up, p->tried, w->now);
        if (i < 0) {
            log_error("proxy: upstream \"%s\": no server left for %s", p->up->name, conn_addr(c));
            return proxy_upstream__fail(p, p->connect_timeouts > 0 ? 504 : 502);
        }
        p->server = i;
        proxy_metrics_try(p->st, i, &p->tele);
        int pending = 0;
        void *tag = NULL;
        int fd = p->fresh ? -1 : proxy_conn_take(p->st, i, &tag);
        p->reused = fd >= 0;
        p->fresh = 0;
        if (fd >= 0) {
            proxy_link_t *l = tag;
            proxy_link_take(l, p);
            p->link = l;
            p->fd = fd;
            p->phase = PROXY_SEND;
            p->rx_empty = 1; /* idle, so empty: bytes would have closed it */
            p->rx_hup = 0;
            p->req_off = 0;
            p->boff = p->blen = p->last_len = 0;
            return PROXY_AGAIN;
        }
        if ((fd = proxy_conn_open(&p->up->servers[i], &pending)) < 0) {
            log_error("proxy: connect() to %s: %s", proxy_upstream_name(p), strerror(errno));
            proxy_metrics_failed(p->st, i, 1, w->now);
            p->tried |= (uint64_t)1 << i;
            continue;
        }
        proxy_link_t *l = proxy_link_add(w, fd, p, p->st);
        if (l == NULL) {
            close(fd);
            return proxy_upstream__fail(p, 502);
        }
        p->fd = fd;
        p->link = l;
        p->rx_empty = 1; /* nothing sent, nothing to answer */
        p->rx_hup = 0;
        p->phase = pending ? PROXY_CONNECT : PROXY_SEND;
        p->req_off = 0;
        p->boff = p->blen = p->last_len = 0;
        return PROXY_AGAIN;
    }
    return proxy_upstream__fail(p, 502);
}

/* The connection failed before any byte of the response (why: for the
 * log). Tries again where that is safe, else 502. */
static int proxy_upstream__retry(proxy_t *p, const char *why, int err)
{
    worker_t *w = p->c->w;
    int sent = p->req_off > 0;
    int pooled = p->reused;
    proxy_upstream_drop_fd(p, 0);
    if (pooled && p->idempotent && p->body_sent == 0 && p->attempts++ < 4) {
        /* The server closed its idle connection as we used it. */
        p->fresh = 1;
        return proxy_upstream__connect(p);
    }
    log_error("proxy: %s %s: %s", why, proxy_upstream_name(p), err ? strerror(err) : "closed");
    proxy_metrics_failed(p->st, p->server, p->phase == PROXY_CONNECT, w->now);
    p->tried |= (uint64_t)1 << p->server;
    if ((!sent || p->idempotent) && p->body_sent == 0)
        return proxy_upstream__connect(p);
    return proxy_upstream__fail(p, 502);
}

proxy_t *proxy_upstream_start(conn_t *c, const http_request_t *req, const proxy_route_t *route,
                              const proxy_start_args_t *a, const proxy_side_t *side, void *data,
                              int *r)
{
    worker_t *w = c->w;
    const conf_t *rc = route->conf;
    proxy_upstream_state_t *st = proxy_conn_state(w, rc->proxy_upstream);
    proxy_t *p = st != NULL ? proxy_upstream__alloc(w) : NULL;
    if (p == NULL) {
        log_error("proxy: out of memory");
        return NULL;
    }
    p->c = c;
    p->side = side;
    p->data = data;
    p->started = proxy_upstream__clock();
    p->st = st;
    p->up = st->conf;
    p->extra = route->extra;
    p->idempotent = req->method == HTTP_METHOD_GET || req->method == HTTP_METHOD_HEAD ||
                    req->method == HTTP_METHOD_PUT || req->method == HTTP_METHOD_DELETE ||
                    req->method == HTTP_METHOD_OPTIONS;
    p->head_only = req->method == HTTP_METHOD_HEAD;

    const conf_upstream_server_t *s0 = &p->up->servers[0];
    proxy_request_args_t ra = {
        .prefix = route->prefix,
        .path = route->path,
        .uri = rc->proxy_uri,
        .client = a->client,
        .client_v6 = strchr(a->client, ':') != NULL,
        .https = a->https,
        .host = s0->addr.ss_family == AF_UNIX ? "localhost" : s0->host,
        .keepalive = p->up->keepalive > 0,
        .content_length = a->content_length,
        .chunked = a->chunked,
        .upgrade = a->upgrade,
        .extra = a->extra,
    };
    p->upgrade = a->upgrade.len > 0;
    size_t cap = w->a.conf->max_header_size + 2048 + (rc->proxy_uri ? strlen(rc->proxy_uri) : 0);
    p->req = malloc(cap);
    ssize_t n = p->req != NULL ? proxy_request_head(req, &ra, p->req, cap) : -1;
    if (n < 0) {
        log_error("proxy: the request head for %s does not fit %zu bytes", a->client, cap);
        *r = proxy_upstream__fail(p, 502);
        return p;
    }
    p->req_len = (size_t)n;
    *r = proxy_upstream__connect(p);
    return p;
}

/* PROXY_SEND is waiting (for the upstream to take more, or the client to
 * send more): an upstream may answer before it read the whole body (a 413
 * or 401 from the head alone). Its bytes start the response head; the rest
 * of the body is not forwarded and the upstream connection is not kept,
 * as nginx does. 1 it answered, 0 not yet. */
static int proxy_upstream__early(proxy_t *p)
{
    ssize_t k = recv(p->fd, p->buf, PROXY_BUF_SIZE, MSG_DONTWAIT);
    if (k <= 0)
        return 0;
    p->blen = (size_t)k;
    p->last_len = 0;
    p->early = 1;
    p->phase = PROXY_HEAD;
    p->progress = 1;
    return 1;
}

/* PROXY_SEND: the head, then the body the client side hands over. */
static int proxy_upstream__send(proxy_t *p)
{
    for (int turn = 0; turn < 256; turn++) {
        const char *out;
        size_t len;
        if (p->req_off < p->req_len) {
            out = p->req + p->req_off;
            len = p->req_len - p->req_off;
        } else {
            int b = p->side->body(p, &out, &len);
            if (b == 0)
                return PROXY_AGAIN;
            if (b == 2) {
                p->phase = PROXY_HEAD;
                return PROXY_AGAIN;
            }
            if (b < 0)
                return PROXY_CLOSE;
            if (b > 2)
                return proxy_upstream__fail(p, b);
        }
        ssize_t k = send(p->fd, out, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (k < 0) {
            if (errno == EAGAIN)
                return PROXY_AGAIN;
            int err = errno;
            if (p->req_off > 0 && proxy_upstream__early(p))
                return PROXY_AGAIN; /* it answered, then stopped reading */
            return proxy_upstream__retry(p, "send() to", err);
        }
        p->progress = 1;
        if (p->req_off < p->req_len) {
            p->req_off += (size_t)k;
            continue;
        }
        p->body_sent += (uint64_t)k;
        p->side->body_sent(p, (size_t)k);
    }
    conn_ready_push(p->c);
    return PROXY_AGAIN;
}

/* PROXY_HEAD: reads and checks the response head: 1 when it is there. */
static int proxy_upstream__head(proxy_t *p)
{
    worker_t *w = p->c->w;
    size_t max =
        w->a.conf->max_header_size < PROXY_BUF_SIZE ? w->a.conf->max_header_size : PROXY_BUF_SIZE;
    for (int turn = 0; turn < 64; turn++) {
        if (p->blen > p->last_len) {
            ssize_t n = http_parse_response(p->buf, p->blen, p->last_len, max, &p->res);
            if (n == -1) {
                log_error("proxy: %s sent a malformed or too large response head",
                          proxy_upstream_name(p));
                return proxy_upstream__fail(p, 502);
            }
            if (n > 0 && p->res.status == 101 && p->upgrade) {
                p->boff = (size_t)n; /* the tunnel's bytes follow */
                return 1;
            }
            if (n > 0 && p->res.status < 200) {
                if (p->res.status == 101) {
                    log_error("proxy: %s answered 101 to a request that did not ask to "
                              "upgrade",
                              proxy_upstream_name(p));
                    return proxy_upstream__fail(p, 502);
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
                log_error("proxy: %s sent a response head over %zu bytes", proxy_upstream_name(p),
                          max);
                return proxy_upstream__fail(p, 502);
            }
        }
        if (p->rx_empty)
            return PROXY_AGAIN;
        size_t room = PROXY_BUF_SIZE - p->blen;
        ssize_t k = recv(p->fd, p->buf + p->blen, room, MSG_DONTWAIT);
        if (k > 0) {
            p->blen += (size_t)k;
            p->progress = 1;
            p->rx_empty = (size_t)k < room && !p->rx_hup;
            continue;
        }
        if (k < 0 && errno == EAGAIN) {
            p->rx_empty = 1;
            return PROXY_AGAIN;
        }
        if (p->blen == 0)
            return proxy_upstream__retry(p, "reading the response head from", k < 0 ? errno : 0);
        log_error("proxy: %s closed within its response head", proxy_upstream_name(p));
        return proxy_upstream__fail(p, 502);
    }
    conn_ready_push(p->c);
    return PROXY_AGAIN;
}

int proxy_upstream_recv(proxy_t *p)
{
    if (p->boff > 0) {
        memmove(p->buf, p->buf + p->boff, p->blen - p->boff);
        p->blen -= p->boff;
        p->boff = 0;
    }
    if (p->blen == PROXY_BUF_SIZE || p->rx_empty)
        return 0;
    size_t room = PROXY_BUF_SIZE - p->blen;
    ssize_t k = recv(p->fd, p->buf + p->blen, room, MSG_DONTWAIT);
    if (k > 0) {
        p->blen += (size_t)k;
        p->progress = 1;
        p->rx_empty = (size_t)k < room && !p->rx_hup;
        return (int)k;
    }
    if (k < 0 && errno == EAGAIN) {
        p->rx_empty = 1;
        return 0;
    }
    if (k == 0 && p->mode == PROXY_BODY_CLOSE) {
        p->upstream_done = 1;
        p->reusable = 0;
        return PROXY_DONE;
    }
    log_error("proxy: %s closed its response body before the end (%s): closing "
              "client %s",
              proxy_upstream_name(p), k < 0 ? strerror(errno) : "end of file", conn_addr(p->c));
    return PROXY_CLOSE;
}

int proxy_upstream_zdecode(proxy_t *p)
{
    if (p->boff >= p->blen || p->upstream_done || p->zinlen > 0)
        return p->zinlen > 0 || p->upstream_done;
    if (p->mode == PROXY_BODY_CHUNKED || p->mode == PROXY_BODY_DECHUNKED) {
        size_t in = p->blen - p->boff;
        int r = proxy_response_dechunk(&p->ch, 0, p->buf + p->boff, &in, p->zin, &p->zinlen,
                                       PROXY_ZIN_SIZE, &p->decoded);
        if (r < 0)
            return -1;
        p->blen = p->boff + in;
        if (r == 1)
            p->upstream_done = 1;
    } else {
        size_t k = p->blen - p->boff;
        if (k > PROXY_ZIN_SIZE)
            k = PROXY_ZIN_SIZE;
        if (p->mode == PROXY_BODY_LENGTH && (uint64_t)k > (uint64_t)p->left)
            k = (size_t)p->left;
        memcpy(p->zin, p->buf + p->boff, k);
        p->zinlen = k;
        p->boff += k;
        if (p->mode == PROXY_BODY_LENGTH && (p->left -= (int64_t)k) == 0)
            p->upstream_done = 1;
    }
    return p->zinlen > 0 || p->upstream_done;
}

int proxy_upstream_run(proxy_t *p)
{
    conn_t *c = p->c;
    worker_t *w = c->w;
    p->rearm = 0;
    p->woken = 0;
    if (p->timed_out) {
        const char *what = p->phase == PROXY_CONNECT ? "connect"
                           : p->phase == PROXY_SEND  ? "send"
                                                     : "read";
        log_error("proxy: %s timed out (%s) for client %s", proxy_upstream_name(p), what,
                  conn_addr(c));
        p->timed_out = 0;
        if (p->phase == PROXY_CONNECT) {
            /* Nothing was sent: the next server, for any method (nginx's
             * proxy_next_upstream timeout does the same). */
            proxy_metrics_failed(p->st, p->server, 1, w->now);
            p->tried |= (uint64_t)1 << p->server;
            p->connect_timeouts++;
            proxy_upstream_drop_fd(p, 0);
            int k = proxy_upstream__connect(p);
            if (k != PROXY_AGAIN)
                return k;
            p->armed = 0; /* the new connect's own timer */
        } else if (p->phase != PROXY_BODY || p->res.status == 0) {
            proxy_metrics_failed(p->st, p->server, 0, w->now);
            return proxy_upstream__fail(p, 504);
        } else {
            return PROXY_CLOSE;
        }
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
                r = proxy_upstream__retry(p, "connect() to", errno);
            else if (k > 0)
                p->phase = PROXY_SEND;
            break;
        }
        case PROXY_SEND:
            r = proxy_upstream__send(p);
            if (r == PROXY_AGAIN && p->phase == PROXY_SEND && p->req_off > 0)
                proxy_upstream__early(p);
            break;
        case PROXY_HEAD:
            r = proxy_upstream__head(p);
            if (r == 1) {
                proxy_balance_ok(p->st->peer, p->server);
                r = p->side->answer(p);
            }
            break;
        case PROXY_BODY:
        case PROXY_TUNNEL:
            r = p->side->stream(p);
            break;
        }
        if (r == PROXY_AGAIN && p->phase == ph)
            break;
    }
    if (r != PROXY_AGAIN)
        return r;
    if (p->progress || p->phase != was || !p->armed) {
        p->rearm = 1;
        p->timeout = p->phase == PROXY_CONNECT ? p->up->connect_timeout
                     : p->phase == PROXY_SEND  ? p->up->send_timeout
                     : p->phase == PROXY_TUNNEL || p->tunnel ? p->up->tunnel_timeout
                     : p->side->blocked(p)     ? w->send_list.timeout
                                               : p->up->read_timeout;
    }
    return PROXY_AGAIN;
}

void proxy_upstream_worker_exit(worker_t *w)
{
    proxy_link_worker_exit(w);
    while (w->proxy_free != NULL) {
        proxy_t *p = w->proxy_free;
        w->proxy_free = p->next_free;
        free(p);
    }
}
