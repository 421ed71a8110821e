/*
 * Unit tests for worker/access_log: combined-format lines built from a
 * plain record, escaping, buffering until a flush, and logging off; the
 * json and vhost_combined formats.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "access_log.h"

#define WALL ((time_t)784111777) /* 06/Nov/1994:08:49:37 +0000 */

static access_log_t l;
static char path[64];

static void setup(void)
{
    strcpy(path, "/tmp/drover-al-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(access_log_open(&l, path), 0);
}

static void teardown(void)
{
    access_log_close(&l);
    unlink(path);
}

/* The file's content, NUL-terminated, in a static buffer. */
static const char *content(void)
{
    static char buf[131072];
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

START_TEST(test_combined_line)
{
    access_log_record_t r = {
        .addr = "192.0.2.7", .request = STR_LIT("GET /a.txt HTTP/1.1"), .status = 200,
        .body_bytes = 1234, .referer = STR_LIT("http://example.com/"), .agent = STR_LIT("curl/8"),
    };
    ck_assert(access_log_on(&l));
    access_log_write(&l, &r, WALL);
    ck_assert_str_eq(content(), ""); /* buffered */
    access_log_flush(&l);
    ck_assert_str_eq(content(), "192.0.2.7 - - [06/Nov/1994:08:49:37 +0000] \"GET /a.txt HTTP/1.1\" "
                                "200 1234 \"http://example.com/\" \"curl/8\"\n");
}
END_TEST

START_TEST(test_empty_fields_and_escaping)
{
    access_log_record_t r = {
        .addr = "::1", .request = STR_LIT("GET /\"q\\\x01\xff HTTP/1.0"), .status = 400,
    };
    access_log_write(&l, &r, WALL);
    access_log_flush(&l);
    ck_assert_str_eq(content(), "::1 - - [06/Nov/1994:08:49:37 +0000] "
                                "\"GET /\\x22q\\x5C\\x01\\xFF HTTP/1.0\" 400 0 \"-\" \"-\"\n");
}
END_TEST

/* json: one object per line, every string escaped as JSON wants, bytes
 * above 0x7e as \u00XX so any request makes valid JSON. */
START_TEST(test_json_line)
{
    access_log_record_t r = {
        .addr = "192.0.2.7", .request = STR_LIT("GET /a\"b\\c?d=\x01\xe9 HTTP/1.1"), .status = 404,
        .body_bytes = 12, .referer = STR_NULL, .agent = STR_LIT("ag\tent"),
        .host = STR_LIT("WWW.Example.COM.:8080"), .duration_us = 1234,
    };
    l.format = 2; /* CONF_LOG_JSON */
    access_log_write(&l, &r, WALL);
    r.host = STR_NULL;
    r.request = STR_LIT("garbage");
    r.scheme = "https";
    r.tls_version = "TLSv1.3";
    access_log_write(&l, &r, WALL);
    access_log_flush(&l);
    ck_assert_str_eq(content(),
        "{\"time\":\"1994-11-06T08:49:37Z\",\"host\":\"www.example.com\",\"client\":\"192.0.2.7\","
        "\"method\":\"GET\",\"path\":\"/a\\\"b\\\\c?d=\\u0001\\u00e9\",\"protocol\":\"HTTP/1.1\","
        "\"status\":404,\"bytes\":12,\"referer\":\"\",\"agent\":\"ag\\u0009ent\",\"duration_us\":1234,"
        "\"scheme\":\"http\",\"tls\":null,\"rule\":null}\n"
        "{\"time\":\"1994-11-06T08:49:37Z\",\"host\":\"-\",\"client\":\"192.0.2.7\","
        "\"method\":\"garbage\",\"path\":\"\",\"protocol\":\"\","
        "\"status\":404,\"bytes\":12,\"referer\":\"\",\"agent\":\"ag\\u0009ent\",\"duration_us\":1234,"
        "\"scheme\":\"https\",\"tls\":\"TLSv1.3\",\"rule\":null}\n");
}
END_TEST

/* vhost_combined: Apache's, the host first. */
START_TEST(test_vhost_combined_line)
{
    access_log_record_t r = {
        .addr = "192.0.2.7", .request = STR_LIT("GET / HTTP/1.1"), .status = 200,
        .host = STR_LIT("Example.com:80"),
    };
    l.format = 1; /* CONF_LOG_VHOST_COMBINED */
    access_log_write(&l, &r, WALL);
    r.host = STR_NULL;
    access_log_write(&l, &r, WALL);
    access_log_flush(&l);
    ck_assert_str_eq(content(),
        "example.com 192.0.2.7 - - [06/Nov/1994:08:49:37 +0000] \"GET / HTTP/1.1\" 200 0 \"-\" \"-\"\n"
        "- 192.0.2.7 - - [06/Nov/1994:08:49:37 +0000] \"GET / HTTP/1.1\" 200 0 \"-\" \"-\"\n");
}
END_TEST

START_TEST(test_long_fields_are_cut)
{
    static char big[10000];
    memset(big, 'a', sizeof(big));
    access_log_record_t r = { .addr = "x", .request = str_make(big, sizeof(big)), .status = 414 };
    for (int i = 0; i < 40; i++) /* more than the buffer holds: flushes on the way */
        access_log_write(&l, &r, WALL);
    access_log_flush(&l);
    const char *c = content();
    size_t lines = 0;
    for (const char *p = c; *p; p++)
        lines += *p == '\n';
    ck_assert_uint_eq(lines, 40);
    ck_assert_uint_lt(strlen(c), 40 * 2200);
}
END_TEST

START_TEST(test_off)
{
    access_log_t off;
    ck_assert_int_eq(access_log_open(&off, NULL), 0);
    ck_assert(!access_log_on(&off));
    ck_assert_int_eq(access_log_reopen(&off), 0);
    access_log_flush(&off);
    access_log_close(&off);
}
END_TEST

START_TEST(test_reopen_follows_the_path)
{
    access_log_record_t r = { .addr = "a", .request = STR_LIT("GET / HTTP/1.1"), .status = 200 };
    char moved[80];
    snprintf(moved, sizeof(moved), "%s.1", path);
    ck_assert_int_eq(rename(path, moved), 0);
    access_log_write(&l, &r, WALL);
    ck_assert_int_eq(access_log_reopen(&l), 0); /* flushes into the old file first */
    access_log_write(&l, &r, WALL);
    access_log_flush(&l);
    ck_assert_ptr_nonnull(strstr(content(), "\"GET / HTTP/1.1\" 200 0"));
    FILE *f = fopen(moved, "r");
    ck_assert_ptr_nonnull(f);
    char line[256];
    ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
    fclose(f);
    unlink(moved);
    ck_assert_ptr_nonnull(strstr(line, "\"GET / HTTP/1.1\" 200 0"));
}
END_TEST

static Suite *access_log_suite(void)
{
    Suite *s = suite_create("access_log");
    TCase *tc = tcase_create("lines");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_combined_line);
    tcase_add_test(tc, test_empty_fields_and_escaping);
    tcase_add_test(tc, test_long_fields_are_cut);
    tcase_add_test(tc, test_json_line);
    tcase_add_test(tc, test_vhost_combined_line);
    tcase_add_test(tc, test_off);
    tcase_add_test(tc, test_reopen_follows_the_path);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(access_log_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
