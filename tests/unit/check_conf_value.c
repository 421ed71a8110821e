/*
 * Unit tests for common/conf/conf_value: the scalar parsers and printers of the
 * configuration, as pure functions of a string (no YAML, no files).
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "conf_value.h"

/* ---- value parsers ------------------------------------------------------- */

START_TEST(test_parse_duration)
{
    static const struct {
        const char *s;
        double v;
    } ok[] = {
        { "500ms", 0.5 }, { "15s", 15 }, { "2m", 120 }, { "1h", 3600 },
        { "3", 3 },       { "0", 0 },    { "30s", 30 }, { "1500ms", 1.5 },
    };
    static const char *const bad_d[] = { "-1", "", "15x", "s", "ms", "-5s", "5 s", "1sm", "abc",
                                         "inf", "nan" };
    size_t i;

    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        double d = -1;
        int r = conf_value_duration(ok[i].s, &d);

        ck_assert_msg(r == 0, "\"%s\": returned %d", ok[i].s, r);
        ck_assert_msg(d > ok[i].v - 1e-9 && d < ok[i].v + 1e-9, "\"%s\": %g, expected %g", ok[i].s,
                      d, ok[i].v);
    }
    for (i = 0; i < sizeof(bad_d) / sizeof(bad_d[0]); i++) {
        double d = -1;
        int r = conf_value_duration(bad_d[i], &d);

        ck_assert_msg(r == -1, "\"%s\": returned %d (%g), expected -1", bad_d[i], r, d);
    }
}
END_TEST

START_TEST(test_parse_size)
{
    static const struct {
        const char *s;
        size_t v;
    } ok[] = {
        { "8k", 8192 }, { "1m", 1048576 }, { "100", 100 }, { "0", 0 }, { "16k", 16384 },
    };
    static const char *const bad_s[] = { "x", "", "8q", "-1", "k", "8kb", "1.5k", "99999999999999999999k" };
    size_t i;

    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        size_t n = 12345;
        int r = conf_value_size(ok[i].s, &n);

        ck_assert_msg(r == 0, "\"%s\": returned %d", ok[i].s, r);
        ck_assert_msg(n == ok[i].v, "\"%s\": %zu, expected %zu", ok[i].s, n, ok[i].v);
    }
    for (i = 0; i < sizeof(bad_s) / sizeof(bad_s[0]); i++) {
        size_t n = 12345;
        int r = conf_value_size(bad_s[i], &n);

        ck_assert_msg(r == -1, "\"%s\": returned %d (%zu), expected -1", bad_s[i], r, n);
    }
}
END_TEST

START_TEST(test_parse_listen)
{
    conf_listen_t l;

    memset(&l, 0, sizeof(l));
    ck_assert_int_eq(conf_value_listen("127.0.0.1:8080", &l), 0);
    ck_assert_str_eq(l.host, "127.0.0.1");
    ck_assert_int_eq(l.port, 8080);
    ck_assert_int_eq(l.family, AF_INET);
    free(l.spec);

    memset(&l, 0, sizeof(l));
    ck_assert_int_eq(conf_value_listen("[::1]:80", &l), 0);
    ck_assert_str_eq(l.host, "::1");
    ck_assert_int_eq(l.port, 80);
    ck_assert_int_eq(l.family, AF_INET6);
    free(l.spec);

    memset(&l, 0, sizeof(l));
    ck_assert_int_eq(conf_value_listen("[::]:8080", &l), 0);
    ck_assert_str_eq(l.host, "::");
    ck_assert_int_eq(l.family, AF_INET6);
    free(l.spec);

    memset(&l, 0, sizeof(l));
    ck_assert_int_eq(conf_value_listen(":80", &l), 0);
    ck_assert_str_eq(l.host, "");
    ck_assert_int_eq(l.port, 80);
    free(l.spec);

    memset(&l, 0, sizeof(l));
    ck_assert_int_eq(conf_value_listen("10.1.2.3:65535", &l), 0);
    ck_assert_str_eq(l.host, "10.1.2.3");
    ck_assert_int_eq(l.port, 65535);
    free(l.spec);

    memset(&l, 0, sizeof(l));
    ck_assert_int_eq(conf_value_listen(":1", &l), 0);
    ck_assert_int_eq(l.port, 1);
    free(l.spec);
}
END_TEST

static const char *const bad_listen[] = {
    "0.0.0.0:0", "host:", "127.0.0.1:", "nohost", ":99999", ":65536", "[::1", "[::1]",
    "[::1]80", "[::1]:", "[]:80", ":", "", ":-1", ":8o", ":80x", "256.1.1.1:80",
    "1.2.3:80", "[127.0.0.1]:80", "[::g]:80", ":+80", ": 80",
};

START_TEST(test_parse_listen_bad)
{
    conf_listen_t l;
    int r;

    memset(&l, 0, sizeof(l));
    r = conf_value_listen(bad_listen[_i], &l);
    ck_assert_msg(r == -1, "\"%s\": returned %d (host \"%s\", port %d)", bad_listen[_i], r,
                  l.host, l.port);
}
END_TEST

START_TEST(test_duration_str)
{
    /* The printer gives the shortest exact unit, and reads back. */
    static const struct {
        double v;
        const char *s;
    } t[] = {
        { 0, "0s" },        { 0.5, "500ms" },  { 1.5, "1500ms" }, { 15, "15s" },
        { 120, "2m" },      { 90, "90s" },     { 3600, "1h" },    { 86400, "1d" },
        { 86400.0 * 365, "365d" }, { 0.001, "1ms" }, { 0.0005, "0.0005" },
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        char buf[64];
        double back = -1;
        ck_assert_str_eq(conf_value_duration_str(t[i].v, buf, sizeof(buf)), t[i].s);
        ck_assert_int_eq(conf_value_duration(buf, &back), 0);
        ck_assert_double_eq_tol(back, t[i].v, 1e-12);
    }
}
END_TEST

START_TEST(test_size_str)
{
    static const struct {
        size_t v;
        const char *s;
    } t[] = {
        { 0, "0" }, { 100, "100" }, { 1024, "1k" }, { 8192, "8k" }, { 1536, "1536" },
        { 1048576, "1m" }, { 1073741824, "1g" }, { (size_t)1 << 40, "1024g" },
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        char buf[64];
        size_t back = 1;
        ck_assert_str_eq(conf_value_size_str(t[i].v, buf, sizeof(buf)), t[i].s);
        ck_assert_int_eq(conf_value_size(buf, &back), 0);
        ck_assert_uint_eq(back, t[i].v);
    }
}
END_TEST

START_TEST(test_listen_aliases)
{
    conf_listen_t l;

    ck_assert_int_eq(conf_value_listen("localhost:80", &l), 0);
    ck_assert_str_eq(l.host, "127.0.0.1");
    ck_assert_int_eq(conf_value_listen("*:80", &l), 0);
    ck_assert_str_eq(l.host, "");
    ck_assert_ptr_null(l.spec); /* the parser allocates nothing */
}
END_TEST

START_TEST(test_cidr)
{
    conf_cidr_t c;
    char buf[64];

    ck_assert_int_eq(conf_value_cidr("127.0.0.1", &c), 0);
    ck_assert_int_eq(c.family, AF_INET);
    ck_assert_int_eq(c.bits, 32);
    ck_assert_str_eq(conf_value_cidr_str(&c, buf, sizeof(buf)), "127.0.0.1");
    ck_assert_int_eq(conf_value_cidr("10.0.0.0/8", &c), 0);
    ck_assert_int_eq(c.bits, 8);
    ck_assert_str_eq(conf_value_cidr_str(&c, buf, sizeof(buf)), "10.0.0.0/8");
    ck_assert_int_eq(conf_value_cidr("::1", &c), 0);
    ck_assert_int_eq(c.family, AF_INET6);
    ck_assert_int_eq(c.bits, 128);
    ck_assert_str_eq(conf_value_cidr_str(&c, buf, sizeof(buf)), "::1");
    ck_assert_int_eq(conf_value_cidr("fd00::/8", &c), 0);
    ck_assert_str_eq(conf_value_cidr_str(&c, buf, sizeof(buf)), "fd00::/8");
    ck_assert_int_eq(conf_value_cidr("0.0.0.0/0", &c), 0);
    ck_assert_int_eq(c.bits, 0);
}
END_TEST

static const char *const bad_cidr[] = {
    "", "/8", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/8x",
    "::1/129", "localhost", "10.0.0", "1.2.3.4.5", "[::1]", "10.0.0.0/ 8",
};

START_TEST(test_cidr_bad)
{
    conf_cidr_t c;
    ck_assert_msg(conf_value_cidr(bad_cidr[_i], &c) == -1, "\"%s\" accepted", bad_cidr[_i]);
}
END_TEST

START_TEST(test_cidr_match)
{
    conf_cidr_t list[3];
    unsigned char a4[4], a6[16];

    ck_assert_int_eq(conf_value_cidr("10.0.0.0/8", &list[0]), 0);
    ck_assert_int_eq(conf_value_cidr("192.168.1.7", &list[1]), 0);
    ck_assert_int_eq(conf_value_cidr("fd00::/12", &list[2]), 0);
    inet_pton(AF_INET, "10.200.3.4", a4);
    ck_assert_int_eq(conf_value_cidr_match(list, 3, AF_INET, a4), 1);
    inet_pton(AF_INET, "11.0.0.1", a4);
    ck_assert_int_eq(conf_value_cidr_match(list, 3, AF_INET, a4), 0);
    inet_pton(AF_INET, "192.168.1.7", a4);
    ck_assert_int_eq(conf_value_cidr_match(list, 3, AF_INET, a4), 1);
    inet_pton(AF_INET, "192.168.1.8", a4);
    ck_assert_int_eq(conf_value_cidr_match(list, 3, AF_INET, a4), 0);
    inet_pton(AF_INET6, "fd0f::1", a6);
    ck_assert_int_eq(conf_value_cidr_match(list, 3, AF_INET6, a6), 1);
    inet_pton(AF_INET6, "fd10::1", a6);
    ck_assert_int_eq(conf_value_cidr_match(list, 3, AF_INET6, a6), 0);
    /* an IPv4 network never matches an IPv6 address */
    ck_assert_int_eq(conf_value_cidr_match(list, 2, AF_INET6, a6), 0);
    ck_assert_int_eq(conf_value_cidr_match(list, 0, AF_INET, a4), 0);
}
END_TEST

START_TEST(test_bool)
{
    static const char *const yes[] = { "true", "True", "yes", "on", "ON" };
    static const char *const no[] = { "false", "FALSE", "no", "off" };
    static const char *const bad_b[] = { "", "1", "0", "maybe", "truee", "y" };
    int b;

    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        b = 0;
        ck_assert_int_eq(conf_value_bool(yes[i], &b), 0);
        ck_assert_int_eq(b, 1);
    }
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        b = 1;
        ck_assert_int_eq(conf_value_bool(no[i], &b), 0);
        ck_assert_int_eq(b, 0);
    }
    for (size_t i = 0; i < sizeof(bad_b) / sizeof(bad_b[0]); i++)
        ck_assert_msg(conf_value_bool(bad_b[i], &b) == -1, "\"%s\" accepted", bad_b[i]);
}
END_TEST

START_TEST(test_int)
{
    static const char *const bad_i[] = { "", "-", "x1", "1x", "2.5", " 1", "0x10", "1e3",
                                         "99999999999999999999999" };
    long n;

    ck_assert_int_eq(conf_value_int("42", &n), 0);
    ck_assert_int_eq(n, 42);
    ck_assert_int_eq(conf_value_int("-7", &n), 0);
    ck_assert_int_eq(n, -7);
    ck_assert_int_eq(conf_value_int("+3", &n), 0);
    ck_assert_int_eq(n, 3);
    for (size_t i = 0; i < sizeof(bad_i) / sizeof(bad_i[0]); i++)
        ck_assert_msg(conf_value_int(bad_i[i], &n) == -1, "\"%s\" accepted", bad_i[i]);
}
END_TEST

START_TEST(test_enum)
{
    static const char *const names[] = { "debug", "info", "warn", "error", NULL };
    int i = -1;

    ck_assert_int_eq(conf_value_enum("warn", names, &i), 0);
    ck_assert_int_eq(i, 2);
    ck_assert_int_eq(conf_value_enum("debug", names, &i), 0);
    ck_assert_int_eq(i, 0);
    ck_assert_int_eq(conf_value_enum("WARN", names, &i), -1);
    ck_assert_int_eq(conf_value_enum("", names, &i), -1);
}
END_TEST

START_TEST(test_predicates)
{
    ck_assert_int_eq(conf_value_is_extension("html"), 1);
    ck_assert_int_eq(conf_value_is_extension("tar+gz"), 1);
    ck_assert_int_eq(conf_value_is_extension("h.tml"), 0);
    ck_assert_int_eq(conf_value_is_extension(""), 0);
    ck_assert_int_eq(conf_value_is_extension("averyveryverylongextension"), 0);
    ck_assert_int_eq(conf_value_is_header_value("max-age=60", 256), 1);
    ck_assert_int_eq(conf_value_is_header_value("a\r\nX: 1", 256), 0);
    ck_assert_int_eq(conf_value_is_header_value(" a", 256), 0);
    ck_assert_int_eq(conf_value_is_header_value("abc", 2), 0);
    ck_assert_int_eq(conf_value_is_media_type("text/markdown"), 1);
    ck_assert_int_eq(conf_value_is_media_type("text/plain; charset=utf-8"), 1);
    ck_assert_int_eq(conf_value_is_media_type("text/"), 0);
    ck_assert_int_eq(conf_value_is_media_type("/x"), 0);
    ck_assert_int_eq(conf_value_is_error_status("404"), 1);
    ck_assert_int_eq(conf_value_is_error_status("599"), 1);
    ck_assert_int_eq(conf_value_is_error_status("200"), 0);
    ck_assert_int_eq(conf_value_is_error_status("4040"), 0);
    ck_assert_int_eq(conf_value_is_page_path("/errors/404.html"), 1);
    ck_assert_int_eq(conf_value_is_page_path("/a/./b.html"), 0);
    ck_assert_int_eq(conf_value_is_page_path("/.hidden"), 0);
    ck_assert_int_eq(conf_value_is_page_path("/dir/"), 0);
    ck_assert_int_eq(conf_value_is_file_name("index.html"), 1);
    ck_assert_int_eq(conf_value_is_file_name("a/b"), 0);
    ck_assert_int_eq(conf_value_is_file_name(".htaccess"), 0);
    ck_assert_int_eq(conf_value_is_file_name(""), 0);
    ck_assert_int_eq(conf_value_is_url_path("/status"), 1);
    ck_assert_int_eq(conf_value_is_url_path("status"), 0);
    ck_assert_int_eq(conf_value_is_url_path("/a?b"), 0);
    ck_assert_int_eq(conf_value_is_url_path("/a b"), 0);
}
END_TEST

static Suite *conf_value_suite(void)
{
    Suite *s = suite_create("conf_value");
    TCase *tc = tcase_create("values");

    tcase_add_test(tc, test_parse_duration);
    tcase_add_test(tc, test_duration_str);
    tcase_add_test(tc, test_parse_size);
    tcase_add_test(tc, test_size_str);
    tcase_add_test(tc, test_parse_listen);
    tcase_add_loop_test(tc, test_parse_listen_bad, 0,
                        (int)(sizeof(bad_listen) / sizeof(bad_listen[0])));
    tcase_add_test(tc, test_listen_aliases);
    tcase_add_test(tc, test_cidr);
    tcase_add_loop_test(tc, test_cidr_bad, 0, (int)(sizeof(bad_cidr) / sizeof(bad_cidr[0])));
    tcase_add_test(tc, test_cidr_match);
    tcase_add_test(tc, test_bool);
    tcase_add_test(tc, test_int);
    tcase_add_test(tc, test_enum);
    tcase_add_test(tc, test_predicates);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(conf_value_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
