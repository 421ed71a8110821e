/*
 * Unit tests for worker/tls: a tls_conn_t against a client SSL over a
 * non-blocking socketpair: handshake, recv, writev (coalescing counted in
 * records), file ranges through the pread + SSL_write fallback with a full
 * socket in the way, shutdown, refused handshakes (logged at info), and
 * plain HTTP on a TLS port. The kTLS path needs the kernel's tls module:
 * where it is missing the check says so and skips.
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "tls_send.h"
#include "tls_ctx.h"
#include "tls_test_util.h"

#define ROUNDS 20000

static char dir[256];

typedef struct {
    int sv[2];
    SSL_CTX *cctx;
    SSL *client;
    tls_ctx_t *tls;
    tls_conn_t *server;
    tls_stats_t stats;
    int records;    /* record headers the client received */
} pair_t;

static void count_records(int write_p, int version, int content_type, const void *buf,
                          size_t len, SSL *ssl, void *arg)
{
    if (!write_p && content_type == SSL3_RT_HEADER)
        ((pair_t *)arg)->records++;
}

static int server_step(void *arg)
{
    int r = tls_handshake(arg, NULL, 0);
    return r == TLS_OK ? 1 : r == TLS_ERROR ? -1 : 0;
}

static tls_ctx_t *server_ctx(void)
{
    tls_conf_t tc;
    char err[512];
    tls_ctx_t *tls;

    tls_conf_init(&tc);
    tls_conf_add_certificate(&tc, tls_test_file(dir, "other.pem"),
                             tls_test_file(dir, "other.key"), 0);
    tls = tls_ctx_new(&tc, NULL, 0, err, sizeof(err));
    ck_assert_msg(tls != NULL, "%s", err);
    tls_conf_free(&tc);
    return tls;
}

/* fds: a connected pair or {-1, -1} for a socketpair. Handshakes. */
static void pair_open_fds(pair_t *p, int cfd, int sfd)
{
    memset(p, 0, sizeof(*p));
    if (cfd < 0)
        ck_assert_int_eq(tls_test_socketpair(p->sv), 0);
    else {
        p->sv[0] = cfd;
        p->sv[1] = sfd;
    }
    p->tls = server_ctx();
    p->cctx = tls_test_client_ctx(dir);
    p->client = SSL_new(p->cctx);
    SSL_set_fd(p->client, p->sv[0]);
    SSL_set_connect_state(p->client);
    SSL_set_tlsext_host_name(p->client, "other.test");
    SSL_set_msg_callback(p->client, count_records);
    SSL_set_msg_callback_arg(p->client, p);
    p->server = tls_new(tls_ctx_default(p->tls), p->sv[1], &p->stats);
    ck_assert_ptr_nonnull(p->server);
    ck_assert_int_eq(tls_test_pump(tls_test_ssl_step, p->client, server_step, p->server), 0);
    ck_assert_uint_eq(p->stats.handshakes, 1);
    p->records = 0;
}

static void pair_open(pair_t *p)
{
    pair_open_fds(p, -1, -1);
}

static void pair_close(pair_t *p)
{
    tls_free(p->server);
    SSL_free(p->client);
    SSL_CTX_free(p->cctx);
    tls_ctx_free(p->tls);
    close(p->sv[0]);
    close(p->sv[1]);
}

/* Reads what the client has now into out (up to cap); returns the count. */
static size_t client_drain(pair_t *p, char *out, size_t cap)
{
    size_t got = 0;

    while (got < cap) {
        int n = SSL_read(p->client, out + got, (int)(cap - got > 65536 ? 65536 : cap - got));
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    return got;
}

static unsigned char pattern(size_t i)
{
    return (unsigned char)(i * 7 + 3 + (i >> 11));
}

START_TEST(test_handshake_and_recv)
{
    pair_t p;
    char buf[64];

    pair_open(&p);
    ck_assert_str_eq(tls_version(p.server), "TLSv1.3");
    ck_assert_int_eq(tls_handshake(p.server, NULL, 0), TLS_OK); /* done stays done */
    ck_assert_int_eq(tls_recv(p.server, buf, sizeof(buf)), TLS_WANT_READ);
    ck_assert_uint_eq(tls_wants(p.server), TLS_WANTS_READ);
    ck_assert_int_eq(SSL_write(p.client, "hello, world", 12), 12);
    ck_assert_int_eq(tls_recv(p.server, buf, 5), 5);
    ck_assert_mem_eq(buf, "hello", 5);
    ck_assert_uint_eq(tls_pending(p.server), 7); /* the rest of the record */
    ck_assert_int_eq(tls_recv(p.server, buf, sizeof(buf)), 7);
    ck_assert_mem_eq(buf, ", world", 7);
    SSL_shutdown(p.client);
    ck_assert_int_eq(tls_recv(p.server, buf, sizeof(buf)), 0);
    pair_close(&p);
}
END_TEST

START_TEST(test_writev_coalesces)
{
    static char pool[TLS_POOL_SIZE];
    struct iovec iov[100];
    char data[100][100], out[20000];
    pair_t p;

    for (int i = 0; i < 100; i++) {
        memset(data[i], 'a' + i % 26, sizeof(data[i]));
        iov[i] = (struct iovec){ data[i], sizeof(data[i]) };
    }
    pair_open(&p);
    ck_assert_int_eq(tls_send_iov(p.server, iov, 100, pool, sizeof(pool)), 10000);
    ck_assert_uint_eq(client_drain(&p, out, sizeof(out)), 10000);
    ck_assert_int_eq(p.records, 1); /* 100 pieces, one record */
    for (int i = 0; i < 100; i++)
        ck_assert_mem_eq(out + i * 100, data[i], 100);
    /* without a pool every piece is a record of its own: what coalescing saves */
    p.records = 0;
    ck_assert_int_eq(tls_send_iov(p.server, iov, 100, NULL, 0), 10000);
    ck_assert_uint_eq(client_drain(&p, out, sizeof(out)), 10000);
    ck_assert_int_eq(p.records, 100);
    pair_close(&p);
}
END_TEST

/* Mixed pieces, far more than the socket holds: short counts and
 * TLS_WANT_WRITE, resumed from the cursor until all bytes arrive intact. */
START_TEST(test_writev_full_socket)
{
    static char pool[TLS_POOL_SIZE];
    static const size_t sizes[] = { 100, 7, 40000, 3, 16384, 300000, 1, 5000, 250000, 9 };
    enum { N = sizeof(sizes) / sizeof(sizes[0]) };
    size_t total = 0, sent = 0, got = 0;
    char *stream, *out;
    int wants = 0;
    pair_t p;

    for (size_t i = 0; i < N; i++)
        total += sizes[i];
    stream = malloc(total);
    out = malloc(total);
    for (size_t i = 0; i < total; i++)
        stream[i] = (char)pattern(i);
    pair_open(&p);
    for (int round = 0; round < ROUNDS && got < total; round++) {
        if (sent < total) {
            struct iovec iov[N];
            int n = 0;
            size_t at = 0;
            for (size_t i = 0; i < N; at += sizes[i], i++) {
                if (at + sizes[i] <= sent)
                    continue;
                size_t skip = sent > at ? sent - at : 0;
                iov[n++] = (struct iovec){ stream + at + skip, sizes[i] - skip };
            }
            ssize_t w = tls_send_iov(p.server, iov, n, pool, sizeof(pool));
            ck_assert_int_ne(w, TLS_ERROR);
            if (w == TLS_WANT_WRITE) {
                ck_assert_uint_eq(tls_wants(p.server), TLS_WANTS_WRITE);
                wants++;
            } else if (w > 0) {
                wants += (size_t)w < total - sent; /* short: the socket filled */
                sent += (size_t)w;
            }
        }
        got += client_drain(&p, out + got, total - got);
    }
    ck_assert_uint_eq(got, total);
    ck_assert_msg(wants > 0, "the socket never filled: the test proves nothing");
    ck_assert_uint_eq(p.server->write_pending, 0);
    ck_assert(memcmp(out, stream, total) == 0);
    pair_close(&p);
    free(stream);
    free(out);
}
END_TEST

static int make_file(size_t len)
{
    char path[512];
    int fd;
    char *b = malloc(len);

    for (size_t i = 0; i < len; i++)
        b[i] = (char)pattern(i);
    snprintf(path, sizeof(path), "%s/body.bin", dir);
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, b, len), (ssize_t)len);
    free(b);
    return fd;
}

/* Sends [off, off + count) of fd through p, draining the client; checks. */
static void send_range(pair_t *p, int fd, off_t off, size_t count, int *wants)
{
    static char pool[TLS_POOL_SIZE];
    char *out = malloc(count);
    size_t sent = 0, got = 0;

    for (int round = 0; round < ROUNDS && got < count; round++) {
        if (sent < count) {
            ssize_t w = tls_send_file_range(p->server, fd, off + (off_t)sent, count - sent, NULL, pool,
                                            sizeof(pool));
            ck_assert_int_ne(w, TLS_ERROR);
            if (w <= 0 || (size_t)w < count - sent)
                (*wants)++; /* the socket filled */
            if (w > 0)
                sent += (size_t)w;
        }
        got += client_drain(p, out + got, count - got);
    }
    ck_assert_uint_eq(got, count);
    for (size_t i = 0; i < count; i++)
        if ((unsigned char)out[i] != pattern((size_t)off + i))
            ck_abort_msg("byte %zu of the range differs", i);
    free(out);
}

START_TEST(test_send_file_range_fallback)
{
    static char pool[TLS_POOL_SIZE];
    int fd = make_file(1000003), wants = 0;
    pair_t p;

    pair_open(&p);
    ck_assert_int_eq(tls_ktls_send(p.server), 0); /* never on AF_UNIX */
    send_range(&p, fd, 12345, 900000, &wants);
    ck_assert_msg(wants > 0, "the socket never filled");
    ck_assert_uint_eq(p.stats.sendfile_fallback, 1); /* once per connection */
    ck_assert_uint_eq(p.stats.sendfile_ktls, 0);
    /* full records, no 16 KiB ping-pong into small ones */
    ck_assert_int_le(p.records, 900000 / 16384 + 2);
    /* a range past the end of a file that shrank */
    errno = 0;
    ck_assert_int_eq(tls_send_file_range(p.server, fd, 1000000, 10, NULL, pool, sizeof(pool)),
                     TLS_ERROR);
    ck_assert_int_eq(errno, EIO);
    close(fd);
    pair_close(&p);
}
END_TEST

/* With read-ahead, a write stopped by a full socket resumes from the bytes
 * already in the pool: one read per 64 KiB however often the socket fills
 * (without it, one read per call). A connection closed with bytes in the
 * pool leaves nothing another could take for its own. */
START_TEST(test_send_file_range_reads_once)
{
    tls_readahead_t ra = { 0 };
    int fd = make_file(1000003), wants = 0;
    pair_t p;

    pair_open(&p);
    int small = 20000; /* the socket fills after a record or two */
    ck_assert_int_eq(setsockopt(p.server->fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
    tls_use_readahead(p.server, &ra);
    send_range(&p, fd, 12345, 900000, &wants);
    ck_assert_msg(wants > 10, "the socket filled only %d times", wants);
    ck_assert_uint_le(ra.reads, 900000 / TLS_POOL_SIZE + 1);
    ck_assert_uint_eq(ra.serial, 0); /* all sent: nothing kept */
    uint64_t serial = p.server->serial;
    ck_assert_uint_ne(serial, 0);
    close(fd);
    pair_close(&p);
    ck_assert_uint_eq(ra.next_serial, serial);
}
END_TEST

START_TEST(test_send_file_range_ktls)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t sl = sizeof(sa);
    int l = socket(AF_INET, SOCK_STREAM, 0), c, s, wants = 0, fd;
    pair_t p;

    ck_assert_int_eq(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(listen(l, 1), 0);
    ck_assert_int_eq(getsockname(l, (struct sockaddr *)&sa, &sl), 0);
    c = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_eq(connect(c, (struct sockaddr *)&sa, sizeof(sa)), 0);
    s = accept(l, NULL, NULL);
    ck_assert_int_ge(s, 0);
    close(l);
    fcntl(c, F_SETFL, O_NONBLOCK);
    fcntl(s, F_SETFL, O_NONBLOCK);
    pair_open_fds(&p, c, s);
    if (!tls_ktls_send(p.server)) {
        char ulp[256] = "unreadable";
        FILE *f = fopen("/proc/sys/net/ipv4/tcp_available_ulp", "r");
        if (f != NULL) {
            if (fgets(ulp, sizeof(ulp), f) == NULL)
                ulp[0] = '\0';
            ulp[strcspn(ulp, "\n")] = '\0';
            fclose(f);
        }
        printf("check_tls: SKIP kTLS check: the kernel did not take the TLS keys on a TCP "
               "socket (no `tls` module; tcp_available_ulp: \"%s\"); the fallback path is "
               "what the other checks exercise\n", ulp);
        fflush(stdout);
        pair_close(&p);
        return;
    }
    fd = make_file(300000);
    send_range(&p, fd, 1, 299999, &wants);
    ck_assert_uint_eq(p.stats.sendfile_ktls, 1);
    ck_assert_uint_eq(p.stats.sendfile_fallback, 0);
    close(fd);
    pair_close(&p);
}
END_TEST

START_TEST(test_shutdown)
{
    pair_t p;
    char b;

    pair_open(&p);
    ck_assert_int_eq(tls_shutdown(p.server), TLS_OK);
    ck_assert_int_eq(SSL_read(p.client, &b, 1), 0);
    ck_assert_int_eq(SSL_get_error(p.client, 0), SSL_ERROR_ZERO_RETURN);
    pair_close(&p);
}
END_TEST

/* Feeds bytes then EOF to a fresh server; the handshake must fail, once,
 * without spinning, and say why (the caller logs it with the client's
 * address). Freeing it then counts nothing more. */
static void assert_refused_bytes(const void *bytes, size_t len, const char *reason)
{
    tls_ctx_t *tls = server_ctx();
    tls_stats_t st = { 0 };
    char why[200] = "x";
    int sv[2], r = TLS_WANT_READ;
    tls_conn_t *c;

    ck_assert_int_eq(tls_test_socketpair(sv), 0);
    ck_assert_int_eq(write(sv[0], bytes, len), (ssize_t)len);
    shutdown(sv[0], SHUT_WR);
    c = tls_new(tls_ctx_default(tls), sv[1], &st);
    for (int i = 0; i < 100 && (r == TLS_WANT_READ || r == TLS_WANT_WRITE); i++)
        r = tls_handshake(c, why, sizeof(why));
    ck_assert_int_eq(r, TLS_ERROR);
    ck_assert_uint_eq(st.handshake_failures, 1);
    ck_assert_uint_eq(st.handshakes, 0);
    ck_assert_msg(why[0] != '\0' && strstr(why, reason), "why: %s", why);
    tls_free(c);
    ck_assert_uint_eq(st.handshake_failures, 1);
    tls_ctx_free(tls);
    close(sv[0]);
    close(sv[1]);
}

/* A handshake that began and is freed unfinished (client_header_timeout, a
 * stop) counts once as failed; one that never began counts nothing. */
START_TEST(test_unfinished_handshake_counts)
{
    tls_ctx_t *tls = server_ctx();
    tls_stats_t st = { 0 };
    int sv[2];

    ck_assert_int_eq(tls_test_socketpair(sv), 0);
    tls_conn_t *idle = tls_new(tls_ctx_default(tls), sv[1], &st);
    tls_free(idle);
    ck_assert_uint_eq(st.handshake_failures, 0);

    tls_conn_t *c = tls_new(tls_ctx_default(tls), sv[1], &st);
    ck_assert_int_eq(write(sv[0], "\x16\x03\x01\x02\x00\x01", 6), 6); /* a hello begins */
    ck_assert_int_eq(tls_handshake(c, NULL, 0), TLS_WANT_READ);
    ck_assert_uint_eq(st.handshake_failures, 0);
    tls_free(c);
    ck_assert_uint_eq(st.handshake_failures, 1);
    tls_ctx_free(tls);
    close(sv[0]);
    close(sv[1]);
}
END_TEST

START_TEST(test_bad_handshakes)
{
    int sv[2];
    char hello[4096];
    ssize_t n;
    SSL_CTX *cctx = tls_test_client_ctx(dir);
    SSL *cl = SSL_new(cctx);

    assert_refused_bytes("\x16\x03\x01\x00\x05hello", 10, "");
    assert_refused_bytes("\x01\x02\x03garbage", 10, "");
    assert_refused_bytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27, "http request");
    assert_refused_bytes("", 0, "connection closed");
    /* a real ClientHello, cut in half */
    ck_assert_int_eq(tls_test_socketpair(sv), 0);
    SSL_set_fd(cl, sv[0]);
    SSL_set_connect_state(cl);
    ck_assert_int_eq(tls_test_ssl_step(cl), 0);
    n = read(sv[1], hello, sizeof(hello));
    ck_assert_int_gt(n, 100);
    assert_refused_bytes(hello, (size_t)n / 2, "");
    SSL_free(cl);
    SSL_CTX_free(cctx);
    close(sv[0]);
    close(sv[1]);
}
END_TEST

START_TEST(test_plain_http_detection)
{
    static const struct {
        const char *bytes;
        size_t len;
        int want;
    } t[] = {
        { "GET / HTTP/1.1\r\n", 16, 1 }, { "POST /x HTTP/1.0", 16, 1 },
        { "HEAD ", 5, 1 },               { "OPTIONS * HTTP/1.1", 18, 1 },
        { "PRI * HTTP/2.0", 14, 1 },     { "GE", 2, 1 },
        { "\x16\x03\x01\x02\x00", 5, 0 }, { "", 0, 0 },
        { "get / HTTP/1.1", 14, 0 },     { "GO / ", 5, 0 },
        { "\x80\x2e\x01", 3, 0 },        { "G\0T /", 5, 0 },
    };
    const char *resp;
    size_t len;
    int sv[2];

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        ck_assert_msg(tls_looks_like_plain_http(t[i].bytes, t[i].len) == t[i].want,
                      "case %zu", i);
    resp = tls_plain_http_response(&len);
    ck_assert_uint_eq(len, strlen(resp));
    ck_assert(strncmp(resp, "HTTP/1.1 400 Bad Request\r\n", 26) == 0);
    ck_assert_ptr_nonnull(strstr(resp, "Connection: close\r\n"));
    const char *body = strstr(resp, "\r\n\r\n") + 4;
    ck_assert_str_eq(body, "The plain HTTP request was sent to HTTPS port\n");
    char cl[64];
    snprintf(cl, sizeof(cl), "Content-Length: %zu\r\n", strlen(body));
    ck_assert_ptr_nonnull(strstr(resp, cl));

    ck_assert_int_eq(tls_test_socketpair(sv), 0);
    ck_assert_int_eq(tls_peek_plain_http(sv[1]), TLS_WANT_READ);
    ck_assert_int_eq(write(sv[0], "GET / HTTP/1.1\r\n", 16), 16);
    ck_assert_int_eq(tls_peek_plain_http(sv[1]), 1);
    ck_assert_int_eq(tls_peek_plain_http(sv[1]), 1); /* peeked, not consumed */
    close(sv[0]);
    close(sv[1]);
    ck_assert_int_eq(tls_test_socketpair(sv), 0);
    ck_assert_int_eq(write(sv[0], "\x16\x03\x01\x00\x50", 5), 5);
    ck_assert_int_eq(tls_peek_plain_http(sv[1]), 0);
    close(sv[0]);
    close(sv[1]);
    ck_assert_int_eq(tls_test_socketpair(sv), 0);
    close(sv[0]);
    ck_assert_int_eq(tls_peek_plain_http(sv[1]), TLS_ERROR);
    close(sv[1]);
}
END_TEST

static Suite *tls_suite(void)
{
    Suite *s = suite_create("tls");
    TCase *io = tcase_create("io");
    TCase *bad = tcase_create("bad");

    tcase_add_test(io, test_handshake_and_recv);
    tcase_add_test(io, test_writev_coalesces);
    tcase_add_test(io, test_writev_full_socket);
    tcase_add_test(io, test_send_file_range_fallback);
    tcase_add_test(io, test_send_file_range_reads_once);
    tcase_add_test(io, test_send_file_range_ktls);
    tcase_add_test(io, test_shutdown);
    tcase_set_timeout(io, 30);
    tcase_add_test(bad, test_bad_handshakes);
    tcase_add_test(bad, test_unfinished_handshake_counts);
    tcase_add_test(bad, test_plain_http_detection);
    suite_add_tcase(s, io);
    suite_add_tcase(s, bad);
    return s;
}

int main(void)
{
    SRunner *sr;
    int failed;

    if (tls_test_make_certs(dir, sizeof(dir)) < 0) {
        fprintf(stderr, "could not make test certificates in %s\n", dir);
        tls_test_remove(dir);
        return EXIT_FAILURE;
    }
    sr = srunner_create(tls_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    tls_test_remove(dir);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
