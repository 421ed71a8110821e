/*
 * libFuzzer target for the upstream response parser and the chunked
 * decoder: whatever the bytes, the head parser either wants more, refuses,
 * or returns a head length within the input whose fields all point inside
 * it, with Content-Length and chunked never both set; fed the same bytes
 * byte by byte (last_len set) it gives the same answer. The chunked decoder,
 * fed the rest in two pieces, never returns data outside its input nor
 * more body than input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_response_parser.h"

static int inside(str_t s, const char *b, size_t n)
{
    return s.len == 0 || (s.p >= b && s.p + s.len <= b + n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *b = (const char *)data;
    size_t max_head = size > 0 ? 64 + data[0] * 16u : 64;
    http_response_t r, r2;
    ssize_t n = http_parse_response(b, size, 0, max_head, &r);
    if (n == 0 || n < -2 || n > (ssize_t)size)
        abort();
    ssize_t m = -2;
    for (size_t i = 1; i <= size && m == -2; i++)
        m = http_parse_response(b, i, i - 1, max_head, &r2);
    if (m != n)
        abort();
    if (n > 0) {
        if (r.chunked && r.content_length >= 0)
            abort();
        if (r.status < 100 || r.status > 599 || !inside(r.reason, b, (size_t)n))
            abort();
        for (size_t i = 0; i < r.num_headers; i++)
            if (r.headers[i].name.len == 0 || !inside(r.headers[i].name, b, (size_t)n) ||
                !inside(r.headers[i].value, b, (size_t)n))
                abort();
    }
    /* The chunked decoder on the whole input, split at an arbitrary point. */
    http_chunked_t st = { 0 };
    size_t cut = size > 1 ? data[1] % size : 0, body = 0;
    const char *pieces[2] = { b, b + cut };
    size_t lens[2] = { cut, size - cut };
    for (int k = 0; k < 2; k++) {
        size_t at = 0;
        for (size_t guard = 0; at < lens[k]; guard++) {
            size_t used;
            const char *d;
            size_t dlen;
            if (guard > lens[k] + 1)
                abort(); /* no progress */
            int rc = http_chunked_next(&st, pieces[k] + at, lens[k] - at, &used, &d, &dlen);
            if (rc < 0)
                return 0;
            if (used == 0 || used > lens[k] - at)
                abort();
            if (dlen > 0 && (d < pieces[k] + at || d + dlen > pieces[k] + at + used))
                abort();
            body += dlen;
            at += used;
            if (rc == 1)
                return body <= size ? 0 : (abort(), 0);
        }
    }
    return 0;
}
