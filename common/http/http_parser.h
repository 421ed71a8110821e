/*
 * http_parser: an incremental HTTP/1.x request-head parser.
 *
 * It is a pure function of (bytes, len): it keeps no state between calls and
 * never allocates, so the caller simply calls it again with the longer buffer
 * when more bytes arrive (as picohttpparser does). Every slice in the result
 * points into the caller's buffer and is valid as long as that buffer is.
 *
 * It is strict on purpose (RFC 9112), because a lenient parser behind or in
 * front of another one is how requests get smuggled:
 *   - lines end in CRLF; a bare LF or a bare CR is a 400;
 *   - obs-fold (a line starting with SP or HTAB) is a 400;
 *   - whitespace between a field name and the colon is a 400;
 *   - field names are tokens; field values have no CTL but HTAB;
 *   - Content-Length must be digits and appear once; with Transfer-Encoding
 *     it is a 400, and a Transfer-Encoding whose last coding is not chunked
 *     is a 400;
 *   - Transfer-Encoding applies chunked at most once;
 *   - HTTP/1.1 needs exactly one Host, and a Host must be uri-host
 *     [":" port] (see http_host_parse); an absolute-form target's authority
 *     is held to the same grammar;
 *   - the authority-form target ("host:port") is accepted for CONNECT only,
 *     and CONNECT takes no other form;
 *   - a request line without a version (HTTP/0.9) is a 400.
 *
 * Return: bytes of the head consumed (> 0) when complete; -2 when more bytes
 * are needed; -1 on error, with req->status set to the response code
 * (400, 414, 431, 501 or 505).
 */
#ifndef DROVER_HTTP_PARSER_H
#define DROVER_HTTP_PARSER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "http_host.h"
#include "str.h"

#define HTTP_MAX_HEADERS 100

typedef enum {
    HTTP_METHOD_UNKNOWN = 0,
    HTTP_METHOD_GET,
    HTTP_METHOD_HEAD,
    HTTP_METHOD_OPTIONS,
    HTTP_METHOD_POST,
    HTTP_METHOD_PUT,
    HTTP_METHOD_DELETE,
    HTTP_METHOD_PATCH,
    HTTP_METHOD_CONNECT,
    HTTP_METHOD_TRACE,
} http_method_t;

typedef struct {
    str_t name;
    str_t value;
} http_header_t;

typedef struct {
    http_method_t method;
    str_t method_name;
    str_t target;         /* as sent: "/a%20b?x=1", "*", or absolute-form */
    str_t path;           /* the target's path, still percent-encoded */
    str_t query;          /* after '?', without it; empty when none */
    int version_minor;    /* HTTP/1.<minor>: 0 or 1 */

    http_header_t headers[HTTP_MAX_HEADERS];
    size_t num_headers;

    /* Fields the server acts on, picked out while parsing. */
    str_t host;
    str_t if_none_match;
    str_t if_modified_since;
    str_t if_match;
    str_t if_unmodified_since;
    str_t if_range;
    str_t range;
    str_t accept_encoding;
    str_t referer;
    str_t user_agent;
    int64_t content_length;  /* -1 when absent */
    unsigned keep_alive : 1; /* after Connection and the version default */
    unsigned chunked : 1;    /* Transfer-Encoding ends in chunked */
    unsigned expect_continue : 1;
    unsigned bad_expect : 1; /* an Expect other than 100-continue: 417 */

    int status;              /* on -1: the error status to answer with */
} http_request_t;

/*
 * Parses buf[0..len). max_head is the largest head accepted (the
 * max_header_size setting): a request line that does not end within it is a
 * 414, a head that does not is a 431. last_len is the length passed on the
 * previous call for the same request (0 the first time); it lets the parser
 * skip the bytes it already knows hold no end of head, so a head that
 * trickles in byte by byte costs linear time.
 */
ssize_t http_parse_request(const char *buf, size_t len, size_t last_len,
                           size_t max_head, http_request_t *req);


/*
 * For HTTP/2, whose frames carry the method, target and fields already
 * split (worker/http2_stream.c builds an http_request_t from them, so the
 * handlers see one kind of request):
 *   http_method_lookup: the method of a name (HTTP_METHOD_UNKNOWN if none);
 *   http_request_target: splits req->target into path and query as the
 *     HTTP/1 parser does (req->method set first); -1 when it is invalid;
 *   http_request_field: acts on one field as the HTTP/1 parser does (Range,
 *     conditionals, Content-Length ...); 0, or the status to answer with.
 *     Host is the caller's.
 */
http_method_t http_method_lookup(str_t name);
/* The name of a known method ("GET"), or NULL. */
const char *http_method_name(http_method_t m);
int http_request_target(http_request_t *req);
int http_request_field(http_request_t *req, str_t name, str_t value);

const char *http_status_reason(int status);

/*
 * The pieces of the head grammar, shared with the upstream response parser
 * (http_response_parser.h) so both sides are held to the same rules:
 *   http_head_end: the bytes up to and with the CRLF CRLF that ends a head,
 *     scanning buf[from, limit); 0 when not there yet, -1 on a bare LF or
 *     a bare CR;
 *   http_field_line: one "name: value" CRLF line at *pp, of a head that
 *     http_head_end found whole; 0 and *pp past it, or -1 (obs-fold, a name
 *     not a token, space before the colon, a CTL in the value);
 *   http_content_length: digits only, at most 18 of them; 0 or -1.
 */
ssize_t http_head_end(const char *buf, size_t from, size_t limit);
int http_field_line(const char **pp, str_t *name, str_t *value);
int http_content_length(str_t v, int64_t *out);
/* 1 when the comma-separated list v holds token (case-insensitive). */
int http_list_has(str_t v, const char *token, size_t tlen);
/* 1 for a tchar of RFC 9110 5.6.2. */
int http_is_tchar(unsigned char c);

#endif
