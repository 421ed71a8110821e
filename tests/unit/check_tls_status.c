/*
 * Unit tests for the TLS part of the status (master/tls_status.c) and the
 * bounded buffer under it (master/status_buf.c): a certificate shows its
 * first TLS_STATUS_MAX_NAMES names and its count; certificates that do not
 * fit are left out whole and counted; the counters always come last and,
 * at their largest, fit in a small part of STATUS_BUF_RESERVE, which also
 * holds status.c's totals (about 500 bytes at their largest).
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "status_buf.h"
#include "tls_status.h"

/* ncerts certificates, each with a path of pathlen bytes and nnames names. */
static tls_ctx_t *fake_tls(size_t ncerts, size_t pathlen, size_t nnames)
{
    tls_ctx_t *tls = calloc(1, sizeof(*tls));
    ck_assert_ptr_nonnull(tls);
    tls->certs = calloc(ncerts, sizeof(*tls->certs));
    ck_assert_ptr_nonnull(tls->certs);
    tls->ncerts = ncerts;
    for (size_t i = 0; i < ncerts; i++) {
        tls_ctx_cert_t *c = &tls->certs[i];
        c->cert_path = malloc(pathlen + 1);
        ck_assert_ptr_nonnull(c->cert_path);
        memset(c->cert_path, 'p', pathlen);
        c->cert_path[0] = '/';
        c->cert_path[pathlen] = '\0';
        c->key_type = "ECDSA";
        c->not_after = 4102444800; /* 2100-01-01 */
        c->names = calloc(nnames, sizeof(char *));
        ck_assert_ptr_nonnull(c->names);
        c->nnames = nnames;
        for (size_t j = 0; j < nnames; j++) {
            char name[32];
            snprintf(name, sizeof(name), "h%zu.test", j + 1);
            c->names[j] = strdup(name);
        }
    }
    return tls;
}

static void fake_free(tls_ctx_t *tls)
{
    for (size_t i = 0; i < tls->ncerts; i++) {
        for (size_t j = 0; j < tls->certs[i].nnames; j++)
            free(tls->certs[i].names[j]);
        free(tls->certs[i].names);
        free(tls->certs[i].cert_path);
    }
    free(tls->certs);
    free(tls);
}

static void max_counters(report_t *t, tls_ticket_ring_t *ring)
{
    memset(t, 0, sizeof(*t));
    t->tls_handshakes = t->tls_resumed = t->tls_handshake_failures = UINT64_MAX;
    t->tls_sendfile_ktls = t->tls_sendfile_fallback = UINT64_MAX;
    memset(ring, 0, sizeof(*ring));
    ring->generation = UINT32_MAX;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle))
        n++;
    return n;
}

static int ends_with(const char *s, size_t len, const char *suffix)
{
    size_t n = strlen(suffix);
    return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

START_TEST(test_names_capped_with_a_total)
{
    tls_ctx_t *tls = fake_tls(1, 20, 4000);
    report_t t;
    tls_ticket_ring_t ring;
    max_counters(&t, &ring);
    static char buf[64 * 1024];
    status_buf_t b;

    status_buf_init(&b, buf, sizeof(buf));
    tls_status_json(tls, &ring, &t, &b);
    ck_assert_uint_eq(strlen(buf), b.len);
    ck_assert_ptr_nonnull(strstr(buf, "\"names\":[\"h1.test\",\"h2.test\",\"h3.test\",\"h4.test\","
                                      "\"h5.test\",\"h6.test\",\"h7.test\",\"h8.test\"],"
                                      "\"names_total\":4000,"));
    ck_assert_ptr_nonnull(strstr(buf, "\"certificates_total\":1,"));

    status_buf_init(&b, buf, sizeof(buf));
    tls_status_text(tls, &ring, &t, &b);
    ck_assert_ptr_nonnull(strstr(buf, ": h1.test, h2.test, h3.test, h4.test, h5.test, h6.test, "
                                      "h7.test, h8.test, ... and 3992 more; expires 2100-01-01"));
    ck_assert_ptr_null(strstr(buf, "not shown"));
    fake_free(tls);

    /* Up to the cap: every name, no "more". */
    tls = fake_tls(1, 20, TLS_STATUS_MAX_NAMES);
    status_buf_init(&b, buf, sizeof(buf));
    tls_status_text(tls, &ring, &t, &b);
    ck_assert_ptr_nonnull(strstr(buf, "h8.test; expires"));
    ck_assert_ptr_null(strstr(buf, "more"));
    fake_free(tls);
}
END_TEST

START_TEST(test_certificates_cut_whole_counters_kept)
{
    /* 1000 certificates with 4 KB paths: far more than the buffer. */
    tls_ctx_t *tls = fake_tls(1000, 4000, 3);
    report_t t;
    tls_ticket_ring_t ring;
    max_counters(&t, &ring);
    static char buf[64 * 1024];
    status_buf_t b;

    status_buf_init(&b, buf, sizeof(buf));
    tls_status_json(tls, &ring, &t, &b);
    ck_assert_uint_eq(strlen(buf), b.len);
    ck_assert_uint_lt(b.len, sizeof(buf));
    ck_assert(ends_with(buf, b.len, ",\"sendfile_fallback\":18446744073709551615,"
                                    "\"ticket_key_generation\":4294967295}"));
    size_t listed = count(buf, "{\"cert\":");
    ck_assert_uint_gt(listed, 5);
    ck_assert_uint_lt(listed, 1000);
    ck_assert_uint_eq(count(buf, "\"names_total\":3,"), listed); /* each one whole */
    ck_assert_ptr_nonnull(strstr(buf, "}],\"certificates_total\":1000,"));
    /* What follows the list, counters at their largest, leaves most of the
     * reserve to what status.c writes around it. */
    ck_assert_uint_lt(strlen(strstr(buf, "}],\"certificates_total\"")), STATUS_BUF_RESERVE / 4);

    status_buf_init(&b, buf, sizeof(buf));
    tls_status_text(tls, &ring, &t, &b);
    ck_assert(ends_with(buf, b.len, "; ticket keys generation 4294967295\n"));
    listed = count(buf, "tls certificate /");
    char more[80];
    snprintf(more, sizeof(more), "\ntls certificates: %zu more not shown (1000 in all)\n",
             1000 - listed);
    ck_assert_ptr_nonnull(strstr(buf, more));
    ck_assert_uint_lt(strlen(strstr(buf, more)), STATUS_BUF_RESERVE / 4);
    fake_free(tls);
}
END_TEST

START_TEST(test_buffer_items_and_small_sizes)
{
    char buf[STATUS_BUF_RESERVE + 16];
    status_buf_t b;

    status_buf_init(&b, buf, sizeof(buf));
    size_t mark = status_buf_item_begin(&b);
    status_buf_printf(&b, "%s", "0123456789");
    ck_assert_int_eq(status_buf_item_end(&b, mark), 1);
    mark = status_buf_item_begin(&b);
    status_buf_printf(&b, "%s", "abcdefghij"); /* past the reserve's edge */
    ck_assert_int_eq(status_buf_item_end(&b, mark), 0);
    ck_assert_str_eq(buf, "0123456789");
    /* Outside an item the reserve is there to be written, and a write too
     * long for it is cut. */
    char big[sizeof(buf)];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    status_buf_printf(&b, "%s", big);
    ck_assert_uint_eq(b.len, sizeof(buf) - 1);
    ck_assert_uint_eq(strlen(buf), sizeof(buf) - 1);
    status_buf_init(&b, buf, 8);
    status_buf_json_str(&b, "a\"b\\c\n");
    ck_assert_str_eq(buf, "\"a\\\"b\\\\"); /* cut, still terminated */
    /* Well-formed UTF-8 as it is; any other byte as its code point. */
    status_buf_init(&b, buf, sizeof(buf));
    status_buf_json_str(&b, "caf\xc3\xa9 caf\xe9 \xed\xa0\x80 \xf0\x9f\x98\x80 \xc3");
    ck_assert_str_eq(buf, "\"caf\xc3\xa9 caf\\u00e9 \\u00ed\\u00a0\\u0080 \xf0\x9f\x98\x80 "
                          "\\u00c3\"");

    /* A buffer smaller than the reserve holds no certificate. */
    tls_ctx_t *tls = fake_tls(2, 20, 2);
    report_t t;
    tls_ticket_ring_t ring;
    max_counters(&t, &ring);
    char small[1024];
    status_buf_init(&b, small, sizeof(small));
    tls_status_json(tls, &ring, &t, &b);
    ck_assert(ends_with(small, b.len, "\"ticket_key_generation\":4294967295}"));
    ck_assert_ptr_nonnull(strstr(small, "\"certificates\":[],\"certificates_total\":2,"));
    status_buf_init(&b, small, 1);
    tls_status_text(tls, &ring, &t, &b);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_str_eq(small, "");
    fake_free(tls);
}
END_TEST

static Suite *tls_status_suite(void)
{
    Suite *s = suite_create("tls_status");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_names_capped_with_a_total);
    tcase_add_test(tc, test_certificates_cut_whole_counters_kept);
    tcase_add_test(tc, test_buffer_items_and_small_sizes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(tls_status_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
