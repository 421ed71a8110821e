/*
 * plain: see plain.h.
 *
 * EINTR is retried here, so callers only ever see EAGAIN or a real error.
 */
#include "plain.h"

#include <errno.h>
#include <stdint.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

/* The end of every byte-moving op: a call interrupted by a signal (n < 0,
 * EINTR) is retried by the caller's loop; EAGAIN says which readiness lets
 * the op go on. */
#define PLAIN__RETRY(call, want_dir)                                         \
    do {                                                                     \
        ssize_t n_;                                                          \
        while ((n_ = (call)) < 0 && errno == EINTR)                          \
            ;                                                                \
        if (n_ < 0 && errno == EAGAIN)                                       \
            io->want = (want_dir);                                           \
        return n_;                                                           \
    } while (0)

static ssize_t plain__recv(transport_io_t *io, void *buf, size_t len)
{
    ssize_t n;
    while ((n = read(io->fd, buf, len)) < 0 && errno == EINTR)
        ;
    if (n < 0 && errno == EAGAIN)
        io->want = TRANSPORT_WANT_READ;
    /* A short read took all the socket had. */
    io->emptied = n >= 0 && (size_t)n < len;
    return n;
}

static ssize_t plain__send(transport_io_t *io, const void *buf, size_t len, int more)
{
    PLAIN__RETRY(send(io->fd, buf, len, MSG_NOSIGNAL | (more ? MSG_MORE : 0)),
                 TRANSPORT_WANT_WRITE);
}

static ssize_t plain__writev(transport_io_t *io, const struct iovec *iov, int iovcnt, int more)
{
    struct msghdr msg = { .msg_iov = (struct iovec *)(uintptr_t)iov, .msg_iovlen = (size_t)iovcnt };
    PLAIN__RETRY(sendmsg(io->fd, &msg, MSG_NOSIGNAL | (more ? MSG_MORE : 0)),
                 TRANSPORT_WANT_WRITE);
}

static ssize_t plain__sendfile(transport_io_t *io, int fd, off_t *off, size_t len)
{
    PLAIN__RETRY(sendfile(io->fd, fd, off, len), TRANSPORT_WANT_WRITE);
}

static void plain__shutdown(transport_io_t *io)
{
    shutdown(io->fd, SHUT_WR);
}

static void plain__close(transport_io_t *io)
{
    close(io->fd); /* also removes it from the epoll set */
    io->fd = -1;
}

const transport_t plain_transport = {
    .name = "plain",
    .recv = plain__recv,
    .send = plain__send,
    .writev = plain__writev,
    .sendfile = plain__sendfile,
    .shutdown = plain__shutdown,
    .close = plain__close,
};
