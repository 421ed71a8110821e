/*
 * http_parser: see http_parser.h.
 *
 * Two passes over a head: first find where it ends (CRLF CRLF) while
 * refusing bare CR and bare LF as they arrive, so a client that uses bare
 * LF gets its 400 at once instead of waiting for a timeout; then, once the
 * head is whole, parse and validate it line by line. Only the first pass is
 * repeated when bytes trickle in, and it resumes where it stopped.
 */
#include "http_parser.h"

#include "http_host.h"

#include <string.h>

/* tchar of RFC 9110 section 5.6.2. */
static const unsigned char http__tchar[256] = {
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1,
    ['+'] = 1, ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1, ['|'] = 1,
    ['~'] = 1,
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1,
    ['7'] = 1, ['8'] = 1, ['9'] = 1,
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1,
    ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1,
    ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1,
    ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1,
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1,
    ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1,
    ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1,
    ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

#define IS_TCHAR(c) (http__tchar[(unsigned char)(c)])

int http_is_tchar(unsigned char c)
{
    return http__tchar[c];
}
/* field-vchar, SP and HTAB (RFC 9110 section 5.5), obs-text included. */
#define IS_FIELD_CHAR(c) \
    ((unsigned char)(c) >= 0x20 ? (unsigned char)(c) != 0x7f : (c) == '\t')
/* Visible ASCII, for a request target. */
#define IS_TARGET_CHAR(c) ((unsigned char)(c) > 0x20 && (unsigned char)(c) < 0x7f)

static const struct {
    const char *name;
    size_t len;
    http_method_t method;
} http__methods[] = {
    { "GET", 3, HTTP_METHOD_GET },         { "HEAD", 4, HTTP_METHOD_HEAD },
    { "OPTIONS", 7, HTTP_METHOD_OPTIONS }, { "POST", 4, HTTP_METHOD_POST },
    { "PUT", 3, HTTP_METHOD_PUT },         { "DELETE", 6, HTTP_METHOD_DELETE },
    { "PATCH", 5, HTTP_METHOD_PATCH },     { "CONNECT", 7, HTTP_METHOD_CONNECT },
    { "TRACE", 5, HTTP_METHOD_TRACE },
};

static ssize_t http__fail(http_request_t *req, int status)
{
    req->status = status;
    return -1;
}

/* How many elements of the comma-separated list `v` equal `token`. */
static unsigned http__list_count(str_t v, const char *token, size_t tlen)
{
    unsigned n = 0;
    size_t i = 0;
    while (i < v.len) {
        while (i < v.len && (v.p[i] == ' ' || v.p[i] == '\t' || v.p[i] == ','))
            i++;
        size_t s = i;
        while (i < v.len && v.p[i] != ',')
            i++;
        size_t e = i;
        while (e > s && (v.p[e - 1] == ' ' || v.p[e - 1] == '\t'))
            e--;
        if (e > s && e - s == tlen && strncasecmp(v.p + s, token, tlen) == 0)
            n++;
    }
    return n;
}

/* 1 when the comma-separated list `v` holds `token` (case-insensitive). */
int http_list_has(str_t v, const char *token, size_t tlen)
{
    return http__list_count(v, token, tlen) > 0;
}

/* The last element of a comma-separated list, trimmed. */
static str_t http__list_last(str_t v)
{
    size_t e = v.len;
    while (e > 0 && (v.p[e - 1] == ' ' || v.p[e - 1] == '\t' || v.p[e - 1] == ','))
        e--;
    size_t s = e;
    while (s > 0 && v.p[s - 1] != ',')
        s--;
    while (s < e && (v.p[s] == ' ' || v.p[s] == '\t'))
        s++;
    return str_make(v.p + s, e - s);
}

static int http__parse_target(http_request_t *req)
{
    str_t t = req->target;
    if (t.len == 1 && t.p[0] == '*') {
        if (req->method != HTTP_METHOD_OPTIONS)
            return -1;
        req->path = t;
        req->query = STR_NULL;
        return 0;
    }
    if (req->method == HTTP_METHOD_CONNECT) {
        /* authority-form, and only for CONNECT (RFC 9112 3.2.3):
         * uri-host ":" port, which replaces Host. The server answers 405,
         * but a well-formed CONNECT deserves that rather than a 400. */
        str_t h;
        int port;
        if (http_host_parse(t, &h, &port) < 0 || h.len == 0 || port < 0)
            return -1;
        req->host = t;
        req->path = STR_NULL;
        req->query = STR_NULL;
        return 0;
    }
    size_t i = 0;
    if (t.p[0] != '/') {
        /* absolute-form: "http://host[:port]/path?query" (RFC 9112 3.2.2). */
        size_t scheme = 0;
        if (t.len > 7 && strncasecmp(t.p, "http://", 7) == 0)
            scheme = 7;
        else if (t.len > 8 && strncasecmp(t.p, "https://", 8) == 0)
            scheme = 8;
        else
            return -1;
        i = scheme;
        while (i < t.len && t.p[i] != '/' && t.p[i] != '?')
            i++;
        if (i == scheme)
            return -1;
        /* The authority of an absolute-form target replaces Host; it is
         * held to the same grammar (userinfo, "user@host", is refused as
         * RFC 9110 4.2.4 deprecates it). */
        req->host = str_make(t.p + scheme, i - scheme);
        str_t h;
        int port;
        if (http_host_parse(req->host, &h, &port) < 0 || h.len == 0)
            return -1;
        if (i == t.len || t.p[i] == '?') {
            /* "http://h" or "http://h?q": the path is "/" */
            req->path = STR_LIT("/");
            req->query = i < t.len ? str_make(t.p + i + 1, t.len - i - 1) : STR_NULL;
            return 0;
        }
    }
    const char *q = memchr(t.p + i, '?', t.len - i);
    if (q != NULL) {
        req->path = str_make(t.p + i, (size_t)(q - (t.p + i)));
        req->query = str_make(q + 1, t.len - (size_t)(q + 1 - t.p));
    } else {
        req->path = str_make(t.p + i, t.len - i);
        req->query = STR_NULL;
    }
    return 0;
}

int http_content_length(str_t v, int64_t *out)
{
    if (v.len == 0 || v.len > 18)
        return -1;
    int64_t n = 0;
    for (size_t i = 0; i < v.len; i++) {
        if (v.p[i] < '0' || v.p[i] > '9')
            return -1;
        n = n * 10 + (v.p[i] - '0');
    }
    *out = n;
    return 0;
}

/* Acts on the fields the server cares about (Host is the caller's).
 * Returns 0 or an HTTP status. */
static int http__header(http_request_t *req, str_t name, str_t value, int *seen_te,
                        unsigned *te_chunked, unsigned *connection)
{
    switch (name.len) {
    case 5:
        if (STR_CASEEQ(name, "range"))
            req->range = value;
        break;
    case 6:
        if (STR_CASEEQ(name, "expect")) {
            if (STR_CASEEQ(value, "100-continue"))
                req->expect_continue = 1;
            else
                req->bad_expect = 1;
        }
        break;
    case 7:
        if (STR_CASEEQ(name, "referer"))
            req->referer = value;
        break;
    case 8:
        if (STR_CASEEQ(name, "if-match"))
            req->if_match = value;
        else if (STR_CASEEQ(name, "if-range"))
            req->if_range = value;
        break;
    case 10:
        if (STR_CASEEQ(name, "connection")) {
            /* Several Connection lines form one list: collect options. */
            if (http_list_has(value, "close", 5))
                *connection |= 1;
            if (http_list_has(value, "keep-alive", 10))
                *connection |= 2;
        }
        else if (STR_CASEEQ(name, "user-agent"))
            req->user_agent = value;
        break;
    case 13:
        if (STR_CASEEQ(name, "if-none-match"))
            req->if_none_match = value;
        break;
    case 14:
        if (STR_CASEEQ(name, "content-length")) {
            int64_t n;
            if (req->content_length >= 0 || http_content_length(value, &n) < 0)
                return 400;
            req->content_length = n;
        }
        break;
    case 15:
        if (STR_CASEEQ(name, "accept-encoding"))
            req->accept_encoding = value;
        break;
    case 17:
        if (STR_CASEEQ(name, "if-modified-since"))
            req->if_modified_since = value;
        else if (STR_CASEEQ(name, "transfer-encoding")) {
            /* Several Transfer-Encoding fields form one list; only the last
             * coding decides whether the body length is known. */
            if (value.len == 0)
                return 400;
            str_t last = http__list_last(value);
            req->chunked = STR_CASEEQ(last, "chunked");
            /* RFC 9112 6.1: chunked is applied at most once, in one line
             * ("chunked, chunked") or across two. A second one is a 400
             * here, or the request would reach the method check and get
             * a 405 for a message whose framing is already wrong. */
            *seen_te = 1;
            *te_chunked += http__list_count(value, "chunked", 7);
            if (*te_chunked > 1)
                return 400;
        }
        break;
    case 19:
        if (STR_CASEEQ(name, "if-unmodified-since"))
            req->if_unmodified_since = value;
        break;
    }
    return 0;
}

/*
 * First pass: looks for the end of the head in buf[from..limit), refusing a
 * bare CR or LF. Returns the offset just past CRLF CRLF, 0 when not there
 * yet, or -1 on a bare CR/LF.
 */
ssize_t http_head_end(const char *buf, size_t from, size_t limit)
{
    for (size_t i = from; i < limit; i++) {
        char c = buf[i];
        if (c == '\n') {
            if (i == 0 || buf[i - 1] != '\r')
                return -1;
            if (i >= 3 && buf[i - 2] == '\n' && buf[i - 3] == '\r')
                return (ssize_t)(i + 1);
        } else if (c == '\r') {
            if (i + 1 < limit && buf[i + 1] != '\n')
                return -1;
        }
    }
    return 0;
}

int http_field_line(const char **pp, str_t *name, str_t *value)
{
    const char *p = *pp;
    if (*p == ' ' || *p == '\t')
        return -1; /* obs-fold */
    const char *s = p;
    while (IS_TCHAR(*p))
        p++;
    if (p == s || *p != ':')
        return -1; /* bad name, or space before colon */
    *name = str_make(s, (size_t)(p - s));
    p++;
    while (*p == ' ' || *p == '\t')
        p++;
    s = p;
    while (*p != '\r') {
        if (!IS_FIELD_CHAR(*p))
            return -1;
        p++;
    }
    const char *e = p;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    *value = str_make(s, (size_t)(e - s));
    *pp = p + 2; /* CRLF, guaranteed by http_head_end */
    return 0;
}

/*
 * The request line at *pp, which ends before `end` with CRLF:
 *   method SP request-target SP HTTP-version CRLF
 * Returns 0 and moves *pp past it, or the error status.
 */
static int http__request_line(const char **pp, const char *end, http_request_t *req)
{
    const char *p = *pp;
    const char *s = p;
    while (p < end && IS_TCHAR(*p))
        p++;
    if (p == s || p == end || *p != ' ')
        return 400;
    req->method_name = str_make(s, (size_t)(p - s));
    req->method = HTTP_METHOD_UNKNOWN;
    for (size_t i = 0; i < sizeof(http__methods) / sizeof(http__methods[0]); i++) {
        if (str_eq(req->method_name, http__methods[i].name, http__methods[i].len)) {
            req->method = http__methods[i].method;
            break;
        }
    }
    p++;

    s = p;
    while (p < end && IS_TARGET_CHAR(*p))
        p++;
    if (p == s || p == end || *p != ' ')
        return 400; /* no version (HTTP/0.9), or a bad byte in the target */
    req->target = str_make(s, (size_t)(p - s));
    p++;

    /* "HTTP/" DIGIT "." DIGIT CRLF */
    if (end - p < 10 || memcmp(p, "HTTP/", 5) != 0 || p[5] < '0' || p[5] > '9' ||
        p[6] != '.' || p[7] < '0' || p[7] > '9' || p[8] != '\r' || p[9] != '\n')
        return 400;
    if (p[5] != '1')
        return 505;
    /* A higher minor version is handled as the highest we know (RFC 9110
     * section 2.5). */
    req->version_minor = p[7] == '0' ? 0 : 1;
    *pp = p + 10;
    return 0;
}

ssize_t http_parse_request(const char *buf, size_t len, size_t last_len, size_t max_head,
                           http_request_t *req)
{
    memset(req, 0, sizeof(*req));
    req->content_length = -1;

    /* RFC 9112 2.2: ignore empty lines before a request line (some clients
     * send a CRLF after a body). */
    size_t skip = 0;
    while (skip + 1 < len && buf[skip] == '\r' && buf[skip + 1] == '\n' && skip < 8)
        skip += 2;
    if (skip < len && buf[skip] == '\r' && skip + 1 == len)
        return -2;

    size_t limit = len < skip + max_head ? len : skip + max_head;
    size_t from = last_len > skip + 3 ? last_len - 3 : skip;
    if (from > limit)
        from = limit;
    ssize_t end = http_head_end(buf, from, limit);
    if (end < 0)
        return http__fail(req, 400);
    if (end == 0) {
        /* Judge the request line as soon as it is whole, so that "GET /"
         * with no version, or garbage, gets its 400 without waiting for a
         * head that will never end. */
        const char *nl = memchr(buf + skip, '\n', limit - skip);
        /* Only once: when the line ended before last_len, the previous
         * call judged it already (keeps a trickled head linear). */
        if (nl != NULL && (size_t)(nl - buf) + 3 >= last_len) {
            const char *rl = buf + skip;
            int st = http__request_line(&rl, nl + 1, req);
            if (st != 0)
                return http__fail(req, st);
        }
        if (len - skip < max_head)
            return -2;
        /* Too long: 414 if even the request line did not end. */
        if (memchr(buf + skip, '\n', max_head) == NULL)
            return http__fail(req, 414);
        return http__fail(req, 431);
    }

    const char *p = buf + skip;
    const char *head_end = buf + end;
    int st = http__request_line(&p, head_end, req);
    if (st != 0)
        return http__fail(req, st);

    if (http__parse_target(req) < 0)
        return http__fail(req, 400);
    str_t abs_host = req->host;

    int seen_te = 0, seen_host = 0;
    unsigned te_chunked = 0;
    unsigned connection = 0; /* 1: close, 2: keep-alive */
    while (p < head_end) {
        if (p[0] == '\r') /* the empty line: find_end guarantees "\r\n" */
            break;
        str_t name, value;
        if (http_field_line(&p, &name, &value) < 0)
            return http__fail(req, 400);

        if (req->num_headers == HTTP_MAX_HEADERS)
            return http__fail(req, 431);
        req->headers[req->num_headers].name = name;
        req->headers[req->num_headers].value = value;
        req->num_headers++;

        if (name.len == 4 && STR_CASEEQ(name, "host")) {
            if (seen_host++)
                return http__fail(req, 400);
            /* RFC 9112 3.2: an invalid Host is a 400, even when an
             * absolute-form target overrides it. */
            str_t h;
            int port;
            if (http_host_parse(value, &h, &port) < 0)
                return http__fail(req, 400);
            if (abs_host.p == NULL)
                req->host = value;
            continue;
        }
        int hst = http__header(req, name, value, &seen_te, &te_chunked, &connection);
        if (hst > 0)
            return http__fail(req, hst);
    }

    if (req->version_minor == 1 && !seen_host)
        return http__fail(req, 400);
    if (seen_te) {
        /* RFC 9112 6.1 and 6.3: CL with TE, TE in HTTP/1.0, or a final
         * coding other than chunked all make the framing unreliable. */
        if (req->content_length >= 0 || req->version_minor == 0 || !req->chunked)
            return http__fail(req, 400);
    }

    if (connection & 1)
        req->keep_alive = 0;
    else if (req->version_minor == 1 || (connection & 2))
        req->keep_alive = 1;

    return end;
}

http_method_t http_method_lookup(str_t name)
{
    for (size_t i = 0; i < sizeof(http__methods) / sizeof(http__methods[0]); i++)
        if (str_eq(name, http__methods[i].name, http__methods[i].len))
            return http__methods[i].method;
    return HTTP_METHOD_UNKNOWN;
}

const char *http_method_name(http_method_t m)
{
    for (size_t i = 0; i < sizeof(http__methods) / sizeof(http__methods[0]); i++)
        if (http__methods[i].method == m)
            return http__methods[i].name;
    return NULL;
}

int http_request_target(http_request_t *req)
{
    if (req->target.len == 0)
        return -1;
    return http__parse_target(req);
}

int http_request_field(http_request_t *req, str_t name, str_t value)
{
    int seen_te = 0;
    unsigned te_chunked = 0, connection = 0;
    return http__header(req, name, value, &seen_te, &te_chunked, &connection);
}

const char *http_status_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 103: return "Early Hints";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 203: return "Non-Authoritative Information";
    case 204: return "No Content";
    case 205: return "Reset Content";
    case 206: return "Partial Content";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 421: return "Misdirected Request";
    case 422: return "Unprocessable Content";
    case 425: return "Too Early";
    case 426: return "Upgrade Required";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 451: return "Unavailable For Legal Reasons";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}
