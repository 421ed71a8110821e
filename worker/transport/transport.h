/*
 * transport: bytes on one connection, below HTTP.
 *
 * A connection carries a pointer to an ops table (transport_t) and the
 * state that table works on (transport_io_t). Plain sockets (plain.c) are
 * the only transport today; TLS (tls.c) implements the same table, so
 * nothing above this header changes when it arrives. A call through the
 * table is one indirect call, the whole cost of the seam.
 *
 * Return convention of every op that moves bytes: the number of bytes
 * moved (> 0), 0 for end of file (recv only), or -1 with errno. EAGAIN
 * means "not now": the op then sets io->want to say which readiness lets
 * it go on (TLS may need to read to write, or the other way round), and the
 * caller waits for the next event. Connections are registered edge-
 * triggered for both directions, so either edge retries the op.
 */
#ifndef DROVER_TRANSPORT_H
#define DROVER_TRANSPORT_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#define TRANSPORT_WANT_READ 1u
#define TRANSPORT_WANT_WRITE 2u

/* One connection's transport state. */
typedef struct {
    int fd;                 /* the socket; owned, released by close */
    unsigned want;          /* TRANSPORT_WANT_* after the last EAGAIN */
    void *data;             /* the transport's own state (TLS: its session); NULL for plain */
    unsigned emptied;       /* set by every recv: it left nothing behind, in
                             * the socket or the transport, so the next read
                             * can wait for an edge instead of seeing EAGAIN */
    const char *map;        /* the file being sent, mapped whole (maps_files);
                             * NULL: sendfile reads it */
    unsigned last;          /* the bytes sent now end the connection's output:
                             * TLS sends its close_notify with them */
} transport_io_t;

/* A piece of output: memory (p != NULL) or bytes [off, off + len) of file
 * fd, mapped whole at map when the transport maps files (else NULL). */
typedef struct {
    const void *p;
    int fd;
    off_t off;
    size_t len;
    const char *map;
} transport_piece_t;

typedef struct transport_s {
    const char *name;
    /* 1 when sendfile reads files itself (TLS encrypts them): it reads a
     * cached file from its mapping, io->map, rather than pread a copy. */
    unsigned maps_files;
    ssize_t (*recv)(transport_io_t *io, void *buf, size_t len);
    /* more: further bytes follow at once (plain: MSG_MORE), so headers and
     * the start of a body can share a segment. */
    ssize_t (*send)(transport_io_t *io, const void *buf, size_t len, int more);
    /* The same for several buffers in one call (HTTP/2 frames); HTTP/1
     * keeps its head and small body in one buffer and uses send. */
    ssize_t (*writev)(transport_io_t *io, const struct iovec *iov, int iovcnt, int more);
    /* Bytes [*off, *off + len) of file fd (at most len), advancing *off. */
    ssize_t (*sendfile)(transport_io_t *io, int fd, off_t *off, size_t len);
    /* Pieces in order, sent together (TLS: gathered into full records
     * with one SSL_write, instead of a record for each frame header and
     * another for its payload). Bytes sent, at most their sum. NULL: the
     * caller sends memory and file ranges apart (plain: send and
     * sendfile, without a copy). */
    ssize_t (*write_pieces)(transport_io_t *io, const transport_piece_t *pc, int n);
    /* Stops sending (the write side only: lingering close reads on). */
    void (*shutdown)(transport_io_t *io);
    /* Releases everything, the socket included. */
    void (*close)(transport_io_t *io);
    /* The connection waits for a request. lean: release what can be made
     * again when it speaks, now and whenever it waits (TLS: OpenSSL's
     * record buffers); !lean: keep it. NULL: nothing to release. */
    void (*idle)(transport_io_t *io, int lean);
} transport_t;

#endif
