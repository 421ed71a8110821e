/*
 * http_range: see http_range.h.
 */
#include "http_range.h"

#include <limits.h>

/* Reads digits at p[*i..]; returns -1 when there are none or on overflow. */
static int64_t http_range__num(str_t v, size_t *i)
{
    size_t start = *i;
    int64_t n = 0;
    while (*i < v.len && v.p[*i] >= '0' && v.p[*i] <= '9') {
        int d = v.p[*i] - '0';
        if (n > (INT64_MAX - d) / 10)
            return -1;
        n = n * 10 + d;
        (*i)++;
    }
    return *i == start ? -1 : n;
}

/* 1 when only optional whitespace is left from i. */
static int http_range__at_end(str_t v, size_t i)
{
    while (i < v.len && (v.p[i] == ' ' || v.p[i] == '\t'))
        i++;
    return i == v.len;
}

http_range_result_t http_range_parse(str_t v, int64_t size, int64_t *start, int64_t *end)
{
    static const char unit[] = "bytes=";
    size_t i = sizeof(unit) - 1;
    if (v.len < i || strncasecmp(v.p, unit, i) != 0)
        return HTTP_RANGE_NONE;
    while (i < v.len && (v.p[i] == ' ' || v.p[i] == '\t'))
        i++;

    int64_t first = -1, last = -1;
    if (i < v.len && v.p[i] == '-') {
        i++;
        int64_t suffix = http_range__num(v, &i);
        if (suffix < 0)
            return HTTP_RANGE_NONE;
        if (!http_range__at_end(v, i))
            return HTTP_RANGE_NONE; /* several ranges, or garbage */
        if (suffix == 0 || size == 0)
            return HTTP_RANGE_UNSATISFIABLE;
        first = suffix >= size ? 0 : size - suffix;
        last = size - 1;
    } else {
        first = http_range__num(v, &i);
        if (first < 0 || i >= v.len || v.p[i] != '-')
            return HTTP_RANGE_NONE;
        i++;
        if (i < v.len && v.p[i] >= '0' && v.p[i] <= '9') {
            last = http_range__num(v, &i);
            if (last < 0 || last < first)
                return HTTP_RANGE_NONE;
        }
        if (!http_range__at_end(v, i))
            return HTTP_RANGE_NONE; /* several ranges, or garbage */
        if (first >= size)
            return HTTP_RANGE_UNSATISFIABLE;
        if (last < 0 || last >= size)
            last = size - 1;
    }
    *start = first;
    *end = last;
    return HTTP_RANGE_OK;
}
