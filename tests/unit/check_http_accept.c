/*
 * Unit tests for common/http/http_accept: Accept-Encoding weights (RFC 9110
 * section 12.5.3) and the choice among a file and its precompressed
 * copies, with the choices documented in http_accept.h.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_accept.h"

#define GZ HTTP_CODING_MASK(HTTP_CODING_GZIP)
#define BR HTTP_CODING_MASK(HTTP_CODING_BR)
#define ZS HTTP_CODING_MASK(HTTP_CODING_ZSTD)
#define ID HTTP_CODING_IDENTITY

static str_t S(const char *s)
{
    return str_make(s, strlen(s));
}

typedef struct {
    const char *value;
    int gzip, br, identity; /* expected http_accept_encoding_q */
} q_case_t;

static const q_case_t q_cases[] = {
    { "gzip", 1000, -1, -1 },
    { "GZIP", 1000, -1, -1 },
    { "x-gzip", 1000, -1, -1 },
    { "gzip, br", 1000, 1000, -1 },
    { "gzip;q=0.5, br;q=0.8", 500, 800, -1 },
    { "gzip; q=0.5", 500, -1, -1 },
    { "gzip ;q=0.5", 500, -1, -1 },
    { "gzip;Q=0.5", 500, -1, -1 },
    { "gzip;q=0", 0, -1, -1 },
    { "gzip;q=0.000", 0, -1, -1 },
    { "gzip;q=0.001", 1, -1, -1 },
    { "gzip;q=1", 1000, -1, -1 },
    { "gzip;q=1.000", 1000, -1, -1 },
    { "gzip;q=1.", 1000, -1, -1 },
    /* malformed weights refuse the coding */
    { "gzip;q=1.5", 0, -1, -1 },
    { "gzip;q=2", 0, -1, -1 },
    { "gzip;q=0.5000", 0, -1, -1 },
    { "gzip;q=-1", 0, -1, -1 },
    { "gzip;q=", 0, -1, -1 },
    { "gzip;q=abc", 0, -1, -1 },
    { "gzip;q=.5", 0, -1, -1 },
    /* other parameters are skipped */
    { "gzip;level=9;q=0.3", 300, -1, -1 },
    { "gzip;x=\"a;q=0,b\";q=0.7", 700, -1, -1 },
    /* "*" stands for every coding not named */
    { "*", 1000, 1000, 1000 },
    { "*;q=0", 0, 0, 0 },
    { "br, *;q=0", 0, 1000, 0 },
    { "*;q=0.2, gzip", 1000, 200, 200 },
    { "identity;q=0, *", 1000, 1000, 0 },
    /* the first member naming a coding counts */
    { "gzip;q=0, gzip", 0, -1, -1 },
    /* codings we do not have, and junk, are skipped */
    { "deflate, zstd, compress", -1, -1, -1 },
    { "gzipx, brr, gz", -1, -1, -1 },
    { "@@@, gzip", 1000, -1, -1 },
    { "gzip junk, br", -1, 1000, -1 },
    { "gzip;, br", -1, 1000, -1 },
    { ",,, gzip ,,", 1000, -1, -1 },
    { "", -1, -1, -1 },
    { "gzip;q=\"0.5", -1, -1, -1 },
};

START_TEST(test_q)
{
    const q_case_t *c = &q_cases[_i];
    int g = http_accept_encoding_q(S(c->value), HTTP_CODING_GZIP);
    int b = http_accept_encoding_q(S(c->value), HTTP_CODING_BR);
    int i = http_accept_encoding_q(S(c->value), HTTP_CODING_IDENTITY);

    ck_assert_msg(g == c->gzip && b == c->br && i == c->identity,
                  "'%s': gzip %d br %d identity %d, expected %d %d %d", c->value, g, b, i, c->gzip,
                  c->br, c->identity);
}
END_TEST

typedef struct {
    const char *value; /* NULL: no Accept-Encoding */
    unsigned available;
    http_coding_t want;
} select_case_t;

static const select_case_t select_cases[] = {
    /* no field, or an empty one: identity */
    { NULL, GZ | BR, ID },
    { "", GZ | BR, ID },
    /* what browsers send */
    { "gzip, deflate, br, zstd", GZ | BR, HTTP_CODING_BR },
    { "gzip, deflate, br, zstd", GZ, HTTP_CODING_GZIP },
    { "gzip, deflate, br, zstd", BR, HTTP_CODING_BR },
    { "gzip, deflate, br, zstd", 0, ID },
    { "gzip, deflate", GZ | BR, HTTP_CODING_GZIP },
    { "br", GZ, ID },
    /* q=0 refuses */
    { "gzip;q=0", GZ, ID },
    { "gzip;q=0, br", GZ | BR, HTTP_CODING_BR },
    { "br;q=0, gzip", GZ | BR, HTTP_CODING_GZIP },
    { "*;q=0", GZ | BR, ID },
    /* the highest q wins; br on a tie */
    { "gzip;q=0.9, br;q=0.5", GZ | BR, HTTP_CODING_GZIP },
    { "gzip;q=0.5, br;q=0.5", GZ | BR, HTTP_CODING_BR },
    { "*", GZ | BR, HTTP_CODING_BR },
    { "*", GZ, HTTP_CODING_GZIP },
    /* identity wins only when weighed higher by the client itself */
    { "gzip;q=0.5", GZ, HTTP_CODING_GZIP },
    { "gzip;q=0.5, identity", GZ, ID },
    { "gzip;q=0.5, *", GZ, ID }, /* identity has the q of "*": 1 */
    { "gzip, identity;q=0.5", GZ, HTTP_CODING_GZIP },
    { "gzip, identity", GZ, HTTP_CODING_GZIP },
    /* identity refused and nothing else accepted: identity anyway */
    { "identity;q=0", GZ, ID },
    { "identity;q=0", 0, ID },
    { "identity;q=0, gzip;q=0.1", GZ, HTTP_CODING_GZIP },
    { "x-gzip", GZ, HTTP_CODING_GZIP },
    /* a malformed field is treated as absent: identity, never a 400 */
    { "gzip junk, br", GZ | BR, ID },
    { "br;, gzip", GZ | BR, ID },
    { "gzip;q=\"0.5", GZ, ID },
    { "zstd", ZS, HTTP_CODING_ZSTD },
    { "gzip, br, zstd", GZ | BR | ZS, HTTP_CODING_BR },
};

/* The server's preference among equal weights, and the client's q over it. */
typedef struct {
    const char *value;
    unsigned available;
    int pref[3];
    http_coding_t want;
} choose_case_t;

static const choose_case_t choose_cases[] = {
    { "gzip, br, zstd", GZ | BR | ZS, { 3, 2, 1 }, HTTP_CODING_ZSTD },
    { "gzip, br, zstd", GZ | BR | ZS, { 1, 2, 3 }, HTTP_CODING_GZIP },
    { "gzip, br;q=0.9, zstd;q=0.5", GZ | BR | ZS, { 3, 2, 1 }, HTTP_CODING_GZIP },
    { "*", GZ | BR | ZS, { 2, 3, 1 }, HTTP_CODING_BR },
    { "*;q=0.5, gzip;q=0", GZ | ZS, { 1, 3, 0 }, HTTP_CODING_ZSTD },
    { "identity;q=0, *;q=0", GZ, { 1, 0, 0 }, ID },
    /* a coding not in the server's list is never chosen */
    { "br", GZ | BR, { 1, 0, 0 }, ID },
    { "zstd;q=1.0, identity;q=0.5", ZS, { 3, 0, 0 }, HTTP_CODING_ZSTD },
};

START_TEST(test_choose)
{
    const choose_case_t *c = &choose_cases[_i];
    http_coding_t got = http_accept_encoding_choose(S(c->value), c->available, c->pref, 3);
    ck_assert_msg(got == c->want, "'%s': %d, expected %d", c->value, got, c->want);
}
END_TEST

START_TEST(test_select)
{
    const select_case_t *c = &select_cases[_i];
    str_t v = c->value ? S(c->value) : STR_NULL;
    http_coding_t got = http_accept_encoding_select(v, c->available);

    ck_assert_msg(got == c->want, "'%s' with %u: %d, expected %d", c->value ? c->value : "(none)",
                  c->available, got, c->want);
}
END_TEST

START_TEST(test_names_and_length)
{
    ck_assert_str_eq(http_coding_name(HTTP_CODING_GZIP), "gzip");
    ck_assert_str_eq(http_coding_name(HTTP_CODING_BR), "br");
    ck_assert_ptr_null(http_coding_name(HTTP_CODING_IDENTITY));
    /* only len bytes count: "gzip;q=0" cut to "gzip" */
    ck_assert_int_eq(http_accept_encoding_q(str_make("gzip;q=0", 4), HTTP_CODING_GZIP), 1000);
    ck_assert_int_eq(http_accept_encoding_select(str_make("br, gzip", 2), GZ | BR), HTTP_CODING_BR);
    ck_assert_int_eq(http_accept_encoding_select(str_make("br, gzip", 1), GZ | BR), ID);
}
END_TEST

/* A long field is read in linear time and never out of bounds. */
START_TEST(test_long_field)
{
    static char v[65536];
    size_t n = 0;

    while (n + 16 < sizeof(v))
        n += (size_t)snprintf(v + n, sizeof(v) - n, "foo;q=0.1, ");
    snprintf(v + n, sizeof(v) - n, "br");
    ck_assert_int_eq(http_accept_encoding_select(S(v), GZ | BR), HTTP_CODING_BR);
    memset(v, ';', sizeof(v) - 1);
    v[sizeof(v) - 1] = '\0';
    ck_assert_int_eq(http_accept_encoding_select(S(v), GZ | BR), ID);
}
END_TEST

static Suite *http_accept_suite(void)
{
    Suite *s = suite_create("http_accept");
    TCase *tc = tcase_create("accept_encoding");

    tcase_add_loop_test(tc, test_q, 0, (int)(sizeof(q_cases) / sizeof(q_cases[0])));
    tcase_add_loop_test(tc, test_select, 0, (int)(sizeof(select_cases) / sizeof(select_cases[0])));
    tcase_add_loop_test(tc, test_choose, 0, (int)(sizeof(choose_cases) / sizeof(choose_cases[0])));
    tcase_add_test(tc, test_names_and_length);
    tcase_add_test(tc, test_long_field);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(http_accept_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
