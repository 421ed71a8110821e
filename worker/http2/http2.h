/*
 * http2: HTTP/2 on one connection, with nghttp2.
 *
 * One nghttp2_session per connection, driven by the worker's event loop
 * through the transport: what the transport reads goes to
 * nghttp2_session_mem_recv; what nghttp2 serializes (many small pieces) is
 * gathered into one output buffer and written once per turn, with DATA
 * frames from files sent as their 9-byte header followed by the file range
 * (the transport's sendfile). Streams are answered by the same handlers as
 * HTTP/1 (http2_stream.c builds the request and submits the response).
 *
 * Limits: SETTINGS_MAX_CONCURRENT_STREAMS is http2_max_streams, the header
 * list of a request is held to max_header_size, nghttp2's stream reset rate
 * limit (Rapid Reset), CONTINUATION limit and outbound-ack limit (floods of
 * SETTINGS and PING) end a misbehaving connection with GOAWAY, which is
 * logged. An idle connection is closed after keepalive_timeout with GOAWAY;
 * a draining worker sends GOAWAY and lets open streams finish.
 *
 * Entry points: a plain listener with http2_cleartext gets http2_sniff as
 * its process function (the connection preface tells HTTP/2 with prior
 * knowledge from HTTP/1); a TLS connection whose ALPN chose "h2" is handed
 * to http2_attach after its handshake.
 */
#ifndef DROVER_HTTP2_H
#define DROVER_HTTP2_H

#include <stdint.h>

#include "conn.h"

#define HTTP2_PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define HTTP2_PREFACE_LEN 24

/* Makes c an HTTP/2 connection and runs it: bytes already in c->rbuf are
 * the start of the client's preface. Returns 0, or -1 when c could not be
 * set up (out of memory; logged), in which case c is closed. */
int http2_attach(conn_t *c);

/* The process function of a plain listener that takes HTTP/2 with prior
 * knowledge: reads the first bytes, then hands c to HTTP/2 (the preface)
 * or to http1_process (anything else). */
void http2_sniff(conn_t *c, uint32_t events);

/* The process function of an HTTP/2 connection (set by http2_attach). */
void http2_process(conn_t *c, uint32_t events);

#endif
