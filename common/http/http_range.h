/*
 * http_range: the Range request header (RFC 9110 section 14.2), resolved
 * against the size of the representation that would be sent.
 *
 * A range-set of up to `max` (at most HTTP_RANGE_MAX) "bytes=" ranges is
 * read into the caller's array. A range request must never cost more than
 * the whole file, so the set is cleaned up the way section 14.2 allows:
 *   - ranges that overlap, touch, or are closer than HTTP_RANGE_GAP bytes
 *     (less than a part's headers would cost) are coalesced into one;
 *   - more than `max` ranges, or ranges that together ask for more bytes
 *     than the file has (overlap abuse: "0-,0-,0-"), make the header
 *     ignored: the whole file is sent with 200;
 *   - ranges past the end are dropped; when none is left, 416.
 * The result is in the order the ranges were asked for (section 15.3.7.2),
 * a coalesced range taking the place of its first member; ranges are
 * inclusive, inside [0, size), pairwise disjoint.
 *
 * Pure function, never allocates, bounded by the value's length.
 */
#ifndef DROVER_HTTP_RANGE_H
#define DROVER_HTTP_RANGE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "str.h"

#define HTTP_RANGE_MAX 16 /* ranges honoured in one request */
#define HTTP_RANGE_GAP 80 /* ranges closer than this are coalesced */

typedef enum {
    HTTP_RANGE_NONE = 0,     /* absent, malformed or not served: send 200 */
    HTTP_RANGE_OK,           /* ranges[0..*n) are set: send 206 */
    HTTP_RANGE_UNSATISFIABLE /* send 416 with Content-Range: bytes STAR/size */
} http_range_result_t;

typedef struct {
    int64_t start; /* first byte */
    int64_t end;   /* last byte, inclusive */
} http_range_t;

/* ranges has room for max entries; *n is set on HTTP_RANGE_OK. */
http_range_result_t http_range_parse(str_t value, int64_t size, http_range_t *ranges, size_t max,
                                     size_t *n);

#endif
