/*
 * tls_bio: see tls_bio.h.
 */
#include "config.h"

#include "tls_bio.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int tls_bio_flush(tls_bio_t *t)
{
    while (t->off < t->len) {
        ssize_t n = send(t->fd, t->buf + t->off, t->len - t->off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        }
        t->off += (size_t)n;
    }
    t->off = t->len = 0;
    return 1;
}

void tls_bio_trim(tls_bio_t *t)
{
    if (t->buf != NULL && tls_bio_held(t) == 0) {
        free(t->buf);
        t->buf = NULL;
        t->off = t->len = 0;
    }
}

static int tls_bio__write(BIO *b, const char *data, int len)
{
    tls_bio_t *t = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (len <= 0)
        return 0;
    if (!t->batch && tls_bio_held(t) == 0) {
        ssize_t n;
        do
            n = send(t->fd, data, (size_t)len, MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            BIO_set_retry_write(b);
        return (int)n;
    }
    if (t->buf == NULL && (t->buf = malloc(TLS_BIO_BATCH)) == NULL) {
        errno = ENOMEM;
        return -1;
    }
    if ((size_t)len > TLS_BIO_BATCH - t->len) {
        /* no room behind what is held: make some, or wait */
        int r = tls_bio_flush(t);
        if (r < 0)
            return -1;
        if (t->off > 0) {
            memmove(t->buf, t->buf + t->off, t->len - t->off);
            t->len -= t->off;
            t->off = 0;
        }
        if ((size_t)len > TLS_BIO_BATCH - t->len) {
            BIO_set_retry_write(b);
            return -1;
        }
    }
    memcpy(t->buf + t->len, data, (size_t)len);
    t->len += (size_t)len;
    return len;
}

static int tls_bio__read(BIO *b, char *data, int len)
{
    tls_bio_t *t = BIO_get_data(b);
    ssize_t n;
    BIO_clear_retry_flags(b);
    if (len <= 0)
        return 0;
    do
        n = recv(t->fd, data, (size_t)len, 0);
    while (n < 0 && errno == EINTR);
    /* A read that returns less than asked emptied the socket (EAGAIN
     * too): bytes that arrive later raise a new edge. */
    t->emptied = n < len;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        BIO_set_retry_read(b);
    return (int)n;
}

static long tls_bio__ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b, (void)num, (void)ptr;
    /* OpenSSL flushes after a flight of handshake messages: batches are
     * flushed by tls.c when it is done with them, never here. */
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int tls_bio__create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

BIO *tls_bio_new(tls_bio_t *t)
{
    /* One method table for the process, made on first use and never
     * changed after: OpenSSL wants it allocated. */
    static BIO_METHOD *method;
    if (method == NULL) {
        BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "drover batch");
        if (m == NULL || !BIO_meth_set_write(m, tls_bio__write) ||
            !BIO_meth_set_read(m, tls_bio__read) || !BIO_meth_set_ctrl(m, tls_bio__ctrl) ||
            !BIO_meth_set_create(m, tls_bio__create)) {
            BIO_meth_free(m);
            return NULL;
        }
        method = m;
    }
    BIO *b = BIO_new(method);
    if (b != NULL)
        BIO_set_data(b, t);
    return b;
}
