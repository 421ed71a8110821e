/*
 * Unit tests for common/http/http_conditional: entity-tag lists, the
 * precedence of the preconditions (RFC 9110 section 13.2.2) and If-Range.
 * Requests are built by the real parser, so fields sent on several lines
 * reach the evaluator the way they do in the server.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_conditional.h"
#include "http_date.h"
#include "http_parser.h"

#define ETAG "\"5f-1a\""
#define MTIME ((time_t)1000000000) /* Sun, 09 Sep 2001 01:46:40 GMT */
#define NOW (MTIME + 3600)

static char reqbuf[8192];
static http_request_t req;

/* Parses "GET / HTTP/1.1" with Host and the given header lines. */
static const http_request_t *request(const char *lines)
{
    int n = snprintf(reqbuf, sizeof(reqbuf), "GET / HTTP/1.1\r\nHost: h\r\n%s\r\n", lines);
    ssize_t r = http_parse_request(reqbuf, (size_t)n, 0, sizeof(reqbuf), &req);
    ck_assert_msg(r == n, "the request did not parse (%zd, status %d):\n%s", r, req.status, reqbuf);
    return &req;
}

static const char *date(time_t t)
{
    static char buf[4][HTTP_DATE_LEN + 1];
    static int k;
    k = (k + 1) % 4;
    http_date_format(t, buf[k]);
    return buf[k];
}

static int check(const char *lines)
{
    return http_conditional_check(request(lines), STR_LIT(ETAG), MTIME, NOW);
}

static int if_range(const char *lines, time_t now)
{
    return http_conditional_if_range(request(lines), STR_LIT(ETAG), MTIME, now);
}

/* ---- entity-tag lists ---------------------------------------------------- */

typedef struct {
    const char *list;
    int strong, weak; /* expected under each comparison */
} etag_case_t;

static const etag_case_t etag_cases[] = {
    { ETAG, 1, 1 },
    { "W/" ETAG, 0, 1 },
    { "\"other\"", 0, 0 },
    { "*", 1, 1 },
    { " * ", 1, 1 },
    { "\"a\", " ETAG, 1, 1 },
    { "\"a\",W/" ETAG, 0, 1 },
    { "\"a\" ,\t" ETAG " , \"b\"", 1, 1 },
    { ",," ETAG ",,", 1, 1 },
    { "", 0, 0 },
    { " ", 0, 0 },
    /* only an exact opaque-tag matches: no case folding, quotes count */
    { "\"5F-1A\"", 0, 0 },
    { "5f-1a", 0, 0 },
    { "\"5f-1a", 0, 0 },
    { "\"5f-1a\"x", 0, 0 },
    { "w/" ETAG, 0, 0 },
    { "W/ " ETAG, 0, 0 },
    { ETAG " " ETAG, 0, 0 },
    /* a malformed member is skipped, the rest still count */
    { "junk, " ETAG, 1, 1 },
    { "\"a\"b, " ETAG, 1, 1 },
    /* an unterminated tag ends the list */
    { "\"a, " ETAG, 0, 0 },
    /* a comma inside a tag is part of it */
    { "\"5f,1a\"", 0, 0 },
};

START_TEST(test_etag_list)
{
    const etag_case_t *c = &etag_cases[_i];
    str_t list = str_make(c->list, strlen(c->list));

    ck_assert_msg(http_etag_list_match(list, STR_LIT(ETAG), 0) == c->strong,
                  "'%s' strong: expected %d", c->list, c->strong);
    ck_assert_msg(http_etag_list_match(list, STR_LIT(ETAG), 1) == c->weak,
                  "'%s' weak: expected %d", c->list, c->weak);
}
END_TEST

START_TEST(test_etag_list_limits)
{
    char v[4096];
    size_t n = 0;

    /* a tag with a comma in it */
    ck_assert_int_eq(http_etag_list_match(STR_LIT("\"x\", \"a,b\""), STR_LIT("\"a,b\""), 0), 1);
    /* only len bytes count */
    ck_assert_int_eq(http_etag_list_match(str_make(ETAG "junk", 7), STR_LIT(ETAG), 0), 1);
    ck_assert_int_eq(http_etag_list_match(str_make(ETAG, 6), STR_LIT(ETAG), 0), 0);
    ck_assert_int_eq(http_etag_list_match(STR_NULL, STR_LIT(ETAG), 1), 0);
    /* past HTTP_CONDITIONAL_MAX_TAGS members nothing more is compared */
    for (int i = 0; i < HTTP_CONDITIONAL_MAX_TAGS - 1; i++)
        n += (size_t)snprintf(v + n, sizeof(v) - n, "\"t%d\", ", i);
    snprintf(v + n, sizeof(v) - n, "%s", ETAG);
    ck_assert_int_eq(http_etag_list_match(str_make(v, strlen(v)), STR_LIT(ETAG), 0), 1);
    snprintf(v + n, sizeof(v) - n, "\"one-more\", %s", ETAG);
    ck_assert_int_eq(http_etag_list_match(str_make(v, strlen(v)), STR_LIT(ETAG), 0), 0);
}
END_TEST

/* ---- preconditions ------------------------------------------------------- */

START_TEST(test_no_conditions)
{
    ck_assert_int_eq(check(""), 200);
    ck_assert_int_eq(check("X-If-None-Match: " ETAG "\r\n"), 200);
}
END_TEST

START_TEST(test_if_none_match)
{
    ck_assert_int_eq(check("If-None-Match: " ETAG "\r\n"), 304);
    ck_assert_int_eq(check("If-None-Match: W/" ETAG "\r\n"), 304); /* weak comparison */
    ck_assert_int_eq(check("If-None-Match: \"x\", " ETAG "\r\n"), 304);
    ck_assert_int_eq(check("If-None-Match: *\r\n"), 304);
    ck_assert_int_eq(check("If-None-Match: \"x\"\r\n"), 200);
    ck_assert_int_eq(check("if-none-match: " ETAG "\r\n"), 304);
    /* one list over two lines (RFC 9110 section 5.3) */
    ck_assert_int_eq(check("If-None-Match: \"x\"\r\nIf-None-Match: " ETAG "\r\n"), 304);
    ck_assert_int_eq(check("If-None-Match: " ETAG "\r\nIf-None-Match: \"x\"\r\n"), 304);
}
END_TEST

START_TEST(test_if_modified_since)
{
    char h[256];

    snprintf(h, sizeof(h), "If-Modified-Since: %s\r\n", date(MTIME));
    ck_assert_int_eq(check(h), 304);
    snprintf(h, sizeof(h), "If-Modified-Since: %s\r\n", date(MTIME + 10));
    ck_assert_int_eq(check(h), 304);
    snprintf(h, sizeof(h), "If-Modified-Since: %s\r\n", date(MTIME - 1));
    ck_assert_int_eq(check(h), 200);
    /* the obsolete forms are dates too */
    ck_assert_int_eq(check("If-Modified-Since: Sunday, 09-Sep-01 01:46:40 GMT\r\n"), 304);
    ck_assert_int_eq(check("If-Modified-Since: Sun Sep  9 01:46:40 2001\r\n"), 304);
    /* ignored: not a date, a date in the future, sent twice */
    ck_assert_int_eq(check("If-Modified-Since: yesterday\r\n"), 200);
    ck_assert_int_eq(check("If-Modified-Since: \r\n"), 200);
    snprintf(h, sizeof(h), "If-Modified-Since: %s\r\n", date(NOW + 10));
    ck_assert_int_eq(check(h), 200);
    snprintf(h, sizeof(h), "If-Modified-Since: %s\r\nIf-Modified-Since: %s\r\n", date(MTIME),
             date(MTIME));
    ck_assert_int_eq(check(h), 200);
}
END_TEST

/* If-None-Match makes If-Modified-Since ignored, whichever way it goes. */
START_TEST(test_if_none_match_beats_if_modified_since)
{
    char h[256];

    snprintf(h, sizeof(h), "If-None-Match: \"x\"\r\nIf-Modified-Since: %s\r\n", date(MTIME));
    ck_assert_int_eq(check(h), 200);
    snprintf(h, sizeof(h), "If-Modified-Since: %s\r\nIf-None-Match: " ETAG "\r\n",
             date(MTIME - 100));
    ck_assert_int_eq(check(h), 304);
    /* an empty If-None-Match is present: an empty list matches nothing */
    snprintf(h, sizeof(h), "If-None-Match:\r\nIf-Modified-Since: %s\r\n", date(MTIME));
    ck_assert_int_eq(check(h), 200);
}
END_TEST

START_TEST(test_if_match)
{
    ck_assert_int_eq(check("If-Match: " ETAG "\r\n"), 200);
    ck_assert_int_eq(check("If-Match: *\r\n"), 200);
    ck_assert_int_eq(check("If-Match: \"x\", " ETAG "\r\n"), 200);
    ck_assert_int_eq(check("If-Match: \"x\"\r\n"), 412);
    ck_assert_int_eq(check("If-Match: W/" ETAG "\r\n"), 412); /* strong comparison */
    ck_assert_int_eq(check("If-Match:\r\n"), 412);
    ck_assert_int_eq(check("If-Match: \"x\"\r\nIf-Match: " ETAG "\r\n"), 200);
}
END_TEST

START_TEST(test_if_unmodified_since)
{
    char h[256];

    snprintf(h, sizeof(h), "If-Unmodified-Since: %s\r\n", date(MTIME));
    ck_assert_int_eq(check(h), 200);
    snprintf(h, sizeof(h), "If-Unmodified-Since: %s\r\n", date(MTIME + 5));
    ck_assert_int_eq(check(h), 200);
    snprintf(h, sizeof(h), "If-Unmodified-Since: %s\r\n", date(MTIME - 1));
    ck_assert_int_eq(check(h), 412);
    ck_assert_int_eq(check("If-Unmodified-Since: garbage\r\n"), 200);
    /* If-Match present: If-Unmodified-Since is not looked at */
    snprintf(h, sizeof(h), "If-Match: " ETAG "\r\nIf-Unmodified-Since: %s\r\n", date(MTIME - 1));
    ck_assert_int_eq(check(h), 200);
}
END_TEST

/* Steps 1-2 come before steps 3-4. */
START_TEST(test_precedence)
{
    char h[256];

    ck_assert_int_eq(check("If-Match: \"x\"\r\nIf-None-Match: " ETAG "\r\n"), 412);
    ck_assert_int_eq(check("If-Match: " ETAG "\r\nIf-None-Match: " ETAG "\r\n"), 304);
    ck_assert_int_eq(check("If-Match: " ETAG "\r\nIf-None-Match: \"x\"\r\n"), 200);
    snprintf(h, sizeof(h), "If-Unmodified-Since: %s\r\nIf-Modified-Since: %s\r\n",
             date(MTIME - 1), date(MTIME));
    ck_assert_int_eq(check(h), 412);
    snprintf(h, sizeof(h), "If-Unmodified-Since: %s\r\nIf-Modified-Since: %s\r\n", date(MTIME),
             date(MTIME));
    ck_assert_int_eq(check(h), 304);
}
END_TEST

/* ---- If-Range ------------------------------------------------------------- */

START_TEST(test_if_range)
{
    char h[256];

    ck_assert_int_eq(if_range("", NOW), 1);
    ck_assert_int_eq(if_range("If-Range: " ETAG "\r\n", NOW), 1);
    ck_assert_int_eq(if_range("If-Range: \"x\"\r\n", NOW), 0);
    ck_assert_int_eq(if_range("If-Range: W/" ETAG "\r\n", NOW), 0); /* weak never matches */
    ck_assert_int_eq(if_range("If-Range: " ETAG ", \"x\"\r\n", NOW), 0); /* one tag only */
    snprintf(h, sizeof(h), "If-Range: %s\r\n", date(MTIME));
    ck_assert_int_eq(if_range(h, NOW), 1);
    ck_assert_int_eq(if_range(h, MTIME + 1), 1);
    /* a Last-Modified of this very second is weak (RFC 9110 8.8.2.2) */
    ck_assert_int_eq(if_range(h, MTIME), 0);
    /* a date must match exactly */
    snprintf(h, sizeof(h), "If-Range: %s\r\n", date(MTIME + 1));
    ck_assert_int_eq(if_range(h, NOW), 0);
    snprintf(h, sizeof(h), "If-Range: %s\r\n", date(MTIME - 1));
    ck_assert_int_eq(if_range(h, NOW), 0);
    ck_assert_int_eq(if_range("If-Range: soon\r\n", NOW), 0);
    ck_assert_int_eq(if_range("If-Range:\r\n", NOW), 0);
    ck_assert_int_eq(if_range("If-Range: " ETAG "\r\nIf-Range: " ETAG "\r\n", NOW), 0);
}
END_TEST

static Suite *http_conditional_suite(void)
{
    Suite *s = suite_create("http_conditional");
    TCase *tc = tcase_create("etag");

    tcase_add_loop_test(tc, test_etag_list, 0, (int)(sizeof(etag_cases) / sizeof(etag_cases[0])));
    tcase_add_test(tc, test_etag_list_limits);
    suite_add_tcase(s, tc);

    tc = tcase_create("preconditions");
    tcase_add_test(tc, test_no_conditions);
    tcase_add_test(tc, test_if_none_match);
    tcase_add_test(tc, test_if_modified_since);
    tcase_add_test(tc, test_if_none_match_beats_if_modified_since);
    tcase_add_test(tc, test_if_match);
    tcase_add_test(tc, test_if_unmodified_since);
    tcase_add_test(tc, test_precedence);
    tcase_add_test(tc, test_if_range);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(http_conditional_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
