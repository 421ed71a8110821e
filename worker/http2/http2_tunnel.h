/*
 * http2_tunnel: the pieces of WebSocket over HTTP/2 (RFC 8441, extended
 * CONNECT) that http2_proxy.c's tunnel uses: telling the request, the key
 * of the HTTP/1.1 Upgrade sent upstream, the 200 that answers the
 * upstream's 101, and bytes from a stream to the upstream's socket.
 */
#ifndef DROVER_HTTP2_TUNNEL_H
#define DROVER_HTTP2_TUNNEL_H

#include <stddef.h>

#include <nghttp2/nghttp2.h>

#include "http2_stream.h"
#include "http_response_parser.h"

/* Room for the Sec-WebSocket-Key line. */
#define HTTP2_TUNNEL_KEY 48

/* 1 when s is an extended CONNECT for WebSocket (":protocol: websocket"). */
int http2_tunnel_websocket(const http2_stream_t *s);

/* "Sec-WebSocket-Key: <16 random bytes, base64>\r\n" into out (cap at
 * least HTTP2_TUNNEL_KEY). 0, or -1 (logged) when no random bytes came. */
int http2_tunnel_key(char *out, size_t cap);

/* The fields answering res (the upstream's 101): :status 200 (RFC 8441 5:
 * HTTP/2 has no 101) and the subprotocol and extensions it chose, as
 * pointers into res. Returns how many (at most max, which is at least 3). */
size_t http2_tunnel_fields(const http_response_t *res, nghttp2_nv *nv, size_t max);

/* Sends in[0, *len) to fd without blocking, moving what is left to the
 * front; *took: bytes sent. 0 (all sent, or the socket is full), -1 on an
 * error (errno). */
int http2_tunnel_send(int fd, char *in, size_t *len, size_t *took);

#endif
