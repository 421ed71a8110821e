/*
 * check_proxy_compress: which coding a proxied response gets, from the
 * client's Accept-Encoding (proxy_compress_want) and the upstream's head
 * (proxy_compress_coding, which a GET's coder and a HEAD's answer share),
 * heads parsed by http_parse_response as the proxy parses them.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compress_stream.h"
#include "conf_compress.h"
#include "http_response_parser.h"
#include "proxy_compress.h"

static conf_compress_t z;

static void setup(void)
{
    memset(&z, 0, sizeof(z));
    conf_compress_defaults(&z); /* [zstd, br, gzip], min_size 256 */
    z.on = 1;
}

/* The coding for a client sending accept (NULL: no header) and an
 * upstream head raw. */
static int coding(const char *accept, const char *raw)
{
    int any, streamed;
    str_t ae = accept != NULL ? str_make(accept, strlen(accept)) : STR_NULL;
    proxy_compress_want(&z, ae, &any, &streamed);
    http_response_t res;
    ssize_t n = http_parse_response(raw, strlen(raw), 0, 8192, &res);
    ck_assert_int_gt(n, 0);
    return proxy_compress_coding(&z, any, streamed, &res);
}

#define PAGE "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 40000\r\n"
#define CHUNKED "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n"

START_TEST(test_the_client_chooses_among_the_servers)
{
    ck_assert_int_eq(coding("gzip", PAGE "\r\n"), CONF_CODING_GZIP);
    ck_assert_int_eq(coding("br", PAGE "\r\n"), CONF_CODING_BR);
    ck_assert_int_eq(coding("gzip, br, zstd", PAGE "\r\n"), CONF_CODING_ZSTD);
    ck_assert_int_eq(coding("gzip;q=1, br;q=0.5", PAGE "\r\n"), CONF_CODING_GZIP);
    ck_assert_int_eq(coding(NULL, PAGE "\r\n"), 0);
    ck_assert_int_eq(coding("identity", PAGE "\r\n"), 0);
    ck_assert_int_eq(coding("gzip;q=0", PAGE "\r\n"), 0);
    z.on = 0;
    ck_assert_int_eq(coding("gzip", PAGE "\r\n"), 0);
}
END_TEST

START_TEST(test_gzip_needs_a_known_length_of_at_most_1_mib)
{
    /* libdeflate compresses whole buffers: an unknown length, or more
     * than COMPRESS_STREAM_GZIP_MAX, falls to the client's streamed choice. */
    ck_assert_int_eq(coding("gzip", CHUNKED), 0);
    ck_assert_int_eq(coding("gzip, br", CHUNKED), CONF_CODING_BR);
    ck_assert_int_eq(coding("gzip;q=1, zstd;q=0.1", CHUNKED), CONF_CODING_ZSTD);
    ck_assert_int_eq(coding("gzip", "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n"), 0);
    char big[256];
    snprintf(big, sizeof(big), "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                               "Content-Length: %zu\r\n\r\n", COMPRESS_STREAM_GZIP_MAX + 1);
    ck_assert_int_eq(coding("gzip", big), 0);
    ck_assert_int_eq(coding("gzip, br", big), CONF_CODING_BR);
    snprintf(big, sizeof(big), "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                               "Content-Length: %zu\r\n\r\n", COMPRESS_STREAM_GZIP_MAX);
    ck_assert_int_eq(coding("gzip", big), CONF_CODING_GZIP);
}
END_TEST

START_TEST(test_what_is_left_alone)
{
    const char *ae = "gzip, br, zstd";
    ck_assert_int_eq(coding(ae, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                                "Content-Length: 255\r\n\r\n"), 0); /* under min_size */
    ck_assert_int_eq(coding(ae, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                                "Content-Length: 256\r\n\r\n"), CONF_CODING_ZSTD);
    ck_assert_int_eq(coding(ae, "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n"
                                "Content-Length: 40000\r\n\r\n"), 0);
    ck_assert_int_eq(coding(ae, "HTTP/1.1 200 OK\r\nContent-Length: 40000\r\n\r\n"), 0);
    ck_assert_int_eq(coding(ae, PAGE "Content-Encoding: gzip\r\n\r\n"), 0);
    ck_assert_int_eq(coding(ae, PAGE "Content-Encoding: identity\r\n\r\n"), CONF_CODING_ZSTD);
    ck_assert_int_eq(coding(ae, PAGE "Cache-Control: public, no-transform\r\n\r\n"), 0);
    ck_assert_int_eq(coding(ae, "HTTP/1.1 201 Created\r\nContent-Type: text/html\r\n"
                                "Content-Length: 40000\r\n\r\n"), 0);
    ck_assert_int_eq(coding(ae, "HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\n"
                                "Content-Length: 40000\r\n\r\n"), CONF_CODING_ZSTD);
    ck_assert_int_eq(coding(ae, "HTTP/1.1 304 Not Modified\r\nContent-Type: text/html\r\n\r\n"), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("proxy_compress");
    TCase *tc = tcase_create("coding");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_the_client_chooses_among_the_servers);
    tcase_add_test(tc, test_gzip_needs_a_known_length_of_at_most_1_mib);
    tcase_add_test(tc, test_what_is_left_alone);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
