/*
 * Unit tests for common/http/http_date: IMF-fixdate formatting, the three
 * HTTP-date forms of RFC 9110 section 5.6.7, the per-second cache and the
 * common log format time.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http_date.h"

#define T_1994 ((time_t)784111777) /* Sun, 06 Nov 1994 08:49:37 GMT */

static const struct {
    time_t t;
    const char *imf;
} known[] = {
    { 0, "Thu, 01 Jan 1970 00:00:00 GMT" },
    { T_1994, "Sun, 06 Nov 1994 08:49:37 GMT" },
    { 951782400, "Tue, 29 Feb 2000 00:00:00 GMT" },
    { 1700000000, "Tue, 14 Nov 2023 22:13:20 GMT" },
    { 2147483648LL, "Tue, 19 Jan 2038 03:14:08 GMT" },
    { 4102444800LL, "Fri, 01 Jan 2100 00:00:00 GMT" },
};

#define NUM_KNOWN (sizeof(known) / sizeof(known[0]))

START_TEST(test_format)
{
    size_t i;

    for (i = 0; i < NUM_KNOWN; i++) {
        char out[64];

        memset(out, 'Z', sizeof(out));
        http_date_format(known[i].t, out);
        ck_assert_str_eq(out, known[i].imf);
        ck_assert_uint_eq(strlen(out), HTTP_DATE_LEN);
        /* exactly HTTP_DATE_LEN + 1 bytes written */
        ck_assert_int_eq(out[HTTP_DATE_LEN + 1], 'Z');
    }
}
END_TEST

static void assert_parses(const char *s, time_t want)
{
    time_t t = (time_t)-12345;
    int r = http_date_parse(s, strlen(s), &t);

    ck_assert_msg(r == 0, "\"%s\": returned %d", s, r);
    ck_assert_msg(t == want, "\"%s\": %lld, expected %lld", s, (long long)t, (long long)want);
}

START_TEST(test_parse_imf_fixdate)
{
    size_t i;

    assert_parses("Sun, 06 Nov 1994 08:49:37 GMT", T_1994);
    for (i = 0; i < NUM_KNOWN; i++)
        assert_parses(known[i].imf, known[i].t);
}
END_TEST

START_TEST(test_parse_rfc850)
{
    assert_parses("Sunday, 06-Nov-94 08:49:37 GMT", T_1994);
    assert_parses("Wednesday, 01-Dec-99 23:59:59 GMT", 944092799);
    assert_parses("Monday, 28-Feb-94 12:00:00 GMT", 762436800);
    /* RFC 9110 section 5.6.7: a two-digit year is the nearest one that is
     * not more than 50 years ahead, so "30" is 2030 (until 2080). */
    assert_parses("Tuesday, 01-Jan-30 00:00:00 GMT", 1893456000);
}
END_TEST

START_TEST(test_parse_asctime)
{
    assert_parses("Sun Nov  6 08:49:37 1994", T_1994);
    assert_parses("Thu Nov 10 08:49:37 1994", T_1994 + 4 * 86400);
    assert_parses("Thu Jan  1 00:00:00 1970", 0);
    assert_parses("Tue Feb 29 00:00:00 2000", 951782400);
}
END_TEST

/* The value is a slice: bytes after len must not matter. */
START_TEST(test_parse_uses_len)
{
    static const char buf[] = "Sun, 06 Nov 1994 08:49:37 GMTgarbage";
    time_t t = 0;

    ck_assert_int_eq(http_date_parse(buf, HTTP_DATE_LEN, &t), 0);
    ck_assert_int_eq(t, T_1994);
    /* one byte short is a truncated date */
    ck_assert_int_eq(http_date_parse(buf, HTTP_DATE_LEN - 1, &t), -1);
}
END_TEST

static const char *const garbage[] = {
    "",
    "garbage",
    "Sun, 06 Nov 1994",
    "Sun, 06 Nov 1994 08:49",
    "Sun, 06 Nov 1994 08:49:37",
    "Sun, 06 Nov 1994 08:49:37 UTC",
    "Sun, 06 Nov 1994 08:49:37 GMT trailing",
    "Sun, 06 Foo 1994 08:49:37 GMT",
    "Sun, 32 Nov 1994 08:49:37 GMT",
    "Sun, 00 Nov 1994 08:49:37 GMT",
    /* days that do not exist must not roll over into the next month */
    "Thu, 31 Apr 1994 08:49:37 GMT",
    "Wed, 30 Feb 2000 00:00:00 GMT",
    "Tue, 29 Feb 1994 00:00:00 GMT",
    "Thursday, 31-Apr-94 08:49:37 GMT",
    "Thu Apr 31 08:49:37 1994",
    "Sun, 06 Nov 1994 25:49:37 GMT",
    "Sun, 06 Nov 1994 08:60:37 GMT",
    "Sun, 06 Nov 1994 08:49:61 GMT",
    "Sun, 6 Nov 1994 08:49:37 GMT",
    "Sun, 06 Nov 94 08:49:37 GMT",
    "Sun, 0x Nov 1994 08:49:37 GMT",
    "Sun, 06 Nov 1994 08:4a:37 GMT",
    "Sun 06 Nov 1994 08:49:37 GMT",
    "Sunday, 06-Nov-94 08:49:37",
    "Sunday, 06-Xyz-94 08:49:37 GMT",
    "Sun Nov  6 08:49:37",
    "Sun Nov  6 08:49:37 19x4",
    "Sun Zzz  6 08:49:37 1994",
    "784111777",
    "-1",
};

START_TEST(test_parse_garbage)
{
    const char *s = garbage[_i];
    time_t t = (time_t)-12345;
    int r = http_date_parse(s, strlen(s), &t);

    ck_assert_msg(r == -1, "\"%s\": returned %d (t = %lld), expected -1", s, r, (long long)t);
}
END_TEST

START_TEST(test_round_trip)
{
    time_t t;

    /* every few hours over a few decades, and around the leap days */
    for (t = 0; t < (time_t)4200000000LL; t += 7 * 3600 + 13 * 60 + 17) {
        char out[HTTP_DATE_LEN + 1];
        time_t back = (time_t)-1;

        http_date_format(t, out);
        ck_assert_msg(http_date_parse(out, HTTP_DATE_LEN, &back) == 0, "\"%s\" not parsed", out);
        ck_assert_msg(back == t, "%lld -> \"%s\" -> %lld", (long long)t, out, (long long)back);
    }
}
END_TEST

START_TEST(test_clf)
{
    char out[64];

    memset(out, 'Z', sizeof(out));
    http_date_clf(T_1994, out);
    ck_assert_str_eq(out, "06/Nov/1994:08:49:37 +0000");
    ck_assert_uint_eq(strlen(out), HTTP_DATE_CLF_LEN);
    ck_assert_int_eq(out[HTTP_DATE_CLF_LEN + 1], 'Z');

    http_date_clf(0, out);
    ck_assert_str_eq(out, "01/Jan/1970:00:00:00 +0000");
    http_date_clf(1795330800LL, out);
    ck_assert_str_eq(out, "22/Nov/2026:07:00:00 +0000");
}
END_TEST

/* The log shows local time, but HTTP dates are GMT whatever TZ says. */
START_TEST(test_independent_of_tz)
{
    char out[64];
    time_t t = 0;

    setenv("TZ", "EST5EDT", 1);
    tzset();
    http_date_format(T_1994, out);
    ck_assert_str_eq(out, "Sun, 06 Nov 1994 08:49:37 GMT");
    http_date_clf(T_1994, out);
    ck_assert_str_eq(out, "06/Nov/1994:08:49:37 +0000");
    ck_assert_int_eq(http_date_parse("Sun, 06 Nov 1994 08:49:37 GMT", HTTP_DATE_LEN, &t), 0);
    ck_assert_int_eq(t, T_1994);
}
END_TEST

START_TEST(test_now_cache)
{
    char a[HTTP_DATE_LEN + 1], b[HTTP_DATE_LEN + 1];
    const char *p;

    p = http_date_now(T_1994);
    ck_assert_ptr_nonnull(p);
    ck_assert_str_eq(p, "Sun, 06 Nov 1994 08:49:37 GMT");
    strcpy(a, p);

    p = http_date_now(T_1994);
    ck_assert_str_eq(p, a);

    p = http_date_now(T_1994 + 1);
    ck_assert_str_eq(p, "Sun, 06 Nov 1994 08:49:38 GMT");
    strcpy(b, p);
    ck_assert_str_ne(a, b);

    /* back to an older second: never a stale string */
    p = http_date_now(T_1994);
    ck_assert_str_eq(p, "Sun, 06 Nov 1994 08:49:37 GMT");
    p = http_date_now(T_1994 + 86400);
    ck_assert_str_eq(p, "Mon, 07 Nov 1994 08:49:37 GMT");
}
END_TEST

static Suite *http_date_suite(void)
{
    Suite *s = suite_create("http_date");
    TCase *tc = tcase_create("date");

    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_format);
    tcase_add_test(tc, test_parse_imf_fixdate);
    tcase_add_test(tc, test_parse_rfc850);
    tcase_add_test(tc, test_parse_asctime);
    tcase_add_test(tc, test_parse_uses_len);
    tcase_add_loop_test(tc, test_parse_garbage, 0, (int)(sizeof(garbage) / sizeof(garbage[0])));
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_clf);
    tcase_add_test(tc, test_independent_of_tz);
    tcase_add_test(tc, test_now_cache);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(http_date_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
