/*
 * http_response_parser: see http_response_parser.h.
 */
#include "http_response_parser.h"

#include <string.h>

#include "str.h"

/* 1 when the value is the single coding "chunked". */
static int http_response__only_chunked(str_t v)
{
    size_t s = 0, e = v.len;
    while (s < e && (v.p[s] == ' ' || v.p[s] == '\t'))
        s++;
    while (e > s && (v.p[e - 1] == ' ' || v.p[e - 1] == '\t'))
        e--;
    return e - s == 7 && strncasecmp(v.p + s, "chunked", 7) == 0;
}

/* Acts on the fields that frame the body. 0, or -1: a 502. */
static int http_response__field(http_response_t *res, str_t name, str_t value, int *seen_te,
                                int *keep_alive)
{
    if (STR_CASEEQ(name, "content-length")) {
        /* Once, as for requests: two of them, even equal, is a response
         * some other hop may frame differently. */
        if (res->content_length >= 0 || http_content_length(value, &res->content_length) < 0)
            return -1;
    } else if (STR_CASEEQ(name, "transfer-encoding")) {
        /* One coding, chunked, once: anything else a proxy would have to
         * guess the end of. */
        if (*seen_te || !http_response__only_chunked(value))
            return -1;
        *seen_te = 1;
        res->chunked = 1;
    } else if (STR_CASEEQ(name, "connection")) {
        if (res->connection.len == 0)
            res->connection = value;
        else
            res->connection = str_make(res->connection.p,
                                       (size_t)(value.p + value.len - res->connection.p));
        if (http_list_has(value, "close", 5))
            res->close = 1;
        if (http_list_has(value, "keep-alive", 10))
            *keep_alive = 1;
    }
    return 0;
}

/* HTTP/1.x SP 3DIGIT [SP reason] CRLF; 0 and *pp past it, or -1. */
static int http_response__status_line(const char **pp, const char *end, http_response_t *res)
{
    const char *p = *pp;
    if (end - p < 14 || memcmp(p, "HTTP/1.", 7) != 0 || (p[7] != '0' && p[7] != '1') ||
        p[8] != ' ' || p[9] < '1' || p[9] > '5' || p[10] < '0' || p[10] > '9' || p[11] < '0' ||
        p[11] > '9' || (p[12] != ' ' && p[12] != '\r'))
        return -1;
    res->version_minor = p[7] - '0';
    res->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    p += 12;
    if (*p == ' ')
        p++;
    const char *rs = p;
    while (*p != '\r') {
        unsigned char c = (unsigned char)*p;
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return -1;
        p++;
    }
    res->reason = str_make(rs, (size_t)(p - rs));
    *pp = p + 2; /* CRLF, guaranteed by http_head_end */
    return 0;
}

ssize_t http_parse_response(const char *buf, size_t len, size_t last_len, size_t max_head,
                            http_response_t *res)
{
    memset(res, 0, offsetof(http_response_t, headers));
    res->num_headers = 0;
    res->content_length = -1;
    res->connection = STR_NULL;
    res->chunked = res->close = 0;
    size_t limit = len < max_head ? len : max_head;
    size_t from = last_len > 3 ? last_len - 3 : 0;
    if (from > limit)
        from = limit;
    ssize_t n = http_head_end(buf, from, limit);
    if (n < 0)
        return -1;
    if (n == 0)
        return len >= max_head ? -1 : -2;
    const char *p = buf, *end = buf + n;
    if (http_response__status_line(&p, end, res) < 0)
        return -1;
    int seen_te = 0, keep_alive = 0;
    while (p[0] != '\r') {
        str_t name, value;
        if (http_field_line(&p, &name, &value) < 0 || res->num_headers == HTTP_MAX_HEADERS)
            return -1;
        res->headers[res->num_headers].name = name;
        res->headers[res->num_headers].value = value;
        res->num_headers++;
        if (http_response__field(res, name, value, &seen_te, &keep_alive) < 0)
            return -1;
    }
    if (res->chunked && res->content_length >= 0)
        return -1;
    if (res->version_minor == 0 && res->chunked)
        return -1; /* chunked is HTTP/1.1 */
    if (res->version_minor == 0 && !keep_alive)
        res->close = 1;
    return n;
}

enum {
    HTTP_CHUNKED_SIZE0 = 0, /* the first hex digit */
    HTTP_CHUNKED_SIZE,      /* more hex digits, ';' or CR */
    HTTP_CHUNKED_EXT,       /* an extension, to CR */
    HTTP_CHUNKED_SIZE_LF,
    HTTP_CHUNKED_DATA,
    HTTP_CHUNKED_DATA_CR,
    HTTP_CHUNKED_DATA_LF,
    HTTP_CHUNKED_TRAILER0,  /* the start of a trailer line, or the final CRLF */
    HTTP_CHUNKED_TRAILER,   /* in a trailer line */
    HTTP_CHUNKED_TRAILER_LF,
    HTTP_CHUNKED_END_LF,
    HTTP_CHUNKED_DONE,
};

int http_chunked_next(http_chunked_t *st, const char *p, size_t len, size_t *used,
                      const char **data, size_t *dlen)
{
    size_t i = 0;
    *data = NULL;
    *dlen = 0;
    while (i < len) {
        char c = p[i];
        int h;
        switch (st->state) {
        case HTTP_CHUNKED_SIZE0:
            if ((h = str_hex_digit(c)) < 0)
                return -1;
            st->left = (uint64_t)h;
            st->state = HTTP_CHUNKED_SIZE;
            i++;
            break;
        case HTTP_CHUNKED_SIZE:
            if ((h = str_hex_digit(c)) >= 0) {
                if (st->left >> 56)
                    return -1; /* over 2^60 bytes: no real chunk */
                st->left = st->left * 16 + (uint64_t)h;
            } else if (c == ';' || c == ' ' || c == '\t') {
                st->state = HTTP_CHUNKED_EXT;
            } else if (c == '\r') {
                st->state = HTTP_CHUNKED_SIZE_LF;
            } else {
                return -1;
            }
            i++;
            break;
        case HTTP_CHUNKED_EXT:
            if (c == '\r')
                st->state = HTTP_CHUNKED_SIZE_LF;
            else if (((unsigned char)c < 0x20 && c != '\t') || c == 0x7f)
                return -1;
            if (++st->trailer > HTTP_CHUNKED_TRAILER_MAX)
                return -1;
            i++;
            break;
        case HTTP_CHUNKED_SIZE_LF:
            if (c != '\n')
                return -1;
            i++;
            st->trailer = 0;
            st->state = st->left == 0 ? HTTP_CHUNKED_TRAILER0 : HTTP_CHUNKED_DATA;
            break;
        case HTTP_CHUNKED_DATA: {
            size_t n = len - i;
            if ((uint64_t)n > st->left)
                n = (size_t)st->left;
            *data = p + i;
            *dlen = n;
            st->left -= n;
            i += n;
            if (st->left == 0)
                st->state = HTTP_CHUNKED_DATA_CR;
            *used = i;
            return 0;
        }
        case HTTP_CHUNKED_DATA_CR:
            if (c != '\r')
                return -1;
            st->state = HTTP_CHUNKED_DATA_LF;
            i++;
            break;
        case HTTP_CHUNKED_DATA_LF:
            if (c != '\n')
                return -1;
            st->state = HTTP_CHUNKED_SIZE0;
            i++;
            break;
        case HTTP_CHUNKED_TRAILER0:
            if (c == '\r') {
                st->state = HTTP_CHUNKED_END_LF;
            } else if (http_is_tchar((unsigned char)c)) {
                st->state = HTTP_CHUNKED_TRAILER;
            } else {
                return -1;
            }
            i++;
            break;
        case HTTP_CHUNKED_TRAILER:
            if (c == '\r')
                st->state = HTTP_CHUNKED_TRAILER_LF;
            else if (((unsigned char)c < 0x20 && c != '\t') || c == 0x7f)
                return -1;
            if (++st->trailer > HTTP_CHUNKED_TRAILER_MAX)
                return -1;
            i++;
            break;
        case HTTP_CHUNKED_TRAILER_LF:
            if (c != '\n')
                return -1;
            st->state = HTTP_CHUNKED_TRAILER0;
            i++;
            break;
        case HTTP_CHUNKED_END_LF:
            if (c != '\n')
                return -1;
            st->state = HTTP_CHUNKED_DONE;
            *used = i + 1;
            return 1;
        default:
            *used = i;
            return 1;
        }
    }
    *used = i;
    return 0;
}
