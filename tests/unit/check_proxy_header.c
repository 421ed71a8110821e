/*
 * Unit tests for worker/proxy_header: a connection on a proxy_protocol listener
 * over a socketpair, with a recording transport and a recording protocol
 * behind the header. They pin down what the TLS listener relies on: the
 * transport is never called before the header is consumed, and its first
 * read returns the first byte after the header, nothing lost or eaten.
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf.h"
#include "conn.h"
#include "proxy_header.h"

static worker_t w;
static conf_t *conf;
static int peer = -1;          /* the balancer's end of the socketpair */

/* What the stand-ins saw. */
static int recv_calls, close_calls, process_calls;
static int recv_calls_before_process = -1;
static char got[256];
static size_t got_len;

static ssize_t rec_recv(transport_io_t *io, void *buf, size_t len)
{
    recv_calls++;
    ssize_t n = recv(io->fd, buf, len, 0);
    if (n < 0 && errno == EAGAIN)
        io->want = TRANSPORT_WANT_READ;
    io->emptied = n >= 0 && (size_t)n < len;
    return n;
}

static ssize_t rec_send(transport_io_t *io, const void *buf, size_t len, int more)
{
    (void)more;
    return send(io->fd, buf, len, 0);
}

static void rec_shutdown(transport_io_t *io)
{
    shutdown(io->fd, SHUT_WR);
}

static void rec_close(transport_io_t *io)
{
    close_calls++;
    close(io->fd);
}

static const transport_t rec_transport = {
    .name = "recording", .recv = rec_recv, .send = rec_send,
    .shutdown = rec_shutdown, .close = rec_close,
};

/* The protocol behind the header (TLS's handshake, HTTP/1): reads what
 * the transport gives. */
static void rec_process(conn_t *c, uint32_t events)
{
    conn_note_events(c, events);
    if (process_calls++ == 0)
        recv_calls_before_process = recv_calls;
    ssize_t n = conn_read(c);
    if (n > 0 && got_len + (size_t)n <= sizeof(got)) {
        memcpy(got + got_len, c->rbuf + c->rlen - (size_t)n, (size_t)n);
        got_len += (size_t)n;
    }
}

static void setup(void)
{
    memset(&w, 0, sizeof(w));
    conf = conf_defaults();
    ck_assert_ptr_nonnull(conf);
    w.a.conf = conf;
    w.epfd = epoll_create1(EPOLL_CLOEXEC);
    ck_assert_int_ge(w.epfd, 0);
    list_init(&w.ready);
    list_init(&w.conn_free);
    list_init(&w.header_list.head);
    list_init(&w.keepalive_list.head);
    list_init(&w.send_list.head);
    list_init(&w.linger_list.head);
    w.header_list.timeout = 10;
    w.rbuf_size = 8192;
    w.now = 100.0;
    recv_calls = close_calls = process_calls = 0;
    recv_calls_before_process = -1;
    got_len = 0;
}

static void teardown(void)
{
    if (peer >= 0)
        close(peer);
    peer = -1;
    close(w.epfd);
    conf_free(conf);
}

/* A connection from `from` (its peer address) on a proxy listener. */
static conn_t *connect_from(const char *from)
{
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    peer = sv[1];
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(40000) };
    ck_assert_int_eq(inet_pton(AF_INET, from, &sa.sin_addr), 1);
    conn_t *c = conn_new(&w, sv[0], (struct sockaddr *)&sa, &rec_transport, rec_process);
    ck_assert_ptr_nonnull(c);
    proxy_header_start(c);
    return c;
}

static void put(const void *p, size_t len)
{
    ck_assert_int_eq(send(peer, p, len, 0), (ssize_t)len);
}

static const char V1[] = "PROXY TCP4 203.0.113.7 127.0.0.1 51000 443\r\n";
/* The first bytes of a TLS ClientHello: must reach the transport intact. */
static const char HELLO[] = "\x16\x03\x01\x00\xc8\x01\x00\x00\xc4\x03\x03";

START_TEST(test_header_then_transport)
{
    conn_t *c = connect_from("127.0.0.1");
    char buf[128];
    memcpy(buf, V1, sizeof(V1) - 1);
    memcpy(buf + sizeof(V1) - 1, HELLO, sizeof(HELLO) - 1);
    put(buf, sizeof(V1) - 1 + sizeof(HELLO) - 1);
    conn_process(c, EPOLLIN);
    ck_assert_int_eq(process_calls, 1);
    ck_assert_int_eq(recv_calls_before_process, 0);
    ck_assert_uint_eq(got_len, sizeof(HELLO) - 1);
    ck_assert_mem_eq(got, HELLO, sizeof(HELLO) - 1);
    ck_assert_str_eq(conn_addr(c), "203.0.113.7");
    ck_assert_ptr_null(c->proxy_next);
    conn_close(c);
}
END_TEST

START_TEST(test_header_in_pieces)
{
    conn_t *c = connect_from("127.0.0.1");
    put(V1, 10);
    conn_process(c, EPOLLIN);
    ck_assert_int_eq(process_calls, 0);
    ck_assert_int_eq(recv_calls, 0);
    ck_assert_int_eq(close_calls, 0);
    put(V1 + 10, sizeof(V1) - 1 - 10);
    conn_process(c, EPOLLIN);
    ck_assert_int_eq(process_calls, 1);
    ck_assert_uint_eq(got_len, 0); /* nothing after the header yet */
    put(HELLO, sizeof(HELLO) - 1);
    conn_process(c, EPOLLIN);
    ck_assert_uint_eq(got_len, sizeof(HELLO) - 1);
    ck_assert_mem_eq(got, HELLO, sizeof(HELLO) - 1);
    ck_assert_str_eq(conn_addr(c), "203.0.113.7");
    conn_close(c);
}
END_TEST

START_TEST(test_v2_local_keeps_peer)
{
    static const unsigned char local[] = { '\r', '\n', '\r', '\n', 0, '\r', '\n', 'Q', 'U', 'I',
                                           'T', '\n', 0x20, 0x00, 0x00, 0x00 };
    conn_t *c = connect_from("127.0.0.1");
    put(local, sizeof(local));
    conn_process(c, EPOLLIN);
    ck_assert_int_eq(process_calls, 1);
    ck_assert_str_eq(conn_addr(c), "127.0.0.1");
    conn_close(c);
}
END_TEST

START_TEST(test_untrusted_closed_unread)
{
    conn_t *c = connect_from("192.0.2.1");
    put(V1, sizeof(V1) - 1);
    conn_process(c, EPOLLIN);
    ck_assert_int_eq(close_calls, 1);
    ck_assert_int_eq(process_calls, 0);
    ck_assert_uint_eq(w.num_conns, 0);
    /* A burst: one line, the rest counted. */
    for (int i = 0; i < 5; i++) {
        close(peer);
        c = connect_from("192.0.2.1");
        conn_process(c, EPOLLIN);
    }
    ck_assert_int_eq(close_calls, 6);
    ck_assert_uint_eq(w.proxy_refused_quiet, 5);
}
END_TEST

START_TEST(test_untrusted_allowed_by_conf)
{
    ck_assert_int_eq(conf_parse_cidr("192.0.2.0/24", &conf->proxy_trusted[0]), 0);
    conf->num_proxy_trusted = 1;
    conn_t *c = connect_from("192.0.2.1");
    put(V1, sizeof(V1) - 1);
    conn_process(c, EPOLLIN);
    ck_assert_int_eq(process_calls, 1);
    ck_assert_str_eq(conn_addr(c), "203.0.113.7");
    conn_close(c);
}
END_TEST

START_TEST(test_no_header_closed)
{
    conn_t *c = connect_from("127.0.0.1");
    put("GET / HTTP/1.1\r\n\r\n", 18);
    conn_process(c, EPOLLIN);
    ck_assert_int_eq(close_calls, 1);
    ck_assert_int_eq(process_calls, 0);
    ck_assert_int_eq(recv_calls, 0);
}
END_TEST

START_TEST(test_truncated_then_eof_closed)
{
    conn_t *c = connect_from("127.0.0.1");
    put(V1, 20);
    conn_process(c, EPOLLIN);
    ck_assert_int_eq(close_calls, 0);
    shutdown(peer, SHUT_WR);
    conn_process(c, EPOLLIN | EPOLLRDHUP);
    ck_assert_int_eq(close_calls, 1);
    ck_assert_int_eq(process_calls, 0);
}
END_TEST

START_TEST(test_timeout_is_the_header_timer)
{
    conn_t *c = connect_from("127.0.0.1");
    put(V1, 20);
    conn_process(c, EPOLLIN);
    ck_assert_ptr_eq(c->list, &w.header_list);
    w.now += w.header_list.timeout + 0.1;
    conn_expire(&w);
    ck_assert_int_eq(close_calls, 1);
}
END_TEST

static Suite *proxy_suite(void)
{
    Suite *s = suite_create("proxy");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_header_then_transport);
    tcase_add_test(tc, test_header_in_pieces);
    tcase_add_test(tc, test_v2_local_keeps_peer);
    tcase_add_test(tc, test_untrusted_closed_unread);
    tcase_add_test(tc, test_untrusted_allowed_by_conf);
    tcase_add_test(tc, test_no_header_closed);
    tcase_add_test(tc, test_truncated_then_eof_closed);
    tcase_add_test(tc, test_timeout_is_the_header_timer);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(proxy_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
