/*
 * proxy: a request forwarded to an upstream (README "Reverse proxy"), for
 * an HTTP/1.x client. The upstream side is proxy_upstream.h's; this is
 * the client side of it: the body read from the connection, the head
 * written by drover (proxy_response.h), the body streamed on.
 *
 * http1.c hands a request whose location has `proxy:` to proxy_start and
 * runs proxy_run whenever the connection wakes (state CONN_PROXY) until
 * it says the exchange is over. The upstream's events only queue the
 * client connection (conn_ready_push), which then runs in the same turn.
 * Queuing rather than running at once keeps a closed connection from
 * being run by a later event of the same batch.
 *
 * The request body (Content-Length, or chunked and framed anew) is read
 * from the client as the upstream takes it: at most the connection's read
 * buffer is held (plus PROXY_OBUF_SIZE). The response goes through one
 * buffer of PROXY_BUF_SIZE: the upstream is not read while the client's
 * socket is full. A timeout after the response head, or a body the
 * upstream cuts short, closes the client connection, so it never looks
 * complete.
 */
#ifndef DROVER_PROXY_H
#define DROVER_PROXY_H

#include <stdint.h>

#include "conn.h"
#include "http_parser.h"
#include "proxy_upstream.h"

/* Starts forwarding req (its slices into c->rbuf stay valid until the
 * exchange ends). PROXY_AGAIN: run proxy_run; PROXY_FAIL: answer c->status. */
int proxy_start(conn_t *c, const http_request_t *req, const proxy_route_t *route);

/* Runs the exchange as far as the sockets allow. */
int proxy_run(conn_t *c);

/* An event (epoll events) of an upstream socket (epoll data d). */
void proxy_event(worker_t *w, uint64_t d, uint32_t events);

/* The worker exits: frees the pool and the free proxy_t structures. */
void proxy_worker_exit(worker_t *w);

/* The worker drains (proxy_link_drain). */
void proxy_worker_drain(worker_t *w);

/* The worker's second: idle upstream connections above keepalive that
 * went unused are closed (proxy_conn_trim). */
void proxy_worker_tick(worker_t *w);

#endif
