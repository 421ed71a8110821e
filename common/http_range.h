/*
 * http_range: the Range request header (RFC 9110 section 14.2).
 *
 * Only a single "bytes=" range is served; several ranges are answered with
 * the whole file (a server may ignore Range), which costs no more than the
 * file. Pure function, never allocates.
 */
#ifndef DROVER_HTTP_RANGE_H
#define DROVER_HTTP_RANGE_H

#include <stdint.h>
#include <sys/types.h>

#include "str.h"

typedef enum {
    HTTP_RANGE_NONE = 0,     /* absent, malformed or not served: send 200 */
    HTTP_RANGE_OK,           /* *start, *end (inclusive) are set: send 206 */
    HTTP_RANGE_UNSATISFIABLE /* send 416 with Content-Range: bytes STAR/size */
} http_range_result_t;

http_range_result_t http_range_parse(str_t value, int64_t size, int64_t *start, int64_t *end);

#endif
