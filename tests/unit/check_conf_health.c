/*
 * Unit tests for common/conf/conf_health (an upstream's `health:` key) and
 * common/upstream_table (the shared rows that the checks and the proxy's
 * figures live in): defaults, every key, each error naming the file, the
 * line and the key, the -T line; rows bound by name across reloads, found
 * without adding, and the overflow row.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "conf.h"
#include "conf_upstreams.h"
#include "upstream_table.h"

static char path[64];
static char err[CONF_ERR_LEN];

static conf_t *load(const char *yaml)
{
    strcpy(path, "/tmp/drover-chl-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, yaml, strlen(yaml)), (int)strlen(yaml));
    close(fd);
    err[0] = '\0';
    conf_t *c = conf_load(path, err);
    unlink(path);
    return c;
}

static const char *head = "upstreams:\n  app:\n    servers: [\"127.0.0.1:9000\", "
                          "\"127.0.0.1:9001\"]\n";

/* A config whose app upstream has health: text (line 4). */
static conf_t *with_health(const char *text)
{
    char yaml[1024];
    snprintf(yaml, sizeof(yaml), "%s    health: %s\n", head, text);
    return load(yaml);
}

START_TEST(test_defaults_and_keys)
{
    conf_t *c = with_health("{path: /healthz}");
    ck_assert_msg(c != NULL, "%s", err);
    const conf_health_t *h = &c->upstreams->items[0].health;
    ck_assert_str_eq(h->path, "/healthz");
    ck_assert_double_eq_tol(h->interval, 5, 1e-9);
    ck_assert_double_eq_tol(h->timeout, 2, 1e-9);
    ck_assert_int_eq(h->fails, 1);
    ck_assert_int_eq(h->passes, 1);
    conf_free(c);

    c = with_health("{path: \"/ready?full=1\", interval: 250ms, timeout: 1s, fails: 3, "
                    "passes: 2}");
    ck_assert_msg(c != NULL, "%s", err);
    h = &c->upstreams->items[0].health;
    ck_assert_str_eq(h->path, "/ready?full=1");
    ck_assert_double_eq_tol(h->interval, 0.25, 1e-9);
    ck_assert_double_eq_tol(h->timeout, 1, 1e-9);
    ck_assert_int_eq(h->fails, 3);
    ck_assert_int_eq(h->passes, 2);
    conf_free(c);

    /* None by default. */
    c = load(head);
    ck_assert_msg(c != NULL, "%s", err);
    ck_assert_ptr_null(c->upstreams->items[0].health.path);
    conf_free(c);
}
END_TEST

START_TEST(test_errors_name_file_line_and_key)
{
    static const struct {
        const char *text, *key, *why;
    } bad[] = {
        { "{path: healthz}", "health.path", "must start with '/'" },
        { "{path: \"/a b\"}", "health.path", "has a space" },
        { "{path: /h, interval: 0}", "health.interval", "expected a duration from 100ms" },
        { "{path: /h, interval: 50ms}", "health.interval", "expected a duration from 100ms" },
        { "{path: /h, timeout: 0}", "health.timeout", "expected a duration from 1ms" },
        { "{path: /h, fails: 0}", "health.fails", "expected 1 to 100" },
        { "{path: /h, passes: 101}", "health.passes", "expected 1 to 100" },
        { "{path: /h, rise: 2}", "health", "unknown key \"rise\"" },
        { "{interval: 5s}", "health", "path is required" },
        { "/healthz", "health", "expected a mapping" },
        { "{path: [/a]}", "health.path", "" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        conf_t *c = with_health(bad[i].text);
        ck_assert_msg(c == NULL, "accepted: %s", bad[i].text);
        char want[128];
        snprintf(want, sizeof(want), "%s:4: %s: ", path, bad[i].key);
        ck_assert_msg(strstr(err, want) != NULL, "%s: want \"%s\" in \"%s\"", bad[i].text, want,
                      err);
        ck_assert_msg(strstr(err, bad[i].why) != NULL, "%s: want \"%s\" in \"%s\"", bad[i].text,
                      bad[i].why, err);
    }
}
END_TEST

START_TEST(test_printed_by_T)
{
    conf_t *c = with_health("{path: /healthz, interval: 2s, passes: 3}");
    ck_assert_msg(c != NULL, "%s", err);
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    conf_upstreams_print(f, "upstreams", &c->upstreams, "");
    fclose(f);
    ck_assert_msg(strstr(out, "    health: {path: \"/healthz\", interval: 2s, timeout: 2s, "
                              "fails: 1, passes: 3}\n") != NULL, "%s", out);
    free(out);
    conf_free(c);
}
END_TEST

START_TEST(test_table_rows_by_name)
{
    upstream_table_t *t = upstream_table_create();
    ck_assert_ptr_nonnull(t);
    conf_t *c = load(head);
    ck_assert_msg(c != NULL, "%s", err);
    ck_assert_ptr_null(upstream_table_find(t, "app", NULL));
    ck_assert_uint_eq(upstream_table_bind(t, c->upstreams), 0);
    ck_assert_uint_eq(t->nrows, 3);
    upstream_row_t *u = upstream_table_find(t, "app", NULL);
    upstream_row_t *s1 = upstream_table_find(t, "app", "127.0.0.1:9001");
    ck_assert_ptr_nonnull(u);
    ck_assert_ptr_nonnull(s1);
    ck_assert_str_eq(u->server, "");
    ck_assert_str_eq(s1->server, "127.0.0.1:9001");
    ck_assert_ptr_null(upstream_table_find(t, "app", "127.0.0.1:9999"));
    ck_assert_ptr_null(upstream_table_find(t, "other", NULL));
    /* A reload with the same names keeps the rows and their counts. */
    upstream_table_add(&s1->attempts, 5);
    ck_assert_uint_eq(upstream_table_bind(t, c->upstreams), 0);
    ck_assert_uint_eq(t->nrows, 3);
    ck_assert_ptr_eq(upstream_table_find(t, "app", "127.0.0.1:9001"), s1);
    ck_assert_uint_eq(s1->attempts, 5);
    conf_free(c);
    munmap(t, sizeof(*t));
}
END_TEST

START_TEST(test_table_overflow_row)
{
    upstream_table_t *t = upstream_table_create();
    ck_assert_ptr_nonnull(t);
    conf_upstreams_t us = { 0 };
    conf_upstream_t u;
    memset(&u, 0, sizeof(u));
    us.items = &u;
    us.n = 1;
    char name[32];
    u.name = name;
    /* Each upstream without servers takes one row. */
    for (int i = 0; i < UPSTREAM_TABLE_ROWS - 1; i++) {
        snprintf(name, sizeof(name), "u%d", i);
        ck_assert_uint_eq(upstream_table_bind(t, &us), 0);
    }
    ck_assert_uint_eq(t->nrows, UPSTREAM_TABLE_ROWS - 1);
    snprintf(name, sizeof(name), "late");
    ck_assert_uint_eq(upstream_table_bind(t, &us), 1);
    upstream_row_t *o = upstream_table_find(t, "late", NULL);
    ck_assert_ptr_nonnull(o);
    ck_assert(upstream_table_is_other(o));
    ck_assert_str_eq(o->upstream, UPSTREAM_TABLE_OTHER);
    /* Rows made before keep their own. */
    upstream_row_t *r = upstream_table_find(t, "u7", NULL);
    ck_assert_ptr_nonnull(r);
    ck_assert(!upstream_table_is_other(r));
    ck_assert_str_eq(r->upstream, "u7");
    munmap(t, sizeof(*t));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("conf_health");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_defaults_and_keys);
    tcase_add_test(tc, test_errors_name_file_line_and_key);
    tcase_add_test(tc, test_printed_by_T);
    tcase_add_test(tc, test_table_rows_by_name);
    tcase_add_test(tc, test_table_overflow_row);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
