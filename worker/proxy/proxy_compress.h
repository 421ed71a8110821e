/*
 * proxy_compress: a proxied response compressed on its way to the client
 * (doc/configuration.md "Compression", the location's `compress:`).
 *
 * Whether: the location has compress on, the client's Accept-Encoding takes
 * one of its encodings, the status is 200, 403 or 404 (nginx's gzip filter
 * takes the same), the upstream did not encode the body itself, its
 * Content-Type is one of `types`, its Cache-Control has no `no-transform`,
 * and a known length is at least `min_size`.
 *
 * How: br and zstd stream (compress_stream.h) at the capped levels, so a
 * body of any length or framing is compressed as it passes, flushed each
 * time the upstream has nothing more for now (a slow stream still reaches
 * the client promptly). gzip (libdeflate: whole buffers only) is used for a
 * body whose Content-Length is at most COMPRESS_STREAM_GZIP_MAX: it is
 * collected, compressed when complete and sent; for others the client's
 * next choice among br and zstd applies, else identity. The client gets
 * chunked framing (or, HTTP/1.0, the body until close), Content-Encoding,
 * Vary: Accept-Encoding and the upstream's ETag made weak.
 *
 * A HEAD is answered with the head its GET would get (RFC 9110 9.3.2),
 * decided from the upstream's HEAD response by the same rules: the same
 * Content-Encoding, Vary and weak ETag, no Content-Length (the compressed
 * length is known only once made), no Transfer-Encoding (as for any HEAD).
 */
#ifndef DROVER_PROXY_COMPRESS_H
#define DROVER_PROXY_COMPRESS_H

#include <stddef.h>

#include "conf.h"
#include "http_response_parser.h"
#include "str.h"

typedef struct proxy_compress_s proxy_compress_t;

/* What the client takes of z's encodings (CONF_CODING_*, 0 none): *any
 * among all, *streamed among br and zstd. From the request's
 * Accept-Encoding (accept.p NULL: absent). */
void proxy_compress_want(const conf_compress_t *z, str_t accept, int *any, int *streamed);

/* The response is compressible by type (Vary: Accept-Encoding goes on it
 * whether or not this client gets it compressed). */
int proxy_compress_eligible(const conf_compress_t *z, const http_response_t *res);

/* The coding (CONF_CODING_*, 0 identity) a response with res's head gets
 * on its way to a client that takes any and streamed: what a HEAD's
 * answer announces, so it says what the GET's would (RFC 9110 9.3.2). */
int proxy_compress_coding(const conf_compress_t *z, int any, int streamed,
                          const http_response_t *res);

/* A coder for res, or NULL to send it as it is (then *coding is 0).
 * chunked: frame the output as chunks (an HTTP/1.1 client). */
proxy_compress_t *proxy_compress_start(const conf_compress_t *z, int any, int streamed,
                                       const http_response_t *res, int chunked, int *coding);

/* Decoded body bytes in[0, n) (end: none follow; flush: none for now) go
 * through the coder into out[*olen, cap). *used: what it took of in.
 * 1 all is out (with the last chunk); 0 call again (with more input, or
 * when out has room); -1 a codec error or a body over its length. */
int proxy_compress_pump(proxy_compress_t *zc, const char *in, size_t n, size_t *used, int end,
                        int flush, char *out, size_t *olen, size_t cap);

/* A FLUSH or the end is not all out yet (out was full). */
int proxy_compress_pending(const proxy_compress_t *zc);

void proxy_compress_free(proxy_compress_t *zc);

#endif
