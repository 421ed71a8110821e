/*
 * Unit tests for worker/handlers/file_resolve: what one request path
 * resolves to on disk, against real files in a temporary directory: the
 * kinds of answer, a large file's descriptor, directories and their index,
 * a gzip_static variant, and the root's boundary with and without openat2.
 * Keeping entries (hits, freshness, eviction) is check_file_cache.c's.
 */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "file_resolve.h"

#define T0 ((time_t)1000000)

static char root[64];
static char outside[64];
static conf_t conf;
static int root_fd = -1;
static file_resolve_t fr;

static void put(const char *rel, const char *content)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", root, rel);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs(content, f);
    fclose(f);
}

static void put_size(const char *rel, size_t size)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", root, rel);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, (off_t)size), 0);
    close(fd);
}

static void sub(const char *rel)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", root, rel);
    ck_assert_int_eq(mkdir(p, 0755), 0);
}

static void setup(void)
{
    strcpy(root, "/tmp/drover-fr-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(root));
    strcpy(outside, "/tmp/drover-fr-out-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(outside));
    memset(&conf, 0, sizeof(conf));
    conf.root = root;
    static char index_html[] = "index.html";
    conf.index[0] = index_html;
    conf.num_index = 1;
    conf.gzip_static = 1;
    root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ck_assert_int_ge(root_fd, 0);
    file_resolve_init(&fr, root_fd, &conf);
}

static void teardown(void)
{
    close(root_fd);
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", root, outside);
    ck_assert_int_eq(system(cmd), 0);
}

static file_cache_entry_t *build(const char *path)
{
    file_cache_entry_t *e = file_resolve_build(&fr, path, strlen(path), T0);
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(e->refs, 1);
    ck_assert_int_eq(e->cached, 0);
    ck_assert(e->built == T0);
    return e;
}

/* The entry for path, checked to be of kind, and freed. */
static void expect_kind(const char *path, file_cache_kind_t kind)
{
    file_cache_entry_t *e = build(path);
    ck_assert_msg(e->kind == kind, "%s: kind %d, expected %d", path, e->kind, kind);
    file_resolve_free(e);
}

START_TEST(test_small_file)
{
    put("a.txt", "hello");
    file_cache_entry_t *e = build("/a.txt");
    ck_assert_int_eq(e->kind, FC_FILE);
    ck_assert_int_eq((int)e->st.st_size, 5);
    ck_assert_mem_eq(e->body, "hello", 5);
    ck_assert_int_eq(e->fd, -1);
    ck_assert_str_eq(e->type, "text/plain; charset=utf-8");
    ck_assert_ptr_nonnull(strstr(e->headers, "Content-Length: 5\r\n"));
    ck_assert_ptr_nonnull(strstr(e->headers + e->meta_off, "ETag: \""));
    ck_assert_int_eq(strncmp(e->headers + e->meta_off, "Last-Modified: ", 15), 0);
    ck_assert_int_eq(e->vary, 0);
    ck_assert_uint_eq(e->ce_len, 0);
    file_resolve_free(e);
}
END_TEST

START_TEST(test_missing)
{
    expect_kind("/missing.txt", FC_NOTFOUND);
    expect_kind("/no/such/dir/file", FC_NOTFOUND);
}
END_TEST

START_TEST(test_large_file_keeps_a_descriptor)
{
    put_size("big.bin", FILE_CACHE_SMALL + 1);
    file_cache_entry_t *e = build("/big.bin");
    ck_assert_int_eq(e->kind, FC_FILE);
    ck_assert_ptr_null(e->body);
    ck_assert_int_ge(e->fd, 0);
    ck_assert_int_eq((long)e->st.st_size, FILE_CACHE_SMALL + 1);
    file_resolve_free(e);
}
END_TEST

START_TEST(test_directories)
{
    sub("site");
    put("site/index.html", "<p>hi</p>");
    sub("empty");
    expect_kind("/site", FC_REDIRECT);
    file_cache_entry_t *e = build("/site/");
    ck_assert_int_eq(e->kind, FC_FILE);
    ck_assert_mem_eq(e->body, "<p>hi</p>", 9);
    ck_assert_str_eq(e->type, "text/html; charset=utf-8");
    file_resolve_free(e);
    expect_kind("/empty/", FC_FORBIDDEN);
    conf.autoindex = 1;
    expect_kind("/empty/", FC_LISTING);
}
END_TEST

START_TEST(test_gzip_variant)
{
    put("s.css", "body{}");
    put("s.css.gz", "GZ");
    file_cache_entry_t *e = build("/s.css");
    ck_assert_int_eq(e->kind, FC_FILE);
    ck_assert(e->codings & HTTP_CODING_MASK(HTTP_CODING_GZIP));
    ck_assert_int_eq(e->vary, 1);
    file_cache_entry_t *v = e->variant[HTTP_CODING_GZIP];
    ck_assert_ptr_nonnull(v);
    ck_assert_mem_eq(v->body, "GZ", 2);
    ck_assert_ptr_nonnull(strstr(v->headers, "Content-Encoding: gzip\r\n"));
    ck_assert_ptr_nonnull(strstr(e->headers, "Vary: Accept-Encoding\r\n"));
    ck_assert_str_ne(e->etag, v->etag);
    file_resolve_free(e);
    /* Without gzip_static the sibling is not looked at. */
    conf.gzip_static = 0;
    e = build("/s.css");
    ck_assert_uint_eq(e->codings, 0);
    ck_assert_ptr_null(e->variant[HTTP_CODING_GZIP]);
    ck_assert_int_eq(e->vary, 0);
    file_resolve_free(e);
}
END_TEST

START_TEST(test_etag_tag)
{
    put("t.txt", "tagged");
    file_cache_entry_t *e = build("/t.txt");
    ck_assert_int_ne(strncmp(e->etag, "\"1f-", 4), 0);
    file_resolve_free(e);
    strcpy(fr.etag_tag, "1f-");
    e = build("/t.txt");
    ck_assert_int_eq(strncmp(e->etag, "\"1f-", 4), 0);
    file_resolve_free(e);
}
END_TEST

static void link_out_of_root(void)
{
    char target[128], link[256];
    snprintf(target, sizeof(target), "%s/secret", outside);
    FILE *f = fopen(target, "w");
    ck_assert_ptr_nonnull(f);
    fputs("secret", f);
    fclose(f);
    snprintf(link, sizeof(link), "%s/leak", root);
    ck_assert_int_eq(symlink(target, link), 0);
}

START_TEST(test_symlink_out_of_root)
{
    link_out_of_root();
    expect_kind("/leak", FC_NOTFOUND);
}
END_TEST

/* The check that replaces openat2 where it is missing refuses the same
 * link (EXDEV, as RESOLVE_BENEATH says it). */
START_TEST(test_symlink_out_of_root_without_openat2)
{
    link_out_of_root();
    put("in.txt", "inside");
    ck_assert_int_eq(setenv("DROVER_NO_OPENAT2", "1", 1), 0);
    file_resolve_init(&fr, root_fd, &conf);
    unsetenv("DROVER_NO_OPENAT2");
    ck_assert_int_eq(fr.no_openat2, 1);
    expect_kind("/leak", FC_NOTFOUND);
    file_cache_entry_t *e = build("/in.txt");
    ck_assert_int_eq(e->kind, FC_FILE);
    ck_assert_mem_eq(e->body, "inside", 6);
    file_resolve_free(e);
}
END_TEST

START_TEST(test_not_a_regular_file)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/fifo", root);
    ck_assert_int_eq(mkfifo(p, 0644), 0);
    expect_kind("/fifo", FC_FORBIDDEN);
}
END_TEST

static Suite *file_resolve_suite(void)
{
    Suite *s = suite_create("file_resolve");
    TCase *tc = tcase_create("resolve");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_small_file);
    tcase_add_test(tc, test_missing);
    tcase_add_test(tc, test_large_file_keeps_a_descriptor);
    tcase_add_test(tc, test_directories);
    tcase_add_test(tc, test_gzip_variant);
    tcase_add_test(tc, test_etag_tag);
    tcase_add_test(tc, test_symlink_out_of_root);
    tcase_add_test(tc, test_symlink_out_of_root_without_openat2);
    tcase_add_test(tc, test_not_a_regular_file);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(file_resolve_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
