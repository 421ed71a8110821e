/*
 * http_range: see http_range.h.
 *
 * Two steps: read every range-spec, keeping the satisfiable ones clipped to
 * the file; then coalesce (sort by start, merge neighbours) and put the
 * result back in request order. With at most HTTP_RANGE_MAX ranges the
 * insertion sorts cost nothing worth a better algorithm.
 */
#include "http_range.h"

#include <limits.h>

typedef struct {
    int64_t start, end;
    size_t order; /* position in the request */
} http_range__item_t;

/* Insertion sort (n <= HTTP_RANGE_MAX): by start, or by request order. */
static void http_range__sort(http_range__item_t *item, size_t n, int by_order)
{
    for (size_t a = 1; a < n; a++) {
        http_range__item_t t = item[a];
        size_t b = a;
        for (; b > 0 && (by_order ? item[b - 1].order > t.order : item[b - 1].start > t.start); b--)
            item[b] = item[b - 1];
        item[b] = t;
    }
}

/* Reads digits at v.p[*i..]; returns -1 when there are none or on overflow. */
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

static size_t http_range__ows(str_t v, size_t i)
{
    while (i < v.len && (v.p[i] == ' ' || v.p[i] == '\t'))
        i++;
    return i;
}

/*
 * One range-spec at v.p[*i..], up to the next comma or the end. Returns 1
 * with [*first, *last] when it is satisfiable (clipped to size), 0 when it
 * is valid but outside the file, -1 when it is malformed.
 */
static int http_range__spec(str_t v, size_t *i, int64_t size, int64_t *first, int64_t *last)
{
    int64_t a, b = -1;
    if (*i < v.len && v.p[*i] == '-') {
        /* suffix-range: the last b bytes */
        (*i)++;
        b = http_range__num(v, i);
        if (b < 0)
            return -1;
        *i = http_range__ows(v, *i);
        if (*i < v.len && v.p[*i] != ',')
            return -1;
        if (b == 0 || size == 0)
            return 0; /* an empty suffix is never satisfiable (14.1.3) */
        *first = b >= size ? 0 : size - b;
        *last = size - 1;
        return 1;
    }
    a = http_range__num(v, i);
    if (a < 0 || *i >= v.len || v.p[*i] != '-')
        return -1;
    (*i)++;
    if (*i < v.len && v.p[*i] >= '0' && v.p[*i] <= '9') {
        b = http_range__num(v, i);
        if (b < 0 || b < a)
            return -1;
    }
    *i = http_range__ows(v, *i);
    if (*i < v.len && v.p[*i] != ',')
        return -1;
    if (a >= size)
        return 0;
    *first = a;
    *last = b < 0 || b >= size ? size - 1 : b;
    return 1;
}

http_range_result_t http_range_parse(str_t v, int64_t size, http_range_t *ranges, size_t max,
                                     size_t *n)
{
    static const char unit[] = "bytes=";
    size_t i = sizeof(unit) - 1;
    if (v.len < i || strncasecmp(v.p, unit, i) != 0)
        return HTTP_RANGE_NONE;
    if (max > HTTP_RANGE_MAX)
        max = HTTP_RANGE_MAX;

    http_range__item_t item[HTTP_RANGE_MAX];
    size_t specs = 0, k = 0;
    int64_t total = 0;
    /* Every turn consumes at least one byte (a comma, or a spec). */
    for (size_t turn = 0; i < v.len && turn <= v.len; turn++) {
        /* 1#range-spec: empty list elements are allowed and skipped. */
        i = http_range__ows(v, i);
        if (i < v.len && v.p[i] == ',') {
            i++;
            continue;
        }
        if (i >= v.len)
            break;
        if (specs++ == max)
            return HTTP_RANGE_NONE; /* too many: not worth the parts */
        int64_t first, last;
        int r = http_range__spec(v, &i, size, &first, &last);
        if (r < 0)
            return HTTP_RANGE_NONE;
        if (r == 0)
            continue;
        int64_t len = last - first + 1;
        if (len > size - total)
            return HTTP_RANGE_NONE; /* more than the file: send the file */
        total += len;
        item[k].start = first;
        item[k].end = last;
        item[k].order = k;
        k++;
    }
    if (specs == 0)
        return HTTP_RANGE_NONE;
    if (k == 0)
        return HTTP_RANGE_UNSATISFIABLE;

    /* Coalesce: by start, then merge what overlaps or nearly touches. */
    http_range__sort(item, k, 0);
    size_t m = 0;
    for (size_t a = 0; a < k; a++) {
        if (m > 0 && item[a].start - item[m - 1].end <= 1 + HTTP_RANGE_GAP) {
            if (item[a].end > item[m - 1].end)
                item[m - 1].end = item[a].end;
            if (item[a].order < item[m - 1].order)
                item[m - 1].order = item[a].order;
            continue;
        }
        item[m++] = item[a];
    }
    /* Back in request order. */
    http_range__sort(item, m, 1);
    for (size_t a = 0; a < m; a++) {
        ranges[a].start = item[a].start;
        ranges[a].end = item[a].end;
    }
    *n = m;
    return HTTP_RANGE_OK;
}
