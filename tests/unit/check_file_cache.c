/*
 * Unit tests for worker/handlers/file_cache: keeping what request paths
 * resolve to, against real files in a temporary directory: hits, misses,
 * freshness (an entry lives FILE_CACHE_VALID seconds), the previous entry
 * when descriptors run out, LRU eviction, the budget shared between
 * caches, reference counting across a rebuild, and the mapping of the
 * file a response sends. What one path resolves to (kinds, directories,
 * variants, the root's boundary) is check_file_resolve.c's.
 */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "file_cache.h"

#define T0 ((time_t)1000000)

static char root[64];
static conf_t conf;
static int root_fd = -1;
static file_cache_t *fc;

static void put(const char *rel, const char *content)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", root, rel);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs(content, f);
    fclose(f);
}

static void close_all(int *fds, int n)
{
    for (int i = 0; i < n; i++)
        close(fds[i]);
}

static void make_cache(size_t max_entries)
{
    fc = file_cache_new(root_fd, &conf, max_entries);
    ck_assert_ptr_nonnull(fc);
}

static void setup(void)
{
    strcpy(root, "/tmp/drover-fc-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(root));
    memset(&conf, 0, sizeof(conf));
    conf.root = root;
    static char index_html[] = "index.html";
    conf.index[0] = index_html;
    conf.num_index = 1;
    conf.gzip_static = 1;
    root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ck_assert_int_ge(root_fd, 0);
    fc = NULL;
}

static void teardown(void)
{
    file_cache_free(fc);
    fc = NULL;
    close(root_fd);
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    ck_assert_int_eq(system(cmd), 0);
}

/* The entry for path at now, checked to be of kind, and released. */
static void expect_kind(const char *path, time_t now, file_cache_kind_t kind)
{
    file_cache_entry_t *e = file_cache_get(fc, path, strlen(path), now);
    ck_assert_ptr_nonnull(e);
    ck_assert_msg(e->kind == kind, "%s: kind %d, expected %d", path, e->kind, kind);
    file_cache_unref(fc, e);
}

/* 1 when path's cached body at now starts with want. */
static int body_is(const char *path, time_t now, const char *want)
{
    file_cache_entry_t *e = file_cache_get(fc, path, strlen(path), now);
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(e->kind, FC_FILE);
    ck_assert_ptr_nonnull(e->body);
    int same = (size_t)e->st.st_size == strlen(want) && memcmp(e->body, want, strlen(want)) == 0;
    file_cache_unref(fc, e);
    return same;
}

START_TEST(test_hit_is_the_same_entry)
{
    put("a.txt", "hello");
    make_cache(16);
    file_cache_entry_t *e1 = file_cache_get(fc, "/a.txt", 6, T0);
    file_cache_entry_t *e2 = file_cache_get(fc, "/a.txt", 6, T0);
    ck_assert_ptr_nonnull(e1);
    ck_assert_ptr_eq(e1, e2);
    ck_assert_int_eq(e1->kind, FC_FILE);
    ck_assert_int_eq((int)e1->st.st_size, 5);
    ck_assert_mem_eq(e1->body, "hello", 5);
    ck_assert_int_eq(e1->fd, -1);
    ck_assert_str_eq(e1->type, "text/plain; charset=utf-8");
    ck_assert_ptr_nonnull(strstr(e1->headers, "Content-Length: 5\r\n"));
    ck_assert_ptr_nonnull(strstr(e1->headers + e1->meta_off, "ETag: \""));
    ck_assert_int_eq(strncmp(e1->headers + e1->meta_off, "Last-Modified: ", 15), 0);
    file_cache_unref(fc, e1);
    file_cache_unref(fc, e2);
}
END_TEST

START_TEST(test_miss_enoent)
{
    make_cache(16);
    expect_kind("/missing.txt", T0, FC_NOTFOUND);
    expect_kind("/no/such/dir/file", T0, FC_NOTFOUND);
    /* A file that appears later is found once the entry is stale. */
    put("missing.txt", "now here");
    expect_kind("/missing.txt", T0, FC_NOTFOUND);
    ck_assert(body_is("/missing.txt", T0 + FILE_CACHE_VALID, "now here"));
}
END_TEST

START_TEST(test_freshness)
{
    put("f.txt", "one");
    make_cache(16);
    file_cache_entry_t *old = file_cache_get(fc, "/f.txt", 6, T0);
    ck_assert_ptr_nonnull(old);
    put("f.txt", "two!");
    /* Within FILE_CACHE_VALID: the entry that was built. */
    ck_assert(body_is("/f.txt", T0, "one"));
    /* After it: built again from disk. */
    ck_assert(body_is("/f.txt", T0 + FILE_CACHE_VALID, "two!"));
    /* A clock that went back does not keep a stale entry either. */
    put("f.txt", "three");
    ck_assert(body_is("/f.txt", T0 - 5, "three"));
    /* The reference taken before the rebuilds still reads the old bytes. */
    ck_assert_mem_eq(old->body, "one", 3);
    ck_assert_int_eq(old->cached, 0);
    file_cache_unref(fc, old);
}
END_TEST

START_TEST(test_out_of_descriptors_keeps_the_previous_entry)
{
    put("f.txt", "one");
    make_cache(16);
    expect_kind("/f.txt", T0, FC_FILE);
    /* Use up every descriptor (under a small limit, so it is quick). */
    struct rlimit rl = { 128, 128 };
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
    int fds[128], n = 0;
    while (n < 128 && (fds[n] = dup(root_fd)) >= 0)
        n++;
    ck_assert_int_eq(errno, EMFILE);
    /* Stale, and it cannot be opened again: the previous answer, not an
     * error (which would be a 503). */
    ck_assert(body_is("/f.txt", T0 + FILE_CACHE_VALID, "one"));
    close_all(fds, n);
    put("f.txt", "two!");
    /* Retried a second later, once descriptors are back. */
    ck_assert(body_is("/f.txt", T0 + 2 * FILE_CACHE_VALID, "two!"));
}
END_TEST

START_TEST(test_eviction_lru)
{
    put("a", "a1");
    put("b", "b1");
    put("c", "c1");
    make_cache(2);
    ck_assert(body_is("/a", T0, "a1"));
    ck_assert(body_is("/b", T0, "b1"));
    ck_assert(body_is("/a", T0, "a1")); /* /a is now the most recent */
    ck_assert(body_is("/c", T0, "c1")); /* evicts /b, the least recent */
    put("a", "a2");
    put("b", "b2");
    /* /a is still the cached copy; /b was evicted, so it is read again. */
    ck_assert(body_is("/a", T0, "a1"));
    ck_assert(body_is("/b", T0, "b2"));
    /* ... which evicted /c, the least recent now. */
    put("c", "c2");
    ck_assert(body_is("/c", T0, "c2"));
}
END_TEST

/* Two caches (two virtual hosts) sharing a budget of 3 entries: the least
 * recently used entry of either gives way, whichever cache adds one. */
START_TEST(test_shared_budget)
{
    file_cache_budget_t b;
    put("a", "a1");
    put("b", "b1");
    put("c", "c1");
    make_cache(8);
    file_cache_t *other = file_cache_new(root_fd, &conf, 8);
    ck_assert_ptr_nonnull(other);
    ck_assert(body_is("/a", T0, "a1"));                 /* in fc before sharing */
    file_cache_budget_init(&b, 3);
    file_cache_share(fc, &b);
    ck_assert_uint_eq(b.total, 1);
    file_cache_share(other, &b);
    file_cache_entry_t *e;
    const char *paths[] = { "/b", "/c" };
    for (int i = 0; i < 2; i++) {                        /* other: /b, /c */
        e = file_cache_get(other, paths[i], 2, T0);
        file_cache_unref(other, e);
    }
    ck_assert_uint_eq(b.total, 3);
    ck_assert(body_is("/b", T0, "b1"));                 /* fc: /b; /a (fc's) was the oldest */
    ck_assert_uint_eq(b.total, 3);
    put("a", "a2");
    ck_assert(body_is("/a", T0, "a2"));                 /* read again: it had given way */
    ck_assert_uint_eq(b.total, 3);
    /* other's /b was the oldest of all: it gave way. /c, touched now, is
     * newer than fc's /b, which gives way when other reads /b again. */
    e = file_cache_get(other, "/c", 2, T0);
    ck_assert_mem_eq(e->body, "c1", 2);
    file_cache_unref(other, e);
    put("b", "b2");
    e = file_cache_get(other, "/b", 2, T0);
    ck_assert_mem_eq(e->body, "b2", 2);
    file_cache_unref(other, e);
    put("c", "c2");
    e = file_cache_get(other, "/c", 2, T0);
    ck_assert_mem_eq(e->body, "c1", 2);                 /* still cached */
    file_cache_unref(other, e);
    ck_assert(body_is("/b", T0, "b2"));                 /* fc's /b had given way */
    ck_assert_uint_eq(b.total, 3);
    file_cache_free(other);
    ck_assert_uint_le(b.total, 3);
}
END_TEST

START_TEST(test_eviction_keeps_referenced_entries_alive)
{
    put("a", "aaaa");
    put("b", "bbbb");
    make_cache(1);
    file_cache_entry_t *a = file_cache_get(fc, "/a", 2, T0);
    ck_assert(body_is("/b", T0, "bbbb")); /* evicts /a from the table */
    ck_assert_int_eq(a->cached, 0);
    ck_assert_mem_eq(a->body, "aaaa", 4);
    file_cache_unref(fc, a);
}
END_TEST

START_TEST(test_map_is_the_sent_descriptors_file)
{
    /* Large enough to keep descriptors; the variant's bytes differ. */
    char big[FILE_CACHE_SMALL + 100];
    memset(big, 'p', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    put("m.txt", big);
    memset(big, 'g', sizeof(big) - 1);
    put("m.txt.gz", big);
    make_cache(16);
    file_cache_entry_t *e = file_cache_get(fc, "/m.txt", 6, T0);
    file_cache_entry_t *v = e->variant[HTTP_CODING_GZIP];
    ck_assert_ptr_nonnull(v);
    ck_assert_int_ge(e->fd, 0);
    ck_assert_int_ge(v->fd, 0);
    const char *m = file_cache_map(e, e->fd);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(m[0], 'p');
    ck_assert_ptr_eq(file_cache_map(e, e->fd), m); /* made once */
    const char *g = file_cache_map(e, v->fd);      /* the response's ref is e */
    ck_assert_ptr_nonnull(g);
    ck_assert_int_eq(g[0], 'g');
    ck_assert_int_eq(g[FILE_CACHE_SMALL], 'g');
    ck_assert_ptr_null(file_cache_map(e, -1));
    ck_assert_ptr_null(file_cache_map(e, 1000)); /* neither file */
    file_cache_unref(fc, e);
}
END_TEST

static Suite *file_cache_suite(void)
{
    Suite *s = suite_create("file_cache");
    TCase *tc = tcase_create("cache");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_hit_is_the_same_entry);
    tcase_add_test(tc, test_miss_enoent);
    tcase_add_test(tc, test_freshness);
    tcase_add_test(tc, test_out_of_descriptors_keeps_the_previous_entry);
    tcase_add_test(tc, test_eviction_lru);
    tcase_add_test(tc, test_shared_budget);
    tcase_add_test(tc, test_eviction_keeps_referenced_entries_alive);
    tcase_add_test(tc, test_map_is_the_sent_descriptors_file);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(file_cache_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
