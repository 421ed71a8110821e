/*
 * http_response_parser: an upstream's HTTP/1.x response head, and the
 * chunked transfer coding of its body, for the reverse proxy.
 *
 * As strict as the request parser (http_parser.h), because what a proxy
 * lets through from a confused upstream is how responses get split or
 * smuggled: lines end in CRLF, no obs-fold, no space before a colon,
 * field names are tokens, values have no CTL but HTAB, Content-Length is
 * digits and appears once, Content-Length
 * with Transfer-Encoding is an error, a Transfer-Encoding other than
 * "chunked" alone is an error, and a head that does not end within
 * max_head bytes is an error. The head grammar is the request parser's
 * own (http_head_end, http_field_line, http_content_length). The caller answers every error with 502.
 *
 * http_parse_response is a pure function of (bytes, len), like
 * http_parse_request: it returns the bytes of the head (> 0), -2 when more
 * are needed, -1 when the head is malformed. Slices point into buf.
 *
 * The chunked decoder keeps its state in http_chunked_t between calls (the
 * body arrives in pieces) and never copies: http_chunked_next returns the
 * next run of body bytes in place.
 */
#ifndef DROVER_HTTP_RESPONSE_PARSER_H
#define DROVER_HTTP_RESPONSE_PARSER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "http_parser.h"
#include "str.h"

typedef struct {
    int status;
    int version_minor;
    str_t reason;
    http_header_t headers[HTTP_MAX_HEADERS];
    size_t num_headers;
    int64_t content_length;   /* -1 when absent */
    str_t connection;         /* the Connection value(s), for the tokens it names */
    unsigned chunked : 1;
    unsigned close : 1;       /* Connection: close, or HTTP/1.0 without keep-alive */
} http_response_t;

/* last_len: the len of the previous call for the same head (0 the first
 * time), so that a head trickling in costs linear time. */
ssize_t http_parse_response(const char *buf, size_t len, size_t last_len, size_t max_head,
                            http_response_t *res);

typedef struct {
    int state;
    uint64_t left;            /* of the current chunk's data */
    size_t trailer;           /* trailer bytes so far (bounded) */
} http_chunked_t;

#define HTTP_CHUNKED_TRAILER_MAX 16384

/* Consumes framing bytes of p[0, len) up to the next body bytes: *data and
 * *dlen are the run found (dlen 0: none in this piece), *used the bytes of
 * p consumed, framing and data. Returns 0 (call again with the rest), 1
 * when the last chunk and the trailers are complete (*used ends there), -1
 * when the coding is malformed. */
int http_chunked_next(http_chunked_t *st, const char *p, size_t len, size_t *used,
                      const char **data, size_t *dlen);

#endif
