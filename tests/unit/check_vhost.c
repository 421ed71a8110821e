/*
 * Unit tests for common/conf/vhost: host names in config, the normal form, and
 * matching a request's Host (exact, alias, wildcard depth, longest
 * wildcard, trailing dot, port, IPv6, case, empty and absent Host), plus
 * a table of 100,000 names to show the cost does not grow with it.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vhost.h"

enum { EXAMPLE, WILD, DEEPWILD, DOCS, V6, V4 };

static vhost_table_t *table(void)
{
    vhost_table_t *t = vhost_table_new(4);
    unsigned line;
    int host;
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(vhost_table_add(t, "example.com", EXAMPLE, 1, &line, &host), 0);
    ck_assert_int_eq(vhost_table_add(t, "WWW.Example.com.", EXAMPLE, 2, &line, &host), 0);
    ck_assert_int_eq(vhost_table_add(t, "*.example.com", WILD, 3, &line, &host), 0);
    ck_assert_int_eq(vhost_table_add(t, "*.deep.example.com", DEEPWILD, 4, &line, &host), 0);
    ck_assert_int_eq(vhost_table_add(t, "docs.deep.example.com", DOCS, 5, &line, &host), 0);
    ck_assert_int_eq(vhost_table_add(t, "[::1]", V6, 6, &line, &host), 0);
    ck_assert_int_eq(vhost_table_add(t, "127.0.0.1", V4, 7, &line, &host), 0);
    return t;
}

static int match(const vhost_table_t *t, const char *header)
{
    return vhost_match_header(t, header ? str_make(header, strlen(header)) : STR_NULL);
}

START_TEST(test_exact_and_alias)
{
    vhost_table_t *t = table();
    ck_assert_int_eq(match(t, "example.com"), EXAMPLE);
    ck_assert_int_eq(match(t, "www.example.com"), EXAMPLE);
    ck_assert_int_eq(match(t, "other.org"), VHOST_DEFAULT);
    vhost_table_free(t);
}
END_TEST

START_TEST(test_wildcard_depth)
{
    vhost_table_t *t = table();
    ck_assert_int_eq(match(t, "a.example.com"), WILD);
    ck_assert_int_eq(match(t, "a.b.example.com"), WILD);
    /* *.example.com does not match example.com: that is the exact name. */
    vhost_table_t *only = vhost_table_new(1);
    unsigned line;
    int host;
    ck_assert_int_eq(vhost_table_add(only, "*.example.com", WILD, 1, &line, &host), 0);
    ck_assert_int_eq(match(only, "example.com"), VHOST_DEFAULT);
    ck_assert_int_eq(match(only, "xexample.com"), VHOST_DEFAULT);
    ck_assert_int_eq(match(only, "a.example.com"), WILD);
    vhost_table_free(only);
    vhost_table_free(t);
}
END_TEST

START_TEST(test_longest_wildcard_wins)
{
    vhost_table_t *t = table();
    ck_assert_int_eq(match(t, "x.deep.example.com"), DEEPWILD);
    ck_assert_int_eq(match(t, "y.x.deep.example.com"), DEEPWILD);
    ck_assert_int_eq(match(t, "deep.example.com"), WILD);
    /* An exact name beats every wildcard. */
    ck_assert_int_eq(match(t, "docs.deep.example.com"), DOCS);
    vhost_table_free(t);
}
END_TEST

/* The filters that spare a Host the suffix probes: wildcards under two
 * top-level labels and of several depths, one of more than 63 labels. */
START_TEST(test_wildcard_filters)
{
    vhost_table_t *t = vhost_table_new(4);
    unsigned line;
    int host;
    char deep[VHOST_NAME_MAX + 1] = "*", name[VHOST_NAME_MAX + 1] = "x";
    for (int i = 0; i < 70; i++)
        strcat(deep, ".a");
    strcat(deep, ".net");
    strcat(name, deep + 1);
    ck_assert_int_eq(vhost_table_add(t, "*.b.org", 1, 1, &line, &host), 0);
    ck_assert_int_eq(vhost_table_add(t, "*.c.d.e.com", 2, 2, &line, &host), 0);
    ck_assert_int_eq(vhost_table_add(t, deep, 3, 3, &line, &host), 0);
    ck_assert_int_eq(vhost_match(t, "x.b.org", 7), 1);
    ck_assert_int_eq(vhost_match(t, "x.y.b.org", 9), 1);
    ck_assert_int_eq(vhost_match(t, "x.c.d.e.com", 11), 2);
    ck_assert_int_eq(vhost_match(t, "x.y.z.c.d.e.com", 15), 2);
    ck_assert_int_eq(vhost_match(t, name, strlen(name)), 3);
    ck_assert_int_eq(vhost_match(t, "x.d.e.com", 9), VHOST_DEFAULT);
    ck_assert_int_eq(vhost_match(t, "x.b.com", 7), VHOST_DEFAULT);
    ck_assert_int_eq(vhost_match(t, "127.0.0.1", 9), VHOST_DEFAULT);
    ck_assert_int_eq(vhost_match(t, "localhost", 9), VHOST_DEFAULT);
    vhost_table_free(t);
}
END_TEST

START_TEST(test_normal_form)
{
    vhost_table_t *t = table();
    ck_assert_int_eq(match(t, "example.com."), EXAMPLE);      /* trailing dot */
    ck_assert_int_eq(match(t, "example.com:8080"), EXAMPLE);  /* port */
    ck_assert_int_eq(match(t, "example.com.:80"), EXAMPLE);
    ck_assert_int_eq(match(t, "EXAMPLE.Com"), EXAMPLE);       /* case */
    ck_assert_int_eq(match(t, "A.EXAMPLE.COM:1"), WILD);
    ck_assert_int_eq(match(t, "[::1]"), V6);                  /* IPv6 kept whole */
    ck_assert_int_eq(match(t, "[::1]:8080"), V6);
    ck_assert_int_eq(match(t, "[::2]"), VHOST_DEFAULT);
    ck_assert_int_eq(match(t, "127.0.0.1:80"), V4);
    vhost_table_free(t);
}
END_TEST

START_TEST(test_empty_absent_invalid)
{
    vhost_table_t *t = table();
    ck_assert_int_eq(match(t, NULL), VHOST_DEFAULT);   /* HTTP/1.0 without Host */
    ck_assert_int_eq(match(t, ""), VHOST_DEFAULT);
    /* The parser refuses an invalid Host with 400 before any match; what
     * is not a configured name just matches nothing. */
    ck_assert_int_eq(match(t, ".example.com"), VHOST_DEFAULT);
    ck_assert_int_eq(match(t, "[::1"), VHOST_DEFAULT);
    ck_assert_int_eq(match(t, "exa mple.com"), VHOST_DEFAULT);
    ck_assert_int_eq(vhost_match(NULL, "a", 1), VHOST_DEFAULT);
    vhost_table_free(t);
}
END_TEST

START_TEST(test_duplicates)
{
    vhost_table_t *t = table();
    unsigned line = 0;
    int host = -2;
    ck_assert_int_eq(vhost_table_add(t, "Example.COM.", DOCS, 9, &line, &host), 1);
    ck_assert_uint_eq(line, 1);
    ck_assert_int_eq(host, EXAMPLE);
    ck_assert_int_eq(vhost_table_add(t, "*.EXAMPLE.com", DOCS, 9, &line, &host), 1);
    ck_assert_uint_eq(line, 3);
    vhost_table_free(t);
}
END_TEST

START_TEST(test_names)
{
    ck_assert(vhost_name_ok("example.com"));
    ck_assert(vhost_name_ok("Example.COM."));
    ck_assert(vhost_name_ok("*.example.com"));
    ck_assert(vhost_name_ok("localhost"));
    ck_assert(vhost_name_ok("[::1]"));
    ck_assert(vhost_name_ok("10.0.0.1"));
    ck_assert(!vhost_name_ok(""));
    ck_assert(!vhost_name_ok("*"));
    ck_assert(!vhost_name_ok("*."));
    ck_assert(!vhost_name_ok("a.*.com"));
    ck_assert(!vhost_name_ok("*example.com"));
    ck_assert(!vhost_name_ok("a..b"));
    ck_assert(!vhost_name_ok("a b"));
    ck_assert(!vhost_name_ok("a.com:80"));
    ck_assert(!vhost_name_ok("[::1"));
    char out[VHOST_NAME_MAX + 2];
    ck_assert_uint_eq(vhost_name_normal("*.A.Com.", out), 6);
    ck_assert_str_eq(out, ".a.com");
}
END_TEST

/* 100,000 names: a lookup costs the same as in a table of seven. */
START_TEST(test_many)
{
    vhost_table_t *t = vhost_table_new(16);
    char name[64];
    unsigned line;
    int host;
    for (int i = 0; i < 100000; i++) {
        snprintf(name, sizeof(name), "h%d.example.com", i);
        ck_assert_int_eq(vhost_table_add(t, name, i, (unsigned)i, &line, &host), 0);
    }
    ck_assert_int_eq(vhost_table_add(t, "*.w.example.com", -5, 1, &line, &host), 0);
    for (int i = 0; i < 100000; i += 997) {
        snprintf(name, sizeof(name), "H%d.example.com:80", i);
        ck_assert_int_eq(match(t, name), i);
    }
    ck_assert_int_eq(match(t, "a.b.w.example.com"), -5);
    ck_assert_int_eq(match(t, "nope.example.com"), VHOST_DEFAULT);
    vhost_table_free(t);
}
END_TEST

static Suite *vhost_suite(void)
{
    Suite *s = suite_create("vhost");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_exact_and_alias);
    tcase_add_test(tc, test_wildcard_depth);
    tcase_add_test(tc, test_longest_wildcard_wins);
    tcase_add_test(tc, test_wildcard_filters);
    tcase_add_test(tc, test_normal_form);
    tcase_add_test(tc, test_empty_absent_invalid);
    tcase_add_test(tc, test_duplicates);
    tcase_add_test(tc, test_names);
    tcase_add_test(tc, test_many);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(vhost_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
