/*
 * Unit tests for the metrics counts (common/metrics_counts.h), the shared
 * page (common/metrics_page.h) and the worker's inline counting
 * (worker/metrics.h): bucket bounds are inclusive upper bounds, as
 * Prometheus's le says; totals add every label set; a page copies whole.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics.h"
#include "metrics_page.h"

START_TEST(test_bucket_bounds)
{
    ck_assert_uint_eq(metrics_bucket(0), 0);
    ck_assert_uint_eq(metrics_bucket(100000), 0);      /* le="0.0001" includes 100 us */
    ck_assert_uint_eq(metrics_bucket(100001), 1);
    ck_assert_uint_eq(metrics_bucket(250000), 1);
    ck_assert_uint_eq(metrics_bucket(1000000000ULL), 12);   /* 1 s */
    ck_assert_uint_eq(metrics_bucket(10000000000ULL), 15);  /* 10 s, the last bound */
    ck_assert_uint_eq(metrics_bucket(10000000001ULL), METRICS_BUCKETS); /* +Inf only */
    for (int i = 1; i < METRICS_BUCKETS; i++)
        ck_assert_uint_gt(metrics_bucket_us[i], metrics_bucket_us[i - 1]);
}
END_TEST

START_TEST(test_count_and_time)
{
    report_t r;
    memset(&r, 0, sizeof(r));
    metrics_count(&r, 1, 200, 40);
    metrics_count(&r, 1, 404, 50);
    metrics_count(&r, 99, 503, 10); /* out of range: "other" */
    metrics_count(&r, 0, 400, 7);
    ck_assert_uint_eq(r.m.requests[1][2], 1);
    ck_assert_uint_eq(r.m.requests[1][4], 1);
    ck_assert_uint_eq(r.m.requests[0][5], 1);
    ck_assert_uint_eq(r.m.requests[0][4], 1);
    ck_assert_uint_eq(r.m.request_bytes, 107);

    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double now = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    metrics_time(&r, now - 2.0);      /* two seconds ago: the 2.5 s bucket */
    metrics_time(&r, now + 5.0);      /* a start in the future counts as 0 */
    ck_assert_uint_eq(r.m.duration[13], 1);
    ck_assert_uint_eq(r.m.duration[0], 1);
    ck_assert_uint_ge(r.m.duration_ns, 2000000000ULL);
    ck_assert_uint_lt(r.m.duration_ns, 3000000000ULL);
}
END_TEST

START_TEST(test_report_add_keeps_every_label)
{
    report_t a, b;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    for (int m = 0; m < METRICS_METHODS; m++)
        for (int k = 0; k < METRICS_CLASSES; k++)
            b.m.requests[m][k] = (uint64_t)(m * 10 + k + 1);
    for (int i = 0; i <= METRICS_BUCKETS; i++)
        b.m.duration[i] = (uint64_t)i + 1;
    b.m.duration_ns = 5;
    b.m.request_bytes = 6;
    b.m.cache_hits = 7;
    b.m.cache_misses = 8;
    b.requests = 9;
    report_add(&a, &b);
    report_add(&a, &b);
    for (int m = 0; m < METRICS_METHODS; m++)
        for (int k = 0; k < METRICS_CLASSES; k++)
            ck_assert_uint_eq(a.m.requests[m][k], 2 * (uint64_t)(m * 10 + k + 1));
    ck_assert_uint_eq(a.m.duration[METRICS_BUCKETS], 2 * (METRICS_BUCKETS + 1));
    ck_assert_uint_eq(a.m.duration_ns, 10);
    ck_assert_uint_eq(a.m.request_bytes, 12);
    ck_assert_uint_eq(a.m.cache_hits, 14);
    ck_assert_uint_eq(a.m.cache_misses, 16);
    ck_assert_uint_eq(a.requests, 18);
}
END_TEST

START_TEST(test_page_round_trip)
{
    metrics_page_t *src = calloc(1, sizeof(*src));
    metrics_page_t *pg = calloc(1, sizeof(*pg));
    metrics_page_t *out = calloc(1, sizeof(*out));
    ck_assert_ptr_nonnull(out);
    src->nworkers = 3;
    src->start_time = 1.5;
    src->reloads[METRICS_RELOAD_ABORTED] = 4;
    src->retired.requests = 11;
    for (uint32_t i = 0; i < 3; i++)
        src->workers[i].r.pid = (int32_t)(100 + i);
    src->workers[3].r.pid = 999; /* beyond nworkers: not copied */
    metrics_page_write(pg, src);
    metrics_page_write(pg, src);
    ck_assert_uint_eq(pg->seq, 4); /* even: no writer */
    ck_assert_int_eq(metrics_page_read(pg, out), 0);
    ck_assert_uint_eq(out->nworkers, 3);
    ck_assert(out->start_time == 1.5);
    ck_assert_uint_eq(out->reloads[METRICS_RELOAD_ABORTED], 4);
    ck_assert_uint_eq(out->retired.requests, 11);
    ck_assert_int_eq(out->workers[2].r.pid, 102);
    ck_assert_int_eq(out->workers[3].r.pid, 0);
    /* A writer caught in the middle: no copy is taken. */
    pg->seq++;
    ck_assert_int_eq(metrics_page_read(pg, out), -1);
    ck_assert_uint_eq(metrics_page_size(METRICS_PAGE_MAX_WORKERS + 5),
                      metrics_page_size(METRICS_PAGE_MAX_WORKERS));
    free(src);
    free(pg);
    free(out);
}
END_TEST

static Suite *metrics_suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("counts");
    tcase_add_test(tc, test_bucket_bounds);
    tcase_add_test(tc, test_count_and_time);
    tcase_add_test(tc, test_report_add_keeps_every_label);
    tcase_add_test(tc, test_page_round_trip);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(metrics_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
