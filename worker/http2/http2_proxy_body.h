/*
 * http2_proxy_body: the response side of a proxied HTTP/2 stream
 * (http2_proxy.h): the upstream's body read while the stream's buffer has
 * room (at most PROXY_BUF_SIZE ahead of the client's window), decoded
 * from chunked or compressed on the way (proxy_compress.h), and handed to
 * nghttp2 by a deferred data provider; after an extended CONNECT's 101,
 * the client's DATA to the upstream as well.
 *
 * http2_proxy_t, the state of one proxied stream, is here because both
 * halves use it; http2_proxy.c makes and ends it.
 */
#ifndef DROVER_HTTP2_PROXY_BODY_H
#define DROVER_HTTP2_PROXY_BODY_H

#include <nghttp2/nghttp2.h>

#include "http2_stream.h"
#include "http2_tunnel.h"
#include "proxy_upstream.h"

typedef struct {
    proxy_t *p;           /* NULL: the exchange is over (its upstream side freed) */
    http2_stream_t *s;
    nghttp2_session *session;
    unsigned method;
    char *in;             /* request body from DATA, not yet sent: in[0, in_len) */
    size_t in_len;
    int chunked;          /* the request body goes upstream chunked (framed in p->obuf) */
    int last_chunk;       /* its last chunk is framed */
    char *out;            /* a chunked response's body, decoded: out[out_off, out_len) */
    size_t out_off, out_len;
    double deadline;      /* of the exchange's timer; 0: not armed */
    unsigned kick : 1;    /* the client's side moved: run it */
    unsigned deferred : 1; /* the data provider said NGHTTP2_ERR_DEFERRED */
    unsigned answered : 1; /* HEADERS submitted */
    unsigned reset : 1;   /* RST_STREAM submitted */
    unsigned cut : 1;     /* the response was cut short: what came goes out, then a reset */
    unsigned tunnel : 1;  /* an extended CONNECT (WebSocket): DATA both ways after the 101 */
    unsigned shut : 1;    /* the tunnel's client side ended: the upstream's write side shut */
    char key[HTTP2_TUNNEL_KEY]; /* its Sec-WebSocket-Key line */
} http2_proxy_t;

/* Bytes ready for DATA frames. */
size_t http2_proxy_body_ready(const http2_proxy_t *hp);

/* Nothing more will be ready: the body is read (and compressed). */
int http2_proxy_body_done(const http2_proxy_t *hp);

/* The data provider's read callback (source.ptr: the http2_proxy_t). */
ssize_t http2_proxy_body_read(nghttp2_session *session, int32_t id, uint8_t *buf, size_t length,
                              uint32_t *flags, nghttp2_data_source *source, void *user_data);

/* A deferred provider is resumed when bytes or the end are there. */
void http2_proxy_body_resume(http2_proxy_t *hp);

/* proxy_side_t.stream and .blocked. */
int http2_proxy_body_stream(proxy_t *p);
int http2_proxy_body_blocked(proxy_t *p);

#endif
