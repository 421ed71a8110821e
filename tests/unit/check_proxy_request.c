/*
 * check_proxy_request: the request head sent upstream, from parsed
 * requests (http_parse_request), so what is checked is what the front
 * parsed.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "http_parser.h"
#include "proxy_request.h"

static char out[8192];

static const char *build(const char *raw, const proxy_request_args_t *a, http_request_t *req)
{
    ssize_t n = http_parse_request(raw, strlen(raw), 0, 8192, req);
    ck_assert_int_gt(n, 0);
    ssize_t m = proxy_request_head(req, a, out, sizeof(out) - 1);
    ck_assert_int_gt(m, 0);
    out[m] = '\0';
    return out;
}

static proxy_request_args_t args(void)
{
    proxy_request_args_t a = { .client = "192.0.2.7", .host = "app:9000", .keepalive = 1,
                               .content_length = -1 };
    return a;
}

START_TEST(test_plain_get)
{
    http_request_t req;
    proxy_request_args_t a = args();
    const char *h = build("GET /a/b?x=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n", &a, &req);
    ck_assert_str_eq(h, "GET /a/b?x=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n"
                        "X-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: http\r\n"
                        "X-Forwarded-Host: example.com\r\n"
                        "Forwarded: for=192.0.2.7;proto=http;host=\"example.com\"\r\n"
                        "Connection: keep-alive\r\n\r\n");
}
END_TEST

START_TEST(test_hop_by_hop_and_connection_named)
{
    http_request_t req;
    proxy_request_args_t a = args();
    a.keepalive = 0;
    const char *h = build("GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, X-A\r\n"
                          "Connection: x-b\r\nX-A: 1\r\nX-B: 2\r\nX-C: 3\r\nKeep-Alive: 5\r\n"
                          "TE: trailers\r\nUpgrade: websocket\r\nProxy-Connection: k\r\n"
                          "Trailer: t\r\n\r\n", &a, &req);
    ck_assert_ptr_null(strstr(h, "X-A"));
    ck_assert_ptr_null(strstr(h, "X-B"));
    ck_assert_ptr_null(strstr(h, "Keep-Alive"));
    ck_assert_ptr_null(strstr(h, "TE:"));
    ck_assert_ptr_null(strstr(h, "Upgrade"));
    ck_assert_ptr_null(strstr(h, "Proxy-Connection"));
    ck_assert_ptr_null(strstr(h, "Trailer"));
    ck_assert_ptr_nonnull(strstr(h, "\r\nX-C: 3\r\n"));
    ck_assert_ptr_nonnull(strstr(h, "\r\nConnection: close\r\n\r\n"));
}
END_TEST

START_TEST(test_upgrade_kept_when_asked)
{
    /* proxy.c sets upgrade for a request that asks to upgrade: Upgrade and
     * Connection: upgrade replace the keep-alive line; the client's own
     * Connection tokens are still dropped, Sec-WebSocket-* kept. */
    http_request_t req;
    proxy_request_args_t a = args();
    a.upgrade = STR_LIT("websocket");
    const char *h = build("GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, X-A\r\nX-A: 1\r\n"
                          "Upgrade: websocket\r\nSec-WebSocket-Key: k\r\n"
                          "Sec-WebSocket-Version: 13\r\n\r\n", &a, &req);
    ck_assert_ptr_null(strstr(h, "X-A"));
    ck_assert_ptr_null(strstr(h, "keep-alive"));
    ck_assert_ptr_nonnull(strstr(h, "\r\nSec-WebSocket-Key: k\r\nSec-WebSocket-Version: 13\r\n"));
    ck_assert_ptr_nonnull(strstr(h, "\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n"));
    /* Once: the client's own Upgrade line is not copied as well. */
    const char *u = strstr(h, "Upgrade: ");
    ck_assert_ptr_null(strstr(u + 1, "Upgrade: "));
}
END_TEST

START_TEST(test_upgrade_lines_joined)
{
    /* RFC 9110 7.8: Upgrade is a list, and several lines are one list in
     * their order; an empty line adds nothing. proxy.c passes the first
     * value only as the sign that an upgrade was asked for. */
    http_request_t req;
    proxy_request_args_t a = args();
    a.upgrade = STR_LIT("h2c");
    const char *h = build("GET /ws HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\n"
                          "Upgrade: h2c\r\nX-A: 1\r\nupgrade: \r\nUPGRADE: websocket, x-raw/2\r\n\r\n",
                          &a, &req);
    ck_assert_ptr_nonnull(
        strstr(h, "\r\nUpgrade: h2c, websocket, x-raw/2\r\nConnection: upgrade\r\n\r\n"));
    const char *u = strstr(h, "Upgrade: ");
    ck_assert_ptr_null(strstr(u + 1, "Upgrade: "));
    ck_assert_ptr_null(strstr(h, "UPGRADE"));
    ck_assert_ptr_null(strstr(h, "upgrade: "));
    /* The joined list is bounded like every other line. */
    ssize_t full = (ssize_t)strlen(h);
    static char small[8192];
    for (size_t cap = 0; cap < (size_t)full; cap++)
        ck_assert_int_eq(proxy_request_head(&req, &a, small, cap), -1);
    ck_assert_int_eq(proxy_request_head(&req, &a, small, (size_t)full), full);
}
END_TEST

START_TEST(test_appended_forwarding)
{
    http_request_t req;
    proxy_request_args_t a = args();
    a.client = "2001:db8::1";
    a.client_v6 = 1;
    a.https = 1;
    const char *h = build("GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 10.0.0.1\r\n"
                          "X-Forwarded-For: 10.0.0.2\r\nForwarded: for=10.0.0.1\r\n"
                          "X-Forwarded-Proto: gopher\r\nX-Forwarded-Host: evil\r\n\r\n", &a, &req);
    ck_assert_ptr_nonnull(strstr(h, "\r\nX-Forwarded-For: 10.0.0.1, 10.0.0.2, 2001:db8::1\r\n"));
    ck_assert_ptr_nonnull(strstr(h, "\r\nX-Forwarded-Proto: https\r\n"));
    ck_assert_ptr_null(strstr(h, "gopher"));
    ck_assert_ptr_null(strstr(h, "evil"));
    ck_assert_ptr_nonnull(
        strstr(h, "\r\nForwarded: for=10.0.0.1, for=\"[2001:db8::1]\";proto=https;host=\"h\"\r\n"));
}
END_TEST

START_TEST(test_prefix_replaced)
{
    http_request_t req;
    proxy_request_args_t a = args();
    a.prefix = STR_LIT("/old/");
    a.uri = "/new/";
    build("GET /old/x/y?q HTTP/1.1\r\nHost: h\r\n\r\n", &a, &req);
    ck_assert(strncmp(out, "GET /new/x/y?q HTTP/1.1\r\n", 25) == 0);
    a.uri = "/";
    build("GET /old/ HTTP/1.1\r\nHost: h\r\n\r\n", &a, &req);
    ck_assert(strncmp(out, "GET / HTTP/1.1\r\n", 16) == 0);
    /* A target that reaches the prefix only once normalised is built
     * from the normalised path, encoded again: never sent as it came
     * under the new path. */
    a.uri = "/new/";
    a.path = STR_LIT("/old/a b");
    build("GET /x/../%6Fld/a%20b HTTP/1.1\r\nHost: h\r\n\r\n", &a, &req);
    ck_assert(strncmp(out, "GET /new/a%20b HTTP/1.1\r\n", 25) == 0);
    a.path = STR_NULL;
    /* Without a URI the target goes as it came. */
    a.uri = NULL;
    build("GET /old/z HTTP/1.1\r\nHost: h\r\n\r\n", &a, &req);
    ck_assert(strncmp(out, "GET /old/z HTTP/1.1\r\n", 21) == 0);
    /* An absolute-form target becomes origin-form. */
    build("GET http://h/old/z?k HTTP/1.1\r\nHost: h\r\n\r\n", &a, &req);
    ck_assert(strncmp(out, "GET /old/z?k HTTP/1.1\r\n", 23) == 0);
}
END_TEST

START_TEST(test_body_framing_rewritten)
{
    http_request_t req;
    proxy_request_args_t a = args();
    a.content_length = 5;
    const char *h = build("POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n"
                          "Expect: 100-continue\r\n\r\n", &a, &req);
    ck_assert_ptr_nonnull(strstr(h, "\r\nContent-Length: 5\r\n"));
    ck_assert_ptr_null(strstr(h, "Expect"));
    /* Once: the client's line is dropped, the proxy's written. */
    ck_assert_ptr_null(strstr(strstr(h, "Content-Length") + 1, "Content-Length"));
}
END_TEST

START_TEST(test_http10_without_host)
{
    http_request_t req;
    proxy_request_args_t a = args();
    const char *h = build("GET / HTTP/1.0\r\n\r\n", &a, &req);
    ck_assert(strncmp(h, "GET / HTTP/1.1\r\nHost: app:9000\r\n", 32) == 0);
}
END_TEST

START_TEST(test_cookies_joined)
{
    http_request_t req;
    proxy_request_args_t a = args();
    const char *h = build("GET / HTTP/1.1\r\nHost: h\r\ncookie: a=1\r\nX-Y: y\r\n"
                          "Cookie: b=2\r\n\r\n", &a, &req);
    ck_assert_ptr_nonnull(strstr(h, "\r\nX-Y: y\r\nCookie: a=1; b=2\r\n"));
    ck_assert_ptr_null(strstr(h, "cookie:"));
}
END_TEST

START_TEST(test_upgrade_replaces_keepalive)
{
    http_request_t req;
    proxy_request_args_t a = args();
    a.upgrade = STR_LIT("websocket");
    a.extra = "Sec-WebSocket-Key: k==\r\n";
    const char *h = build("GET /ws HTTP/1.1\r\nHost: h\r\nSec-WebSocket-Version: 13\r\n\r\n", &a, &req);
    ck_assert_ptr_nonnull(strstr(h, "\r\nSec-WebSocket-Version: 13\r\n"));
    const char *tail = "Sec-WebSocket-Key: k==\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n";
    ck_assert_str_eq(h + strlen(h) - strlen(tail), tail);
    ck_assert_ptr_null(strstr(h, "keep-alive"));
}
END_TEST

START_TEST(test_too_small)
{
    http_request_t req;
    const char *raw = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
    ck_assert_int_gt(http_parse_request(raw, strlen(raw), 0, 8192, &req), 0);
    proxy_request_args_t a = args();
    ssize_t full = proxy_request_head(&req, &a, out, sizeof(out));
    ck_assert_int_gt(full, 0);
    for (size_t cap = 0; cap < (size_t)full; cap++)
        ck_assert_int_eq(proxy_request_head(&req, &a, out, cap), -1);
    ck_assert_int_eq(proxy_request_head(&req, &a, out, (size_t)full), full);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("proxy_request");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_plain_get);
    tcase_add_test(tc, test_hop_by_hop_and_connection_named);
    tcase_add_test(tc, test_upgrade_kept_when_asked);
    tcase_add_test(tc, test_upgrade_lines_joined);
    tcase_add_test(tc, test_appended_forwarding);
    tcase_add_test(tc, test_prefix_replaced);
    tcase_add_test(tc, test_body_framing_rewritten);
    tcase_add_test(tc, test_http10_without_host);
    tcase_add_test(tc, test_cookies_joined);
    tcase_add_test(tc, test_upgrade_replaces_keepalive);
    tcase_add_test(tc, test_too_small);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
