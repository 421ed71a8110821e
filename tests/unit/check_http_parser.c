/*
 * Unit tests for common/http/http_parser: the incremental, strict request-head
 * parser. Every input is copied so that it ends right before a PROT_NONE page
 * (picohttpparser's trick): a parser that reads one byte past len crashes the
 * test instead of passing by luck.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guarded.h"
#include "http_parser.h"

#define MAX_HEAD 8192

static ssize_t parse_len(const char *s, size_t len, size_t max_head, http_request_t *req)
{
    const char *buf = guarded(s, len);

    memset(req, 0, sizeof(*req));
    return http_parse_request(buf, len, 0, max_head, req);
}

static ssize_t parse(const char *s, http_request_t *req)
{
    return parse_len(s, strlen(s), MAX_HEAD, req);
}

/* Asserts that a slice holds exactly the bytes of a C string. */
#define ck_assert_slice(s, lit)                                                      \
    do {                                                                             \
        str_t sl_ = (s);                                                             \
        const char *lit_ = (lit);                                                    \
        size_t n_ = strlen(lit_);                                                    \
        ck_assert_msg(sl_.len == n_ && (n_ == 0 || memcmp(sl_.p, lit_, n_) == 0),     \
                      "%s is \"%.*s\" (len %zu), expected \"%s\"", #s, (int)sl_.len, \
                      sl_.p ? sl_.p : "", sl_.len, lit_);                            \
    } while (0)

#define ck_assert_parsed(r, s, req)                                                  \
    ck_assert_msg((r) == (ssize_t)strlen(s), "parse returned %zd (status %d), "      \
                  "expected %zu", (ssize_t)(r), (req).status, strlen(s))

/* ---- well-formed requests ------------------------------------------------ */

static const char simple_get[] = "GET /index.html HTTP/1.1\r\n"
                                 "Host: example.com\r\n"
                                 "\r\n";

START_TEST(test_simple_get)
{
    http_request_t req;
    ssize_t r = parse(simple_get, &req);

    ck_assert_parsed(r, simple_get, req);
    ck_assert_int_eq(req.method, HTTP_METHOD_GET);
    ck_assert_slice(req.method_name, "GET");
    ck_assert_slice(req.target, "/index.html");
    ck_assert_slice(req.path, "/index.html");
    ck_assert_uint_eq(req.query.len, 0);
    ck_assert_int_eq(req.version_minor, 1);
    ck_assert_uint_eq(req.num_headers, 1);
    ck_assert_slice(req.headers[0].name, "Host");
    ck_assert_slice(req.headers[0].value, "example.com");
    ck_assert_slice(req.host, "example.com");
    ck_assert_int_eq(req.content_length, -1);
    ck_assert_uint_eq(req.keep_alive, 1);
    ck_assert_uint_eq(req.chunked, 0);
    ck_assert_uint_eq(req.expect_continue, 0);
    ck_assert_uint_eq(req.bad_expect, 0);
    ck_assert_uint_eq(req.range.len, 0);
    ck_assert_uint_eq(req.if_none_match.len, 0);
    ck_assert_uint_eq(req.user_agent.len, 0);
}
END_TEST

/* The parser is a pure function: it must set every field itself, whatever
 * the caller's struct held before (a worker reuses one per connection). */
START_TEST(test_initialises_result)
{
    http_request_t req;
    const char *buf = guarded(simple_get, strlen(simple_get));
    ssize_t r;

    memset(&req, 0xA5, sizeof(req));
    r = http_parse_request(buf, strlen(simple_get), 0, MAX_HEAD, &req);
    ck_assert_parsed(r, simple_get, req);
    ck_assert_uint_eq(req.num_headers, 1);
    ck_assert_uint_eq(req.query.len, 0);
    ck_assert_int_eq(req.content_length, -1);
    ck_assert_uint_eq(req.keep_alive, 1);
    ck_assert_uint_eq(req.chunked, 0);
    ck_assert_uint_eq(req.expect_continue, 0);
    ck_assert_uint_eq(req.bad_expect, 0);
    ck_assert_uint_eq(req.if_none_match.len, 0);
    ck_assert_uint_eq(req.if_modified_since.len, 0);
    ck_assert_uint_eq(req.if_match.len, 0);
    ck_assert_uint_eq(req.if_unmodified_since.len, 0);
    ck_assert_uint_eq(req.if_range.len, 0);
    ck_assert_uint_eq(req.range.len, 0);
    ck_assert_uint_eq(req.accept_encoding.len, 0);
    ck_assert_uint_eq(req.referer.len, 0);
    ck_assert_uint_eq(req.user_agent.len, 0);
}
END_TEST

static const char all_fields[] =
    "GET /docs/a%20b.html?x=1&y=2 HTTP/1.1\r\n"
    "Host: example.com:8080\r\n"
    "If-None-Match: \"abc\", W/\"def\"\r\n"
    "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
    "If-Match: \"m\"\r\n"
    "If-Unmodified-Since: Mon, 07 Nov 1994 08:49:37 GMT\r\n"
    "If-Range: \"r\"\r\n"
    "Range: bytes=0-99\r\n"
    "Accept-Encoding: gzip, deflate\r\n"
    "Referer: http://example.com/start\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\n"
    "Content-Length: 0\r\n"
    "X-Custom: anything goes\r\n"
    "\r\n";

START_TEST(test_all_fields)
{
    http_request_t req;
    ssize_t r = parse(all_fields, &req);

    ck_assert_parsed(r, all_fields, req);
    ck_assert_slice(req.target, "/docs/a%20b.html?x=1&y=2");
    ck_assert_slice(req.path, "/docs/a%20b.html");
    ck_assert_slice(req.query, "x=1&y=2");
    ck_assert_uint_eq(req.num_headers, 12);
    ck_assert_slice(req.host, "example.com:8080");
    ck_assert_slice(req.if_none_match, "\"abc\", W/\"def\"");
    ck_assert_slice(req.if_modified_since, "Sun, 06 Nov 1994 08:49:37 GMT");
    ck_assert_slice(req.if_match, "\"m\"");
    ck_assert_slice(req.if_unmodified_since, "Mon, 07 Nov 1994 08:49:37 GMT");
    ck_assert_slice(req.if_range, "\"r\"");
    ck_assert_slice(req.range, "bytes=0-99");
    ck_assert_slice(req.accept_encoding, "gzip, deflate");
    ck_assert_slice(req.referer, "http://example.com/start");
    ck_assert_slice(req.user_agent, "Mozilla/5.0 (X11; Linux x86_64)");
    ck_assert_int_eq(req.content_length, 0);
    ck_assert_slice(req.headers[11].name, "X-Custom");
    ck_assert_slice(req.headers[11].value, "anything goes");
    ck_assert_slice(req.headers[6].name, "Range");
    ck_assert_slice(req.headers[6].value, "bytes=0-99");
}
END_TEST

START_TEST(test_case_insensitive_names)
{
    static const char s[] = "GET / HTTP/1.1\r\n"
                            "hOsT: h.example\r\n"
                            "rAnGe: bytes=1-2\r\n"
                            "USER-AGENT: ua\r\n"
                            "if-none-match: \"x\"\r\n"
                            "CONTENT-length: 7\r\n"
                            "CONNECTION: CLOSE\r\n"
                            "\r\n";
    http_request_t req;
    ssize_t r = parse(s, &req);

    ck_assert_parsed(r, s, req);
    ck_assert_slice(req.host, "h.example");
    ck_assert_slice(req.range, "bytes=1-2");
    ck_assert_slice(req.user_agent, "ua");
    ck_assert_slice(req.if_none_match, "\"x\"");
    ck_assert_int_eq(req.content_length, 7);
    ck_assert_uint_eq(req.keep_alive, 0);
    /* Names are kept as sent. */
    ck_assert_slice(req.headers[0].name, "hOsT");
}
END_TEST

/* Methods are case-sensitive (RFC 9110 section 9.1). */
START_TEST(test_methods)
{
    static const struct {
        const char *name;
        http_method_t method;
    } m[] = {
        { "GET", HTTP_METHOD_GET },       { "HEAD", HTTP_METHOD_HEAD },
        { "OPTIONS", HTTP_METHOD_OPTIONS }, { "POST", HTTP_METHOD_POST },
        { "PUT", HTTP_METHOD_PUT },       { "DELETE", HTTP_METHOD_DELETE },
        { "PATCH", HTTP_METHOD_PATCH },   { "TRACE", HTTP_METHOD_TRACE },
        { "BREW", HTTP_METHOD_UNKNOWN },  { "get", HTTP_METHOD_UNKNOWN },
        { "GETS", HTTP_METHOD_UNKNOWN },  { "M-SEARCH", HTTP_METHOD_UNKNOWN },
        { "X!#$%&'*+.^_`|~1", HTTP_METHOD_UNKNOWN },
    };
    size_t i;

    for (i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
        char s[256];
        http_request_t req;
        ssize_t r;

        snprintf(s, sizeof(s), "%s /x HTTP/1.1\r\nHost: h\r\n\r\n", m[i].name);
        r = parse(s, &req);
        ck_assert_msg(r == (ssize_t)strlen(s), "%s: parse returned %zd (status %d)", m[i].name,
                      r, req.status);
        ck_assert_msg(req.method == m[i].method, "%s: method %d, expected %d", m[i].name,
                      (int)req.method, (int)m[i].method);
        ck_assert_slice(req.method_name, m[i].name);
    }
}
END_TEST

START_TEST(test_unknown_method_brew)
{
    static const char s[] = "BREW /pot HTTP/1.1\r\nHost: h\r\n\r\n";
    http_request_t req;
    ssize_t r = parse(s, &req);

    ck_assert_parsed(r, s, req);
    ck_assert_int_eq(req.method, HTTP_METHOD_UNKNOWN);
    ck_assert_slice(req.method_name, "BREW");
    ck_assert_slice(req.path, "/pot");
}
END_TEST

START_TEST(test_http10_defaults)
{
    static const char s[] = "GET /a HTTP/1.0\r\n\r\n";
    http_request_t req;
    ssize_t r = parse(s, &req);

    ck_assert_parsed(r, s, req);
    ck_assert_int_eq(req.version_minor, 0);
    ck_assert_uint_eq(req.keep_alive, 0);
    ck_assert_uint_eq(req.host.len, 0);
    ck_assert_uint_eq(req.num_headers, 0);
    ck_assert_int_eq(req.content_length, -1);
}
END_TEST

START_TEST(test_http10_with_host)
{
    static const char s[] = "HEAD /a HTTP/1.0\r\nHost: h\r\n\r\n";
    http_request_t req;
    ssize_t r = parse(s, &req);

    ck_assert_parsed(r, s, req);
    ck_assert_int_eq(req.method, HTTP_METHOD_HEAD);
    ck_assert_int_eq(req.version_minor, 0);
    ck_assert_slice(req.host, "h");
}
END_TEST

/* Connection is a list of case-insensitive tokens (RFC 9110 section 7.6.1). */
START_TEST(test_keep_alive)
{
    static const struct {
        const char *req;
        unsigned keep_alive;
    } k[] = {
        { "GET / HTTP/1.1\r\nHost: h\r\n\r\n", 1 },
        { "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", 0 },
        { "GET / HTTP/1.1\r\nHost: h\r\nConnection: Close\r\n\r\n", 0 },
        { "GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\n\r\n", 1 },
        { "GET / HTTP/1.1\r\nHost: h\r\nConnection: TE, close\r\n\r\n", 0 },
        { "GET / HTTP/1.1\r\nHost: h\r\nConnection: close,TE\r\n\r\n", 0 },
        { "GET / HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\n\r\n", 1 },
        { "GET / HTTP/1.1\r\nHost: h\r\nConnection: closed\r\n\r\n", 1 },
        { "GET / HTTP/1.0\r\n\r\n", 0 },
        { "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 1 },
        { "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", 1 },
        { "GET / HTTP/1.0\r\nconnection: TE, keep-alive\r\n\r\n", 1 },
        { "GET / HTTP/1.0\r\nConnection: close\r\n\r\n", 0 },
        { "GET / HTTP/1.0\r\nConnection: keep-alives\r\n\r\n", 0 },
        /* Several field lines are one list (RFC 9110 section 5.3). */
        { "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\nConnection: TE\r\n\r\n", 0 },
        { "GET / HTTP/1.1\r\nHost: h\r\nConnection: TE\r\nConnection: close\r\n\r\n", 0 },
        { "GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: TE\r\n\r\n", 1 },
    };
    size_t i;

    for (i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
        http_request_t req;
        ssize_t r = parse(k[i].req, &req);

        ck_assert_msg(r == (ssize_t)strlen(k[i].req), "case %zu: parse returned %zd", i, r);
        ck_assert_msg(req.keep_alive == k[i].keep_alive, "case %zu (%s): keep_alive %u, expected %u",
                      i, k[i].req, (unsigned)req.keep_alive, k[i].keep_alive);
    }
}
END_TEST

/* OWS around a field value is not part of it; HTAB counts as OWS and is
 * allowed inside a value. obs-text (bytes >= 0x80) is allowed too. */
START_TEST(test_value_whitespace)
{
    static const char s[] = "GET / HTTP/1.1\r\n"
                            "Host:h\r\n"
                            "X-A:   a  b   \r\n"
                            "X-B:\t\tb\tc\t \r\n"
                            "X-C:\r\n"
                            "X-D: caf\xc3\xa9\r\n"
                            "User-Agent: \t ua \t\r\n"
                            "\r\n";
    http_request_t req;
    ssize_t r = parse(s, &req);

    ck_assert_parsed(r, s, req);
    ck_assert_uint_eq(req.num_headers, 6);
    ck_assert_slice(req.host, "h");
    ck_assert_slice(req.headers[1].value, "a  b");
    ck_assert_slice(req.headers[2].value, "b\tc");
    ck_assert_slice(req.headers[3].name, "X-C");
    ck_assert_uint_eq(req.headers[3].value.len, 0);
    ck_assert_slice(req.headers[4].value, "caf\xc3\xa9");
    ck_assert_slice(req.user_agent, "ua");
}
END_TEST

/* RFC 9112 section 3.2: a target without authority is sent with an empty
 * Host; it is still exactly one Host. */
START_TEST(test_empty_host)
{
    static const char s[] = "GET / HTTP/1.1\r\nHost:\r\n\r\n";
    http_request_t req;
    ssize_t r = parse(s, &req);

    ck_assert_parsed(r, s, req);
    ck_assert_uint_eq(req.host.len, 0);
}
END_TEST

/* RFC 9112 3.2 and RFC 3986 3.2.2: the forms of Host that are accepted. */
START_TEST(test_host_valid)
{
    static const char *const ok[] = {
        "example.com", "EXAMPLE.com:8080", "example.com.", "example.com.:80", "h:0",
        "h:65535", "h:00080", "127.0.0.1", "127.0.0.1:8080", "999.1.1.1",
        "a_b-c~d.example", "xn--bcher-kva.example", "[::1]", "[::1]:8080",
        "[2001:DB8::1]", "[::ffff:192.0.2.1]:443", "[v1.fe:x]", "[vF.a!b$c]",
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        char s[256];
        http_request_t req;
        snprintf(s, sizeof(s), "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", ok[i]);
        ssize_t r = parse(s, &req);
        ck_assert_msg(r == (ssize_t)strlen(s), "Host: %s: returned %zd (status %d)", ok[i], r,
                      req.status);
        ck_assert_slice(req.host, ok[i]);
    }
}
END_TEST

START_TEST(test_host_parse_parts)
{
    static const struct {
        const char *value, *host;
        int port;
    } c[] = {
        { "example.com", "example.com", -1 },  { "Example.COM.:8080", "Example.COM.", 8080 },
        { "h:0", "h", 0 },                     { "h:65535", "h", 65535 },
        { "[::1]", "[::1]", -1 },              { "[::1]:443", "[::1]", 443 },
        { "", "", -1 },
    };
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        str_t h;
        int port = 7;
        ck_assert_int_eq(http_host_parse(str_make(c[i].value, strlen(c[i].value)), &h, &port), 0);
        ck_assert_slice(h, c[i].host);
        ck_assert_int_eq(port, c[i].port);
    }
}
END_TEST

/* The form virtual hosts will compare: lower case, no port, no trailing dot,
 * an IPv6 literal whole. */
START_TEST(test_host_normalize)
{
    static const struct {
        const char *value, *norm;
    } c[] = {
        { "Example.COM", "example.com" },     { "example.com.:8080", "example.com" },
        { "EXAMPLE.com.", "example.com" },    { "127.0.0.1:80", "127.0.0.1" },
        { "[2001:DB8::1]:443", "[2001:db8::1]" }, { "[::1]", "[::1]" },
        { "", "" },                           { "a", "a" },
    };
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        char buf[64];
        str_t v = str_make(c[i].value, strlen(c[i].value));
        ssize_t n = http_host_normalize(v, buf, sizeof(buf));
        ck_assert_msg(n == (ssize_t)strlen(c[i].norm) && memcmp(buf, c[i].norm, (size_t)n) == 0,
                      "%s: got %zd \"%.*s\", expected \"%s\"", c[i].value, n,
                      n > 0 ? (int)n : 0, buf, c[i].norm);
    }
}
END_TEST

START_TEST(test_host_normalize_refuses)
{
    char buf[8];
    /* invalid, or longer than the caller's buffer: -1, buffer bounds kept */
    ck_assert_int_eq(http_host_normalize(STR_LIT("bad host"), buf, sizeof(buf)), -1);
    ck_assert_int_eq(http_host_normalize(STR_LIT("a/b"), buf, sizeof(buf)), -1);
    ck_assert_int_eq(http_host_normalize(STR_LIT("abcdefghi"), buf, sizeof(buf)), -1);
    ck_assert_int_eq(http_host_normalize(STR_LIT("abcdefgh.:80"), buf, sizeof(buf)), 8);
    ck_assert_int_eq(memcmp(buf, "abcdefgh", 8), 0);
}
END_TEST

/* RFC 9112 3.2.3: authority-form, for CONNECT only. The server answers
 * CONNECT with 405; the parser must let it through to be answered. */
START_TEST(test_connect_authority_form)
{
    static const char s[] = "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n";
    static const char s6[] = "CONNECT [::1]:8443 HTTP/1.1\r\nHost: [::1]:8443\r\n\r\n";
    http_request_t req;
    ssize_t r = parse(s, &req);

    ck_assert_parsed(r, s, req);
    ck_assert_int_eq(req.method, HTTP_METHOD_CONNECT);
    ck_assert_slice(req.target, "example.com:443");
    ck_assert_slice(req.host, "example.com:443");
    ck_assert_uint_eq(req.path.len, 0);

    r = parse(s6, &req);
    ck_assert_parsed(r, s6, req);
    ck_assert_slice(req.host, "[::1]:8443");
}
END_TEST

START_TEST(test_query_split)
{
    static const struct {
        const char *target, *path, *query;
    } q[] = {
        { "/a?b=c", "/a", "b=c" },
        { "/a", "/a", "" },
        { "/a?", "/a", "" },
        { "/a?b?c=/d", "/a", "b?c=/d" },
        { "/?x", "/", "x" },
        { "/a%3Fb?c", "/a%3Fb", "c" },
    };
    size_t i;

    for (i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
        char s[256];
        http_request_t req;
        ssize_t r;

        snprintf(s, sizeof(s), "GET %s HTTP/1.1\r\nHost: h\r\n\r\n", q[i].target);
        r = parse(s, &req);
        ck_assert_msg(r == (ssize_t)strlen(s), "%s: parse returned %zd", q[i].target, r);
        ck_assert_slice(req.target, q[i].target);
        ck_assert_slice(req.path, q[i].path);
        ck_assert_slice(req.query, q[i].query);
    }
}
END_TEST

START_TEST(test_options_star)
{
    static const char s[] = "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n";
    http_request_t req;
    ssize_t r = parse(s, &req);

    ck_assert_parsed(r, s, req);
    ck_assert_int_eq(req.method, HTTP_METHOD_OPTIONS);
    ck_assert_slice(req.target, "*");
    ck_assert_uint_eq(req.query.len, 0);
}
END_TEST

START_TEST(test_absolute_form)
{
    static const char s[] = "GET http://h/p?q HTTP/1.1\r\nHost: h\r\n\r\n";
    static const char s2[] = "GET https://example.com:8443/a/b.txt HTTP/1.1\r\n"
                             "Host: example.com:8443\r\n\r\n";
    http_request_t req;
    ssize_t r = parse(s, &req);

    ck_assert_parsed(r, s, req);
    ck_assert_slice(req.target, "http://h/p?q");
    ck_assert_slice(req.path, "/p");
    ck_assert_slice(req.query, "q");
    ck_assert_slice(req.host, "h");

    r = parse(s2, &req);
    ck_assert_parsed(r, s2, req);
    ck_assert_slice(req.path, "/a/b.txt");
    ck_assert_uint_eq(req.query.len, 0);
}
END_TEST

START_TEST(test_expect)
{
    static const char cont[] = "PUT /f HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n"
                               "Expect: 100-continue\r\n\r\n";
    static const char cont_case[] = "PUT /f HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n"
                                    "expect: 100-Continue\r\n\r\n";
    static const char other[] = "GET /f HTTP/1.1\r\nHost: h\r\nExpect: the-unexpected\r\n\r\n";
    http_request_t req;
    ssize_t r;

    r = parse(cont, &req);
    ck_assert_parsed(r, cont, req);
    ck_assert_uint_eq(req.expect_continue, 1);
    ck_assert_uint_eq(req.bad_expect, 0);
    ck_assert_int_eq(req.content_length, 3);

    r = parse(cont_case, &req);
    ck_assert_parsed(r, cont_case, req);
    ck_assert_uint_eq(req.expect_continue, 1);
    ck_assert_uint_eq(req.bad_expect, 0);

    r = parse(other, &req);
    ck_assert_parsed(r, other, req);
    ck_assert_uint_eq(req.expect_continue, 0);
    ck_assert_uint_eq(req.bad_expect, 1);
}
END_TEST

START_TEST(test_chunked)
{
    static const char s[] = "POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
    static const char s_case[] = "POST /up HTTP/1.1\r\nHost: h\r\ntransfer-encoding: Chunked\r\n\r\n";
    static const char s_list[] = "POST /up HTTP/1.1\r\nHost: h\r\n"
                                 "Transfer-Encoding: gzip, chunked\r\n\r\n";
    http_request_t req;
    ssize_t r;

    r = parse(s, &req);
    ck_assert_parsed(r, s, req);
    ck_assert_int_eq(req.method, HTTP_METHOD_POST);
    ck_assert_uint_eq(req.chunked, 1);
    ck_assert_int_eq(req.content_length, -1);

    r = parse(s_case, &req);
    ck_assert_parsed(r, s_case, req);
    ck_assert_uint_eq(req.chunked, 1);

    r = parse(s_list, &req);
    ck_assert_parsed(r, s_list, req);
    ck_assert_uint_eq(req.chunked, 1);
}
END_TEST

/* RFC 9112 section 2.2: a server SHOULD ignore at least one empty line
 * before the request line (a client may send CRLF after a body). The
 * consumed count includes it. */
START_TEST(test_leading_empty_line)
{
    static const char s[] = "\r\nGET /x HTTP/1.1\r\nHost: h\r\n\r\n";
    http_request_t req;
    ssize_t r = parse(s, &req);

    ck_assert_parsed(r, s, req);
    ck_assert_int_eq(req.method, HTTP_METHOD_GET);
    ck_assert_slice(req.path, "/x");
    /* just the CRLF so far: wait for the request */
    ck_assert_int_eq(parse_len(s, 2, MAX_HEAD, &req), -2);
}
END_TEST

/* The return value counts the head only: a body that follows is the
 * caller's business. */
START_TEST(test_body_not_consumed)
{
    static const char s[] = "POST /f HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello";
    http_request_t req;
    ssize_t r = parse(s, &req);

    ck_assert_int_eq(r, (ssize_t)strlen(s) - 5);
    ck_assert_int_eq(req.content_length, 5);
}
END_TEST

START_TEST(test_content_length_values)
{
    static const struct {
        const char *value;
        int64_t n;
    } c[] = {
        { "0", 0 },
        { "1", 1 },
        { "007", 7 },
        { "1234567890", 1234567890 },
        /* The parser caps Content-Length at 18 digits (anything longer is a
         * 400 before it could overflow); the header leaves the limit open. */
        { "999999999999999999", 999999999999999999LL },
    };
    size_t i;

    for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        char s[256];
        http_request_t req;
        ssize_t r;

        snprintf(s, sizeof(s), "PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: %s\r\n\r\n", c[i].value);
        r = parse(s, &req);
        ck_assert_msg(r == (ssize_t)strlen(s), "Content-Length %s: parse returned %zd (status %d)",
                      c[i].value, r, req.status);
        ck_assert_msg(req.content_length == c[i].n, "Content-Length %s: got %lld", c[i].value,
                      (long long)req.content_length);
    }
}
END_TEST

START_TEST(test_max_headers_exact)
{
    char s[4096];
    size_t n, i;
    http_request_t req;
    ssize_t r;

    n = (size_t)snprintf(s, sizeof(s), "GET / HTTP/1.1\r\nHost: h\r\n");
    for (i = 1; i < HTTP_MAX_HEADERS; i++)
        n += (size_t)snprintf(s + n, sizeof(s) - n, "X-%zu: %zu\r\n", i, i);
    n += (size_t)snprintf(s + n, sizeof(s) - n, "\r\n");
    ck_assert_uint_lt(n, sizeof(s) - 1);

    r = parse(s, &req);
    ck_assert_parsed(r, s, req);
    ck_assert_uint_eq(req.num_headers, HTTP_MAX_HEADERS);
    ck_assert_slice(req.headers[HTTP_MAX_HEADERS - 1].name, "X-99");
    ck_assert_slice(req.headers[HTTP_MAX_HEADERS - 1].value, "99");
}
END_TEST

START_TEST(test_too_many_headers)
{
    char s[4096];
    size_t n, i;
    http_request_t req;
    ssize_t r;

    n = (size_t)snprintf(s, sizeof(s), "GET / HTTP/1.1\r\nHost: h\r\n");
    for (i = 1; i <= HTTP_MAX_HEADERS; i++)
        n += (size_t)snprintf(s + n, sizeof(s) - n, "X-%zu: %zu\r\n", i, i);
    n += (size_t)snprintf(s + n, sizeof(s) - n, "\r\n");
    ck_assert_uint_lt(n, sizeof(s) - 1);
    ck_assert_uint_lt(n, MAX_HEAD);

    r = parse(s, &req);
    ck_assert_int_eq(r, -1);
    ck_assert_int_eq(req.status, 431);
}
END_TEST

/* ---- incremental parsing ------------------------------------------------- */

/* Feeds s one chunk of `step` bytes at a time, the way a worker calls the
 * parser after each read(): the buffer grows and last_len is the previous
 * length. Each prefix is placed against the guard page. */
static ssize_t feed(const char *s, size_t len, size_t step, size_t max_head, http_request_t *req,
                    size_t *calls)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    size_t data = (len + pg - 1) / pg * pg + pg;
    char *map = mmap(NULL, data + pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    size_t have = 0, last = 0;
    ssize_t r = -2;

    ck_assert_ptr_ne(map, MAP_FAILED);
    ck_assert_int_eq(mprotect(map + data, pg, PROT_NONE), 0);
    memset(req, 0, sizeof(*req));
    *calls = 0;
    while (have < len) {
        char *buf;

        have = have + step < len ? have + step : len;
        buf = map + data - have;
        memcpy(buf, s, have);
        r = http_parse_request(buf, have, last, max_head, req);
        (*calls)++;
        if (r != -2)
            break;
        last = have;
    }
    /* The slices point into the last copy, which stays mapped. */
    return r;
}

START_TEST(test_byte_at_a_time)
{
    http_request_t whole, req;
    size_t len = strlen(all_fields), calls, i;
    ssize_t r0 = parse(all_fields, &whole);
    ssize_t r = feed(all_fields, len, 1, MAX_HEAD, &req, &calls);

    ck_assert_parsed(r0, all_fields, whole);
    /* -2 on every proper prefix, the full count exactly on the last byte. */
    ck_assert_uint_eq(calls, len);
    ck_assert_int_eq(r, r0);
    ck_assert_int_eq(req.method, whole.method);
    ck_assert_uint_eq(req.num_headers, whole.num_headers);
    for (i = 0; i < req.num_headers; i++) {
        ck_assert_uint_eq(req.headers[i].name.len, whole.headers[i].name.len);
        ck_assert_mem_eq(req.headers[i].name.p, whole.headers[i].name.p, req.headers[i].name.len);
        ck_assert_uint_eq(req.headers[i].value.len, whole.headers[i].value.len);
        if (req.headers[i].value.len)
            ck_assert_mem_eq(req.headers[i].value.p, whole.headers[i].value.p,
                             req.headers[i].value.len);
    }
    ck_assert_slice(req.path, "/docs/a%20b.html");
    ck_assert_slice(req.query, "x=1&y=2");
    ck_assert_slice(req.host, "example.com:8080");
    ck_assert_slice(req.range, "bytes=0-99");
    ck_assert_slice(req.user_agent, "Mozilla/5.0 (X11; Linux x86_64)");
    ck_assert_int_eq(req.content_length, 0);
    ck_assert_uint_eq(req.keep_alive, 1);
}
END_TEST

START_TEST(test_chunks_of_various_sizes)
{
    size_t len = strlen(all_fields), step;

    for (step = 2; step <= 64; step++) {
        http_request_t req;
        size_t calls;
        ssize_t r = feed(all_fields, len, step, MAX_HEAD, &req, &calls);

        ck_assert_msg(r == (ssize_t)len, "step %zu: returned %zd", step, r);
        ck_assert_uint_eq(calls, (len + step - 1) / step);
        ck_assert_slice(req.range, "bytes=0-99");
        ck_assert_slice(req.headers[11].value, "anything goes");
    }
}
END_TEST

/* last_len is only a hint for where to resume: 0 must give the same answer. */
START_TEST(test_prefixes_without_last_len)
{
    size_t len = strlen(simple_get), i;
    http_request_t req;

    for (i = 0; i < len; i++) {
        ssize_t r = parse_len(simple_get, i, MAX_HEAD, &req);

        ck_assert_msg(r == -2, "prefix of %zu bytes: returned %zd (status %d)", i, r, req.status);
    }
    ck_assert_int_eq(parse_len(simple_get, len, MAX_HEAD, &req), (ssize_t)len);
}
END_TEST

START_TEST(test_pipelined_two)
{
    static const char s[] = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
                            "GET /b?x HTTP/1.1\r\nHost: h2\r\nConnection: close\r\n\r\n";
    size_t len = strlen(s), first = strlen("GET /a HTTP/1.1\r\nHost: h\r\n\r\n");
    const char *buf = guarded(s, len);
    http_request_t req;
    ssize_t r;

    memset(&req, 0, sizeof(req));
    r = http_parse_request(buf, len, 0, MAX_HEAD, &req);
    ck_assert_int_eq(r, (ssize_t)first);
    ck_assert_slice(req.path, "/a");
    ck_assert_slice(req.host, "h");
    ck_assert_uint_eq(req.keep_alive, 1);

    r = http_parse_request(buf + first, len - first, 0, MAX_HEAD, &req);
    ck_assert_int_eq(r, (ssize_t)(len - first));
    ck_assert_slice(req.path, "/b");
    ck_assert_slice(req.query, "x");
    ck_assert_slice(req.host, "h2");
    ck_assert_uint_eq(req.keep_alive, 0);
    ck_assert_uint_eq(req.num_headers, 2);
}
END_TEST

START_TEST(test_pipelined_three_and_partial)
{
    static const char *const reqs[] = {
        "GET /one HTTP/1.1\r\nHost: h\r\n\r\n",
        "HEAD /two HTTP/1.1\r\nHost: h\r\nRange: bytes=1-\r\n\r\n",
        "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
    };
    static const char *const paths[] = { "/one", "/two", NULL };
    static const http_method_t methods[] = { HTTP_METHOD_GET, HTTP_METHOD_HEAD,
                                             HTTP_METHOD_OPTIONS };
    static const char partial[] = "GET /four HTTP/1.1\r\nHo";
    char s[512] = "";
    size_t len, off = 0, i;
    const char *buf;
    http_request_t req;
    ssize_t r;

    for (i = 0; i < 3; i++)
        strcat(s, reqs[i]);
    strcat(s, partial);
    len = strlen(s);
    buf = guarded(s, len);

    for (i = 0; i < 3; i++) {
        memset(&req, 0, sizeof(req));
        r = http_parse_request(buf + off, len - off, 0, MAX_HEAD, &req);
        ck_assert_msg(r == (ssize_t)strlen(reqs[i]), "request %zu: returned %zd", i, r);
        ck_assert_int_eq(req.method, methods[i]);
        if (paths[i])
            ck_assert_slice(req.path, paths[i]);
        else
            ck_assert_slice(req.target, "*");
        if (i == 1)
            ck_assert_slice(req.range, "bytes=1-");
        else
            ck_assert_uint_eq(req.range.len, 0);
        off += (size_t)r;
    }
    ck_assert_uint_eq(len - off, strlen(partial));
    r = http_parse_request(buf + off, len - off, 0, MAX_HEAD, &req);
    ck_assert_int_eq(r, -2);
}
END_TEST

START_TEST(test_pipelined_then_bad)
{
    static const char s[] = "GET /ok HTTP/1.1\r\nHost: h\r\n\r\n"
                            "GET /bad HTTP/1.1\r\nHost : h\r\n\r\n";
    size_t len = strlen(s), first = strlen("GET /ok HTTP/1.1\r\nHost: h\r\n\r\n");
    const char *buf = guarded(s, len);
    http_request_t req;
    ssize_t r;

    memset(&req, 0, sizeof(req));
    r = http_parse_request(buf, len, 0, MAX_HEAD, &req);
    ck_assert_int_eq(r, (ssize_t)first);
    r = http_parse_request(buf + first, len - first, 0, MAX_HEAD, &req);
    ck_assert_int_eq(r, -1);
    ck_assert_int_eq(req.status, 400);
}
END_TEST

/* ---- malformed requests -------------------------------------------------- */

typedef struct {
    const char *name;
    const char *req;
    size_t len;
    int status;
} bad_case_t;

#define BAD(name, lit, st) { name, lit, sizeof(lit) - 1, st }
#define RL "GET / HTTP/1.1\r\n"

static const bad_case_t bad_cases[] = {
    /* line endings */
    BAD("bare LF everywhere", "GET / HTTP/1.1\nHost: h\n\n", 400),
    BAD("bare LF after request line", "GET / HTTP/1.1\nHost: h\r\n\r\n", 400),
    BAD("bare LF after a field", RL "Host: h\nX: y\r\n\r\n", 400),
    BAD("bare LF ending the head", RL "Host: h\r\n\n", 400),
    BAD("bare CR after request line", "GET / HTTP/1.1\rHost: h\r\n\r\n", 400),
    BAD("bare CR in a field value", RL "Host: h\rX: y\r\n\r\n", 400),
    BAD("bare CR in a field value 2", RL "Host: h\r\nX: a\rb\r\n\r\n", 400),
    BAD("bare CR in the target", "GET /a\rb HTTP/1.1\r\nHost: h\r\n\r\n", 400),
    BAD("bare CR after the version", "GET / HTTP/1.1\r\rHost: h\r\n\r\n", 400),
    BAD("CR CR LF", RL "Host: h\r\r\n\r\n", 400),
    /* obs-fold */
    BAD("obs-fold with SP", RL "Host: h\r\nX-A: a\r\n  b\r\n\r\n", 400),
    BAD("obs-fold with HTAB", RL "Host: h\r\nX-A: a\r\n\tb\r\n\r\n", 400),
    BAD("whitespace before the first field", RL " Host: h\r\n\r\n", 400),
    /* field names */
    BAD("space before colon", RL "Host : h\r\n\r\n", 400),
    BAD("space before colon, other field", RL "Host: h\r\nContent-Length : 5\r\n\r\n", 400),
    BAD("tab before colon", RL "Host\t: h\r\n\r\n", 400),
    BAD("@ in field name", RL "Host: h\r\nX@Y: 1\r\n\r\n", 400),
    BAD("brace in field name", RL "Host: h\r\nFo{o: 1\r\n\r\n", 400),
    BAD("slash in field name", RL "Host: h\r\nX/Y: 1\r\n\r\n", 400),
    BAD("NUL in field name", RL "Host: h\r\nX\0Y: 1\r\n\r\n", 400),
    BAD("empty field name", RL "Host: h\r\n: 1\r\n\r\n", 400),
    BAD("field without colon", RL "Host: h\r\nNoColonHere\r\n\r\n", 400),
    BAD("high byte in field name", RL "Host: h\r\nX\xe9: 1\r\n\r\n", 400),
    BAD("quote in field name", RL "Host: h\r\nX\"Y: 1\r\n\r\n", 400),
    /* field values */
    BAD("NUL in field value", RL "Host: h\r\nX: a\0b\r\n\r\n", 400),
    BAD("SOH in field value", RL "Host: h\r\nX: a\x01" "b\r\n\r\n", 400),
    BAD("ESC in field value", RL "Host: h\r\nX: a\x1b" "b\r\n\r\n", 400),
    BAD("DEL in field value", RL "Host: h\r\nX: a\x7f" "b\r\n\r\n", 400),
    BAD("NUL in Host", RL "Host: h\0evil\r\n\r\n", 400),
    /* request line */
    BAD("NUL in target", "GET /a\0b HTTP/1.1\r\nHost: h\r\n\r\n", 400),
    BAD("CTL in target", "GET /a\x01" "b HTTP/1.1\r\nHost: h\r\n\r\n", 400),
    BAD("DEL in target", "GET /a\x7f" "b HTTP/1.1\r\nHost: h\r\n\r\n", 400),
    BAD("TAB in target", "GET /a\tb HTTP/1.1\r\nHost: h\r\n\r\n", 400),
    BAD("space in target", "GET /a b HTTP/1.1\r\nHost: h\r\n\r\n", 400),
    BAD("empty target", "GET  HTTP/1.1\r\nHost: h\r\n\r\n", 400),
    BAD("invalid method char", "G@T / HTTP/1.1\r\nHost: h\r\n\r\n", 400),
    BAD("method with paren", "GE(T / HTTP/1.1\r\nHost: h\r\n\r\n", 400),
    BAD("CTL in method", "GE\x01T / HTTP/1.1\r\nHost: h\r\n\r\n", 400),
    BAD("empty method", " / HTTP/1.1\r\nHost: h\r\n\r\n", 400),
    BAD("two spaces after the method", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400),
    BAD("space after the version", "GET / HTTP/1.1 \r\nHost: h\r\n\r\n", 400),
    BAD("slash in method", "GE/T / HTTP/1.1\r\nHost: h\r\n\r\n", 400),
    BAD("no version (HTTP/0.9)", "GET /\r\n\r\n", 400),
    BAD("no version, with field", "GET /\r\nHost: h\r\n\r\n", 400),
    BAD("only a method", "GET\r\nHost: h\r\n\r\n", 400),
    BAD("HTTX", "GET / HTTX/1.1\r\nHost: h\r\n\r\n", 400),
    BAD("lower-case http", "GET / http/1.1\r\nHost: h\r\n\r\n", 400),
    BAD("version without minor", "GET / HTTP/1\r\nHost: h\r\n\r\n", 400),
    BAD("version 1.", "GET / HTTP/1.\r\nHost: h\r\n\r\n", 400),
    BAD("version 11", "GET / HTTP/11\r\nHost: h\r\n\r\n", 400),
    BAD("version 1.1x", "GET / HTTP/1.1x\r\nHost: h\r\n\r\n", 400),
    BAD("version 1.x", "GET / HTTP/1.x\r\nHost: h\r\n\r\n", 400),
    BAD("version 1.10", "GET / HTTP/1.10\r\nHost: h\r\n\r\n", 400),
    BAD("HTTP/2.0", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505),
    BAD("HTTP/3.0", "GET / HTTP/3.0\r\nHost: h\r\n\r\n", 505),
    BAD("HTTP/0.9 as version", "GET / HTTP/0.9\r\nHost: h\r\n\r\n", 505),
    /* Host */
    BAD("missing Host in 1.1", RL "User-Agent: x\r\n\r\n", 400),
    BAD("no fields in 1.1", RL "\r\n", 400),
    BAD("two Host", RL "Host: a\r\nHost: b\r\n\r\n", 400),
    BAD("two Host, same value", RL "Host: a\r\nhost: a\r\n\r\n", 400),
    BAD("two Host in 1.0", "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400),
    /* Host grammar (RFC 9112 3.2, RFC 3986 3.2.2) */
    BAD("Host with a space", RL "Host: bad host\r\n\r\n", 400),
    BAD("Host with a slash", RL "Host: a/b\r\n\r\n", 400),
    BAD("Host with a space and port", RL "Host: exa mple.com:80\r\n\r\n", 400),
    BAD("Host with a backslash", RL "Host: a\\b\r\n\r\n", 400),
    BAD("Host with userinfo", RL "Host: user@h\r\n\r\n", 400),
    BAD("Host wildcard", RL "Host: *.example.com\r\n\r\n", 400),
    BAD("Host percent-encoded", RL "Host: a%41\r\n\r\n", 400),
    BAD("Host with a comma", RL "Host: a,b\r\n\r\n", 400),
    BAD("Host high byte", RL "Host: caf\xc3\xa9\r\n\r\n", 400),
    BAD("Host leading dot", RL "Host: .example.com\r\n\r\n", 400),
    BAD("Host only a dot", RL "Host: .\r\n\r\n", 400),
    BAD("Host empty label", RL "Host: a..b\r\n\r\n", 400),
    BAD("Host two trailing dots", RL "Host: a..\r\n\r\n", 400),
    BAD("Host only a port", RL "Host: :80\r\n\r\n", 400),
    BAD("Host empty port", RL "Host: h:\r\n\r\n", 400),
    BAD("Host port too big", RL "Host: h:65536\r\n\r\n", 400),
    BAD("Host port six digits", RL "Host: h:000080\r\n\r\n", 400),
    BAD("Host port letters", RL "Host: h:8o\r\n\r\n", 400),
    BAD("Host port negative", RL "Host: h:-1\r\n\r\n", 400),
    BAD("Host two ports", RL "Host: h:80:80\r\n\r\n", 400),
    BAD("Host unclosed IPv6", RL "Host: [::1\r\n\r\n", 400),
    BAD("Host empty IP-literal", RL "Host: []\r\n\r\n", 400),
    BAD("Host IPv6 junk after", RL "Host: [::1]x\r\n\r\n", 400),
    BAD("Host IPv6 empty port", RL "Host: [::1]:\r\n\r\n", 400),
    BAD("Host IPv6 zone", RL "Host: [fe80::1%eth0]\r\n\r\n", 400),
    BAD("Host IPv6 bad", RL "Host: [:::1:]\r\n\r\n", 400),
    BAD("Host IPv4 in brackets", RL "Host: [192.0.2.1]\r\n\r\n", 400),
    BAD("Host IPv6 unbracketed", RL "Host: ::1\r\n\r\n", 400),
    BAD("Host IPvFuture no dot", RL "Host: [v1]\r\n\r\n", 400),
    BAD("Host IPvFuture no hex", RL "Host: [v.x]\r\n\r\n", 400),
    BAD("Host IPvFuture empty", RL "Host: [v1.]\r\n\r\n", 400),
    BAD("Host IPv6 too long", RL "Host: [0000:0000:0000:0000:0000:0000:0000:0000:0000]\r\n\r\n",
        400),
    BAD("Host bad in HTTP/1.0", "GET / HTTP/1.0\r\nHost: a b\r\n\r\n", 400),
    BAD("Host bad behind absolute-form", "GET http://h/ HTTP/1.1\r\nHost: a/b\r\n\r\n", 400),
    BAD("absolute-form with userinfo", "GET http://u@h/ HTTP/1.1\r\nHost: h\r\n\r\n", 400),
    BAD("absolute-form bad port", "GET http://h:99999/ HTTP/1.1\r\nHost: h\r\n\r\n", 400),
    BAD("absolute-form only a port", "GET http://:80/ HTTP/1.1\r\nHost: h\r\n\r\n", 400),
    /* authority-form: CONNECT only, and CONNECT only with it */
    BAD("authority-form for GET", "GET example.com:443 HTTP/1.1\r\nHost: h\r\n\r\n", 400),
    BAD("CONNECT without a port", "CONNECT example.com HTTP/1.1\r\nHost: h\r\n\r\n", 400),
    BAD("CONNECT empty port", "CONNECT example.com: HTTP/1.1\r\nHost: h\r\n\r\n", 400),
    BAD("CONNECT origin-form", "CONNECT / HTTP/1.1\r\nHost: h\r\n\r\n", 400),
    BAD("CONNECT absolute-form", "CONNECT http://h:443/ HTTP/1.1\r\nHost: h\r\n\r\n", 400),
    BAD("CONNECT bad host", "CONNECT a/b:443 HTTP/1.1\r\nHost: h\r\n\r\n", 400),
    /* message framing */
    BAD("Content-Length letters", RL "Host: h\r\nContent-Length: abc\r\n\r\n", 400),
    BAD("Content-Length empty", RL "Host: h\r\nContent-Length:\r\n\r\n", 400),
    BAD("Content-Length negative", RL "Host: h\r\nContent-Length: -1\r\n\r\n", 400),
    BAD("Content-Length plus sign", RL "Host: h\r\nContent-Length: +5\r\n\r\n", 400),
    BAD("Content-Length hex", RL "Host: h\r\nContent-Length: 0x10\r\n\r\n", 400),
    BAD("Content-Length trailing junk", RL "Host: h\r\nContent-Length: 5a\r\n\r\n", 400),
    BAD("Content-Length inner space", RL "Host: h\r\nContent-Length: 1 2\r\n\r\n", 400),
    BAD("Content-Length list", RL "Host: h\r\nContent-Length: 5, 5\r\n\r\n", 400),
    BAD("Content-Length overflow", RL "Host: h\r\nContent-Length: 99999999999999999999\r\n\r\n",
        400),
    BAD("Content-Length 2^63", RL "Host: h\r\nContent-Length: 9223372036854775808\r\n\r\n", 400),
    BAD("duplicate Content-Length", RL "Host: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
        400),
    BAD("conflicting Content-Length",
        RL "Host: h\r\nContent-Length: 5\r\ncontent-length: 6\r\n\r\n", 400),
    BAD("Content-Length then Transfer-Encoding",
        RL "Host: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
    BAD("Transfer-Encoding then Content-Length",
        RL "Host: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400),
    BAD("Transfer-Encoding gzip", RL "Host: h\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
    BAD("Transfer-Encoding chunked, gzip",
        RL "Host: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400),
    BAD("Transfer-Encoding chunked then gzip (two fields)",
        RL "Host: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
    /* RFC 9112 6.1: chunked at most once */
    BAD("Transfer-Encoding chunked, chunked",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400),
    BAD("Transfer-Encoding chunked twice (two fields)",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
        "Transfer-Encoding: chunked\r\n\r\n", 400),
    BAD("Transfer-Encoding chunked, gzip, chunked",
        RL "Host: h\r\nTransfer-Encoding: chunked, gzip, chunked\r\n\r\n", 400),
    BAD("Transfer-Encoding empty", RL "Host: h\r\nTransfer-Encoding:\r\n\r\n", 400),
    BAD("Transfer-Encoding chunkedx", RL "Host: h\r\nTransfer-Encoding: chunkedx\r\n\r\n", 400),
    /* RFC 9112 section 6.1: Transfer-Encoding in HTTP/1.0 is faulty framing */
    BAD("Transfer-Encoding in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
        400),
};

#define NUM_BAD (int)(sizeof(bad_cases) / sizeof(bad_cases[0]))

START_TEST(test_bad)
{
    const bad_case_t *c = &bad_cases[_i];
    http_request_t req;
    ssize_t r = parse_len(c->req, c->len, MAX_HEAD, &req);

    ck_assert_msg(r == -1 && req.status == c->status,
                  "%s: returned %zd with status %d, expected -1 with status %d", c->name, r,
                  req.status, c->status);
}
END_TEST

/* The same requests trickling in: no prefix may be accepted, and the first
 * refusal must carry the right status. */
START_TEST(test_bad_incremental)
{
    const bad_case_t *c = &bad_cases[_i];
    http_request_t req;
    size_t calls;
    ssize_t r = feed(c->req, c->len, 1, MAX_HEAD, &req, &calls);

    ck_assert_msg(r == -1 && req.status == c->status,
                  "%s, byte by byte: returned %zd with status %d after %zu bytes, "
                  "expected -1 with status %d",
                  c->name, r, req.status, calls, c->status);
}
END_TEST

/* RFC 9110 section 2.5: a higher minor version SHOULD be processed as the
 * highest one supported; 505 is also acceptable. Either way it is not a 400. */
START_TEST(test_http12)
{
    static const char s[] = "GET / HTTP/1.2\r\nHost: h\r\n\r\n";
    http_request_t req;
    ssize_t r = parse(s, &req);

    if (r == -1)
        ck_assert_int_eq(req.status, 505);
    else {
        ck_assert_parsed(r, s, req);
        ck_assert_int_eq(req.version_minor, 1);
    }
}
END_TEST

/* ---- size limits ----------------------------------------------------------- */

static char *long_line(size_t n)
{
    char *s = malloc(n + 1);

    ck_assert_ptr_nonnull(s);
    memcpy(s, "GET /", 5);
    memset(s + 5, 'a', n - 5);
    s[n] = '\0';
    return s;
}

START_TEST(test_long_request_line_unfinished)
{
    http_request_t req;
    char *s = long_line(MAX_HEAD + 100);
    ssize_t r;

    /* Still within the limit: wait for more. */
    r = parse_len(s, MAX_HEAD / 2, MAX_HEAD, &req);
    ck_assert_int_eq(r, -2);
    r = parse_len(s, MAX_HEAD + 100, MAX_HEAD, &req);
    ck_assert_int_eq(r, -1);
    ck_assert_int_eq(req.status, 414);
    free(s);
}
END_TEST

START_TEST(test_long_request_line_small_limit)
{
    http_request_t req;
    size_t calls;
    char *s = long_line(200);
    ssize_t r = feed(s, 200, 1, 64, &req, &calls);

    ck_assert_int_eq(r, -1);
    ck_assert_int_eq(req.status, 414);
    /* It is refused once it passes the limit, not at the end of the input. */
    ck_assert_uint_le(calls, 70);
    ck_assert_uint_gt(calls, 60);
    free(s);
}
END_TEST

START_TEST(test_long_request_line_complete)
{
    size_t n = MAX_HEAD + 100;
    char *s = malloc(n + 64);
    http_request_t req;
    ssize_t r;

    ck_assert_ptr_nonnull(s);
    memcpy(s, "GET /", 5);
    memset(s + 5, 'a', n - 5);
    strcpy(s + n, " HTTP/1.1\r\nHost: h\r\n\r\n");
    r = parse_len(s, strlen(s), MAX_HEAD, &req);
    ck_assert_int_eq(r, -1);
    ck_assert_int_eq(req.status, 414);
    free(s);
}
END_TEST

START_TEST(test_large_head_unfinished)
{
    size_t n = MAX_HEAD + 200;
    char *s = malloc(n + 1);
    size_t pre;
    http_request_t req;
    ssize_t r;

    ck_assert_ptr_nonnull(s);
    pre = (size_t)sprintf(s, "GET / HTTP/1.1\r\nHost: h\r\nX-Big: ");
    memset(s + pre, 'b', n - pre);
    s[n] = '\0';
    r = parse_len(s, MAX_HEAD / 2, MAX_HEAD, &req);
    ck_assert_int_eq(r, -2);
    r = parse_len(s, n, MAX_HEAD, &req);
    ck_assert_int_eq(r, -1);
    ck_assert_int_eq(req.status, 431);
    free(s);
}
END_TEST

START_TEST(test_large_head_complete)
{
    char s[MAX_HEAD * 2];
    size_t n = 0;
    int i;
    http_request_t req;
    ssize_t r;

    n += (size_t)sprintf(s + n, "GET / HTTP/1.1\r\nHost: h\r\n");
    for (i = 0; n < MAX_HEAD + 500; i++)
        n += (size_t)sprintf(s + n, "X-Filler-%d: %0100d\r\n", i, i);
    n += (size_t)sprintf(s + n, "\r\n");
    ck_assert_int_lt(i, HTTP_MAX_HEADERS);
    r = parse_len(s, n, MAX_HEAD, &req);
    ck_assert_int_eq(r, -1);
    ck_assert_int_eq(req.status, 431);
}
END_TEST

/* A head of exactly max_head bytes fits; one byte less of room does not. */
START_TEST(test_head_limit_boundary)
{
    http_request_t req;
    size_t len = strlen(all_fields);
    ssize_t r;

    r = parse_len(all_fields, len, len, &req);
    ck_assert_int_eq(r, (ssize_t)len);
    r = parse_len(all_fields, len, len - 1, &req);
    ck_assert_int_eq(r, -1);
    ck_assert_int_eq(req.status, 431);
}
END_TEST

/* ---- reason phrases ------------------------------------------------------ */

START_TEST(test_status_reason)
{
    static const struct {
        int status;
        const char *reason;
    } s[] = {
        { 200, "OK" },
        { 206, "Partial Content" },
        { 301, "Moved Permanently" },
        { 304, "Not Modified" },
        { 400, "Bad Request" },
        { 403, "Forbidden" },
        { 404, "Not Found" },
        { 405, "Method Not Allowed" },
        { 408, "Request Timeout" },
        { 412, "Precondition Failed" },
        { 414, "URI Too Long" },
        { 417, "Expectation Failed" },
        { 431, "Request Header Fields Too Large" },
        { 500, "Internal Server Error" },
        { 501, "Not Implemented" },
        { 503, "Service Unavailable" },
        { 505, "HTTP Version Not Supported" },
        /* what a proxy answers and passes on */
        { 101, "Switching Protocols" },
        { 302, "Found" },
        { 307, "Temporary Redirect" },
        { 308, "Permanent Redirect" },
        { 409, "Conflict" },
        { 422, "Unprocessable Content" },
        { 502, "Bad Gateway" },
        { 504, "Gateway Timeout" },
    };
    size_t i;
    const char *r;

    for (i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
        r = http_status_reason(s[i].status);
        ck_assert_msg(r != NULL && strcmp(r, s[i].reason) == 0, "%d: \"%s\", expected \"%s\"",
                      s[i].status, r ? r : "(null)", s[i].reason);
    }
    /* RFC 9110 renamed these two; the RFC 7231 names are still fine. */
    r = http_status_reason(416);
    ck_assert_ptr_nonnull(r);
    ck_assert_msg(strcmp(r, "Range Not Satisfiable") == 0 ||
                      strcmp(r, "Requested Range Not Satisfiable") == 0,
                  "416: \"%s\"", r);
    r = http_status_reason(413);
    ck_assert_ptr_nonnull(r);
    ck_assert_msg(strcmp(r, "Content Too Large") == 0 || strcmp(r, "Payload Too Large") == 0,
                  "413: \"%s\"", r);
    /* An unknown code still gets some text, never NULL. */
    ck_assert_ptr_nonnull(http_status_reason(299));
    ck_assert_ptr_nonnull(http_status_reason(0));
}
END_TEST

/* --- the pieces HTTP/2 builds a request from ----------------------------- */

START_TEST(test_h2_method_lookup)
{
    ck_assert_int_eq(http_method_lookup(STR_LIT("GET")), HTTP_METHOD_GET);
    ck_assert_int_eq(http_method_lookup(STR_LIT("HEAD")), HTTP_METHOD_HEAD);
    ck_assert_int_eq(http_method_lookup(STR_LIT("CONNECT")), HTTP_METHOD_CONNECT);
    ck_assert_int_eq(http_method_lookup(STR_LIT("get")), HTTP_METHOD_UNKNOWN);
    ck_assert_int_eq(http_method_lookup(STR_LIT("GETX")), HTTP_METHOD_UNKNOWN);
    ck_assert_int_eq(http_method_lookup(STR_NULL), HTTP_METHOD_UNKNOWN);
}
END_TEST

START_TEST(test_h2_request_target)
{
    http_request_t req;
    memset(&req, 0, sizeof(req));
    req.method = HTTP_METHOD_GET;
    req.target = STR_LIT("/a%20b?x=1");
    ck_assert_int_eq(http_request_target(&req), 0);
    ck_assert(STR_EQ(req.path, "/a%20b"));
    ck_assert(STR_EQ(req.query, "x=1"));
    req.target = STR_LIT("*");
    ck_assert_int_eq(http_request_target(&req), -1); /* only for OPTIONS */
    req.method = HTTP_METHOD_OPTIONS;
    ck_assert_int_eq(http_request_target(&req), 0);
    req.method = HTTP_METHOD_GET;
    req.target = STR_NULL;
    ck_assert_int_eq(http_request_target(&req), -1);
    req.target = STR_LIT("nope");
    ck_assert_int_eq(http_request_target(&req), -1);
}
END_TEST

START_TEST(test_h2_request_field)
{
    http_request_t req;
    memset(&req, 0, sizeof(req));
    req.content_length = -1;
    ck_assert_int_eq(http_request_field(&req, STR_LIT("range"), STR_LIT("bytes=0-1")), 0);
    ck_assert(STR_EQ(req.range, "bytes=0-1"));
    ck_assert_int_eq(http_request_field(&req, STR_LIT("if-none-match"), STR_LIT("\"x\"")), 0);
    ck_assert(STR_EQ(req.if_none_match, "\"x\""));
    ck_assert_int_eq(http_request_field(&req, STR_LIT("content-length"), STR_LIT("12")), 0);
    ck_assert_int_eq(req.content_length, 12);
    /* A second Content-Length, or a bad one, is a 400 as in HTTP/1. */
    ck_assert_int_eq(http_request_field(&req, STR_LIT("content-length"), STR_LIT("12")), 400);
    req.content_length = -1;
    ck_assert_int_eq(http_request_field(&req, STR_LIT("content-length"), STR_LIT("1x")), 400);
    ck_assert_int_eq(http_request_field(&req, STR_LIT("x-other"), STR_LIT("v")), 0);
}
END_TEST

static Suite *http_parser_suite(void)
{
    Suite *s = suite_create("http_parser");
    TCase *tc;

    tc = tcase_create("valid");
    tcase_add_test(tc, test_simple_get);
    tcase_add_test(tc, test_initialises_result);
    tcase_add_test(tc, test_all_fields);
    tcase_add_test(tc, test_case_insensitive_names);
    tcase_add_test(tc, test_methods);
    tcase_add_test(tc, test_unknown_method_brew);
    tcase_add_test(tc, test_http10_defaults);
    tcase_add_test(tc, test_http10_with_host);
    tcase_add_test(tc, test_keep_alive);
    tcase_add_test(tc, test_value_whitespace);
    tcase_add_test(tc, test_empty_host);
    tcase_add_test(tc, test_host_valid);
    tcase_add_test(tc, test_host_parse_parts);
    tcase_add_test(tc, test_host_normalize);
    tcase_add_test(tc, test_host_normalize_refuses);
    tcase_add_test(tc, test_connect_authority_form);
    tcase_add_test(tc, test_query_split);
    tcase_add_test(tc, test_options_star);
    tcase_add_test(tc, test_absolute_form);
    tcase_add_test(tc, test_expect);
    tcase_add_test(tc, test_chunked);
    tcase_add_test(tc, test_body_not_consumed);
    tcase_add_test(tc, test_leading_empty_line);
    tcase_add_test(tc, test_content_length_values);
    tcase_add_test(tc, test_max_headers_exact);
    tcase_add_test(tc, test_http12);
    tcase_add_test(tc, test_status_reason);
    suite_add_tcase(s, tc);

    tc = tcase_create("incremental");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_byte_at_a_time);
    tcase_add_test(tc, test_chunks_of_various_sizes);
    tcase_add_test(tc, test_prefixes_without_last_len);
    tcase_add_test(tc, test_pipelined_two);
    tcase_add_test(tc, test_pipelined_three_and_partial);
    tcase_add_test(tc, test_pipelined_then_bad);
    suite_add_tcase(s, tc);

    tc = tcase_create("malformed");
    tcase_set_timeout(tc, 10);
    tcase_add_loop_test(tc, test_bad, 0, NUM_BAD);
    tcase_add_loop_test(tc, test_bad_incremental, 0, NUM_BAD);
    tcase_add_test(tc, test_too_many_headers);
    suite_add_tcase(s, tc);

    tc = tcase_create("limits");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_long_request_line_unfinished);
    tcase_add_test(tc, test_long_request_line_small_limit);
    tcase_add_test(tc, test_long_request_line_complete);
    tcase_add_test(tc, test_large_head_unfinished);
    tcase_add_test(tc, test_large_head_complete);
    tcase_add_test(tc, test_head_limit_boundary);
    suite_add_tcase(s, tc);

    tc = tcase_create("http2 pieces");
    tcase_add_test(tc, test_h2_method_lookup);
    tcase_add_test(tc, test_h2_request_target);
    tcase_add_test(tc, test_h2_request_field);
    suite_add_tcase(s, tc);

    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(http_parser_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
