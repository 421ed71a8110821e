/*
 * proxy_request: the request head sent to an upstream, re-serialised from
 * the parsed request (never the client's bytes: what the front parsed is
 * what the back gets, so a smuggled second request cannot pass).
 *
 * HTTP/1.1, the method and target (a URL proxy's path replacing the
 * matched location prefix, as nginx's proxy_pass with a URI), the client's
 * Host kept, hop-by-hop headers dropped (Connection, Keep-Alive,
 * Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade and every name
 * the Connection header lists), the body's framing written anew
 * (Content-Length, or Transfer-Encoding: chunked), X-Forwarded-For and
 * Forwarded appended to, X-Forwarded-Proto and X-Forwarded-Host set,
 * Cookie fields joined on one line (HTTP/2 clients split them).
 * Pure (tests/unit/check_proxy_request.c).
 */
#ifndef DROVER_PROXY_REQUEST_H
#define DROVER_PROXY_REQUEST_H

#include <stddef.h>
#include <sys/types.h>

#include "http_parser.h"
#include "str.h"

typedef struct {
    str_t prefix;           /* the matched location prefix; len 0: none */
    /* The decoded, normalised path the location matched: with a uri, a
     * target that does not start with the prefix as sent ("/x/../old/a",
     * "/%6Fld/a") is built from it, so what replaces the prefix is what
     * the front matched (never "/x/../old/a" sent under the new path). */
    str_t path;
    const char *uri;        /* what replaces it (a URL proxy's path); NULL: none */
    const char *client;     /* the client's address as text */
    int client_v6;          /* it is IPv6 (Forwarded quotes it in brackets) */
    int https;              /* X-Forwarded-Proto */
    const char *host;       /* Host when the request has none (HTTP/1.0) */
    int keepalive;          /* the upstream connection may be kept */
    int64_t content_length; /* of the body sent; -1: none */
    int chunked;            /* the body is sent chunked */
    /* The client asks to upgrade (proxy_tunnel.h; an HTTP/2 extended
     * CONNECT, http2_tunnel.h): Upgrade and Connection: upgrade go
     * instead of the keep-alive line, Upgrade with every value of the
     * request's Upgrade fields joined (several lines are one list), or
     * with this one when it has none (HTTP/2). len 0: no upgrade. */
    str_t upgrade;
    /* Lines of the request's own ("Name: value\r\n"...) before that, or
     * NULL: the Sec-WebSocket-Key an HTTP/2 extended CONNECT needs. */
    const char *extra;
} proxy_request_args_t;

/* The head into out[0, cap): its length, or -1 when it does not fit. */
ssize_t proxy_request_head(const http_request_t *req, const proxy_request_args_t *a, char *out,
                           size_t cap);

/* 1 when name is a hop-by-hop header, or one that connection names. */
int proxy_request_hop(str_t name, str_t connection);

#endif
