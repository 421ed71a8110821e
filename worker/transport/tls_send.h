/*
 * tls_send: writing over a TLS connection (tls.h) beyond one record.
 *
 * pool is the caller's scratch buffer (TLS_POOL_SIZE is good), shared by
 * every connection of a worker; see tls.h, "Buffers", for why that works,
 * and tls_bio.h for what a connection holds between calls. The rule for
 * every function here: after a short count or TLS_WANT_*, call again with
 * what was not counted as sent, unchanged.
 */
#ifndef DROVER_TLS_SEND_H
#define DROVER_TLS_SEND_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "tls.h"

/* A piece of output: memory (p != NULL) or bytes [off, off + len) of file
 * fd, mapped whole at map (NULL: read with pread). */
typedef struct {
    const void *p;
    int fd;
    off_t off;
    size_t len;
    const char *map;
} tls_piece_t;

/* Writes the iovecs in as few, as full records as it can: pieces shorter
 * than 16 KiB are copied together into pool (up to pool_len) first. */
ssize_t tls_send_iov(tls_conn_t *c, const struct iovec *iov, int iovcnt, char *pool,
                     size_t pool_len);

/* Sends count bytes of file_fd from offset: SSL_sendfile when the kernel
 * took the keys (kTLS), else SSL_write from map (file_fd's bytes mapped,
 * from 0; NULL: none) or from pread into pool, three records to a write().
 * Returns the bytes sent by this call; a file that shrank is TLS_ERROR
 * (errno EIO), and after a truncation under map the connection can only
 * be closed. */
ssize_t tls_send_file_range(tls_conn_t *c, int file_fd, off_t offset, size_t count,
                            const char *map, char *pool, size_t pool_len);

/* pc[0..n) in order: gathered into pool (memory and mapped files copied,
 * other files read) and written a record at a time, so records are full. With kernel TLS, the
 * first piece only, a file by SSL_sendfile. Returns as the writes do. */
ssize_t tls_send_pieces(tls_conn_t *c, const tls_piece_t *pc, int n, char *pool, size_t pool_len);

#endif
