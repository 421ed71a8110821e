/*
 * http_conditional: the preconditions of RFC 9110 section 13 (If-Match,
 * If-None-Match, If-Modified-Since, If-Unmodified-Since, If-Range), judged
 * against the validators of the representation that would be sent.
 *
 * Pure functions of a parsed request and the validators: they keep no state
 * and never allocate, so they can be unit-tested and fuzzed on their own.
 * A field sent on several lines is one list (RFC 9110 section 5.3): the
 * entity-tag lists are read from every line of req->headers, and a date
 * field sent more than once is ignored, as section 13.1.3 asks.
 *
 * Validators: `etag` is a strong entity-tag with its quotes ("\"5f-1a\"");
 * `mtime` is the Last-Modified time; `now` is the server's clock, used to
 * ignore dates in the future and to tell whether a Last-Modified time is a
 * strong validator (section 8.8.2.2: at least a second in the past).
 */
#ifndef DROVER_HTTP_CONDITIONAL_H
#define DROVER_HTTP_CONDITIONAL_H

#include <time.h>

#include "http_parser.h"
#include "str.h"

/* At most this many entity-tags of a list are compared; the rest are not
 * looked at (a list that long is not a cache's). */
#define HTTP_CONDITIONAL_MAX_TAGS 64

/*
 * 1 when the entity-tag list `list` (the value of If-Match or
 * If-None-Match) holds "*" or a tag equal to `etag`. weak: the weak
 * comparison of section 8.8.3.2 (W/"x" matches "x"), else the strong one
 * (a weak tag never matches). A malformed member never matches.
 */
int http_etag_list_match(str_t list, str_t etag, int weak);

/*
 * Section 13.2.2, steps 1 to 4, for a GET or HEAD: returns 200 (go on),
 * 304 (not modified: no body) or 412 (precondition failed). Only fields
 * present in req count; an invalid date makes its field ignored.
 */
int http_conditional_check(const http_request_t *req, str_t etag, time_t mtime, time_t now);

/*
 * Section 13.2.2 step 5: 1 when a Range in req is to be honoured (no
 * If-Range, or an If-Range that matches: the strong etag, or exactly the
 * Last-Modified date when that is a strong validator), 0 when the whole
 * representation must be sent instead.
 */
int http_conditional_if_range(const http_request_t *req, str_t etag, time_t mtime, time_t now);

#endif
