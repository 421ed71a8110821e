/*
 * conn: one client connection in a worker.
 *
 * A connection cycles READ_HEAD -> WRITE -> (DISCARD_BODY) -> READ_HEAD,
 * and leaves through LINGER or a plain close. It sits on exactly one of the
 * worker's timer lists at a time (header, keep-alive, send, linger); each
 * list has one duration, so appending at the tail keeps it sorted and expiry
 * only ever looks at the head.
 *
 * Buffers come from the worker's pools and go back when the connection is
 * idle, so a thousand idle keep-alive connections hold no buffer at all.
 * The read buffer holds the current request head (and any pipelined bytes
 * after it) until its response is written: the request's slices point into
 * it, which is what the access log line is built from.
 */
#ifndef DROVER_CONN_H
#define DROVER_CONN_H

#include <netinet/in.h>
#include <stdint.h>
#include <sys/types.h>

#include "str.h"
#include "worker.h"

#define CONN_WBUF_SIZE 16384

/*
 * A response in several pieces (multipart/byteranges): after the first
 * piece (wbuf up to wlen, then file_off..file_end), each piece is more of
 * wbuf (up to wend) and then the file range [off, end). The file is
 * file_fd; a range may be empty (the closing boundary).
 */
typedef struct {
    size_t wend;
    off_t off, end;
} conn_piece_t;

typedef enum {
    CONN_READ_HEAD = 0,
    CONN_WRITE,
    CONN_DISCARD_BODY,
    CONN_LINGER,
} conn_state_t;

struct conn_s {
    int fd;
    conn_state_t state;
    worker_t *w;

    conn_list_t *list;      /* the timer list it is on, or NULL */
    conn_t *prev, *next;
    double deadline;
    /* The ready queue (work left without an event) has links of its own, so
     * being queued never takes a connection off its timer list. */
    conn_t *ready_prev, *ready_next;

    char *rbuf;             /* pool buffer of w->rbuf_size bytes, or NULL */
    size_t rlen;            /* bytes in rbuf */
    size_t last_len;        /* rlen at the previous parse attempt */
    size_t head_len;        /* bytes of rbuf the current request uses */

    char *wbuf;             /* pool buffer of CONN_WBUF_SIZE bytes, or NULL */
    size_t wlen, woff;
    int file_fd;            /* body sent with sendfile, or -1 */
    struct file_cache_entry_s *file_ref; /* owns file_fd when set */
    off_t file_off, file_end;
    const conn_piece_t *pieces; /* the pieces after the first, in wbuf's tail */
    unsigned npieces, piece;    /* how many; the next to send */

    int64_t body_left;      /* request body still to discard */
    unsigned requests;      /* served on this connection */
    unsigned keep_alive : 1;
    unsigned linger : 1;    /* on close, read what the client still sends */
    unsigned eof : 1;       /* the client closed its side */
    unsigned drained : 1;   /* a read came back short: wait for an event */
    unsigned rdhup : 1;     /* the peer shut its side: a read will say so */
    unsigned in_ready : 1;  /* on the worker's ready queue */
    unsigned requests_http10 : 1; /* answer keep-alive explicitly */

    /* The exchange, for the access log. */
    int status;
    uint64_t body_bytes;    /* body bytes of the response */
    uint64_t sent_bytes;
    str_t log_request;      /* the request line, into rbuf */
    str_t log_referer;
    str_t log_agent;

    union {
        sa_family_t sa_family;
        struct sockaddr_in in4;
        struct sockaddr_in6 in6;
    } sa;                   /* the client */
    char addr[INET6_ADDRSTRLEN]; /* the client as text, made on first use */
};

/* The client's address as text (for logs); formatted once per connection. */
const char *conn_addr(conn_t *c);

/* Accepted socket fd: a new connection, or NULL (fd closed) when out of memory. */
conn_t *conn_new(worker_t *w, int fd, const struct sockaddr *sa);

/* Runs the state machine as far as the socket allows; events are the
 * epoll events that woke it (0 when it was not woken by one). */
void conn_process(conn_t *c, uint32_t events);

void conn_close(conn_t *c);

/* Timer lists. */
void conn_list_append(conn_list_t *l, conn_t *c, double now);
void conn_list_remove(conn_t *c);

/* Closes connections whose deadline has passed. */
void conn_expire(worker_t *w);

/* Runs connections that have work left without waiting for an event. */
void conn_run_ready(worker_t *w);

/* Drain: closes connections that are idle between requests. */
void conn_close_idle(worker_t *w);

/* Buffer pools. */
char *conn_buf_get(worker_t *w, int write);
void conn_buf_put(worker_t *w, char *buf, int write);

#endif
