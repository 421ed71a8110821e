/*
 * proxy: a request forwarded to an upstream (README "Reverse proxy"), for
 * an HTTP/1.x client.
 *
 * http1.c hands a request whose location has `proxy:` to proxy_start and
 * runs proxy_run whenever the connection wakes (state CONN_PROXY) until
 * it says the exchange is over. The upstream socket is in the worker's
 * epoll set with its own data (a proxy_t pointer tagged PROXY_EV_TAG);
 * its events only queue the client connection (conn_ready_push), which
 * then runs in the same turn. Queuing rather than running at once keeps a
 * closed connection from being run by a later event of the same batch.
 *
 * One exchange: pick a server (proxy_balance.h), take an idle pooled
 * connection or connect without blocking, send the re-serialised head
 * (proxy_request.h) and the body (Content-Length, read from the client
 * as the upstream takes it: at most the connection's read buffer is
 * held), read and check the response head (http_parse_response: anything
 * malformed, a head over max_header_size, Content-Length with
 * Transfer-Encoding is a 502), then stream the body (proxy_response.h)
 * through one buffer of PROXY_BUF_SIZE: the upstream is not read while
 * the client's socket is full.
 *
 * Failures before any byte of the response: a refused connect (or a unix
 * socket that does not exist) moves to the next server; a reset or close
 * of a connection that carried the request moves on too when the request
 * is idempotent and its body was not sent (a pooled connection the server
 * closed is retried on a fresh one), else 502; no server left is 502 at
 * once. A timeout (connect_timeout, send_timeout, read_timeout) is 504
 * before the response head, and a closed client connection after it. A
 * body the upstream cuts short closes the client connection, so it never
 * looks complete.
 */
#ifndef DROVER_PROXY_H
#define DROVER_PROXY_H

#include <stdint.h>

#include "conn.h"
#include "http_parser.h"
#include "proxy_response.h"

#define PROXY_AGAIN 0
#define PROXY_DONE 1     /* the response is sent: c->status, c->body_bytes, c->keep_alive */
#define PROXY_FAIL 2     /* nothing sent: answer c->status (502, 504) */
#define PROXY_CLOSE (-1) /* close the client connection */

/* The epoll data of an upstream socket: a proxy_t pointer | PROXY_EV_TAG
 * (pointers are 8-aligned; conn_t pointers and the listeners' odd values
 * never have these low bits). */
#define PROXY_EV_TAG ((uint64_t)2)
#define PROXY_EV_IS(d) (((d)&3) == PROXY_EV_TAG && (d) != PROXY_EV_TAG)

/* The bytes of the response held per proxied request. */
#define PROXY_BUF_SIZE 65536

typedef struct {
    const conf_t *conf;  /* the location's keys (proxy_upstream, proxy_uri) */
    str_t prefix;        /* the location's prefix, for a URL proxy's path */
    str_t path;          /* the normalised path the location matched */
    proxy_extra_t extra; /* its headers, for the response */
} proxy_route_t;

/* Starts forwarding req (its slices into c->rbuf stay valid until the
 * exchange ends). PROXY_AGAIN: run proxy_run; PROXY_FAIL: answer c->status. */
int proxy_start(conn_t *c, const http_request_t *req, const proxy_route_t *route);

/* Runs the exchange as far as the sockets allow. */
int proxy_run(conn_t *c);

/* An event (epoll events) of an upstream socket (epoll data d). */
void proxy_event(worker_t *w, uint64_t d, uint32_t events);

/* The worker exits: frees the pool and the free proxy_t structures. */
void proxy_worker_exit(worker_t *w);

#endif
