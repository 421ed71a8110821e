/*
 * tls_bio: a TLS connection's socket once the handshake is done, a BIO
 * that can batch records into one write() and tells when a read emptied
 * the socket.
 *
 * OpenSSL writes each record (16 KiB at most) to its BIO as it makes it; a
 * socket BIO turns each into a write() of its own, 64 of them for a 1 MiB
 * file. This BIO either writes through (tls_bio_batch off, and nothing
 * held) or appends to the connection's batch buffer, which tls_bio_flush
 * writes in one call: a file goes out three records to a write().
 *
 * What the buffer holds is ciphertext OpenSSL counts as written. Until it
 * has reached the socket, tls.c does not count its plaintext as sent
 * (tls_bio_t.plain): the caller offers those bytes again, as it must after
 * any short count, and they are skipped once the flush completes. Every
 * write while something is held is appended behind it, so records never
 * go out of order (a close_notify included).
 *
 * Reading: OpenSSL reads ahead as much as its buffer takes. When that read
 * comes back short, the socket is empty (emptied), and the connection can
 * wait for the next edge once OpenSSL holds nothing either, instead of
 * reading again only to see EAGAIN: one system call in three for a small
 * keep-alive request.
 *
 * Not used with kernel TLS, which needs OpenSSL's own socket BIO.
 */
#ifndef DROVER_TLS_BIO_H
#define DROVER_TLS_BIO_H

#include <stddef.h>

#include <openssl/bio.h>

/* Three full records with their headers and tags (TLS 1.2 adds 29 bytes to
 * a record, TLS 1.3 22). Not four: four records are 65,624 bytes, just
 * over loopback's MSS (65,483), so with TCP_NODELAY every write() left a
 * 141-byte segment behind it, a packet for both ends to handle; three
 * (49,218) gave wrk 6 % more MB/s at 4 % less server CPU. */
#define TLS_BIO_BATCH (3 * (16384 + 64))
/* Room a record needs in the batch. */
#define TLS_BIO_RECORD (16384 + 64)

typedef struct {
    int fd;
    int batch;              /* append instead of writing through */
    char *buf;              /* TLS_BIO_BATCH bytes once needed; NULL: none */
    size_t off, len;        /* buf[off, len) is held */
    size_t plain;           /* plaintext bytes whose records are held */
    int emptied;            /* the last read returned less than asked */
} tls_bio_t;

/* A BIO writing to t->fd through t (not owned: t must outlive it), or
 * NULL when out of memory. */
BIO *tls_bio_new(tls_bio_t *t);

/* Bytes held. */
static inline size_t tls_bio_held(const tls_bio_t *t)
{
    return t->len - t->off;
}

/* Room left for records in the batch. */
static inline size_t tls_bio_room(const tls_bio_t *t)
{
    return t->buf == NULL ? TLS_BIO_BATCH : TLS_BIO_BATCH - t->len;
}

/* Writes what is held: 1 when all of it is out, 0 when the socket is full
 * (EAGAIN), -1 on error (errno). */
int tls_bio_flush(tls_bio_t *t);

/* Frees the batch buffer when nothing is held. */
void tls_bio_trim(tls_bio_t *t);

#endif
