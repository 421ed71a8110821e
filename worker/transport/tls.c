/*
 * tls: non-blocking TLS on one connection (see tls.h for how it fits the
 * transport table and why the write pool keeps no state).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>

#include "log.h"
#include "tls.h"


#define TLS_PLAIN_BODY "The plain HTTP request was sent to HTTPS port\n"
#define TLS_PLAIN_STR(x) #x
#define TLS_PLAIN_XSTR(x) TLS_PLAIN_STR(x)
#define TLS_PLAIN_BODY_LEN 46

static const char tls__plain_response[] =
    "HTTP/1.1 400 Bad Request\r\n"
    "Server: drover\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: " TLS_PLAIN_XSTR(TLS_PLAIN_BODY_LEN) "\r\n"
    "Connection: close\r\n"
    "\r\n" TLS_PLAIN_BODY;

_Static_assert(sizeof(TLS_PLAIN_BODY) - 1 == TLS_PLAIN_BODY_LEN, "Content-Length of the 400");

tls_conn_t *tls_new(SSL_CTX *ctx, int fd, tls_stats_t *stats)
{
    tls_conn_t *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    if ((c->ssl = SSL_new(ctx)) == NULL || SSL_set_fd(c->ssl, fd) != 1) {
        SSL_free(c->ssl);
        free(c);
        ERR_clear_error();
        errno = ENOMEM;
        return NULL;
    }
    SSL_set_accept_state(c->ssl);
    /* Tickets are asked for when the handshake is done (tls__ask_tickets). */
    c->tickets = SSL_get_num_tickets(c->ssl);
    SSL_set_num_tickets(c->ssl, 0);
    c->fd = fd;
    c->stats = stats;
    return c;
}

void tls_use_readahead(tls_conn_t *c, tls_readahead_t *ra)
{
    c->ra = ra;
    c->serial = ++ra->next_serial;
}

/* A handshake that began and will not finish counts once as failed,
 * however it ends: an error, or a close (client_header_timeout, a stop). */
static void tls__count_failure(tls_conn_t *c)
{
    if (c->stats != NULL && c->handshake_begun && !c->handshake_done && !c->failure_counted)
        c->stats->handshake_failures++;
    c->failure_counted = 1;
}

void tls_free(tls_conn_t *c)
{
    if (c == NULL)
        return;
    tls__count_failure(c);
    if (c->ra != NULL && c->ra->serial == c->serial)
        c->ra->serial = 0;
    SSL_free(c->ssl);
    free(c->bio.buf);
    free(c);
}

/* SSL_get_error needs an empty error queue. Every failure this file sees
 * clears it (tls__map), so it is almost always empty already; peeking
 * costs about 200 instructions, clearing 16 slots about 850, three times
 * a request (callgrind: ERR_clear_error was 8 % of a small request). */
static void tls__clear_errors(void)
{
    if (ERR_peek_error() != 0)
        ERR_clear_error();
}

/* Maps the result of an SSL_* I/O call. why: where to put a reason for
 * TLS_ERROR (may be NULL). Clean closes come back as 0. */
static int tls__map(tls_conn_t *c, int ret, char *why, size_t whylen)
{
    int e = SSL_get_error(c->ssl, ret);
    unsigned long err;

    switch (e) {
    case SSL_ERROR_WANT_READ:
        c->want = TLS_WANTS_READ;
        return TLS_WANT_READ;
    case SSL_ERROR_WANT_WRITE:
        c->want = TLS_WANTS_WRITE;
        return TLS_WANT_WRITE;
    case SSL_ERROR_ZERO_RETURN:
        return 0;
    case SSL_ERROR_SYSCALL:
        if (why != NULL)
            snprintf(why, whylen, "%s", errno ? strerror(errno) : "connection closed");
        ERR_clear_error();
        return errno == 0 ? 0 : TLS_ERROR;
    default:
        err = ERR_peek_last_error();
        if (ERR_GET_LIB(err) == ERR_LIB_SSL &&
            ERR_GET_REASON(err) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
            if (why != NULL)
                snprintf(why, whylen, "connection closed");
            ERR_clear_error();
            return 0;
        }
        if (why != NULL) {
            const char *r = ERR_reason_error_string(err);
            if (r != NULL)
                snprintf(why, whylen, "%s", r);
            else
                ERR_error_string_n(err, why, whylen);
        }
        ERR_clear_error();
        errno = EPROTO;
        return TLS_ERROR;
    }
}

/* From here on, the socket is tls_bio: files go out several records to a
 * write(), and a read says when it emptied the socket. Not with kernel
 * TLS, which needs OpenSSL's socket BIO; without memory the socket BIO
 * stays, which works as before. */
static void tls__own_bio(tls_conn_t *c)
{
    if (tls_ktls_send(c))
        return;
    c->bio.fd = c->fd;
    BIO *b = tls_bio_new(&c->bio);
    if (b == NULL)
        return;
    SSL_set0_wbio(c->ssl, b);
    c->batched = 1;
#ifdef BIO_get_ktls_recv
    if (BIO_get_ktls_recv(SSL_get_rbio(c->ssl)))
        return;
#endif
    /* The same BIO reads; what OpenSSL read ahead stays in the SSL. */
    if (BIO_up_ref(b) == 1) {
        SSL_set0_rbio(c->ssl, b);
        c->own_read = 1;
    }
}

/* TLS 1.3 session tickets, which tls_new took from OpenSSL's hands: as
 * many as the SSL_CTX says after a full handshake, and one after a
 * resumption, since clients use a ticket once (RFC 8446 C.4). When the
 * request came with the client's Finished (read ahead, waiting in
 * OpenSSL), they are held in the batch and go out in the same write() as
 * the response. Otherwise they go now: a client that has not sent its
 * request may be holding it back under Nagle until its Finished is
 * acknowledged, and the tickets carry that acknowledgement (without them
 * the delayed ACK cost such a client 40 ms). */
static void tls__ask_tickets(tls_conn_t *c)
{
    if (c->tickets == 0 || SSL_version(c->ssl) < TLS1_3_VERSION ||
        (SSL_get_options(c->ssl) & SSL_OP_NO_TICKET))
        return;
    size_t n = SSL_session_reused(c->ssl) ? 1 : c->tickets;
    for (size_t i = 0; i < n; i++)
        if (SSL_new_session_ticket(c->ssl) != 1)
            return;
    if (c->batched && SSL_has_pending(c->ssl)) {
        c->bio.batch = 1;
        return;
    }
    if (!c->batched) {
        if (SSL_do_handshake(c->ssl) != 1)
            ERR_clear_error(); /* the socket is full: they go with the next write */
        return;
    }
    /* Made into the batch, which has room, so OpenSSL never waits to
     * write them (a later SSL_read would then want the socket writable,
     * which a reader does not wait for); what the socket does not take
     * now goes ahead of the next response. */
    c->bio.batch = 1;
    if (SSL_do_handshake(c->ssl) != 1)
        ERR_clear_error();
    c->bio.batch = 0;
    if (tls_bio_flush(&c->bio) < 0)
        ERR_clear_error(); /* the next read or write meets the error */
}

int tls_handshake(tls_conn_t *c, char *why, size_t whylen)
{
    int r;

    if (c->handshake_done)
        return TLS_OK;
    c->handshake_begun = 1;
    if (why != NULL && whylen > 0)
        why[0] = '\0';
    ERR_clear_error();
    errno = 0;
    r = SSL_do_handshake(c->ssl);
    if (r == 1) {
        c->handshake_done = 1;
        c->want = 0;
        tls__own_bio(c);
        tls__ask_tickets(c);
        if (c->stats != NULL) {
            c->stats->handshakes++;
            c->stats->resumed += SSL_session_reused(c->ssl) ? 1 : 0;
        }
        return TLS_OK;
    }
    r = tls__map(c, r, why, whylen);
    if (r == TLS_WANT_READ || r == TLS_WANT_WRITE)
        return r;
    if (why != NULL && whylen > 0 && why[0] == '\0')
        snprintf(why, whylen, "connection closed");
    tls__count_failure(c);
    return TLS_ERROR;
}

ssize_t tls_recv(tls_conn_t *c, void *buf, size_t len)
{
    int n;

    if (len == 0)
        return 0;
    if (len > INT32_MAX)
        len = INT32_MAX;
    tls__clear_errors();
    errno = 0;
    /* emptied speaks of a read made by this call only: a record OpenSSL
     * read ahead earlier comes back without one, and the edge for bytes
     * that came since may have been taken while the connection wrote. */
    c->bio.emptied = 0;
    n = SSL_read(c->ssl, buf, (int)len);
    if (n > 0) {
        c->want = 0;
        /* The socket was empty after OpenSSL's last read, and OpenSSL
         * holds no byte of it: the next bytes raise an edge. */
        c->emptied = c->own_read && c->bio.emptied && !SSL_has_pending(c->ssl);
        return n;
    }
    c->emptied = 0;
    return tls__map(c, n, NULL, 0);
}

/* One SSL_write of p[0..len): bytes written, or TLS_WANT_* / TLS_ERROR. */
ssize_t tls_write_record(tls_conn_t *c, const void *p, size_t len)
{
    int n, r;

    if (len < c->write_pending) {
        /* the retry of a pending record offers fewer bytes than before:
         * the caller changed the data under us */
        errno = EINVAL;
        return TLS_ERROR;
    }
    if (len > INT32_MAX)
        len = INT32_MAX;
    tls__clear_errors();
    errno = 0;
    n = SSL_write(c->ssl, p, (int)len);
    if (n > 0) {
        c->write_pending = 0;
        c->want = 0;
        return n;
    }
    r = tls__map(c, n, NULL, 0);
    if (r == TLS_WANT_READ || r == TLS_WANT_WRITE) {
        c->write_pending = len;
        return r;
    }
    if (r == 0)
        errno = EPIPE; /* the peer closed: a write cannot succeed */
    return TLS_ERROR;
}

int tls_ktls_send(const tls_conn_t *c)
{
#ifdef BIO_get_ktls_send
    return BIO_get_ktls_send(SSL_get_wbio(c->ssl)) ? 1 : 0;
#else
    return 0;
#endif
}

ssize_t tls_ktls_sendfile(tls_conn_t *c, int file_fd, off_t offset, size_t count)
{
    ERR_clear_error();
    errno = 0;
    ossl_ssize_t n = SSL_sendfile(c->ssl, file_fd, offset, count, 0);
    if (n >= 0) {
        c->want = 0;
        return (ssize_t)n;
    }
    int r = tls__map(c, (int)n, NULL, 0);
    return r == 0 ? TLS_ERROR : r;
}

int tls_shutdown(tls_conn_t *c)
{
    int r;

    if (!c->handshake_done)
        return TLS_OK; /* nothing to close politely */
    ERR_clear_error();
    errno = 0;
    /* Sent already, with the last response (tls_send.c): flush only. */
    r = SSL_get_shutdown(c->ssl) & SSL_SENT_SHUTDOWN ? 0 : SSL_shutdown(c->ssl);
    /* What the batch holds (tickets no response took along) goes first. */
    if (c->batched && tls_bio_held(&c->bio) > 0) {
        c->bio.batch = 0;
        if (tls_bio_flush(&c->bio) < 0)
            return TLS_ERROR;
    }
    if (r >= 0)
        return TLS_OK; /* our close_notify is out; the peer's is not awaited */
    r = tls__map(c, r, NULL, 0);
    return r == TLS_WANT_READ ? TLS_OK : r == 0 ? TLS_OK : r;
}

unsigned tls_wants(const tls_conn_t *c)
{
    return c->want;
}

size_t tls_pending(const tls_conn_t *c)
{
    int n = SSL_pending(c->ssl);
    return n > 0 ? (size_t)n : 0;
}

void tls_lean(tls_conn_t *c, int lean)
{
    if (c == NULL || !c->handshake_done)
        return;
    if (!lean) {
        SSL_clear_mode(c->ssl, SSL_MODE_RELEASE_BUFFERS);
        return;
    }
    /* The mode as well as the free: the read that finds the socket empty
     * (WANT_READ) comes after this and would otherwise allocate again. */
    SSL_set_mode(c->ssl, SSL_MODE_RELEASE_BUFFERS);
    SSL_free_buffers(c->ssl); /* 0 when records are pending: then kept */
    tls_bio_trim(&c->bio);
}

const char *tls_version(const tls_conn_t *c)
{
    return SSL_get_version(c->ssl);
}

void tls_alpn(const tls_conn_t *c, const unsigned char **proto, unsigned *len)
{
    SSL_get0_alpn_selected(c->ssl, proto, len);
}

int tls_looks_like_plain_http(const char *p, size_t len)
{
    if (len == 0 || (unsigned char)p[0] == 0x16)
        return 0;
    /* a method is a token; every method in use is upper-case letters
     * (GET, HEAD, POST, OPTIONS, PRI ...), at least three of them */
    for (size_t i = 0; i < len && i < 16; i++) {
        if (p[i] == ' ')
            return i >= 3;
        if (p[i] < 'A' || p[i] > 'Z')
            return 0;
    }
    return 1;
}

int tls_peek_plain_http(int fd)
{
    char buf[16];
    ssize_t n;

    do
        n = recv(fd, buf, sizeof(buf), MSG_PEEK);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK ? TLS_WANT_READ : TLS_ERROR;
    if (n == 0)
        return TLS_ERROR;
    return tls_looks_like_plain_http(buf, (size_t)n);
}

const char *tls_plain_http_response(size_t *len)
{
    *len = sizeof(tls__plain_response) - 1;
    return tls__plain_response;
}
