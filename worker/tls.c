/*
 * tls: non-blocking TLS on one connection (see tls.h for how it fits the
 * transport table and why the write pool keeps no state).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>

#include "log.h"
#include "tls.h"

/* A piece at least this long goes to SSL_write as it is: it fills a record
 * (16 KiB) on its own, so copying it into the pool buys nothing. */
#define TLS_DIRECT_MIN 16384
/* The most plaintext one record carries. */
#define TLS_RECORD 16384

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
    c->fd = fd;
    c->stats = stats;
    return c;
}

void tls_use_readahead(tls_conn_t *c, tls_readahead_t *ra)
{
    c->ra = ra;
    c->serial = ++ra->next_serial;
}

void tls_free(tls_conn_t *c)
{
    if (c == NULL)
        return;
    if (c->ra != NULL && c->ra->serial == c->serial)
        c->ra->serial = 0;
    SSL_free(c->ssl);
    free(c);
}

static void tls__peer(int fd, char *buf, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char host[INET6_ADDRSTRLEN];

    snprintf(buf, len, "?");
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) < 0)
        return;
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        snprintf(buf, len, "%s:%u", host, ntohs(in->sin_port));
    } else if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        snprintf(buf, len, "[%s]:%u", host, ntohs(in6->sin6_port));
    } else if (ss.ss_family == AF_UNIX) {
        snprintf(buf, len, "unix");
    }
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

int tls_handshake(tls_conn_t *c)
{
    char why[200] = "", peer[64];
    int r;

    if (c->handshake_done)
        return TLS_OK;
    ERR_clear_error();
    errno = 0;
    r = SSL_do_handshake(c->ssl);
    if (r == 1) {
        c->handshake_done = 1;
        c->want = 0;
        if (c->stats != NULL) {
            c->stats->handshakes++;
            c->stats->resumed += SSL_session_reused(c->ssl) ? 1 : 0;
        }
        return TLS_OK;
    }
    r = tls__map(c, r, why, sizeof(why));
    if (r == TLS_WANT_READ || r == TLS_WANT_WRITE)
        return r;
    /* A failed handshake is the client's problem (old protocol, garbage,
     * a scanner): info, never error, so they cannot flood the log. */
    tls__peer(c->fd, peer, sizeof(peer));
    log_info("tls: handshake with %s failed: %s", peer, why[0] ? why : "connection closed");
    if (c->stats != NULL)
        c->stats->handshake_failures++;
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
    n = SSL_read(c->ssl, buf, (int)len);
    if (n > 0) {
        c->want = 0;
        return n;
    }
    return tls__map(c, n, NULL, 0);
}

/* One SSL_write of p[0..len): bytes written, or TLS_WANT_* / TLS_ERROR. */
static ssize_t tls__write(tls_conn_t *c, const void *p, size_t len)
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

ssize_t tls_writev(tls_conn_t *c, const struct iovec *iov, int iovcnt, char *pool,
                   size_t pool_len)
{
    size_t done = 0, off = 0;
    int i = 0;

    while (i < iovcnt) {
        const char *base = iov[i].iov_base;
        size_t left = iov[i].iov_len - off;
        const void *p;
        size_t len;
        ssize_t n;

        if (left == 0) {
            i++;
            off = 0;
            continue;
        }
        if (left >= TLS_DIRECT_MIN || pool == NULL || pool_len == 0) {
            p = base + off;
            len = left;
        } else {
            /* gather from the cursor into the pool; the cursor moves only
             * by what SSL_write takes */
            size_t o = off;
            if (c->ra != NULL)
                c->ra->serial = 0; /* the pool's file bytes are overwritten */
            len = 0;
            for (int j = i; j < iovcnt && len < pool_len; j++, o = 0) {
                size_t take = iov[j].iov_len - o;
                if (take > pool_len - len)
                    take = pool_len - len;
                memcpy(pool + len, (const char *)iov[j].iov_base + o, take);
                len += take;
            }
            p = pool;
        }
        n = tls__write(c, p, len);
        if (n < 0)
            return done > 0 && n != TLS_ERROR ? (ssize_t)done : n;
        done += (size_t)n;
        /* advance the cursor by n bytes */
        for (size_t k = (size_t)n; k > 0 && i < iovcnt;) {
            size_t rest = iov[i].iov_len - off;
            if (k < rest) {
                off += k;
                k = 0;
            } else {
                k -= rest;
                i++;
                off = 0;
            }
        }
    }
    return (ssize_t)done;
}

static void tls__count_path(tls_conn_t *c, int ktls)
{
    if (c->path_counted || c->stats == NULL)
        return;
    c->path_counted = 1;
    if (ktls)
        c->stats->sendfile_ktls++;
    else
        c->stats->sendfile_fallback++;
}

int tls_ktls_send(const tls_conn_t *c)
{
#ifdef BIO_get_ktls_send
    return BIO_get_ktls_send(SSL_get_wbio(c->ssl)) ? 1 : 0;
#else
    return 0;
#endif
}

ssize_t tls_send_file_range(tls_conn_t *c, int file_fd, off_t offset, size_t count, char *pool,
                            size_t pool_len)
{
    size_t done = 0;

    if (count == 0)
        return 0;
    if (tls_ktls_send(c)) {
        tls__count_path(c, 1);
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
    tls__count_path(c, 0);
    if (pool == NULL || pool_len == 0) {
        errno = EINVAL;
        return TLS_ERROR;
    }
    tls_readahead_t *ra = c->ra;
    while (done < count) {
        off_t at = offset + (off_t)done;
        const char *p;
        size_t avail;
        if (ra != NULL && ra->serial == c->serial && ra->fd == file_fd && at >= ra->off &&
            at < ra->off + (off_t)ra->len) {
            /* read before the socket filled: the same bytes, offered again */
            p = pool + (at - ra->off);
            avail = (size_t)(ra->off + (off_t)ra->len - at);
        } else {
            size_t want = count - done < pool_len ? count - done : pool_len;
            ssize_t got = pread(file_fd, pool, want, at);
            if (ra != NULL) {
                ra->reads++;
                ra->serial = 0;
            }
            if (got < 0 && errno == EINTR)
                continue;
            if (got <= 0) {
                if (got == 0)
                    errno = EIO; /* the file is shorter than the range promised */
                return TLS_ERROR;
            }
            if (ra != NULL)
                *ra = (tls_readahead_t){ c->serial, ra->next_serial, file_fd, at, (size_t)got, ra->reads };
            p = pool;
            avail = (size_t)got;
        }
        if (avail > count - done)
            avail = count - done;
        /* Records are filled from the big chunk; each SSL_write takes one
         * or more whole records (partial-write mode). */
        for (size_t pos = 0; pos < avail;) {
            ssize_t n = tls__write(c, p + pos, avail - pos);
            if (n < 0)
                return done > 0 && n != TLS_ERROR ? (ssize_t)done : n;
            pos += (size_t)n;
            done += (size_t)n;
        }
    }
    if (ra != NULL && ra->serial == c->serial)
        ra->serial = 0; /* all of it went out: nothing to resume */
    return (ssize_t)done;
}

/* Fills pool from pieces pc[i..n), starting off bytes into pc[i]: the
 * length gathered, or -1 (errno) when a file cannot be read. */
static ssize_t tls__gather(const tls_piece_t *pc, int n, int i, size_t off, char *pool,
                           size_t pool_len)
{
    size_t len = 0;
    for (; i < n && len < pool_len; i++, off = 0) {
        size_t take = pc[i].len - off;
        if (take > pool_len - len)
            take = pool_len - len;
        if (pc[i].p != NULL) {
            memcpy(pool + len, (const char *)pc[i].p + off, take);
            len += take;
            continue;
        }
        for (size_t got = 0; got < take;) {
            ssize_t r = pread(pc[i].fd, pool + len + got, take - got, pc[i].off + (off_t)(off + got));
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0) {
                if (r == 0)
                    errno = EIO; /* the file is shorter than the range promised */
                return -1;
            }
            got += (size_t)r;
        }
        len += take;
    }
    return (ssize_t)len;
}

ssize_t tls_write_pieces(tls_conn_t *c, const tls_piece_t *pc, int n, char *pool, size_t pool_len)
{
    size_t done = 0, off = 0;
    int i = 0;

    if (n > 0 && tls_ktls_send(c)) {
        if (pc[0].p != NULL) {
            struct iovec iov = { (void *)(uintptr_t)pc[0].p, pc[0].len };
            return tls_writev(c, &iov, 1, NULL, 0);
        }
        return tls_send_file_range(c, pc[0].fd, pc[0].off, pc[0].len, pool, pool_len);
    }
    if (pool == NULL || pool_len == 0) {
        errno = EINVAL;
        return TLS_ERROR;
    }
    if (n > 0 && pc[0].p == NULL)
        tls__count_path(c, 0);
    /* One record at a time: after TLS_WANT_WRITE the caller offers the
     * same bytes again and they are gathered again, so a larger gather
     * would read the file ahead over and over while the socket is full. */
    if (pool_len > TLS_RECORD)
        pool_len = TLS_RECORD;
    while (i < n) {
        if (off == pc[i].len) {
            i++;
            off = 0;
            continue;
        }
        if (c->ra != NULL)
            c->ra->serial = 0; /* the pool's file bytes are overwritten */
        ssize_t len = tls__gather(pc, n, i, off, pool, pool_len);
        if (len < 0)
            return TLS_ERROR;
        ssize_t w = tls__write(c, pool, (size_t)len);
        if (w < 0)
            return done > 0 && w != TLS_ERROR ? (ssize_t)done : w;
        done += (size_t)w;
        /* advance the cursor by w bytes */
        for (size_t k = (size_t)w; k > 0 && i < n;) {
            size_t rest = pc[i].len - off;
            if (k < rest) {
                off += k;
                k = 0;
            } else {
                k -= rest;
                i++;
                off = 0;
            }
        }
    }
    return (ssize_t)done;
}

int tls_shutdown(tls_conn_t *c)
{
    int r;

    if (!c->handshake_done)
        return TLS_OK; /* nothing to close politely */
    ERR_clear_error();
    errno = 0;
    r = SSL_shutdown(c->ssl);
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
