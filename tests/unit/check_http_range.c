/*
 * Unit tests for common/http/http_range: "bytes=" range sets of RFC 9110 section
 * 14.2, resolved against the representation's size: single ranges, several
 * (coalesced, in request order), and the limits that keep a range request
 * from costing more than the whole file.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_range.h"

typedef struct {
    const char *value;
    int64_t size;
    http_range_result_t result;
    int64_t start, end; /* the first range, when result is HTTP_RANGE_OK */
} range_case_t;

static const char *result_name(http_range_result_t r)
{
    switch (r) {
    case HTTP_RANGE_NONE: return "NONE";
    case HTTP_RANGE_OK: return "OK";
    case HTTP_RANGE_UNSATISFIABLE: return "UNSATISFIABLE";
    }
    return "?";
}

static http_range_result_t parse(const char *v, int64_t size, http_range_t *r, size_t *n)
{
    return http_range_parse(str_make(v, strlen(v)), size, r, HTTP_RANGE_MAX, n);
}

/* Single ranges: the result is one range. */
static const range_case_t cases[] = {
    /* satisfiable single ranges */
    { "bytes=0-99", 1000, HTTP_RANGE_OK, 0, 99 },
    { "bytes=500-", 1000, HTTP_RANGE_OK, 500, 999 },
    { "bytes=-100", 1000, HTTP_RANGE_OK, 900, 999 },
    { "bytes=-2000", 1000, HTTP_RANGE_OK, 0, 999 },
    { "bytes=-1000", 1000, HTTP_RANGE_OK, 0, 999 },
    { "bytes=0-5000", 1000, HTTP_RANGE_OK, 0, 999 },
    { "bytes=0-999", 1000, HTTP_RANGE_OK, 0, 999 },
    { "bytes=0-998", 1000, HTTP_RANGE_OK, 0, 998 },
    { "bytes=0-0", 1000, HTTP_RANGE_OK, 0, 0 },
    { "bytes=999-999", 1000, HTTP_RANGE_OK, 999, 999 },
    { "bytes=999-", 1000, HTTP_RANGE_OK, 999, 999 },
    { "bytes=-1", 1000, HTTP_RANGE_OK, 999, 999 },
    { "bytes=10-20", 1000, HTTP_RANGE_OK, 10, 20 },
    { "bytes=5-5", 1000, HTTP_RANGE_OK, 5, 5 },
    { "bytes=0-", 1, HTTP_RANGE_OK, 0, 0 },
    { "bytes=0-9223372036854775806", 1000, HTTP_RANGE_OK, 0, 999 },
    { "bytes=4294967296-4294967299", 8589934592LL, HTTP_RANGE_OK, 4294967296LL, 4294967299LL },
    { "bytes=-4294967296", 8589934592LL, HTTP_RANGE_OK, 4294967296LL, 8589934591LL },
    /* The range unit is case-insensitive (RFC 9110 section 14.1). */
    { "Bytes=0-1", 1000, HTTP_RANGE_OK, 0, 1 },
    { "BYTES=2-3", 1000, HTTP_RANGE_OK, 2, 3 },
    /* optional whitespace and empty list elements (RFC 9110 5.6.1.2) */
    { "bytes= 0-1", 1000, HTTP_RANGE_OK, 0, 1 },
    { "bytes=0-1 ", 1000, HTTP_RANGE_OK, 0, 1 },
    { "bytes=0-1,", 1000, HTTP_RANGE_OK, 0, 1 },
    { "bytes=,0-1", 1000, HTTP_RANGE_OK, 0, 1 },
    { "bytes=, ,0-1, ,", 1000, HTTP_RANGE_OK, 0, 1 },
    /* syntactically valid, but nothing of the file is in range: 416 */
    { "bytes=1000-", 1000, HTTP_RANGE_UNSATISFIABLE, 0, 0 },
    { "bytes=1000-2000", 1000, HTTP_RANGE_UNSATISFIABLE, 0, 0 },
    { "bytes=5000-6000", 1000, HTTP_RANGE_UNSATISFIABLE, 0, 0 },
    { "bytes=0-", 0, HTTP_RANGE_UNSATISFIABLE, 0, 0 },
    { "bytes=0-0", 0, HTTP_RANGE_UNSATISFIABLE, 0, 0 },
    { "bytes=-5", 0, HTTP_RANGE_UNSATISFIABLE, 0, 0 },
    { "bytes=1000-,2000-3000", 1000, HTTP_RANGE_UNSATISFIABLE, 0, 0 },
    /* a suffix-range of length zero is never satisfiable (section 14.1.3) */
    { "bytes=-0", 1000, HTTP_RANGE_UNSATISFIABLE, 0, 0 },
    /* one satisfiable range among unsatisfiable ones is served alone */
    { "bytes=5000-,10-19", 1000, HTTP_RANGE_OK, 10, 19 },
    { "bytes=-0,10-19", 1000, HTTP_RANGE_OK, 10, 19 },
    /* invalid: ignore the header and send 200 */
    { "bytes=5-2", 1000, HTTP_RANGE_NONE, 0, 0 },
    { "bytes=1-0", 1000, HTTP_RANGE_NONE, 0, 0 },
    { "items=0-1", 1000, HTTP_RANGE_NONE, 0, 0 },
    { "bytes", 1000, HTTP_RANGE_NONE, 0, 0 },
    { "bytes=", 1000, HTTP_RANGE_NONE, 0, 0 },
    { "bytes=,", 1000, HTTP_RANGE_NONE, 0, 0 },
    { "bytes= , ", 1000, HTTP_RANGE_NONE, 0, 0 },
    { "bytes=-", 1000, HTTP_RANGE_NONE, 0, 0 },
    { "bytes=--1", 1000, HTTP_RANGE_NONE, 0, 0 },
    { "bytes=0--1", 1000, HTTP_RANGE_NONE, 0, 0 },
    { "bytes=a-b", 1000, HTTP_RANGE_NONE, 0, 0 },
    { "bytes=1-2x", 1000, HTTP_RANGE_NONE, 0, 0 },
    { "bytes=x1-2", 1000, HTTP_RANGE_NONE, 0, 0 },
    { "bytes=0-1-", 1000, HTTP_RANGE_NONE, 0, 0 },
    { "bytes=1", 1000, HTTP_RANGE_NONE, 0, 0 },
    { "bytes=+1-2", 1000, HTTP_RANGE_NONE, 0, 0 },
    { "bytes 0-1", 1000, HTTP_RANGE_NONE, 0, 0 },
    { "bytes:0-1", 1000, HTTP_RANGE_NONE, 0, 0 },
    { "bytesx=0-1", 1000, HTTP_RANGE_NONE, 0, 0 },
    { "garbage", 1000, HTTP_RANGE_NONE, 0, 0 },
    { "=0-1", 1000, HTTP_RANGE_NONE, 0, 0 },
    { "", 1000, HTTP_RANGE_NONE, 0, 0 },
    { "bytes=0-1;5-6", 1000, HTTP_RANGE_NONE, 0, 0 },
    { "bytes=0-1 5-6", 1000, HTTP_RANGE_NONE, 0, 0 },
    /* one malformed member spoils the whole set */
    { "bytes=0-1,x", 1000, HTTP_RANGE_NONE, 0, 0 },
    { "bytes=0-1,5-2", 1000, HTTP_RANGE_NONE, 0, 0 },
    { "bytes=1000-,junk", 1000, HTTP_RANGE_NONE, 0, 0 },
    /* several ranges that coalesce into one (overlap, adjacency, a gap
     * smaller than a part's headers) */
    { "bytes=0-9,10-19", 1000, HTTP_RANGE_OK, 0, 19 },
    { "bytes=0-9,5-19", 1000, HTTP_RANGE_OK, 0, 19 },
    { "bytes=0-9,30-39", 1000, HTTP_RANGE_OK, 0, 39 },
    { "bytes=30-39,0-9", 1000, HTTP_RANGE_OK, 0, 39 },
    { "bytes=-10,0-9", 20, HTTP_RANGE_OK, 0, 19 },
};

#define NUM_CASES (int)(sizeof(cases) / sizeof(cases[0]))

START_TEST(test_cases)
{
    const range_case_t *c = &cases[_i];
    http_range_t r[HTTP_RANGE_MAX];
    size_t n = 99;
    http_range_result_t res = parse(c->value, c->size, r, &n);

    ck_assert_msg(res == c->result, "\"%s\" of %lld: %s, expected %s", c->value,
                  (long long)c->size, result_name(res), result_name(c->result));
    if (c->result == HTTP_RANGE_OK) {
        ck_assert_msg(n == 1, "\"%s\" of %lld: %zu ranges, expected 1", c->value,
                      (long long)c->size, n);
        ck_assert_msg(r[0].start == c->start && r[0].end == c->end,
                      "\"%s\" of %lld: %lld-%lld, expected %lld-%lld", c->value,
                      (long long)c->size, (long long)r[0].start, (long long)r[0].end,
                      (long long)c->start, (long long)c->end);
    }
}
END_TEST

/* Several ranges: the exact list that comes out. */
typedef struct {
    const char *value;
    int64_t size;
    size_t n;
    int64_t r[8][2];
} multi_case_t;

static const multi_case_t multi[] = {
    { "bytes=0-99,200-299", 1000, 2, { { 0, 99 }, { 200, 299 } } },
    { "bytes=0-99, 200-299 ,\t400-", 1000, 3, { { 0, 99 }, { 200, 299 }, { 400, 999 } } },
    /* request order is kept (RFC 9110 15.3.7.2) */
    { "bytes=500-599,0-99", 1000, 2, { { 500, 599 }, { 0, 99 } } },
    { "bytes=-100,0-99", 1000, 2, { { 900, 999 }, { 0, 99 } } },
    /* a coalesced range takes the place of its first member */
    { "bytes=500-599,0-99,600-699", 1000, 2, { { 500, 699 }, { 0, 99 } } },
    { "bytes=600-699,0-99,500-599", 1000, 2, { { 500, 699 }, { 0, 99 } } },
    /* a gap of HTTP_RANGE_GAP bytes merges, one more does not */
    { "bytes=0-9,90-99", 1000, 1, { { 0, 99 } } },
    { "bytes=0-9,91-99", 1000, 2, { { 0, 9 }, { 91, 99 } } },
    /* unsatisfiable members are dropped */
    { "bytes=0-9,2000-,500-509", 1000, 2, { { 0, 9 }, { 500, 509 } } },
    /* an end past the file is clipped */
    { "bytes=0-9,500-5000", 1000, 2, { { 0, 9 }, { 500, 999 } } },
};

START_TEST(test_multi)
{
    const multi_case_t *c = &multi[_i];
    http_range_t r[HTTP_RANGE_MAX];
    size_t n = 99;
    http_range_result_t res = parse(c->value, c->size, r, &n);

    ck_assert_msg(res == HTTP_RANGE_OK, "\"%s\": %s", c->value, result_name(res));
    ck_assert_msg(n == c->n, "\"%s\": %zu ranges, expected %zu", c->value, n, c->n);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(r[i].start == c->r[i][0] && r[i].end == c->r[i][1],
                      "\"%s\": range %zu is %lld-%lld, expected %lld-%lld", c->value, i,
                      (long long)r[i].start, (long long)r[i].end, (long long)c->r[i][0],
                      (long long)c->r[i][1]);
}
END_TEST

/* Abuse: more ranges than allowed, or more bytes than the file, is served
 * as the whole file (200), never amplified. */
START_TEST(test_limits)
{
    http_range_t r[HTTP_RANGE_MAX];
    size_t n;
    char v[2048];
    size_t len = (size_t)snprintf(v, sizeof(v), "bytes=");

    /* HTTP_RANGE_MAX far-apart ranges: accepted */
    for (int i = 0; i < HTTP_RANGE_MAX; i++)
        len += (size_t)snprintf(v + len, sizeof(v) - len, "%s%d-%d", i ? "," : "", i * 1000,
                                i * 1000 + 9);
    ck_assert_int_eq(parse(v, 100000, r, &n), HTTP_RANGE_OK);
    ck_assert_uint_eq(n, HTTP_RANGE_MAX);
    /* one more: ignored */
    snprintf(v + len, sizeof(v) - len, ",%d-%d", 99000, 99009);
    ck_assert_int_eq(parse(v, 100000, r, &n), HTTP_RANGE_NONE);
    /* many tiny ranges that would coalesce still count before coalescing */
    len = (size_t)snprintf(v, sizeof(v), "bytes=");
    for (int i = 0; i < 40; i++)
        len += (size_t)snprintf(v + len, sizeof(v) - len, "%s%d-%d", i ? "," : "", i, i);
    ck_assert_int_eq(parse(v, 100000, r, &n), HTTP_RANGE_NONE);
    /* the same range over and over: more bytes than the file */
    ck_assert_int_eq(parse("bytes=0-,0-", 1000, r, &n), HTTP_RANGE_NONE);
    ck_assert_int_eq(parse("bytes=0-599,400-999", 1000, r, &n), HTTP_RANGE_NONE);
    ck_assert_int_eq(parse("bytes=-600,-600", 1000, r, &n), HTTP_RANGE_NONE);
    /* exactly the file's size is fine (and coalesces into one range) */
    ck_assert_int_eq(parse("bytes=0-499,500-999", 1000, r, &n), HTTP_RANGE_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(r[0].start, 0);
    ck_assert_int_eq(r[0].end, 999);
    /* a caller's smaller max is honoured */
    ck_assert_int_eq(http_range_parse(STR_LIT("bytes=0-1,500-501,900-901"), 1000, r, 2, &n),
                     HTTP_RANGE_NONE);
    ck_assert_int_eq(http_range_parse(STR_LIT("bytes=0-1,500-501"), 1000, r, 2, &n),
                     HTTP_RANGE_OK);
    ck_assert_uint_eq(n, 2);
}
END_TEST

/* Request bytes are not NUL-terminated: only value.len bytes count. */
START_TEST(test_length_respected)
{
    static const char buf[] = "bytes=0-99999";
    http_range_t r[HTTP_RANGE_MAX];
    size_t n;
    http_range_result_t res;

    res = http_range_parse(str_make(buf, 10), 1000, r, HTTP_RANGE_MAX, &n); /* "bytes=0-99" */
    ck_assert_int_eq(res, HTTP_RANGE_OK);
    ck_assert_int_eq(r[0].start, 0);
    ck_assert_int_eq(r[0].end, 99);

    res = http_range_parse(str_make(buf, 8), 1000, r, HTTP_RANGE_MAX, &n); /* "bytes=0-" */
    ck_assert_int_eq(res, HTTP_RANGE_OK);
    ck_assert_int_eq(r[0].start, 0);
    ck_assert_int_eq(r[0].end, 999);

    res = http_range_parse(str_make(buf, 6), 1000, r, HTTP_RANGE_MAX, &n); /* "bytes=" */
    ck_assert_int_eq(res, HTTP_RANGE_NONE);

    res = http_range_parse(STR_NULL, 1000, r, HTTP_RANGE_MAX, &n);
    ck_assert_int_eq(res, HTTP_RANGE_NONE);
}
END_TEST

/* A first-pos too large for int64_t is at least past the end of any file:
 * it must not wrap around into a valid range. */
START_TEST(test_overflow)
{
    http_range_t r[HTTP_RANGE_MAX];
    size_t n;
    http_range_result_t res;

    res = parse("bytes=99999999999999999999-", 1000, r, &n);
    ck_assert_msg(res != HTTP_RANGE_OK, "huge first-pos accepted: %lld-%lld",
                  (long long)r[0].start, (long long)r[0].end);
    res = parse("bytes=18446744073709551616-18446744073709551617", 1000, r, &n);
    ck_assert_msg(res != HTTP_RANGE_OK, "wrapping range accepted: %lld-%lld",
                  (long long)r[0].start, (long long)r[0].end);
    res = parse("bytes=-18446744073709551617", 1000, r, &n);
    if (res == HTTP_RANGE_OK) {
        /* a huge suffix is the whole file, never a wrapped one */
        ck_assert_int_eq(r[0].start, 0);
        ck_assert_int_eq(r[0].end, 999);
    }
    res = parse("bytes=0-99999999999999999999", 1000, r, &n);
    if (res == HTTP_RANGE_OK) {
        ck_assert_int_eq(r[0].start, 0);
        ck_assert_int_eq(r[0].end, 999);
    }
    /* two ranges near INT64_MAX must not overflow the total */
    res = parse("bytes=0-9223372036854775806,0-9223372036854775806", INT64_MAX, r, &n);
    ck_assert_int_eq(res, HTTP_RANGE_NONE);
}
END_TEST

/* Every OK result is a set of disjoint ranges inside the file that asks
 * for no more than the file; every non-empty suffix is satisfiable. */
START_TEST(test_ok_always_inside)
{
    static const char *const specs[] = { "0-", "1-", "-1", "-3", "0-0", "2-7", "3-100", "-100", "7-7",
                                         "8-", "8-9", "0-7", "0-1,3-4", "-2,0-1", "5-,0-2",
                                         "1-1,1-1", "0-0,2-2,4-4,6-6,8-8" };
    int64_t size;
    size_t i;

    for (size = 0; size <= 9; size++) {
        for (i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
            char v[64];
            http_range_t r[HTTP_RANGE_MAX];
            size_t n = 0;
            http_range_result_t res;

            snprintf(v, sizeof(v), "bytes=%s", specs[i]);
            res = parse(v, size, r, &n);
            if (res == HTTP_RANGE_OK) {
                int64_t total = 0;
                ck_assert_msg(n >= 1 && n <= HTTP_RANGE_MAX, "\"%s\": %zu ranges", v, n);
                for (size_t a = 0; a < n; a++) {
                    ck_assert_msg(0 <= r[a].start && r[a].start <= r[a].end && r[a].end < size,
                                  "\"%s\" of %lld: %lld-%lld is outside the file", v,
                                  (long long)size, (long long)r[a].start, (long long)r[a].end);
                    for (size_t b = 0; b < a; b++)
                        ck_assert_msg(r[a].end < r[b].start || r[b].end < r[a].start,
                                      "\"%s\": ranges %zu and %zu overlap", v, a, b);
                    total += r[a].end - r[a].start + 1;
                }
                ck_assert_msg(total <= size, "\"%s\" of %lld: %lld bytes", v, (long long)size,
                              (long long)total);
            } else if (size > 0 && specs[i][0] == '-' && specs[i][1] != '0' && !strchr(specs[i], ',')) {
                ck_abort_msg("\"%s\" of %lld: %s, a non-empty suffix is satisfiable", v,
                             (long long)size, result_name(res));
            }
        }
    }
}
END_TEST

static Suite *http_range_suite(void)
{
    Suite *s = suite_create("http_range");
    TCase *tc = tcase_create("parse");

    tcase_add_loop_test(tc, test_cases, 0, NUM_CASES);
    tcase_add_loop_test(tc, test_multi, 0, (int)(sizeof(multi) / sizeof(multi[0])));
    tcase_add_test(tc, test_limits);
    tcase_add_test(tc, test_length_respected);
    tcase_add_test(tc, test_overflow);
    tcase_add_test(tc, test_ok_always_inside);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(http_range_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
