/*
 * Unit tests for access control's pure parts: common/conf/htpasswd (every
 * hash kind, plaintext and DES refused with the line, duplicates, CRLF,
 * comments), worker/access/auth (Authorization decoding: good, bad base64,
 * no colon, NULs, padding), auth_hash (apr1 and {SHA} against hashes made
 * by Apache's htpasswd, a wrong password, a bcrypt through crypt_rn),
 * real_ip (entries, Forwarded, the rightmost untrusted address, spoofing)
 * and common/limit_table (GCRA counts, eviction, connections).
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "auth.h"
#include "auth_hash.h"
#include "htpasswd.h"
#include "limit_table.h"
#include "real_ip.h"

static htpasswd_user_t users[16];
static size_t n;
static char err[HTPASSWD_ERR_LEN];

static int parse(const char *text)
{
    return htpasswd_parse(text, strlen(text), users, 16, &n, err, sizeof(err));
}

START_TEST(test_htpasswd_kinds)
{
    const char *text =
        "# made by htpasswd\n"
        "alice:$2y$05$QhTRs0NebsMFtXqL9FOzGeqGazh6i4fU5gRNmlxtaKh2WhfYyVEMq\r\n"
        "bob:$apr1$PCbprafT$gIXw3U/NBUNI2qcWRhYWr1\n"
        "\n"
        "carol:{SHA}2PRZAyDhNDqRW2OUFwZQqPNdaSY=\n"
        "dave:$6$n/Yczoi9vUlP05y9$S/x1joRMEjLLOp.D7HpmX.EoS7YuZ0/TSETLWlwbvqr.kHcMNJafaLPzqTBmssmInFqoXn9VflCI4jENRrLWF0\n"
        "erin:$5$WipSnFS.VV00lvmK$GLs1WUqJnqtRzv7N6teQpzH4NO1lcpQHHa4cTE3lsqD\n"
        "yann:$y$j9T$abcdefghijklmnop$/rtfYWU9jqSUkiy/I3rCKtNY3ZQwqbLGBRmTcBDynJD";
    ck_assert_int_eq(parse(text), 0);
    ck_assert_uint_eq(n, 6);
    ck_assert_int_eq(users[0].kind, HTPASSWD_BCRYPT);
    ck_assert_uint_eq(users[0].hash.len, 60); /* the \r is not part of it */
    ck_assert_int_eq(users[1].kind, HTPASSWD_APR1);
    ck_assert_int_eq(users[2].kind, HTPASSWD_SHA1);
    ck_assert_uint_eq(users[2].line, 5);
    ck_assert_int_eq(users[3].kind, HTPASSWD_SHA512);
    ck_assert_int_eq(users[4].kind, HTPASSWD_SHA256);
    ck_assert_int_eq(users[5].kind, HTPASSWD_YESCRYPT);
    ck_assert_uint_eq(htpasswd_lines(text, strlen(text)), 8);
}
END_TEST

START_TEST(test_htpasswd_refused)
{
    ck_assert_int_eq(parse("a:$apr1$x$y\nplain:secret\n"), -1);
    ck_assert_ptr_nonnull(strstr(err, "line 2: user plain: a plaintext password"));
    ck_assert_int_eq(parse("\n\ndes:rl0uE8PKJQ4Ec\n"), -1);
    ck_assert_ptr_nonnull(strstr(err, "line 3: user des: DES crypt"));
    ck_assert_int_eq(parse("md5:$1$abc$def\n"), -1);
    ck_assert_ptr_nonnull(strstr(err, "unknown hash"));
    ck_assert_int_eq(parse("nocolon\n"), -1);
    ck_assert_ptr_nonnull(strstr(err, "line 1: expected user:hash"));
    ck_assert_int_eq(parse(":$apr1$x$y\n"), -1);
    ck_assert_int_eq(parse("a:\n"), -1);
    ck_assert_int_eq(parse("a:$2y$05$short\n"), -1);
    ck_assert_int_eq(parse("a:{SHA}short\n"), -1);
    ck_assert_int_eq(parse("a:$apr1$x$y\nb:$apr1$x$z\na:$apr1$x$w\n"), -1);
    ck_assert_ptr_nonnull(strstr(err, "line 3: user a is also on line 1"));
    ck_assert_int_eq(parse("a:$apr1$x y\n"), -1);
    ck_assert_int_eq(htpasswd_parse("a:$apr1$x$y\0b", 13, users, 16, &n, err, sizeof(err)), -1);
    /* A table smaller than the users is an error, not an overflow. */
    ck_assert_int_eq(htpasswd_parse("a:$apr1$x$y\nb:$apr1$x$y\n", 24, users, 1, &n, err,
                                    sizeof(err)), -1);
    ck_assert_int_eq(parse(""), 0);
    ck_assert_uint_eq(n, 0);
}
END_TEST

static htpasswd_user_t user(const char *hash, htpasswd_kind_t kind)
{
    return (htpasswd_user_t){ STR_LIT("u"), str_make(hash, strlen(hash)), kind, 1 };
}

START_TEST(test_hash_verify)
{
    /* Made by htpasswd 2.4 (apache2-utils): -m, -s, -B -C 5, -2, -5. */
    htpasswd_user_t u = user("$apr1$PCbprafT$gIXw3U/NBUNI2qcWRhYWr1", HTPASSWD_APR1);
    ck_assert_int_eq(auth_hash_verify(&u, "apr", 3), 1);
    ck_assert_int_eq(auth_hash_verify(&u, "apR", 3), 0);
    ck_assert_int_eq(auth_hash_verify(&u, "", 0), 0);
    u = user("{SHA}2PRZAyDhNDqRW2OUFwZQqPNdaSY=", HTPASSWD_SHA1);
    ck_assert_int_eq(auth_hash_verify(&u, "sha", 3), 1);
    ck_assert_int_eq(auth_hash_verify(&u, "shb", 3), 0);
    u = user("$2y$05$QhTRs0NebsMFtXqL9FOzGeqGazh6i4fU5gRNmlxtaKh2WhfYyVEMq", HTPASSWD_BCRYPT);
    ck_assert_int_eq(auth_hash_verify(&u, "secret", 6), 1);
    ck_assert_int_eq(auth_hash_verify(&u, "secreT", 6), 0);
    u = user("$5$WipSnFS.VV00lvmK$GLs1WUqJnqtRzv7N6teQpzH4NO1lcpQHHa4cTE3lsqD", HTPASSWD_SHA256);
    ck_assert_int_eq(auth_hash_verify(&u, "s512", 4), 1);
    u = user("$y$j9T$abcdefghijklmnop$/rtfYWU9jqSUkiy/I3rCKtNY3ZQwqbLGBRmTcBDynJD", HTPASSWD_YESCRYPT);
    ck_assert_int_eq(auth_hash_verify(&u, "yes", 3), 1);
    ck_assert_int_eq(auth_hash_verify(&u, "no", 2), 0);
    /* A password longer than apr1's 16-byte steps. */
    char out[64];
    ck_assert_int_eq(auth_hash_apr1("x", 1, "$apr1$", out, 10), -1);
}
END_TEST

static int decode(const char *v, char *out, size_t *len, size_t *colon)
{
    return auth_decode(str_make(v, strlen(v)), out, 256, len, colon);
}

START_TEST(test_auth_decode)
{
    char out[256];
    size_t len, colon;
    ck_assert_int_eq(decode("Basic YWxpY2U6c2VjcmV0", out, &len, &colon), 0); /* alice:secret */
    ck_assert_uint_eq(len, 12);
    ck_assert_uint_eq(colon, 5);
    ck_assert_int_eq(decode("basic   YWxpY2U6c2VjcmV0  ", out, &len, &colon), 0);
    ck_assert_int_eq(decode("Basic YTpi", out, &len, &colon), 0);             /* a:b */
    ck_assert_int_eq(decode("Basic YTpiYw==", out, &len, &colon), 0);         /* a:bc */
    ck_assert_str_eq(out, "a:bc");
    ck_assert_int_eq(decode("Basic YTpiYw", out, &len, &colon), 0);           /* unpadded */
    ck_assert_int_eq(decode("Basic YTpiYw=", out, &len, &colon), -1);
    ck_assert_int_eq(decode("Basic YWxpY2U", out, &len, &colon), -1);         /* no colon */
    ck_assert_int_eq(decode("Basic OmI=", out, &len, &colon), -1);            /* ":b" no user */
    ck_assert_int_eq(decode("Basic YQBiOmM=", out, &len, &colon), -1);        /* a\0b:c */
    ck_assert_int_eq(decode("Basic YT%iYw==", out, &len, &colon), -1);
    ck_assert_int_eq(decode("Basic ", out, &len, &colon), -1);
    ck_assert_int_eq(decode("Bearer YTpi", out, &len, &colon), -1);
    ck_assert_int_eq(decode("BasicYTpi", out, &len, &colon), -1);
    ck_assert_int_eq(decode("Basic Y", out, &len, &colon), -1);
    char big[400];
    memset(big, 'Q', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    memcpy(big, "Basic ", 6);
    ck_assert_int_eq(decode(big, out, &len, &colon), -1); /* longer than out */
}
END_TEST

static int entry(const char *s, int fwd, char *text)
{
    int f;
    unsigned char a[16];
    if (real_ip_parse(str_make(s, strlen(s)), fwd, &f, a) < 0)
        return -1;
    inet_ntop(f, a, text, INET6_ADDRSTRLEN);
    return f;
}

START_TEST(test_real_ip_parse)
{
    char t[INET6_ADDRSTRLEN];
    ck_assert_int_eq(entry(" 192.0.2.1 ", 0, t), AF_INET);
    ck_assert_str_eq(t, "192.0.2.1");
    ck_assert_int_eq(entry("192.0.2.1:8080", 0, t), AF_INET);
    ck_assert_int_eq(entry("2001:db8::1", 0, t), AF_INET6);
    ck_assert_str_eq(t, "2001:db8::1");
    ck_assert_int_eq(entry("[2001:db8::2]:443", 0, t), AF_INET6);
    ck_assert_str_eq(t, "2001:db8::2");
    ck_assert_int_eq(entry("for=192.0.2.60;proto=http;by=203.0.113.43", 1, t), AF_INET);
    ck_assert_str_eq(t, "192.0.2.60");
    ck_assert_int_eq(entry("proto=https; For=\"[2001:db8:cafe::17]:4711\"", 1, t), AF_INET6);
    ck_assert_str_eq(t, "2001:db8:cafe::17");
    ck_assert_int_eq(entry("for=unknown", 1, t), -1);
    ck_assert_int_eq(entry("for=_hidden", 1, t), -1);
    ck_assert_int_eq(entry("unknown", 0, t), -1);
    ck_assert_int_eq(entry("", 0, t), -1);
    ck_assert_int_eq(entry("[::1", 0, t), -1);
    ck_assert_int_eq(entry("999.1.1.1", 0, t), -1);
}
END_TEST

static conf_real_ip_t rip;

static const char *resolve(const char *peer, const char *h1, const char *h2)
{
    static real_ip_t out;
    http_request_t req;
    memset(&req, 0, sizeof(req));
    if (h1 != NULL)
        req.headers[req.num_headers++] = (http_header_t){ STR_LIT("x-forwarded-for"),
                                                          str_make(h1, strlen(h1)) };
    req.headers[req.num_headers++] = (http_header_t){ STR_LIT("Host"), STR_LIT("a") };
    if (h2 != NULL)
        req.headers[req.num_headers++] = (http_header_t){ STR_LIT("X-Forwarded-For"),
                                                          str_make(h2, strlen(h2)) };
    unsigned char a[16];
    int f = strchr(peer, ':') ? AF_INET6 : AF_INET;
    inet_pton(f, peer, a);
    real_ip_resolve(&rip, &req, f, a, &out);
    if (out.text[0] == '\0')
        inet_ntop(out.family, out.addr, out.text, sizeof(out.text));
    return out.text;
}

START_TEST(test_real_ip_resolve)
{
    memset(&rip, 0, sizeof(rip));
    rip.header = "X-Forwarded-For";
    conf_value_cidr("10.0.0.0/8", &rip.trusted[0]);
    conf_value_cidr("::1", &rip.trusted[1]);
    rip.num_trusted = 2;
    /* Untrusted peer: the header is ignored, whatever it says. */
    ck_assert_str_eq(resolve("192.0.2.9", "1.2.3.4", NULL), "192.0.2.9");
    ck_assert_str_eq(resolve("10.1.1.1", "1.2.3.4", NULL), "1.2.3.4");
    /* The client wrote the left part: the rightmost untrusted wins. */
    ck_assert_str_eq(resolve("10.1.1.1", "6.6.6.6, 1.2.3.4, 10.2.2.2", NULL), "1.2.3.4");
    /* Two header lines: the last one is the nearest proxy's. */
    ck_assert_str_eq(resolve("10.1.1.1", "6.6.6.6", "10.3.3.3"), "6.6.6.6");
    ck_assert_str_eq(resolve("::1", "2001:db8::5", NULL), "2001:db8::5");
    /* Garbage stops the walk at the last trusted hop. */
    ck_assert_str_eq(resolve("10.1.1.1", "1.2.3.4, junk, 10.2.2.2", NULL), "10.2.2.2");
    ck_assert_str_eq(resolve("10.1.1.1", "1.2.3.4,,", NULL), "10.1.1.1");
    /* All trusted: the leftmost. */
    ck_assert_str_eq(resolve("10.1.1.1", "10.9.9.9, 10.2.2.2", NULL), "10.9.9.9");
    ck_assert_str_eq(resolve("10.1.1.1", NULL, NULL), "10.1.1.1");
    rip.header = "Forwarded";
    rip.forwarded = 1;
    ck_assert_str_eq(resolve("10.1.1.1", NULL, NULL), "10.1.1.1");
}
END_TEST

START_TEST(test_limit_table_gcra)
{
    int fd;
    limit_table_t *t = limit_table_create(&fd);
    ck_assert_ptr_nonnull(t);
    unsigned char a[4] = { 192, 0, 2, 1 };
    uint64_t k = limit_table_key(t, 7, AF_INET, a);
    ck_assert_uint_ne(k, limit_table_key(t, 8, AF_INET, a));
    int64_t now = 1000000000, retry;
    /* 10/s, burst 5: 6 at once, then one per 100 ms. */
    int ok = 0;
    for (int i = 0; i < 20; i++)
        ok += !limit_table_req(t, k, now, 100000, 5, 0, &retry);
    ck_assert_int_eq(ok, 6);
    ck_assert_int_gt(retry, 0);
    ck_assert_int_le(retry, 100000);
    ck_assert_int_eq(limit_table_req(t, k, now + 100000, 100000, 5, 1, &retry), 0); /* peek */
    ck_assert_int_eq(limit_table_req(t, k, now + 100000, 100000, 5, 0, &retry), 0);
    ck_assert_int_eq(limit_table_req(t, k, now + 100000, 100000, 5, 0, &retry), 1);
    /* Ten seconds at 10/s: 100 more, exactly. */
    ok = 0;
    for (int64_t us = 0; us < 10000000; us += 1000)
        ok += !limit_table_req(t, k, now + 200000 + us, 100000, 5, 0, &retry);
    ck_assert_int_eq(ok, 100);
    /* Connections. */
    uint64_t c = limit_table_key(t, 9, AF_INET, a);
    ck_assert_int_eq(limit_table_conn(t, c, 1, 2, now), 0);
    ck_assert_int_eq(limit_table_conn(t, c, 1, 2, now), 0);
    ck_assert_int_eq(limit_table_conn(t, c, 1, 2, now), 1);
    ck_assert_int_eq(limit_table_conn(t, c, -1, 0, now), 0);
    ck_assert_int_eq(limit_table_conn(t, c, 1, 2, now), 0);
    /* A million clients: the table stays its size; the newest are there. */
    for (uint32_t i = 0; i < 1000000; i++) {
        unsigned char b[4];
        memcpy(b, &i, 4);
        limit_table_req(t, limit_table_key(t, 1, AF_INET, b), now + i, 100000, 0, 0, &retry);
    }
    ck_assert_uint_gt(t->evicted, 1000000 - LIMIT_TABLE_BUCKETS * LIMIT_TABLE_WAYS);
    uint32_t last = 999999;
    unsigned char b[4];
    memcpy(b, &last, 4);
    ck_assert_int_eq(limit_table_req(t, limit_table_key(t, 1, AF_INET, b), now + 1000000, 100000,
                                     0, 0, &retry), 1);
    /* attach maps the same counters. */
    limit_table_t *t2 = limit_table_attach(fd);
    ck_assert_ptr_nonnull(t2);
    ck_assert_int_eq(limit_table_conn(t2, c, 1, 2, now), 1);
}
END_TEST

/* A process that dies holding a bucket's lock (as a worker SIGKILLed
 * between lock and unlock would) does not wedge the others: the next
 * locker gets EOWNERDEAD, makes it consistent and goes on. */
START_TEST(test_limit_table_owner_died)
{
    int fd;
    limit_table_t *t = limit_table_create(&fd);
    ck_assert_ptr_nonnull(t);
    unsigned char a[4] = { 192, 0, 2, 7 };
    uint64_t k = limit_table_key(t, 3, AF_INET, a);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        pthread_mutex_lock(&t->b[k % LIMIT_TABLE_BUCKETS].lock);
        _exit(0); /* never unlocks */
    }
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    int64_t retry;
    alarm(5); /* a wedged lock would hang here: fail instead */
    ck_assert_int_eq(limit_table_req(t, k, 1000000, 100000, 0, 0, &retry), 0);
    ck_assert_int_eq(limit_table_req(t, k, 1000000, 100000, 0, 0, &retry), 1);
    alarm(0);
    ck_assert_uint_eq(t->recovered, 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("access");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_htpasswd_kinds);
    tcase_add_test(tc, test_htpasswd_refused);
    tcase_add_test(tc, test_hash_verify);
    tcase_add_test(tc, test_auth_decode);
    tcase_add_test(tc, test_real_ip_parse);
    tcase_add_test(tc, test_real_ip_resolve);
    tcase_add_test(tc, test_limit_table_gcra);
    tcase_add_test(tc, test_limit_table_owner_died);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
