/*
 * tls_transport: see tls_transport.h.
 */
#include "tls_transport.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http1.h"
#include "http2.h"
#include "log.h"

static char *tls_transport__pool(const tls_conn_t *t)
{
    tls_worker_t *tw = (tls_worker_t *)(void *)((char *)t->stats - offsetof(tls_worker_t, stats));
    return tw->pool;
}

/* A TLS_* result as the transport convention: -1 with errno EAGAIN and
 * io->want, or -1 with a real error. */
static ssize_t tls_transport__result(transport_io_t *io, ssize_t r)
{
    if (r >= 0)
        return r;
    if (r == TLS_WANT_READ || r == TLS_WANT_WRITE) {
        io->want = r == TLS_WANT_READ ? TRANSPORT_WANT_READ : TRANSPORT_WANT_WRITE;
        errno = EAGAIN;
    } else if (errno == 0 || errno == EAGAIN) {
        errno = ECONNRESET;
    }
    return -1;
}

static ssize_t tls_transport__recv(transport_io_t *io, void *buf, size_t len)
{
    tls_conn_t *t = io->data;
    errno = 0;
    ssize_t n = tls_recv(t, buf, len);
    io->emptied = t->emptied;
    return tls_transport__result(io, n);
}

static ssize_t tls_transport__writev(transport_io_t *io, const struct iovec *iov, int iovcnt,
                                     int more)
{
    (void)more; /* records are filled in the pool: nothing to cork */
    errno = 0;
    return tls_transport__result(io, tls_send_iov(io->data, iov, iovcnt,
                                                tls_transport__pool(io->data), TLS_POOL_SIZE));
}

static ssize_t tls_transport__send(transport_io_t *io, const void *buf, size_t len, int more)
{
    struct iovec iov = { (void *)(uintptr_t)buf, len };
    tls_conn_t *t = io->data;
    t->closing = io->last;
    ssize_t n = tls_transport__writev(io, &iov, 1, more);
    t->closing = 0;
    return n;
}

static ssize_t tls_transport__sendfile(transport_io_t *io, int fd, off_t *off, size_t len)
{
    errno = 0;
    ssize_t n = tls_transport__result(io, tls_send_file_range(io->data, fd, *off, len, io->map,
                                                              tls_transport__pool(io->data),
                                                              TLS_POOL_SIZE));
    if (n > 0)
        *off += n;
    return n;
}

static ssize_t tls_transport__write_pieces(transport_io_t *io, const transport_piece_t *pc, int n)
{
    _Static_assert(sizeof(tls_piece_t) == sizeof(transport_piece_t) &&
                       offsetof(tls_piece_t, off) == offsetof(transport_piece_t, off) &&
                       offsetof(tls_piece_t, len) == offsetof(transport_piece_t, len) &&
                       offsetof(tls_piece_t, map) == offsetof(transport_piece_t, map),
                   "one piece, two names: tls.c knows nothing of transport.h");
    errno = 0;
    return tls_transport__result(io, tls_send_pieces(io->data, (const tls_piece_t *)(const void *)pc, n,
                                                      tls_transport__pool(io->data), TLS_POOL_SIZE));
}

static void tls_transport__shutdown(transport_io_t *io)
{
    /* close_notify when it fits now; a client that misses it still has a
     * complete response, framed by Content-Length. */
    if (io->data != NULL && ((tls_conn_t *)io->data)->handshake_done)
        tls_shutdown(io->data);
    shutdown(io->fd, SHUT_WR);
}

static void tls_transport__close(transport_io_t *io)
{
    tls_conn_t *t = io->data;
    /* close_notify on a healthy connection (one write, never waited for):
     * clients such as wrk otherwise take the bare FIN for a truncation and
     * are slow to reconnect. Not after an error or a shutdown already sent. */
    if (t != NULL && t->handshake_done && SSL_get_shutdown(t->ssl) == 0 && !SSL_in_init(t->ssl))
        tls_shutdown(t);
    tls_free(t);
    io->data = NULL;
    close(io->fd);
    io->fd = -1;
}

static void tls_transport__idle(transport_io_t *io, int lean)
{
    tls_lean(io->data, lean);
}

/* OpenSSL reads whole records: a short read does not prove the socket
 * empty; recv says when it is (io->emptied). */
const transport_t tls_transport = {
    .name = "tls",
    .maps_files = 1,
    .recv = tls_transport__recv,
    .send = tls_transport__send,
    .writev = tls_transport__writev,
    .sendfile = tls_transport__sendfile,
    .write_pieces = tls_transport__write_pieces,
    .shutdown = tls_transport__shutdown,
    .close = tls_transport__close,
    .idle = tls_transport__idle,
};

tls_worker_t *tls_transport_worker_new(const tls_ctx_t *tls)
{
    tls_worker_t *tw = calloc(1, sizeof(*tw));
    if (tw != NULL)
        tw->ctx = tls_ctx_default(tls);
    return tw;
}

int tls_transport_start(conn_t *c, tls_worker_t *tw)
{
    c->io.data = tls_new(tw->ctx, c->io.fd, &tw->stats);
    if (c->io.data == NULL) {
        log_error("SSL_new(): out of memory");
        conn_close(c);
        return -1;
    }
    tls_use_readahead(c->io.data, &tw->ra);
    return 0;
}

/* Plain HTTP on the TLS port: consume what was sent (so the close does not
 * turn unread bytes into a reset that destroys the answer), say why in
 * plain text, close. */
static void tls_transport__plain_http(conn_t *c)
{
    char buf[4096];
    size_t len;
    const char *resp = tls_plain_http_response(&len);
    for (int i = 0; i < 4 && recv(c->io.fd, buf, sizeof(buf), MSG_DONTWAIT) == (ssize_t)sizeof(buf); i++)
        ;
    log_info("client %s: plain HTTP on a TLS port: 400", conn_addr(c));
    if (send(c->io.fd, resp, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
        log_debug("client %s: send(400): %s", conn_addr(c), strerror(errno));
    shutdown(c->io.fd, SHUT_WR);
    conn_close(c);
}

void tls_transport_handshake(conn_t *c, uint32_t events)
{
    tls_conn_t *t = c->io.data;
    /* A connection is registered for both edges, and a new one raises a
     * writable edge once, just after the first flight went out: while the
     * handshake waits for the client, that edge alone would cost a read
     * that finds nothing. */
    int reading = !t->peeked || tls_wants(t) == TLS_WANTS_READ;
    if (reading && (events & EPOLLOUT) && !(events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
        return;
    if (!t->peeked) {
        int p = tls_peek_plain_http(c->io.fd);
        if (p == TLS_WANT_READ)
            return; /* nothing yet: the next bytes raise an edge */
        if (p == TLS_ERROR) {
            conn_close(c);
            return;
        }
        t->peeked = 1;
        c->midway = 1; /* the client's hello has begun: not idle */
        if (p == 1) {
            tls_transport__plain_http(c);
            return;
        }
    }
    char why[200];
    int r = tls_handshake(t, why, sizeof(why));
    if (r == TLS_WANT_READ || r == TLS_WANT_WRITE)
        return; /* registered edge-triggered both ways: either edge retries */
    if (r != TLS_OK) {
        /* The client's problem (old protocol, garbage, a scanner): info,
         * never error, so they cannot flood the log. */
        log_info("tls: handshake with %s failed: %s", conn_addr(c), why);
        conn_close(c);
        return;
    }
    /* midway stays set until the request's first bytes reach rbuf
     * (conn_read): a client sends its request after its Finished, often in
     * a write of its own, and it is no more idle in between. */
    c->tls_version = tls_version(t); /* a static string: "TLSv1.3" */
    const unsigned char *proto = NULL;
    unsigned len = 0;
    tls_alpn(t, &proto, &len);
    /* ALPN chose h2 (offered when http2 is on): HTTP/2 from here. */
    if (len == 2 && memcmp(proto, "h2", 2) == 0) {
        http2_attach(c);
        return;
    }
    c->process = http1_process;
    /* The client may have sent its request with its Finished: read now. */
    conn_process(c, EPOLLIN);
}
