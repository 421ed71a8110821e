/*
 * tls: one server-side TLS connection over a non-blocking socket, for the
 * worker's transport layer. It knows SSL* and a file descriptor, nothing of
 * conn_t or HTTP, so the transport table wraps it in a few lines.
 *
 * How it plugs into the transport ops table of issue 9
 * ({recv, writev, sendfile-range, shutdown, wants-read/wants-write}):
 *
 *   accept on a `tls: true` listener:
 *       tls_peek_plain_http(fd) == 1  -> write tls_plain_http_response(),
 *                                        close (no TLS at all);
 *       c->tls = tls_new(tls_ctx_default(generation's tls_ctx), fd,
 *                        &worker->tls_stats);
 *       the connection starts in a "handshake" state under
 *       client_header_timeout;
 *   readable/writable while handshaking:
 *       tls_handshake(c->tls): TLS_OK -> HTTP/1 framing (tls_alpn() says
 *       "h2" once HTTP/2 lands); TLS_WANT_READ / TLS_WANT_WRITE -> re-arm
 *       epoll for that; TLS_ERROR -> close (already logged at info);
 *   ops->recv      = tls_recv(c->tls, buf, len)
 *   ops->writev    = tls_send_iov(c->tls, iov, iovcnt, pool, pool_len)
 *   ops->sendfile  = tls_send_file_range(c->tls, file_fd, off, count,
 *                                        pool, pool_len)
 *   ops->shutdown  = tls_shutdown(c->tls), then close(fd), tls_free(c->tls)
 *   ops->wants     = tls_wants(c->tls): TLS_WANTS_READ / TLS_WANTS_WRITE,
 *                    what the last TLS_WANT_* waits for (a write may need
 *                    the socket readable, and a read writable, in TLS).
 *   The SNI choice for virtual hosts: tls_ctx_selected(tls_ctx, c->tls->ssl).
 *   Access log: tls_version(c->tls).
 *
 * Edge-triggered epoll: OpenSSL reads whole records, so bytes may wait in
 * SSL after the socket is drained, and a short tls_recv proves nothing.
 * Read again without waiting for EPOLLIN unless c->emptied says the
 * socket and OpenSSL are both empty.
 *
 * Buffers: `pool` is a worker-wide scratch buffer (64 KiB is good). No state
 * is kept in it between calls, so every connection may share the one pool:
 * after TLS_WANT_WRITE, OpenSSL keeps its encrypted record itself, and the
 * retry only has to offer at least as many bytes again from the same place
 * (SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER), which re-reading the same iovecs
 * or file range does. So: after a short count or TLS_WANT_*, call again
 * with the data that was not yet counted as sent, unchanged.
 *
 * Return convention: I/O functions return a count >= 0 (tls_recv: 0 = the
 * peer closed), or TLS_WANT_READ / TLS_WANT_WRITE (nothing done, wait), or
 * TLS_ERROR (close the connection). A short count from a write means the
 * socket is full: wait for tls_wants().
 */
#ifndef DROVER_TLS_H
#define DROVER_TLS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <openssl/ssl.h>

#include "tls_bio.h"


#define TLS_OK 0
#define TLS_ERROR (-1)
#define TLS_WANT_READ (-2)
#define TLS_WANT_WRITE (-3)

#define TLS_WANTS_READ 0x1
#define TLS_WANTS_WRITE 0x2

#define TLS_POOL_SIZE (64 * 1024) /* a good size for the caller's pool */

/* Per worker; shown in status. */
typedef struct {
    uint64_t handshakes;          /* completed */
    uint64_t handshake_failures;
    uint64_t resumed;             /* completed handshakes that resumed a session */
    uint64_t sendfile_ktls;       /* connections that sent a file with SSL_sendfile */
    uint64_t sendfile_fallback;   /* ... with pread + SSL_write */
} tls_stats_t;

/* What the shared pool holds of a file for the fallback path: the bytes
 * [off, off + len) of fd, read for the connection numbered serial. A
 * write that stopped on a full socket resumes from them instead of reading
 * the file again (a 64 KiB read, of which one record went out, was read
 * again and again while a slow client emptied the socket). */
typedef struct {
    uint64_t serial;        /* 0: the pool holds nothing for anyone */
    uint64_t next_serial;   /* numbers given out to connections */
    int fd;
    off_t off;
    size_t len;
    uint64_t reads;         /* pread calls made, for the tests */
} tls_readahead_t;

typedef struct {
    SSL *ssl;               /* owned */
    int fd;                 /* not owned: the caller closes it */
    unsigned want;          /* TLS_WANTS_* of the last TLS_WANT_* */
    size_t write_pending;   /* bytes the retried SSL_write must offer again */
    unsigned handshake_done : 1;
    unsigned path_counted : 1;
    unsigned peeked : 1;    /* the caller looked for plain HTTP already */
    unsigned handshake_begun : 1;
    unsigned failure_counted : 1;
    tls_stats_t *stats;     /* not owned; may be NULL */
    tls_readahead_t *ra;    /* not owned; NULL: the pool is read every call */
    uint64_t serial;        /* this connection's number in ra */
    tls_bio_t bio;          /* the socket once the handshake is done */
    unsigned batched : 1;   /* bio is the SSL's wbio (tls_bio.h) */
    unsigned own_read : 1;  /* ... and its rbio */
    unsigned emptied : 1;   /* the last tls_recv left nothing to read, in
                             * the socket or in OpenSSL */
    size_t tickets;         /* TLS 1.3 tickets after a full handshake */
    unsigned closing : 1;   /* the send under way ends the output: its
                             * close_notify goes in the same write() */
} tls_conn_t;

/* Lets c keep file bytes read ahead in the pool its caller passes, as
 * ra (shared by every connection using that pool) describes. */
void tls_use_readahead(tls_conn_t *c, tls_readahead_t *ra);

/* A connection in server (accept) state on fd, or NULL (errno ENOMEM). */
tls_conn_t *tls_new(SSL_CTX *ctx, int fd, tls_stats_t *stats);
void tls_free(tls_conn_t *c);

/* One step of the handshake: TLS_OK, TLS_WANT_READ, TLS_WANT_WRITE or
 * TLS_ERROR, with OpenSSL's reason in why (may be NULL) for the caller to
 * log with the client's address (the PROXY one when there is one). A
 * handshake that fails, or is freed unfinished, counts once in
 * stats->handshake_failures. */
int tls_handshake(tls_conn_t *c, char *why, size_t whylen);

ssize_t tls_recv(tls_conn_t *c, void *buf, size_t len);

/* One SSL_write of p[0..len) (tls_send.c builds on it): the bytes it
 * took, or TLS_WANT_* / TLS_ERROR. After TLS_WANT_*, the retry must offer
 * at least len bytes again, the same ones. */
ssize_t tls_write_record(tls_conn_t *c, const void *p, size_t len);

/* SSL_sendfile of a file range (kernel TLS only, see tls_ktls_send). */
ssize_t tls_ktls_sendfile(tls_conn_t *c, int file_fd, off_t offset, size_t count);

/* Sends close_notify, without waiting for the peer's: TLS_OK (close now),
 * TLS_WANT_WRITE (try once more when writable, or just close), TLS_ERROR. */
int tls_shutdown(tls_conn_t *c);

unsigned tls_wants(const tls_conn_t *c);
size_t tls_pending(const tls_conn_t *c);

/* lean: frees OpenSSL's record buffers now when nothing is buffered in
 * them, and whenever they empty from now on (SSL_MODE_RELEASE_BUFFERS);
 * they come back with the next read or write. !lean: keeps them, which
 * spares an allocation and a free around every record. */
void tls_lean(tls_conn_t *c, int lean);
int tls_ktls_send(const tls_conn_t *c);          /* 1 if the kernel encrypts */
const char *tls_version(const tls_conn_t *c);    /* "TLSv1.3", for the access log */
void tls_alpn(const tls_conn_t *c, const unsigned char **proto, unsigned *len);

/* Plain HTTP on a TLS port: a TLS connection starts with a handshake record
 * (0x16); an HTTP request starts with an upper-case method and a space.
 * 1 if p looks like the start of an HTTP request. */
int tls_looks_like_plain_http(const char *p, size_t len);

/* Peeks (MSG_PEEK) at fd's first bytes: 1 plain HTTP, 0 not (go on with the
 * handshake), TLS_WANT_READ nothing arrived yet, TLS_ERROR closed/error. */
int tls_peek_plain_http(int fd);

/* The whole 400 response (with Connection: close) to write before closing. */
const char *tls_plain_http_response(size_t *len);

#endif
