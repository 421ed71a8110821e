/*
 * proxy_response: what the client gets of an upstream's response.
 *
 * The head is drover's own (status line, Server, Date, the host's and the
 * rule's headers, HSTS), with the upstream's headers but its hop-by-hop
 * ones, its Date and Server (as nginx hides them), and the framing the
 * client needs: the upstream's Content-Length, or Transfer-Encoding:
 * chunked when the upstream's chunked body is re-chunked (an HTTP/1.1
 * client), or neither when the body ends with the connection.
 *
 * A chunked body is decoded (http_chunked_next, which refuses what is
 * malformed and says "done" only after the last chunk and trailers) and
 * framed anew, so chunk extensions and trailers never reach the client
 * and a body the upstream cut short never looks complete.
 */
#ifndef DROVER_PROXY_RESPONSE_H
#define DROVER_PROXY_RESPONSE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "conn.h"
#include "http_response_parser.h"

/* How the body reaches the client. */
typedef enum {
    PROXY_BODY_NONE = 0,  /* HEAD, 1xx, 204, 304 */
    PROXY_BODY_LENGTH,    /* Content-Length bytes, passed as they come */
    PROXY_BODY_CHUNKED,   /* decoded, re-chunked for an HTTP/1.1 client */
    PROXY_BODY_DECHUNKED, /* decoded, sent bare to an HTTP/1.0 client (then close)
                         */
    PROXY_BODY_CLOSE,     /* until the upstream closes (then close) */
} proxy_body_t;

/* What the rule adds to every response (response_t's fields, kept). */
typedef struct {
    const char *rule_headers;
    size_t rule_headers_len;
    const char *rule_unset;
    size_t rule_unset_len;
    const char *hsts;
    int hsts_set;
} proxy_extra_t;

/* The body's mode for res, answering a request of method head_only. */
proxy_body_t proxy_response_mode(const http_response_t *res, int head_only, int client_http10);

/* How the client's head frames and labels the body. */
typedef struct {
    proxy_body_t mode; /* the client's framing */
    int coding;        /* CONF_CODING_* the body is compressed with, 0 none:
                        * Content-Encoding, the ETag made weak */
    int vary;          /* Vary: Accept-Encoding (a compressible response) */
} proxy_head_args_t;

/* The head for the client into out[0, cap): its length, or -1 when it
 * does not fit. Reads c->keep_alive, c->https, c->host. */
ssize_t proxy_response_head(conn_t *c, const http_response_t *res, const proxy_head_args_t *a,
                            const proxy_extra_t *x, char *out, size_t cap);

/* The same for a client that is not an HTTP/1 connection's (an HTTP/2
 * stream): its host (NULL: none), whether it came over TLS, and the
 * Connection header's say (http10: keep-alive spelled out). */
ssize_t proxy_response_head_for(worker_t *w, struct host_s *host, int https, int keep_alive,
                                int http10, const http_response_t *res,
                                const proxy_head_args_t *a, const proxy_extra_t *x, char *out,
                                size_t cap);

/* Decodes chunked bytes in[0, *inlen) into out[*outlen, cap) as body
 * bytes (framed as chunks when rechunk). Consumes from in what it used
 * (*inlen becomes what is left unread, which the caller keeps at the
 * front), adding the body bytes it found to *decoded. Returns 1 when
 * the body is complete (the last chunk written when rechunk), 0 to go
 * on, -1 malformed. proxy.c frames a chunked request body anew with it
 * too. */
int proxy_response_dechunk(http_chunked_t *st, int rechunk, char *in, size_t *inlen, char *out,
                           size_t *outlen, size_t cap, uint64_t *decoded);

#endif
