/*
 * proxy_upstream: the upstream side of one proxied request, whatever the
 * client speaks (HTTP/1.x: proxy.c; an HTTP/2 stream: http2_proxy.c).
 *
 * It picks a server (proxy_balance.h), takes an idle pooled connection or
 * connects without blocking, sends the re-serialised head
 * (proxy_request.h) and the request body that the client side hands it
 * (proxy_side_t.body, taken only as the upstream accepts it), reads and
 * checks the response head (http_parse_response: anything malformed, a
 * head over max_header_size, Content-Length with Transfer-Encoding is a
 * 502), then hands over to the client side (answer, then stream), which
 * writes the head its own way and moves the body out of buf[boff, blen),
 * reading the upstream (proxy_upstream_recv) only when buf has room: at
 * most PROXY_BUF_SIZE bytes are held ahead of the client.
 *
 * Failures before any byte of the response: a refused connect (or a unix
 * socket that does not exist) moves to the next server; a reset or close
 * of a connection that carried the request moves on too when the request
 * is idempotent and its body was not sent (a pooled connection the server
 * closed is retried on a fresh one), else 502; no server left is 502 at
 * once. A timeout (connect_timeout, send_timeout, read_timeout, or the
 * client's send_timeout while the client side is full) is 504 before the
 * response head and PROXY_CLOSE after it.
 *
 * Events: an upstream socket's epoll data is its proxy_t pointer tagged
 * PROXY_EV_TAG; proxy_link_event sets woken and queues the client
 * connection (conn_ready_push), which runs the exchange in the same turn.
 * proxy_t structures go to a free list and are never freed while the
 * worker runs, so a stale event finds c == NULL.
 */
#ifndef DROVER_PROXY_UPSTREAM_H
#define DROVER_PROXY_UPSTREAM_H

#include <stdint.h>

#include "conf_upstreams.h"
#include "conn.h"
#include "http_parser.h"
#include "http_response_parser.h"
#include "proxy_conn.h"
#include "proxy_metrics.h"
#include "proxy_response.h"

#define PROXY_AGAIN 0
#define PROXY_DONE 1     /* the response is sent: c->status, c->body_bytes, c->keep_alive */
#define PROXY_FAIL 2     /* nothing sent: answer p->status (502, 504) */
#define PROXY_CLOSE (-1) /* close the client connection (HTTP/2: reset the stream) */

/* The epoll data of an upstream socket: a proxy_t pointer | PROXY_EV_TAG
 * (pointers are 8-aligned; conn_t pointers and the listeners' odd values
 * never have these low bits). */
#define PROXY_EV_TAG ((uint64_t)2)
#define PROXY_EV_IS(d) (((d)&3) == PROXY_EV_TAG && (d) != PROXY_EV_TAG)

/* The bytes of the response held per proxied request. */
#define PROXY_BUF_SIZE 65536
/* A chunked request body framed anew, before it is sent. */
#define PROXY_OBUF_SIZE 16384
/* Decoded response body bytes waiting for the coder (zin). */
#define PROXY_ZIN_SIZE 16384

typedef struct {
    const conf_t *conf;  /* the location's keys (proxy_upstream, proxy_uri) */
    str_t prefix;        /* the location's prefix, for a URL proxy's path */
    str_t path;          /* the normalised path the location matched */
    proxy_extra_t extra; /* its headers, for the response */
} proxy_route_t;

typedef enum {
    PROXY_CONNECT = 0, /* a connect under way */
    PROXY_SEND,        /* the request head, then its body */
    PROXY_HEAD,        /* waiting for the response head */
    PROXY_BODY,        /* the response to the client */
    PROXY_TUNNEL,      /* after a 101 (HTTP/1 client: proxy_tunnel.h) */
} proxy_phase_t;

typedef struct proxy_s proxy_t;

/* What the client side does for the exchange (an ops table: the engine
 * calls back, never by name). */
typedef struct {
    /* The next request body bytes to send: 1 with *out, *len set; 0 wait
     * for the client; 2 the body is whole; -1 the client is gone; else the
     * status to answer (400, 413). */
    int (*body)(proxy_t *p, const char **out, size_t *len);
    /* n of them were sent. */
    void (*body_sent)(proxy_t *p, size_t n);
    /* The response head is in p->res (its bytes in buf[0, boff)): the
     * client's head. PROXY_AGAIN, or an end. */
    int (*answer)(proxy_t *p);
    /* PROXY_BODY: moves the body on. PROXY_AGAIN, or an end. */
    int (*stream)(proxy_t *p);
    /* 1 while the client is the side that is full (its send_timeout). */
    int (*blocked)(proxy_t *p);
} proxy_side_t;

struct proxy_s {
    conn_t *c; /* the client connection; NULL: on the free list (a stale event finds it so) */
    struct proxy_s *next_free;
    const proxy_side_t *side;
    void *data;     /* the client side's (HTTP/2: its stream) */
    proxy_upstream_state_t *st;
    const conf_upstream_t *up;
    int server;     /* the one tried now */
    int fd;         /* its socket, or -1 */
    struct proxy_link_s *link; /* fd's epoll data (proxy_link.h), with fd */
    int reused;     /* fd came from the pool */
    int fresh;      /* the next try must not take from the pool */
    uint64_t tried; /* servers that failed this request */
    int attempts;
    proxy_phase_t phase;
    int status;     /* PROXY_FAIL: what to answer */
    char *req;      /* the head sent upstream */
    size_t req_len, req_off;
    uint64_t body_sent;
    /* The HTTP/1 side's request body: Content-Length bytes still to come,
     * or a chunked body decoded from c->rbuf and framed anew in obuf. */
    int64_t body_left;
    int chunked, chunked_done;
    http_chunked_t rch;
    char *obuf;
    size_t ooff, olen;
    uint64_t body_decoded;
    uint64_t decoded; /* of the response's chunked body */
    int idempotent;
    int head_only;
    int upgrade;    /* an upgrade was asked for: a 101 is the head */
    int tunnel;     /* after the 101, bytes both ways: tunnel_timeout bounds a silence */
    char *buf;         /* PROXY_BUF_SIZE bytes of the upstream's */
    size_t boff, blen; /* unsent bytes: buf[boff, blen) */
    size_t last_len;   /* blen at the last parse of the head */
    http_response_t res;
    proxy_body_t mode;
    int64_t left; /* PROXY_BODY_LENGTH: body bytes still to come */
    http_chunked_t ch;
    int upstream_done; /* the whole response is read */
    int reusable;      /* and fd may go back to the pool */
    int timed_out;
    int connect_timeouts; /* connects that timed out: no server left is then a 504 */
    int early;            /* the response came before the request body was all sent */
    int woken;    /* an upstream event came since the client side last ran it */
    /* The socket holds nothing to read until its next EPOLLIN edge (the
     * socket is edge-triggered, so bytes that arrive later always bring
     * one): set when a connection is taken for the request, and by a recv
     * that came back short; the response's reads skip the recv that
     * would say EAGAIN (one per request, two when the head and body come
     * in two segments). */
    int rx_empty;
    int rx_hup; /* the peer's FIN or an error came with an event: a short
                 * recv is then not the end of what there is to read, and
                 * the socket is not pooled (proxy_upstream_drop_fd) */
    int progress; /* bytes moved this run: re-arm the timer */
    double timeout; /* after a run with rearm: the timer's length from now */
    int rearm;
    int armed; /* set by the client side: its timer runs (else the run re-arms it) */
    proxy_extra_t extra;
    double started; /* proxy_upstream_clock() at the start, for the access log */
    proxy_tele_t tele; /* for /metrics (proxy_metrics.h) */
    /* The HTTP/1 side's tunnel after a 101 (proxy.c), and compression of
     * the response (proxy_compress.h; the client side sets it up): what
     * the client takes, the coder once the head said yes, decoded body
     * bytes waiting for it (zin, freed with p). */
    struct proxy_tunnel_s *tun;
    const conf_compress_t *zconf;
    int z_any, z_stream;
    struct proxy_compress_s *zc;
    char *zin;
    size_t zinlen;
    int zflushed, zfinished;
};

/* What the start needs besides the request and route. */
typedef struct {
    const char *client;     /* the client's address as text */
    int https;
    int64_t content_length; /* of the body sent; -1: none */
    int chunked;            /* the body is sent chunked */
    str_t upgrade;          /* proxy_request_args_t's: a 101 is then an answer */
    const char *extra;
} proxy_start_args_t;

/* A new exchange for req on c (its slices must stay valid until the head
 * is built, which this does): the head built and a connect started.
 * Returns p with PROXY_AGAIN in *r, or p with PROXY_FAIL (p->status) in
 * *r, or NULL when out of memory. The caller ends it with
 * proxy_upstream_free. */
proxy_t *proxy_upstream_start(conn_t *c, const http_request_t *req, const proxy_route_t *route,
                              const proxy_start_args_t *a, const proxy_side_t *side, void *data,
                              int *r);

/* Runs the exchange as far as the sockets allow: PROXY_AGAIN (then, when
 * p->rearm, the timer runs p->timeout from now), or an end (p stays
 * allocated until proxy_upstream_free). */
int proxy_upstream_run(proxy_t *p);

/* PROXY_BODY: more of the response into buf[blen, PROXY_BUF_SIZE) (moved
 * to the front first). >0 bytes, 0 none now, PROXY_DONE the body ended
 * with the connection (PROXY_BODY_CLOSE), PROXY_CLOSE the upstream cut the
 * body short (logged). */
int proxy_upstream_recv(proxy_t *p);

/* A compressed response: decoded body bytes from buf into zin, as the
 * upstream framed them (Content-Length, chunked, until close): 1 some (or
 * the end) are there, 0 more upstream bytes are needed, -1 the chunked
 * framing is malformed. */
int proxy_upstream_zdecode(proxy_t *p);

/* The socket is closed, or pooled when pool. */
void proxy_upstream_drop_fd(proxy_t *p, int pool);

/* The access log's view: the server tried (NULL: none), its status (0: no
 * head), the time since the start in microseconds. */
const char *proxy_upstream_name(const proxy_t *p);
void proxy_upstream_log(const proxy_t *p, const char **upstream, int *status, uint64_t *us);

/* Ends p: its socket closed (or pooled when pool), p to the free list. */
void proxy_upstream_free(proxy_t *p, int pool);

/* Puts c on the worker's proxy timer list at deadline, sorted (upstreams
 * have timeouts of their own, so appending would not keep it sorted). */
void proxy_upstream_arm(conn_t *c, double deadline);

/* The worker exits: frees the pool and the free proxy_t structures. */
void proxy_upstream_worker_exit(worker_t *w);

#endif
