/*
 * Unit tests for common/http_range: one "bytes=" range of RFC 9110 section
 * 14.2, resolved against the representation's size.
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
    int64_t start, end; /* when result is HTTP_RANGE_OK */
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
    /* syntactically valid, but nothing of the file is in range: 416 */
    { "bytes=1000-", 1000, HTTP_RANGE_UNSATISFIABLE, 0, 0 },
    { "bytes=1000-2000", 1000, HTTP_RANGE_UNSATISFIABLE, 0, 0 },
    { "bytes=5000-6000", 1000, HTTP_RANGE_UNSATISFIABLE, 0, 0 },
    { "bytes=0-", 0, HTTP_RANGE_UNSATISFIABLE, 0, 0 },
    { "bytes=0-0", 0, HTTP_RANGE_UNSATISFIABLE, 0, 0 },
    /* a suffix-range of length zero is never satisfiable (section 14.1.3) */
    { "bytes=-0", 1000, HTTP_RANGE_UNSATISFIABLE, 0, 0 },
    /* invalid: ignore the header and send 200 */
    { "bytes=5-2", 1000, HTTP_RANGE_NONE, 0, 0 },
    { "bytes=1-0", 1000, HTTP_RANGE_NONE, 0, 0 },
    { "items=0-1", 1000, HTTP_RANGE_NONE, 0, 0 },
    { "bytes", 1000, HTTP_RANGE_NONE, 0, 0 },
    { "bytes=", 1000, HTTP_RANGE_NONE, 0, 0 },
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
    /* several ranges: served whole, as the header documents */
    { "bytes=0-1,5-6", 1000, HTTP_RANGE_NONE, 0, 0 },
    { "bytes=0-1, 5-6", 1000, HTTP_RANGE_NONE, 0, 0 },
    { "bytes=-5,0-1", 1000, HTTP_RANGE_NONE, 0, 0 },
};

#define NUM_CASES (int)(sizeof(cases) / sizeof(cases[0]))

START_TEST(test_cases)
{
    const range_case_t *c = &cases[_i];
    int64_t start = -7, end = -7;
    http_range_result_t r = http_range_parse(str_make(c->value, strlen(c->value)), c->size,
                                             &start, &end);

    ck_assert_msg(r == c->result, "\"%s\" of %lld: %s, expected %s", c->value,
                  (long long)c->size, result_name(r), result_name(c->result));
    if (c->result == HTTP_RANGE_OK)
        ck_assert_msg(start == c->start && end == c->end,
                      "\"%s\" of %lld: %lld-%lld, expected %lld-%lld", c->value,
                      (long long)c->size, (long long)start, (long long)end,
                      (long long)c->start, (long long)c->end);
}
END_TEST

/* Request bytes are not NUL-terminated: only value.len bytes count. */
START_TEST(test_length_respected)
{
    static const char buf[] = "bytes=0-99999";
    int64_t start = -1, end = -1;
    http_range_result_t r;

    r = http_range_parse(str_make(buf, 10), 1000, &start, &end); /* "bytes=0-99" */
    ck_assert_int_eq(r, HTTP_RANGE_OK);
    ck_assert_int_eq(start, 0);
    ck_assert_int_eq(end, 99);

    r = http_range_parse(str_make(buf, 8), 1000, &start, &end); /* "bytes=0-" */
    ck_assert_int_eq(r, HTTP_RANGE_OK);
    ck_assert_int_eq(start, 0);
    ck_assert_int_eq(end, 999);

    r = http_range_parse(str_make(buf, 6), 1000, &start, &end); /* "bytes=" */
    ck_assert_int_eq(r, HTTP_RANGE_NONE);

    r = http_range_parse(STR_NULL, 1000, &start, &end);
    ck_assert_int_eq(r, HTTP_RANGE_NONE);
}
END_TEST

/* A first-pos too large for int64_t is at least past the end of any file:
 * it must not wrap around into a valid range. */
START_TEST(test_overflow)
{
    int64_t start = -1, end = -1;
    http_range_result_t r;

    r = http_range_parse(STR_LIT("bytes=99999999999999999999-"), 1000, &start, &end);
    ck_assert_msg(r != HTTP_RANGE_OK, "huge first-pos accepted: %lld-%lld", (long long)start,
                  (long long)end);
    r = http_range_parse(STR_LIT("bytes=18446744073709551616-18446744073709551617"), 1000,
                         &start, &end);
    ck_assert_msg(r != HTTP_RANGE_OK, "wrapping range accepted: %lld-%lld", (long long)start,
                  (long long)end);
    r = http_range_parse(STR_LIT("bytes=-18446744073709551617"), 1000, &start, &end);
    if (r == HTTP_RANGE_OK) {
        /* a huge suffix is the whole file, never a wrapped one */
        ck_assert_int_eq(start, 0);
        ck_assert_int_eq(end, 999);
    }
    r = http_range_parse(STR_LIT("bytes=0-99999999999999999999"), 1000, &start, &end);
    if (r == HTTP_RANGE_OK) {
        ck_assert_int_eq(start, 0);
        ck_assert_int_eq(end, 999);
    }
}
END_TEST

/* Every OK result is a range inside the file. */
START_TEST(test_ok_always_inside)
{
    static const char *const specs[] = { "0-", "1-", "-1", "-3", "0-0", "2-7", "3-100", "-100", "7-7",
                                         "8-", "8-9", "0-7" };
    int64_t size;
    size_t i;

    for (size = 0; size <= 9; size++) {
        for (i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
            char v[32];
            int64_t start = -1, end = -1;
            http_range_result_t r;

            snprintf(v, sizeof(v), "bytes=%s", specs[i]);
            r = http_range_parse(str_make(v, strlen(v)), size, &start, &end);
            if (r == HTTP_RANGE_OK)
                ck_assert_msg(0 <= start && start <= end && end < size,
                              "\"%s\" of %lld: %lld-%lld is outside the file", v, (long long)size,
                              (long long)start, (long long)end);
            else if (size > 0 && specs[i][0] == '-' && specs[i][1] != '0')
                ck_abort_msg("\"%s\" of %lld: %s, a non-empty suffix is satisfiable", v,
                             (long long)size, result_name(r));
        }
    }
}
END_TEST

static Suite *http_range_suite(void)
{
    Suite *s = suite_create("http_range");
    TCase *tc = tcase_create("parse");

    tcase_add_loop_test(tc, test_cases, 0, NUM_CASES);
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
