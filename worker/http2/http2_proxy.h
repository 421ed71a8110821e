/*
 * http2_proxy: an HTTP/2 stream forwarded to an upstream (README "Reverse
 * proxy"): the client side of proxy_upstream.h for a stream, as proxy.c is
 * for an HTTP/1 connection.
 *
 * Each stream has its own upstream request (HTTP/1.1, its own connection
 * from the pool or a new one) with the same head, retries, 502 and 504 as
 * an HTTP/1 client's. The response goes out as HEADERS and DATA through a
 * deferred data provider: the provider copies from the upstream's buffer
 * (PROXY_BUF_SIZE, plus a decoded chunked body's PROXY_OBUF_SIZE) and says
 * NGHTTP2_ERR_DEFERRED when it is empty; the upstream is read only while
 * that buffer has room, so it is never more than that ahead of what the
 * client's stream window took, and nghttp2_session_resume_data wakes the
 * provider when bytes come. A body the upstream cuts short, or a timeout
 * after the head, resets the stream (INTERNAL_ERROR): it never ends with
 * END_STREAM.
 *
 * The request body (DATA) is copied into a buffer of one stream window
 * and forwarded as the upstream takes it (Content-Length when the client
 * gave one, else chunked); the stream's window is given back
 * (nghttp2_session_consume_stream, the session runs with
 * NO_AUTO_WINDOW_UPDATE) only for bytes the upstream took, so a slow
 * upstream slows the client's upload of that stream alone (the
 * connection's window is given back at once). DATA that came while the
 * stream's password was still hashed was held by the stream, its window
 * kept (http2_stream_hold): it is the buffer's start.
 *
 * A stream that closes (a client's RST_STREAM, the connection going)
 * closes its upstream connection: only a response read to its end is
 * pooled. Timers: each stream has a deadline; http2.c keeps the connection
 * on the worker's proxy timer list at the earliest one.
 */
#ifndef DROVER_HTTP2_PROXY_H
#define DROVER_HTTP2_PROXY_H

#include <stdint.h>

#include <nghttp2/nghttp2.h>

#include "conn.h"
#include "http2_stream.h"
#include "list.h"

/* Starts forwarding s (s->route, from http2_stream_respond). Returns 0, or
 * an nghttp2 error code. */
int http2_proxy_start(nghttp2_session *session, conn_t *c, http2_stream_t *s);

/* DATA of a proxied stream s: kept for the upstream. */
void http2_proxy_data(nghttp2_session *session, http2_stream_t *s, const uint8_t *data, size_t len);

/* Something on the client's side moved for s (its request ended). */
void http2_proxy_kick(http2_stream_t *s);

/* Runs every proxied stream of streams (http2_stream_t links) that has
 * something to do. */
void http2_proxy_run(conn_t *c, list_t *streams);

/* 1 when a proxied stream has something to do (its output was taken
 * meanwhile: run again after a flush). */
int http2_proxy_due(list_t *streams);

/* The earliest deadline of the proxied streams, or 0 when none has one. */
double http2_proxy_deadline(list_t *streams);

/* Marks the streams whose deadline passed as timed out (the next run
 * answers 504 or resets them). */
void http2_proxy_expire(list_t *streams, double now);

/* nghttp2 closed s: its exchange ends (a live upstream connection is
 * closed, never pooled), the access log's fields set. */
void http2_proxy_close(http2_stream_t *s);

#endif
