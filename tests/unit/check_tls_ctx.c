/*
 * Unit tests for common/tls/tls_ctx: certificates loaded and checked (with the
 * file named in every error), SNI sets and wildcards, and real handshakes
 * over socketpairs: SNI, RSA/ECDSA choice, ALPN, old protocols refused, and
 * session resumption across two contexts built from one ticket ring (what
 * makes resumption work across workers).
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "tls_conf.h"
#include "tls_ctx.h"
#include "tls_test_util.h"

static char dir[256];

/* The usual set: other (default), rsa + ecdsa (one set), wild, cn. */
static void conf_usual(tls_conf_t *tc)
{
    static const char *const names[] = { "other", "rsa", "ecdsa", "wild", "cn" };

    tls_conf_init(tc);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char pem[64], key[64];
        snprintf(pem, sizeof(pem), "%s.pem", names[i]);
        snprintf(key, sizeof(key), "%s.key", names[i]);
        ck_assert_int_eq(tls_conf_add_certificate(tc, tls_test_file(dir, pem),
                                                  tls_test_file(dir, key), (int)i + 10), 0);
    }
}

/* 1 when s starts with prefix. */
static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static tls_ctx_t *ctx_usual(const tls_ticket_ring_t *ring, unsigned flags)
{
    tls_conf_t tc;
    char err[512] = "";
    tls_ctx_t *tls;

    conf_usual(&tc);
    tls = tls_ctx_new(&tc, ring, flags, err, sizeof(err));
    ck_assert_msg(tls != NULL, "tls_ctx_new: %s", err);
    tls_conf_free(&tc);
    return tls;
}

/* Builds from one certificate entry (line 7 of f.yaml) and expects an error
 * that starts as every config error does, then mentions want and want2
 * (want2 may be NULL). */
static void assert_refused(const char *cert, const char *key, const char *want,
                           const char *want2)
{
    tls_conf_t tc;
    char err[512] = "";

    tls_conf_init(&tc);
    tc.file = "f.yaml";
    tls_conf_add_certificate(&tc, tls_test_file(dir, cert), tls_test_file(dir, key), 7);
    ck_assert_ptr_null(tls_ctx_new(&tc, NULL, 0, err, sizeof(err)));
    ck_assert_msg(strstr(err, want) != NULL, "\"%s\" lacks \"%s\"", err, want);
    ck_assert_msg(want2 == NULL || strstr(err, want2) != NULL, "\"%s\" lacks \"%s\"", err, want2);
    ck_assert_msg(starts_with(err, "f.yaml:7: tls.certificates: "),
                  "\"%s\" lacks the file, line and key", err);
    tls_conf_free(&tc);
}

typedef struct {
    const char *sni;
    const char *sigalgs;       /* client's, NULL = OpenSSL's default */
    const char *alpn;          /* wire format */
    unsigned alpn_len;
    int min_version, max_version; /* 0 = default */
    SSL_SESSION *session;      /* to resume, not owned */
    /* results */
    char cn[128];
    size_t set;
    int reused;
    SSL_SESSION *new_session;  /* owned by the caller */
    char alpn_got[32];
} hs_t;

/* A full handshake between a client and a server SSL of tls on a
 * socketpair, then one byte of data (so TLS 1.3 tickets arrive). 0 if the
 * handshake succeeded, -1 if it failed. */
static int hs_run(tls_ctx_t *tls, hs_t *h)
{
    SSL_CTX *cctx = tls_test_client_ctx(dir);
    SSL *c, *s;
    int sv[2], rc = -1;
    char byte;

    ck_assert_ptr_nonnull(cctx);
    if (h->min_version || h->max_version) {
        SSL_CTX_set_security_level(cctx, 0);
        SSL_CTX_set_cipher_list(cctx, "DEFAULT:@SECLEVEL=0");
        if (h->min_version)
            SSL_CTX_set_min_proto_version(cctx, h->min_version);
        if (h->max_version)
            SSL_CTX_set_max_proto_version(cctx, h->max_version);
    }
    ck_assert_int_eq(tls_test_socketpair(sv), 0);
    c = SSL_new(cctx);
    s = SSL_new(tls_ctx_default(tls));
    SSL_set_fd(c, sv[0]);
    SSL_set_fd(s, sv[1]);
    SSL_set_connect_state(c);
    SSL_set_accept_state(s);
    if (h->sni)
        SSL_set_tlsext_host_name(c, h->sni);
    if (h->sigalgs)
        ck_assert_int_eq(SSL_set1_sigalgs_list(c, h->sigalgs), 1);
    if (h->alpn)
        SSL_set_alpn_protos(c, (const unsigned char *)h->alpn, h->alpn_len);
    if (h->session)
        SSL_set_session(c, h->session);
    if (tls_test_pump(tls_test_ssl_step, c, tls_test_ssl_step, s) == 0) {
        const unsigned char *p;
        unsigned len;

        rc = 0;
        tls_test_peer_cn(c, h->cn, sizeof(h->cn));
        h->set = tls_ctx_selected(tls, s);
        h->reused = SSL_session_reused(s);
        SSL_get0_alpn_selected(c, &p, &len);
        snprintf(h->alpn_got, sizeof(h->alpn_got), "%.*s", (int)len, (const char *)p);
        ck_assert_int_eq(SSL_write(s, "x", 1), 1);
        int n = -1;
        for (int i = 0; i < 10 && n != 1; i++)
            n = SSL_read(c, &byte, 1);
        ck_assert_int_eq(n, 1);
        h->new_session = SSL_get1_session(c);
        /* a client freed without close_notify marks its session unresumable */
        SSL_shutdown(c);
        SSL_shutdown(s);
    }
    SSL_free(c);
    SSL_free(s);
    SSL_CTX_free(cctx);
    close(sv[0]);
    close(sv[1]);
    return rc;
}

START_TEST(test_load_names_sets)
{
    tls_ctx_t *tls = ctx_usual(NULL, 0);

    ck_assert_uint_eq(tls->ncerts, 5);
    ck_assert_uint_eq(tls->nsets, 4); /* rsa and ecdsa share one */
    ck_assert_uint_eq(tls->certs[1].set, tls->certs[2].set);
    ck_assert_str_eq(tls->certs[1].key_type, "RSA");
    ck_assert_str_eq(tls->certs[2].key_type, "ECDSA");
    ck_assert_uint_eq(tls->certs[1].nnames, 2);
    ck_assert_str_eq(tls->certs[1].names[0], "www.example.test");
    ck_assert_str_eq(tls->certs[1].names[1], "example.test");
    ck_assert_str_eq(tls->certs[3].names[0], "*.wild.test");
    ck_assert_uint_eq(tls->certs[4].nnames, 1); /* no SAN: the CN */
    ck_assert_str_eq(tls->certs[4].names[0], "cn.test");
    ck_assert(tls->certs[0].not_after > time(NULL));
    ck_assert(tls->certs[0].not_before <= time(NULL));
    ck_assert_uint_eq(tls->nwarnings, 0);
    tls_ctx_free(tls);
}
END_TEST

START_TEST(test_refused_with_file_and_reason)
{
    assert_refused("rsa.pem", "ecdsa.key", "ecdsa.key", "does not match");
    assert_refused("garbage.pem", "rsa.key", "garbage.pem", "no certificate");
    assert_refused("badchain.pem", "rsa.key", "badchain.pem", "chain certificate 1");
    assert_refused("missing.pem", "rsa.key", "missing.pem", "No such file");
    assert_refused("rsa.pem", "missing.key", "missing.key", "No such file");
    assert_refused("rsa.pem", "garbage.pem", "garbage.pem", "no private key");
}
END_TEST

START_TEST(test_no_certificate_refused)
{
    tls_conf_t tc;
    char err[256] = "";

    tls_conf_init(&tc);
    ck_assert_ptr_null(tls_ctx_new(&tc, NULL, 0, err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "no certificate"));
}
END_TEST

START_TEST(test_bad_cipher_list_refused)
{
    tls_conf_t tc;
    char err[256] = "";

    conf_usual(&tc);
    tc.file = "f.yaml";
    tc.ciphers = strdup("NOT-A-CIPHER");
    tc.ciphers_line = 12;
    ck_assert_ptr_null(tls_ctx_new(&tc, NULL, 0, err, sizeof(err)));
    ck_assert_msg(starts_with(err, "f.yaml:12: tls.ciphers: "), "%s", err);
    ck_assert_msg(strstr(err, "NOT-A-CIPHER") != NULL, "%s", err);
    tls_conf_free(&tc);
}
END_TEST

/* A host's own certificate (hosts: NAME: tls:) is named as the host's key. */
START_TEST(test_host_certificate_named)
{
    tls_conf_t tc;
    char err[512] = "";

    tls_conf_init(&tc);
    tc.file = "f.yaml";
    tls_conf_add_certificate(&tc, tls_test_file(dir, "missing.pem"), tls_test_file(dir, "rsa.key"),
                             30);
    tc.certificates[0].host = "a.test";
    ck_assert_ptr_null(tls_ctx_new(&tc, NULL, 0, err, sizeof(err)));
    ck_assert_msg(starts_with(err, "f.yaml:30: host a.test: tls: "), "%s", err);
    ck_assert_msg(strstr(err, "missing.pem: No such file") != NULL, "%s", err);
    tls_conf_free(&tc);
}
END_TEST

/* A cipher list whose every TLS 1.2 suite is unusable with the key types
 * at hand loads in OpenSSL; every TLS 1.2 handshake would then fail with
 * "no shared cipher". Refused, naming tls.ciphers, unless TLS 1.3 only. */
START_TEST(test_no_tls12_suite_refused)
{
    static const char *const lists[] = { "eNULL", "aNULL", "ECDHE-RSA-AES128-GCM-SHA256",
                                         "AES128-GCM-SHA256" };

    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        tls_conf_t tc;
        char err[512] = "";
        tls_ctx_t *tls;

        tls_conf_init(&tc);
        tc.file = "f.yaml";
        tc.ciphers = strdup(lists[i]);
        tc.ciphers_line = 12;
        tls_conf_add_certificate(&tc, tls_test_file(dir, "ecdsa.pem"),
                                 tls_test_file(dir, "ecdsa.key"), 7);
        ck_assert_ptr_null(tls_ctx_new(&tc, NULL, 0, err, sizeof(err)));
        ck_assert_msg(starts_with(err, "f.yaml:12: tls.ciphers: no TLS 1.2 cipher in \""),
                      "%s: %s", lists[i], err);
        ck_assert_msg(strstr(err, lists[i]) != NULL && strstr(err, "an ECDSA certificate"),
                      "%s: %s", lists[i], err);
        /* TLS 1.3 only: the TLS 1.2 list is never used. */
        tc.min_version = TLS_CONF_MIN_1_3;
        tls = tls_ctx_new(&tc, NULL, 0, err, sizeof(err));
        ck_assert_msg(tls != NULL, "%s with min_version 1.3: %s", lists[i], err);
        ck_assert_uint_eq(tls->nwarnings, 0);
        tls_ctx_free(tls);
        tls_conf_free(&tc);
    }
}
END_TEST

/* An RSA-only list: the names with an RSA certificate work over TLS 1.2;
 * those with only ECDSA are a warning each (TLS 1.3 still serves them). */
START_TEST(test_tls12_suite_for_some_sets_warns)
{
    tls_conf_t tc;
    char err[512] = "";
    tls_ctx_t *tls;
    hs_t h;

    conf_usual(&tc);
    tc.ciphers = strdup("ECDHE-RSA-AES128-GCM-SHA256");
    tls = tls_ctx_new(&tc, NULL, 0, err, sizeof(err));
    ck_assert_msg(tls != NULL, "%s", err);
    ck_assert_uint_eq(tls->nwarnings, 3); /* other, wild, cn; not the rsa+ecdsa set */

    memset(&h, 0, sizeof(h));
    h.sni = "www.example.test";
    h.max_version = TLS1_2_VERSION;
    ck_assert_int_eq(hs_run(tls, &h), 0);
    ck_assert_str_eq(h.cn, "rsa.example.test");
    SSL_SESSION_free(h.new_session);
    memset(&h, 0, sizeof(h));
    h.sni = "other.test";
    h.max_version = TLS1_2_VERSION;
    ck_assert_int_eq(hs_run(tls, &h), -1);
    memset(&h, 0, sizeof(h));
    h.sni = "other.test";
    ck_assert_int_eq(hs_run(tls, &h), 0);
    SSL_SESSION_free(h.new_session);
    tls_ctx_free(tls);
    tls_conf_free(&tc);
}
END_TEST

START_TEST(test_expired_is_a_warning)
{
    tls_conf_t tc;
    char err[256] = "";
    tls_ctx_t *tls;

    tls_conf_init(&tc);
    tls_conf_add_certificate(&tc, tls_test_file(dir, "expired.pem"),
                             tls_test_file(dir, "expired.key"), 0);
    tls = tls_ctx_new(&tc, NULL, 0, err, sizeof(err));
    ck_assert_msg(tls != NULL, "%s", err);
    ck_assert_uint_eq(tls->nwarnings, 1);
    ck_assert_int_eq((long long)tls->certs[0].not_after, 1609459200LL); /* 2021-01-01 */
    ck_assert_int_eq((long long)tls->certs[0].not_before, 1577836800LL); /* 2020-01-01 */
    tls_ctx_free(tls);
    tls_conf_free(&tc);
}
END_TEST

START_TEST(test_wildcard_table)
{
    static const struct {
        const char *pattern, *host;
        int want;
    } t[] = {
        { "example.com", "example.com", 1 },
        { "example.com", "EXAMPLE.com", 1 },
        { "example.com", "example.com.", 1 },
        { "example.com", "www.example.com", 0 },
        { "example.com", "example.co", 0 },
        { "*.example.com", "a.example.com", 1 },
        { "*.example.com", "A.Example.COM", 1 },
        { "*.example.com", "a.example.com.", 1 },
        { "*.example.com", "example.com", 0 },
        { "*.example.com", ".example.com", 0 },
        { "*.example.com", "a.b.example.com", 0 },
        { "*.example.com", "aexample.com", 0 },
        { "*.com", "example.com", 0 },
        { "*", "example", 0 },
        { "*.*.example.com", "a.b.example.com", 0 },
        { "a*.example.com", "ab.example.com", 0 },
        { "example.com", "", 0 },
        { "*.example.com", ".", 0 },
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        ck_assert_msg(tls_ctx_name_matches(t[i].pattern, t[i].host, strlen(t[i].host)) ==
                          t[i].want,
                      "%s vs %s: expected %d", t[i].pattern, t[i].host, t[i].want);
}
END_TEST

START_TEST(test_find)
{
    tls_ctx_t *tls = ctx_usual(NULL, 0);

    ck_assert_int_eq(tls_ctx_find(tls, "other.test", 10), 0);
    ck_assert_int_eq(tls_ctx_find(tls, "www.example.test", 16), 1);
    ck_assert_int_eq(tls_ctx_find(tls, "EXAMPLE.test.", 13), 1);
    ck_assert_int_eq(tls_ctx_find(tls, "a.wild.test", 11), 2);
    ck_assert_int_eq(tls_ctx_find(tls, "wild.test", 9), -1);
    ck_assert_int_eq(tls_ctx_find(tls, "a.b.wild.test", 13), -1);
    ck_assert_int_eq(tls_ctx_find(tls, "cn.test", 7), 3);
    ck_assert_int_eq(tls_ctx_find(tls, "www.example.testX", 16), 1); /* length respected */
    ck_assert_int_eq(tls_ctx_find(tls, "nope.test", 9), -1);
    tls_ctx_free(tls);
}
END_TEST

START_TEST(test_sni_handshakes)
{
    static const struct {
        const char *sni, *sigalgs, *cn;
        size_t set;
    } t[] = {
        { NULL, NULL, "other.test", 0 },
        { "unknown.test", NULL, "other.test", 0 },
        { "www.example.test", "ECDSA+SHA256", "ecdsa.example.test", 1 },
        { "example.test", "rsa_pss_rsae_sha256:RSA+SHA256", "rsa.example.test", 1 },
        { "x.wild.test", NULL, "wild.test", 2 },
        { "y.x.wild.test", NULL, "other.test", 0 },
        { "cn.test", NULL, "cn.test", 3 },
    };
    tls_ctx_t *tls = ctx_usual(NULL, 0);

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        hs_t h = { .sni = t[i].sni, .sigalgs = t[i].sigalgs };
        ck_assert_msg(hs_run(tls, &h) == 0, "handshake %zu failed", i);
        ck_assert_msg(strcmp(h.cn, t[i].cn) == 0, "SNI %s: got %s, expected %s",
                      t[i].sni ? t[i].sni : "(none)", h.cn, t[i].cn);
        ck_assert_uint_eq(h.set, t[i].set);
        SSL_SESSION_free(h.new_session);
    }
    /* TLS 1.2 too: the cipher suite decides RSA or ECDSA */
    for (int ecdsa = 0; ecdsa < 2; ecdsa++) {
        hs_t h = { .sni = "www.example.test", .max_version = TLS1_2_VERSION };
        h.sigalgs = ecdsa ? "ECDSA+SHA256" : "RSA+SHA256";
        ck_assert_int_eq(hs_run(tls, &h), 0);
        ck_assert_str_eq(h.cn, ecdsa ? "ecdsa.example.test" : "rsa.example.test");
        SSL_SESSION_free(h.new_session);
    }
    tls_ctx_free(tls);
}
END_TEST

START_TEST(test_alpn)
{
    tls_ctx_t *h1 = ctx_usual(NULL, 0), *h2 = ctx_usual(NULL, TLS_CTX_H2);
    hs_t a = { .alpn = "\x02h2\x08http/1.1", .alpn_len = 12 };
    hs_t b = a, c = { .alpn = "\x06spdy/3", .alpn_len = 7 }, d = { 0 };

    ck_assert_int_eq(hs_run(h1, &a), 0);
    ck_assert_str_eq(a.alpn_got, "http/1.1");
    ck_assert_int_eq(hs_run(h2, &b), 0);
    ck_assert_str_eq(b.alpn_got, "h2");
    ck_assert_int_eq(hs_run(h1, &c), 0); /* nothing in common: no ALPN, no failure */
    ck_assert_str_eq(c.alpn_got, "");
    ck_assert_int_eq(hs_run(h1, &d), 0);
    ck_assert_str_eq(d.alpn_got, "");
    SSL_SESSION_free(a.new_session);
    SSL_SESSION_free(b.new_session);
    SSL_SESSION_free(c.new_session);
    SSL_SESSION_free(d.new_session);
    tls_ctx_free(h1);
    tls_ctx_free(h2);
}
END_TEST

START_TEST(test_old_protocols_refused)
{
    tls_ctx_t *tls = ctx_usual(NULL, 0);
    tls_conf_t tc;
    char err[256];
    hs_t v11 = { .min_version = TLS1_VERSION, .max_version = TLS1_1_VERSION };
    hs_t v12 = { .max_version = TLS1_2_VERSION }, v12b = v12;

    ck_assert_int_eq(hs_run(tls, &v11), -1);
    ck_assert_int_eq(hs_run(tls, &v12), 0);
    SSL_SESSION_free(v12.new_session);
    tls_ctx_free(tls);
    conf_usual(&tc);
    tc.min_version = TLS_CONF_MIN_1_3;
    tls = tls_ctx_new(&tc, NULL, 0, err, sizeof(err));
    ck_assert_ptr_nonnull(tls);
    ck_assert_int_eq(hs_run(tls, &v12b), -1);
    tls_ctx_free(tls);
    tls_conf_free(&tc);
}
END_TEST

/* A session from a handshake with `first` resumes on `second`. */
static int resumes(tls_ctx_t *first, tls_ctx_t *second, int max_version)
{
    hs_t a = { .sni = "www.example.test", .max_version = max_version };
    hs_t b = a;
    int reused;

    ck_assert_int_eq(hs_run(first, &a), 0);
    ck_assert_int_eq(a.reused, 0);
    ck_assert_ptr_nonnull(a.new_session);
    ck_assert(SSL_SESSION_is_resumable(a.new_session));
    b.session = a.new_session;
    ck_assert_int_eq(hs_run(second, &b), 0);
    reused = b.reused;
    SSL_SESSION_free(a.new_session);
    SSL_SESSION_free(b.new_session);
    return reused;
}

START_TEST(test_resumption_across_contexts)
{
    tls_ticket_ring_t *ring = tls_ticket_ring_new_shared(), *other = tls_ticket_ring_new_shared();
    char err[256];

    ck_assert_int_eq(tls_ticket_generate(ring, time(NULL), err, sizeof(err)), 0);
    ck_assert_int_eq(tls_ticket_generate(other, time(NULL), err, sizeof(err)), 0);
    /* two contexts built apart, as two generations of workers would have */
    tls_ctx_t *w1 = ctx_usual(ring, 0), *w2 = ctx_usual(ring, 0), *w3 = ctx_usual(other, 0);

    ck_assert_int_eq(resumes(w1, w2, 0), 1);
    ck_assert_int_eq(resumes(w1, w2, TLS1_2_VERSION), 1);
    ck_assert_int_eq(resumes(w2, w1, 0), 1);
    ck_assert_int_eq(resumes(w1, w3, 0), 0); /* other keys: a full handshake */
    ck_assert_int_eq(resumes(w1, w3, TLS1_2_VERSION), 0);
    tls_ctx_free(w1);
    tls_ctx_free(w2);
    tls_ctx_free(w3);
    tls_ticket_ring_free_shared(ring);
    tls_ticket_ring_free_shared(other);
}
END_TEST

START_TEST(test_resumption_through_rotation)
{
    tls_ticket_ring_t *ring = tls_ticket_ring_new_shared();
    char err[256];
    time_t t0 = time(NULL);

    ck_assert_int_eq(tls_ticket_generate(ring, t0, err, sizeof(err)), 0);
    tls_ctx_t *w1 = ctx_usual(ring, 0), *w2 = ctx_usual(ring, 0);
    hs_t a = { .sni = "www.example.test" }, b = a, c = a;

    ck_assert_int_eq(hs_run(w1, &a), 0);
    ck_assert_int_eq(tls_ticket_rotate(ring, t0 + TLS_TICKET_PERIOD), 1);
    b.session = a.new_session; /* made with the old key: still decrypts */
    ck_assert_int_eq(hs_run(w2, &b), 0);
    ck_assert_int_eq(b.reused, 1);
    ck_assert_int_eq(tls_ticket_rotate(ring, t0 + 2 * TLS_TICKET_PERIOD), 1);
    c.session = a.new_session; /* two periods later: its key is gone */
    ck_assert_int_eq(hs_run(w2, &c), 0);
    ck_assert_int_eq(c.reused, 0);
    SSL_SESSION_free(a.new_session);
    SSL_SESSION_free(b.new_session);
    SSL_SESSION_free(c.new_session);
    tls_ctx_free(w1);
    tls_ctx_free(w2);
    tls_ticket_ring_free_shared(ring);
}
END_TEST

START_TEST(test_tickets_off)
{
    tls_ticket_ring_t *ring = tls_ticket_ring_new_shared();
    tls_conf_t tc;
    char err[256];
    tls_ctx_t *w1, *w2;

    ck_assert_int_eq(tls_ticket_generate(ring, time(NULL), err, sizeof(err)), 0);
    conf_usual(&tc);
    tc.session_tickets = 0;
    w1 = tls_ctx_new(&tc, ring, 0, err, sizeof(err));
    w2 = tls_ctx_new(&tc, ring, 0, err, sizeof(err));
    ck_assert_ptr_nonnull(w1);
    hs_t a = { .sni = "other.test" };
    ck_assert_int_eq(hs_run(w1, &a), 0);
    ck_assert(a.new_session == NULL || !SSL_SESSION_is_resumable(a.new_session));
    SSL_SESSION_free(a.new_session);
    tls_ctx_free(w1);
    tls_ctx_free(w2);
    tls_conf_free(&tc);
    tls_ticket_ring_free_shared(ring);
}
END_TEST

static Suite *tls_ctx_suite(void)
{
    Suite *s = suite_create("tls_ctx");
    TCase *load = tcase_create("load");
    TCase *names = tcase_create("names");
    TCase *hs = tcase_create("handshake");

    tcase_add_test(load, test_load_names_sets);
    tcase_add_test(load, test_refused_with_file_and_reason);
    tcase_add_test(load, test_no_certificate_refused);
    tcase_add_test(load, test_bad_cipher_list_refused);
    tcase_add_test(load, test_host_certificate_named);
    tcase_add_test(load, test_no_tls12_suite_refused);
    tcase_add_test(load, test_expired_is_a_warning);
    tcase_add_test(names, test_wildcard_table);
    tcase_add_test(names, test_find);
    tcase_add_test(hs, test_sni_handshakes);
    tcase_add_test(hs, test_alpn);
    tcase_add_test(hs, test_old_protocols_refused);
    tcase_add_test(hs, test_resumption_across_contexts);
    tcase_add_test(hs, test_resumption_through_rotation);
    tcase_add_test(hs, test_tickets_off);
    tcase_add_test(hs, test_tls12_suite_for_some_sets_warns);
    tcase_set_timeout(hs, 30);
    suite_add_tcase(s, load);
    suite_add_tcase(s, names);
    suite_add_tcase(s, hs);
    return s;
}

int main(void)
{
    SRunner *sr;
    int failed;

    log_set_level(LOG_LEVEL_ERROR); /* the expired certificate's warning is expected */
    if (tls_test_make_certs(dir, sizeof(dir)) < 0) {
        fprintf(stderr, "could not make test certificates in %s\n", dir);
        tls_test_remove(dir);
        return EXIT_FAILURE;
    }
    sr = srunner_create(tls_ctx_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    tls_test_remove(dir);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
