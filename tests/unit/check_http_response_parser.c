/*
 * Unit tests for common/http/http_response_parser: an upstream's response
 * head and the chunked decoder. Inputs end right before a PROT_NONE page,
 * as in check_http_parser.c, so a read past len crashes the test.
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
#include "http_response_parser.h"

#define MAX_HEAD 8192

static ssize_t parse(const char *s, http_response_t *res)
{
    size_t len = strlen(s);
    return http_parse_response(guarded(s, len), len, 0, MAX_HEAD, res);
}

START_TEST(test_simple)
{
    http_response_t r;
    const char *s = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A:  b c \r\n\r\nhello";
    ck_assert_int_eq(parse(s, &r), (ssize_t)strlen(s) - 5);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(r.version_minor, 1);
    ck_assert(STR_EQ(r.reason, "OK"));
    ck_assert_int_eq(r.num_headers, 2);
    ck_assert(STR_EQ(r.headers[1].value, "b c"));
    ck_assert_int_eq(r.content_length, 5);
    ck_assert(!r.chunked && !r.close);
}
END_TEST

START_TEST(test_no_reason_and_close)
{
    http_response_t r;
    ck_assert_int_gt(parse("HTTP/1.1 204\r\nConnection: x, Close\r\n\r\n", &r), 0);
    ck_assert_int_eq(r.status, 204);
    ck_assert_int_eq(r.reason.len, 0);
    ck_assert(r.close);
    ck_assert(STR_EQ(r.connection, "x, Close"));
    ck_assert_int_gt(parse("HTTP/1.0 200 OK\r\n\r\n", &r), 0);
    ck_assert(r.close); /* 1.0 without keep-alive */
    ck_assert_int_gt(parse("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n", &r), 0);
    ck_assert(!r.close);
}
END_TEST

START_TEST(test_chunked_head)
{
    http_response_t r;
    ck_assert_int_gt(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", &r), 0);
    ck_assert(r.chunked);
    ck_assert_int_eq(r.content_length, -1);
}
END_TEST

/* Each of these is a 502: the framing or the grammar is not certain. */
START_TEST(test_malformed)
{
    static const char *const bad[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 9999999999999999999\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\n",
        "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-A : b\r\n\r\n",       /* space before colon */
        "HTTP/1.1 200 OK\r\nX-A: b\r\n c\r\n\r\n",   /* obs-fold */
        "HTTP/1.1 200 OK\r\nX-A: b\nX-B: c\r\n\r\n", /* bare LF */
        "HTTP/1.1 200 OK\r\nX-A: b\rX-B: c\r\n\r\n", /* bare CR */
        "HTTP/1.1 200 OK\r\nX-A: b\x01\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX(A): b\r\n\r\n",
        "HTTP/1.1 200 OK\r\n: b\r\n\r\n",
        "HTTP/2 200 OK\r\n\r\n",
        "HTTP/1.2 200 OK\r\n\r\n",
        "HTTP/1.1 099 OK\r\n\r\n",
        "HTTP/1.1 600 OK\r\n\r\n",
        "HTTP/1.1 20 OK\r\n\r\n",
        "HTTP/1.1 2000 OK\r\n\r\n",
        "HTTP/1.1 200 O\x7fK\r\n\r\n",
        "http/1.1 200 OK\r\n\r\n",
        "garbage garbage\r\n\r\n",
        "\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        http_response_t r;
        ck_assert_msg(parse(bad[i], &r) == -1, "accepted: %s", bad[i]);
    }
}
END_TEST

START_TEST(test_incomplete_and_limit)
{
    http_response_t r;
    const char *s = "HTTP/1.1 200 OK\r\nX-A: b\r\n\r\n";
    size_t n = strlen(s);
    /* Every prefix wants more; the whole is accepted, fed byte by byte. */
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(http_parse_response(guarded(s, i), i, i > 0 ? i - 1 : 0, MAX_HEAD, &r),
                         -2);
    ck_assert_int_eq(http_parse_response(guarded(s, n), n, n - 1, MAX_HEAD, &r), (ssize_t)n);
    /* A head not ended within max_head is an error, not a wait. */
    ck_assert_int_eq(http_parse_response(guarded(s, n), n, 0, n - 1, &r), -1);
    ck_assert_int_eq(http_parse_response(guarded(s, n - 1), n - 1, 0, n - 1, &r), -1);
    ck_assert_int_eq(http_parse_response(guarded(s, n), n, 0, n, &r), (ssize_t)n);
}
END_TEST

START_TEST(test_too_many_headers)
{
    char buf[HTTP_MAX_HEADERS * 8 + 64];
    size_t n = (size_t)snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\n");
    for (int i = 0; i <= HTTP_MAX_HEADERS; i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "A: %d\r\n", i % 10);
    n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\r\n");
    http_response_t r;
    ck_assert_int_eq(http_parse_response(guarded(buf, n), n, 0, MAX_HEAD, &r), -1);
}
END_TEST

/* Decodes all of s in pieces of step bytes; the body into out. Returns 1
 * done, 0 incomplete, -1 malformed; *rest: bytes after the end. */
static int dechunk(const char *s, size_t len, size_t step, char *out, size_t *outlen, size_t *rest)
{
    http_chunked_t st = { 0 };
    size_t off = 0, fed = 0;
    *outlen = 0;
    while (fed < len) {
        size_t piece = len - fed < step ? len - fed : step;
        const char *p = guarded(s + fed, piece);
        size_t at = 0;
        for (int guard = 0; at < piece && guard < 100000; guard++) {
            size_t used;
            const char *d;
            size_t dlen;
            int rc = http_chunked_next(&st, p + at, piece - at, &used, &d, &dlen);
            if (rc < 0)
                return -1;
            if (dlen > 0) /* d is NULL without data: no memcpy from NULL */
                memcpy(out + off, d, dlen);
            off += dlen;
            at += used;
            if (rc == 1) {
                *outlen = off;
                *rest = len - fed - at;
                return 1;
            }
        }
        fed += piece;
    }
    *outlen = off;
    return 0;
}

START_TEST(test_chunked_body)
{
    const char *s = "5\r\nhello\r\n1;ext=\"x\"\r\n \r\nA\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\nNEXT";
    size_t len = strlen(s);
    for (size_t step = 1; step <= len; step++) {
        char out[64];
        size_t n, rest;
        ck_assert_int_eq(dechunk(s, len, step, out, &n, &rest), 1);
        ck_assert_uint_eq(n, 16);
        ck_assert(memcmp(out, "hello 0123456789", 16) == 0);
        ck_assert_uint_eq(rest, 4);
    }
}
END_TEST

START_TEST(test_chunked_incomplete)
{
    /* Truncated anywhere before the final CRLF: never done. */
    const char *s = "5\r\nhello\r\n0\r\n\r\n";
    size_t len = strlen(s);
    for (size_t i = 0; i < len; i++) {
        char out[16];
        size_t n, rest;
        ck_assert_int_eq(dechunk(s, i, 3, out, &n, &rest), 0);
    }
}
END_TEST

START_TEST(test_chunked_malformed)
{
    static const char *const bad[] = {
        "x\r\n", "\r\n", "5\nhello\r\n0\r\n\r\n", "5\r\nhelloX\r\n", "5\r\nhello\rX",
        "-1\r\n", "5 x\x01\r\n", "1000000000000000000\r\n", "0\r\n(bad\r\n\r\n",
        "0\r\nX: \x01\r\n\r\n", "0\r\n\rX",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char out[64];
        size_t n, rest;
        ck_assert_msg(dechunk(bad[i], strlen(bad[i]), 64, out, &n, &rest) == -1, "accepted %s",
                      bad[i]);
    }
    /* A trailer block over the bound is refused rather than read forever. */
    size_t big = HTTP_CHUNKED_TRAILER_MAX + 64;
    char *t = malloc(big + 8);
    ck_assert_ptr_nonnull(t);
    memcpy(t, "0\r\nX: ", 6);
    memset(t + 6, 'a', big - 6);
    char out[1];
    size_t n, rest;
    ck_assert_int_eq(dechunk(t, big, big, out, &n, &rest), -1);
    free(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("http_response_parser");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_simple);
    tcase_add_test(tc, test_no_reason_and_close);
    tcase_add_test(tc, test_chunked_head);
    tcase_add_test(tc, test_malformed);
    tcase_add_test(tc, test_incomplete_and_limit);
    tcase_add_test(tc, test_too_many_headers);
    tcase_add_test(tc, test_chunked_body);
    tcase_add_test(tc, test_chunked_incomplete);
    tcase_add_test(tc, test_chunked_malformed);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
