/*
 * conn: one client connection in a worker, below any protocol.
 *
 * A connection owns its socket (through a transport: plain.c today, tls.c
 * next), its read and write buffers, the file it is sending from, and its
 * place on the worker's timer lists and ready queue. It moves bytes and
 * keeps time; what the bytes mean belongs to the protocol above (http1.c),
 * which the connection calls back through c->process when there is
 * something to do. Calls go one way: the protocol calls conn_*, conn never
 * calls the protocol by name.
 *
 * A connection sits on exactly one of the worker's timer lists at a time
 * (header, keep-alive, send, linger); each list has one duration, so
 * appending at the tail keeps it sorted and expiry only ever looks at the
 * head.
 *
 * Buffers come from the worker's pools and go back when the connection is
 * idle, so a thousand idle keep-alive connections hold no buffer at all.
 * The read buffer holds the current request head (and any pipelined bytes
 * after it) until its response is written: the request's slices point into
 * it, which is what the access log line is built from.
 *
 * Output: wbuf[woff, wlen), then the file range [file_off, file_end) of
 * file_fd, then each of the pieces (multipart): more of wbuf up to its
 * wend, then its own file range. conn_write() sends all of it.
 */
#ifndef DROVER_CONN_H
#define DROVER_CONN_H

#include <netinet/in.h>
#include <stdint.h>
#include <sys/types.h>

#include "list.h"
#include "real_ip.h"
#include "str.h"
#include "transport.h"
#include "worker.h"

#define CONN_WBUF_SIZE 16384

/* A piece of a response after the first: wbuf up to wend, then the file
 * range [off, end) (empty for the closing boundary). */
typedef struct {
    size_t wend;
    off_t off, end;
} conn_piece_t;

/* Where the protocol is with the connection (HTTP/1: a request head being
 * read, a response being written, a request body being discarded); LINGER
 * is the connection's own closing state. */
typedef enum {
    CONN_READ_HEAD = 0,
    CONN_WRITE,
    CONN_DISCARD_BODY,
    CONN_LINGER,
    CONN_WAIT,          /* a request parked until its password is hashed (auth_pool.h) */
    CONN_PROXY,         /* a request forwarded to an upstream (proxy.h) */
} conn_state_t;

typedef void (*conn_process_fn)(conn_t *c, uint32_t events);

/* What a protocol with state of its own (HTTP/2: a session and streams)
 * does where conn would otherwise just close the connection. Each is
 * optional. expire: a timer ran out (it must take c off its timer list,
 * closing it or not); drain: the worker drains and c is idle (the same
 * duty); release: conn_close is freeing c, free the protocol's state. */
typedef struct {
    void (*expire)(conn_t *c);
    void (*drain)(conn_t *c);
    void (*release)(conn_t *c);
    /* resume: job (an auth_job_t) that one of c's requests waits for is
     * done; the protocol runs that request again. */
    void (*resume)(conn_t *c, void *job);
} conn_proto_t;

struct conn_s {
    transport_io_t io;      /* io.fd: the socket */
    const transport_t *tr;
    conn_process_fn process; /* the protocol: runs the connection as far as it can */
    conn_state_t state;
    worker_t *w;

    conn_list_t *list;      /* the timer list it is on, or NULL */
    list_t timer;           /* link on list (or on the worker's free list) */
    double deadline;
    /* The ready queue (work left without an event) has a link of its own,
     * so being queued never takes a connection off its timer list. */
    list_t ready;

    char *rbuf;             /* pool buffer of w->rbuf_size bytes, or NULL */
    size_t rlen;            /* bytes in rbuf */
    size_t last_len;        /* rlen at the previous parse attempt */
    size_t head_len;        /* bytes of rbuf the current request uses */

    char *wbuf;             /* pool buffer of CONN_WBUF_SIZE bytes, or NULL */
    size_t wlen, woff;
    int file_fd;            /* body sent with the transport's sendfile, or -1 */
    struct file_cache_entry_s *file_ref; /* owns file_fd when set; else file_fd is ours */
    off_t file_off, file_end;
    const conn_piece_t *pieces; /* the pieces after the first, in wbuf's tail */
    unsigned npieces, piece;    /* how many; the next to send */

    int64_t body_left;      /* request body still to discard */
    double discard_until;   /* when discarding it must end (discard.h) */
    unsigned requests;      /* served on this connection */
    unsigned keep_alive : 1;
    unsigned linger : 1;    /* on close, read what the client still sends */
    unsigned eof : 1;       /* the client closed its side */
    unsigned drained : 1;   /* a read came back short: wait for an event */
    unsigned rdhup : 1;     /* the peer shut its side: a read will say so */
    unsigned requests_http10 : 1; /* answer keep-alive explicitly */
    unsigned https : 1;     /* accepted on a tls listener (HSTS applies) */
    unsigned redirect_https : 1; /* accepted on a redirect_https listener */
    unsigned midway : 1;    /* bytes came that rbuf does not show (a TLS
                             * handshake, until the first request bytes
                             * reach rbuf): not idle */

    /* The exchange, for the access log. */
    int status;
    uint64_t body_bytes;    /* body bytes of the response */
    uint64_t sent_bytes;
    str_t log_request;      /* the request line, into rbuf */
    str_t log_referer;
    str_t log_agent;
    str_t log_host;         /* the Host header, into rbuf */
    const char *log_rule;   /* the location that answered (response.h), or NULL */
    const char *log_upstream; /* a proxied request's server (access_log.h), or NULL */
    int log_upstream_status;
    uint64_t log_upstream_us;
    void *rule_log;         /* its access_log_t, or NULL: the host's */
    double log_start;       /* w->now when the request head was read */
    struct host_s *host;    /* the virtual host that answered; NULL: default */
    unsigned method;        /* HTTP_METHOD_* of the request (0: other), for metrics */
    double started;         /* the turn its head was read in (w->now), for metrics */

    /* The listener it came from (w->a.conf->listen[]). */
    const conf_listen_t *listener;
    /* While a PROXY protocol header is awaited (proxy.h): the protocol to
     * run after it; NULL otherwise. */
    conn_process_fn proxy_next;
    void *proto;            /* the protocol's own state (HTTP/2), or NULL */
    const conn_proto_t *proto_ops; /* NULL: conn closes on its own */

    union {
        sa_family_t sa_family;
        struct sockaddr_in in4;
        struct sockaddr_in6 in6;
    } sa;                   /* the client (after a PROXY header: the header's) */
    const char *tls_version; /* "TLSv1.3" once a TLS handshake is done (static), else NULL */
    /* The current request's client after real_ip (HTTP/1; text "": the peer). */
    real_ip_t client;
    uint64_t limit_conn_key; /* its limit_conn registration (access.h); 0: none */
    void *auth_job;          /* in CONN_WAIT: its auth_job_t (auth_pool.h) */
    char addr[INET6_ADDRSTRLEN]; /* the client as text, made on first use */
};

/* The client's address as text (for logs); formatted once per connection. */
const char *conn_addr(conn_t *c);

/* The client's address in binary: its family, and a pointer to the
 * in_addr or in6_addr. */
const void *conn_peer(const conn_t *c, int *family);

/* Accepted socket fd, to be spoken to through tr by process: a new
 * connection, or NULL (fd closed) when out of memory. */
conn_t *conn_new(worker_t *w, int fd, const struct sockaddr *sa, const transport_t *tr,
                 conn_process_fn process);

/* Runs the connection's protocol; events are the epoll events that woke it
 * (0 when it was not woken by one). */
static inline void conn_process(conn_t *c, uint32_t events)
{
    c->process(c, events);
}

/* Notes what the events that woke c say about its socket: whether a read
 * may find bytes, and whether the peer has shut its side. */
void conn_note_events(conn_t *c, uint32_t events);

void conn_close(conn_t *c);

/* Reads into rbuf (taking one from the pool when it has none). Returns >0
 * bytes read, 0 for "nothing now" (EAGAIN, or rbuf full), -1 closed or
 * error. */
ssize_t conn_read(conn_t *c);

/* n response bytes of c were handed to the kernel by whoever sent them
 * (conn_write, a proxied response, a tunnel): counted for the access log
 * (c->sent_bytes), the worker's report and c's host, so /metrics shows
 * every byte a client got, however it went. */
void conn_sent(conn_t *c, size_t n);

/* Sends the output (see above). Returns 1 when everything is written, 0 on
 * EAGAIN (on the send list then), -1 on error. */
int conn_write(conn_t *c);

/* The mapping of c's cached file (c->file_ref) when the transport reads
 * files from one (maps_files), else NULL: what io.map is set to when a
 * file response starts. */
const char *conn_file_map(conn_t *c);

/* The output is written: releases the file and the write buffer. */
void conn_output_done(conn_t *c);

/* Closes c, after lingering when c->linger says the client may still be
 * sending (so unread bytes do not turn into a RST that destroys the
 * response). */
void conn_start_linger(conn_t *c);

/* In CONN_LINGER: reads and drops what the client still sends. */
void conn_linger(conn_t *c);

/* Timer lists. */
void conn_list_append(conn_list_t *l, conn_t *c, double now);

/* A worker with more connections than this asks the transport of each
 * that goes idle to release its buffers (TLS: about 34 KiB of OpenSSL
 * record buffers) until it has fewer again. Below it they are kept:
 * freeing and allocating them around every record cost about 4 % of a
 * small request's CPU over TLS, while 256 connections' buffers are under
 * 10 MiB. */
#define CONN_IDLE_KEEP_BUFFERS 256

/* c waits for a new request (HTTP/1) or any frame (HTTP/2): on the
 * keep-alive list, its transport's buffers released when the worker is
 * busy (CONN_IDLE_KEEP_BUFFERS). */
void conn_keepalive(conn_t *c);
void conn_list_remove(conn_t *c);

/* Puts c on the ready queue: it runs again next turn without an event. */
void conn_ready_push(conn_t *c);

/* The request waiting for job runs again (its password was hashed: the
 * cache answers now): an HTTP/1 request parked in CONN_WAIT from its head,
 * an HTTP/2 stream through its protocol's resume. */
void conn_resume(conn_t *c, void *job);

/* Closes connections whose deadline has passed. */
void conn_expire(worker_t *w);

/* The earliest deadline of the timer lists, or later when it is later. */
double conn_next_deadline(worker_t *w, double later);

/* Runs connections that have work left without waiting for an event. */
void conn_run_ready(worker_t *w);

/* Drain: closes connections that are idle between requests. */
void conn_close_idle(worker_t *w);

/* Short of descriptors: closes up to n of the longest-idle keep-alive
 * connections (nginx reuses them the same way). Returns how many. */
int conn_close_idle_oldest(worker_t *w, int n);

/* Buffer pools. */
char *conn_buf_get(worker_t *w, int write);
void conn_buf_put(worker_t *w, char *buf, int write);

#endif
