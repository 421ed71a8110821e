/*
 * proxy_tunnel: see proxy_tunnel.h.
 */
#include "proxy_tunnel.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"

/* One direction: bytes read from one side, not yet sent to the other. */
typedef struct {
    char *buf;
    size_t cap, off, len;
    int eof;  /* the reading side sent its end of file */
    int shut; /* passed on: the other side's write side is shut */
} proxy_tunnel_dir_t;

struct proxy_tunnel_s {
    int fd;
    proxy_tunnel_dir_t down; /* upstream -> client */
    proxy_tunnel_dir_t up;   /* client -> upstream */
};

str_t proxy_tunnel_wanted(const http_request_t *req)
{
    /* A body would have to reach the upstream before the switch; no
     * client sends one (RFC 6455 4.1), so such a request is not upgraded. */
    if (req->method != HTTP_METHOD_GET || req->version_minor != 1 || req->content_length > 0 ||
        req->chunked)
        return STR_NULL;
    int asked = 0;
    str_t upgrade = STR_NULL;
    for (size_t i = 0; i < req->num_headers; i++) {
        const http_header_t *h = &req->headers[i];
        if (STR_CASEEQ(h->name, "Connection") && http_list_has(h->value, "upgrade", 7))
            asked = 1;
        else if (STR_CASEEQ(h->name, "Upgrade") && upgrade.len == 0)
            upgrade = h->value;
    }
    return asked ? upgrade : STR_NULL;
}

proxy_tunnel_t *proxy_tunnel_start(conn_t *c, int fd, char *buf, size_t cap, size_t off,
                                   size_t len)
{
    proxy_tunnel_t *t = calloc(1, sizeof(*t));
    size_t early = c->rlen > c->head_len ? c->rlen - c->head_len : 0;
    size_t ucap = early > PROXY_TUNNEL_BUF_SIZE ? early : PROXY_TUNNEL_BUF_SIZE;
    char *ubuf = t != NULL ? malloc(ucap) : NULL;
    if (ubuf == NULL) {
        free(t);
        free(buf);
        return NULL;
    }
    t->fd = fd;
    t->down = (proxy_tunnel_dir_t){.buf = buf, .cap = cap, .off = off, .len = len};
    /* The client's early frames; rbuf keeps only the head (the access
     * log's request line points into it). */
    memcpy(ubuf, c->rbuf + c->head_len, early);
    c->rlen = c->head_len;
    c->last_len = c->rlen;
    t->up = (proxy_tunnel_dir_t){.buf = ubuf, .cap = ucap, .len = early};
    return t;
}

void proxy_tunnel_free(proxy_tunnel_t *t)
{
    if (t == NULL)
        return;
    free(t->down.buf);
    free(t->up.buf);
    free(t);
}

/* A call that moved nothing (k <= 0): 0 not now (EAGAIN), -1 the tunnel
 * ends, logged with what failed. */
static int proxy_tunnel__stop(conn_t *c, ssize_t k, const char *what)
{
    if (k < 0 && errno == EAGAIN)
        return 0;
    log_info("proxy: tunnel of client %s ends: %s: %s", conn_addr(c), what,
             k == 0 ? "end of file" : strerror(errno));
    return -1;
}

/* Toward the client: the 101 head in wbuf first, then down's bytes. */
static int proxy_tunnel__to_client(proxy_tunnel_t *t, conn_t *c)
{
    proxy_tunnel_dir_t *d = &t->down;
    if (c->woff < c->wlen) {
        ssize_t k = c->tr->send(&c->io, c->wbuf + c->woff, c->wlen - c->woff, 0);
        if (k <= 0)
            return proxy_tunnel__stop(c, k < 0 ? k : -1, "send() to the client");
        c->woff += (size_t)k;
        conn_sent(c, (size_t)k);
        return 1;
    }
    if (d->off < d->len) {
        ssize_t k = c->tr->send(&c->io, d->buf + d->off, d->len - d->off, 0);
        if (k <= 0)
            return proxy_tunnel__stop(c, k < 0 ? k : -1, "send() to the client");
        d->off += (size_t)k;
        c->body_bytes += (uint64_t)k;
        conn_sent(c, (size_t)k);
        return 1;
    }
    if (d->eof && !d->shut) {
        d->shut = 1;
        c->tr->shutdown(&c->io);
        return 1;
    }
    return 0;
}

/* Toward the upstream: up's bytes, then the client's end of file. */
static int proxy_tunnel__to_upstream(proxy_tunnel_t *t, conn_t *c)
{
    proxy_tunnel_dir_t *u = &t->up;
    if (u->off < u->len) {
        ssize_t k = send(t->fd, u->buf + u->off, u->len - u->off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (k <= 0)
            return proxy_tunnel__stop(c, k < 0 ? k : -1, "send() to the upstream");
        u->off += (size_t)k;
        return 1;
    }
    if (u->eof && !u->shut) {
        u->shut = 1;
        shutdown(t->fd, SHUT_WR);
        return 1;
    }
    return 0;
}

/* Reads into d when it has room: 1 bytes or the end of file came. */
static int proxy_tunnel__read(proxy_tunnel_dir_t *d, conn_t *c, int fd)
{
    if (d->eof)
        return 0;
    if (d->off == d->len)
        d->off = d->len = 0;
    if (d->len == d->cap)
        return 0; /* the other side has not taken enough: back-pressure */
    if (d->buf == NULL && (d->buf = malloc(d->cap)) == NULL) {
        log_error("proxy: tunnel of client %s: out of memory", conn_addr(c));
        return -1;
    }
    ssize_t k = fd >= 0 ? recv(fd, d->buf + d->len, d->cap - d->len, MSG_DONTWAIT)
                        : c->tr->recv(&c->io, d->buf + d->len, d->cap - d->len);
    if (k == 0) {
        d->eof = 1;
        return 1;
    }
    if (k < 0)
        return proxy_tunnel__stop(c, k, fd >= 0 ? "recv() from the upstream"
                                                : "recv() from the client");
    d->len += (size_t)k;
    return 1;
}

/* Waiting with nothing to pass on: the buffers go, so an idle tunnel
 * holds none (as an idle keep-alive connection); a read takes one again. */
static void proxy_tunnel__idle(proxy_tunnel_t *t, conn_t *c)
{
    proxy_tunnel_dir_t *dirs[2] = {&t->down, &t->up};
    for (int i = 0; i < 2; i++) {
        if (dirs[i]->off == dirs[i]->len) {
            free(dirs[i]->buf);
            dirs[i]->buf = NULL;
            dirs[i]->off = dirs[i]->len = 0;
        }
    }
    if (c->wbuf != NULL && c->woff == c->wlen) {
        conn_buf_put(c->w, c->wbuf, 1); /* the 101 head is sent */
        c->wbuf = NULL;
        c->woff = c->wlen = 0;
    }
}

int proxy_tunnel_run(proxy_tunnel_t *t, conn_t *c, int *progress)
{
    for (int turn = 0; turn < 256; turn++) {
        int moved = 0;
        for (int step = 0; step < 4; step++) {
            int r = step == 0   ? proxy_tunnel__to_client(t, c)
                    : step == 1 ? proxy_tunnel__to_upstream(t, c)
                    : step == 2 ? proxy_tunnel__read(&t->down, c, t->fd)
                                : proxy_tunnel__read(&t->up, c, -1);
            if (r < 0)
                return 1;
            moved |= r;
        }
        if (t->down.shut && t->up.shut)
            return 1; /* both sides sent their end and got all before it */
        if (!moved) {
            proxy_tunnel__idle(t, c);
            return 0;
        }
        *progress = 1;
    }
    /* Still moving: let other connections run first. */
    conn_ready_push(c);
    return 0;
}
