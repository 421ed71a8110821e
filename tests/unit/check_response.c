/*
 * Unit tests for worker/response: the response description handlers fill,
 * and the HTTP/1 head builder (status line, Server, Date, header lines).
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http_date.h"
#include "response.h"

#define WALL ((time_t)784111777) /* Sun, 06 Nov 1994 08:49:37 GMT */

static response_t r;

/* The head of r into a large buffer, NUL-terminated. */
static const char *head(char *out, size_t cap)
{
    ssize_t n = response_head(&r, WALL, out, cap - 1);
    ck_assert_int_ge(n, 0);
    out[n] = '\0';
    return out;
}

START_TEST(test_status_line_and_fixed_headers)
{
    char out[512];
    response_init(&r, 404);
    ck_assert_str_eq(head(out, sizeof(out)),
                     "HTTP/1.1 404 Not Found\r\nServer: drover\r\n"
                     "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n");
}
END_TEST

START_TEST(test_lines_in_order)
{
    char out[512];
    response_init(&r, 200);
    response_add(&r, "Content-Type: text/plain\r\n", 26);
    response_addf(&r, "Content-Length: %d\r\n", 42);
    response_add(&r, "ETag: \"x\"\r\nAccept-Ranges: bytes\r\n", 33);
    ck_assert_int_eq(r.nlines, 3);
    ck_assert_int_eq(r.overflow, 0);
    ck_assert_str_eq(head(out, sizeof(out)),
                     "HTTP/1.1 200 OK\r\nServer: drover\r\n"
                     "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
                     "Content-Type: text/plain\r\nContent-Length: 42\r\n"
                     "ETag: \"x\"\r\nAccept-Ranges: bytes\r\n");
}
END_TEST

START_TEST(test_every_status_class)
{
    static const struct {
        int status;
        const char *line;
    } cases[] = {
        { 200, "HTTP/1.1 200 OK\r\n" },
        { 206, "HTTP/1.1 206 Partial Content\r\n" },
        { 301, "HTTP/1.1 301 Moved Permanently\r\n" },
        { 304, "HTTP/1.1 304 Not Modified\r\n" },
        { 416, "HTTP/1.1 416 Range Not Satisfiable\r\n" },
        { 503, "HTTP/1.1 503 Service Unavailable\r\n" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[256];
        response_init(&r, cases[i].status);
        head(out, sizeof(out));
        ck_assert_msg(strncmp(out, cases[i].line, strlen(cases[i].line)) == 0, "%d: %s",
                      cases[i].status, out);
    }
}
END_TEST

START_TEST(test_exact_fit_and_one_short)
{
    char out[512];
    response_init(&r, 200);
    response_add(&r, "X-A: b\r\n", 8);
    ssize_t n = response_head(&r, WALL, out, sizeof(out));
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(response_head(&r, WALL, out, (size_t)n), n);
    ck_assert_int_eq(response_head(&r, WALL, out, (size_t)n - 1), -1);
    ck_assert_int_eq(response_head(&r, WALL, out, 0), -1);
}
END_TEST

START_TEST(test_too_many_lines_overflow)
{
    response_init(&r, 200);
    for (int i = 0; i < RESPONSE_MAX_LINES; i++)
        response_add(&r, "X: y\r\n", 6);
    ck_assert_int_eq(r.overflow, 0);
    response_add(&r, "X: y\r\n", 6);
    ck_assert_int_eq(r.overflow, 1);
    ck_assert_int_eq(r.nlines, RESPONSE_MAX_LINES);
}
END_TEST

START_TEST(test_scratch_bounds)
{
    response_init(&r, 200);
    char *a = response_alloc(&r, RESPONSE_SCRATCH - 10);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_null(response_alloc(&r, 11));
    ck_assert_int_eq(r.overflow, 1);
    response_init(&r, 200);
    ck_assert_int_eq(r.overflow, 0);
    ck_assert_ptr_nonnull(response_alloc(&r, RESPONSE_SCRATCH));
    response_addf(&r, "X: %s\r\n", "y");
    ck_assert_int_eq(r.overflow, 1);
    ck_assert_int_eq(r.nlines, 0);
}
END_TEST

START_TEST(test_init_clears_the_body)
{
    response_init(&r, 200);
    ck_assert_int_eq(r.body, RESPONSE_BODY_NONE);
    ck_assert_int_eq(r.fd, -1);
    ck_assert_ptr_null(r.ref);
    ck_assert_int_eq(r.close, 0);
    response_bytes(&r, "hello", 5, NULL);
    ck_assert_int_eq(r.body, RESPONSE_BODY_BYTES);
    ck_assert_int_eq((int)r.length, 5);
    response_init(&r, 404);
    ck_assert_int_eq(r.body, RESPONSE_BODY_NONE);
    ck_assert_int_eq((int)r.length, 0);
}
END_TEST

START_TEST(test_release_closes_an_owned_fd)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    response_init(&r, 200);
    response_file(&r, p[0], 3, 100, NULL);
    ck_assert_int_eq(r.body, RESPONSE_BODY_FILE);
    ck_assert_int_eq((int)r.off, 3);
    ck_assert_int_eq((int)r.length, 100);
    response_release(&r, NULL);
    ck_assert_int_eq(r.fd, -1);
    ck_assert_int_eq(r.body, RESPONSE_BODY_NONE);
    errno = 0;
    ck_assert_int_eq(fcntl(p[0], F_GETFD), -1);
    ck_assert_int_eq(errno, EBADF);
    close(p[1]);
}
END_TEST

static Suite *response_suite(void)
{
    Suite *s = suite_create("response");
    TCase *tc = tcase_create("head");
    tcase_add_test(tc, test_status_line_and_fixed_headers);
    tcase_add_test(tc, test_lines_in_order);
    tcase_add_test(tc, test_every_status_class);
    tcase_add_test(tc, test_exact_fit_and_one_short);
    suite_add_tcase(s, tc);
    tc = tcase_create("description");
    tcase_add_test(tc, test_too_many_lines_overflow);
    tcase_add_test(tc, test_scratch_bounds);
    tcase_add_test(tc, test_init_clears_the_body);
    tcase_add_test(tc, test_release_closes_an_owned_fd);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(response_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
