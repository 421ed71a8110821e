/*
 * Unit tests for common/conf/redirect_map: found and not found, the default and
 * every explicit code, comments, blank lines, tabs and CRLF, a FROM that is
 * a prefix of another, every error with its file:line, a duplicate naming
 * both lines, a pipe as the file, and 100,000 lines: every one found, the
 * load time and the memory printed.
 *
 * The .c is included for its internals; SipHash (common/siphash.c, which
 * the map uses) is checked against its published vectors: a wrong hash
 * would still pass every lookup test, only slower and without the
 * flooding resistance it is there for.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "redirect_map.c"

static char path[64];
static char err[REDIRECT_MAP_ERR_LEN];

static redirect_map_t *load_bytes(const char *text, size_t len)
{
    strcpy(path, "/tmp/drover-rm-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
    close(fd);
    memset(err, 'x', sizeof(err) - 1);
    err[sizeof(err) - 1] = '\0';
    redirect_map_t *m = redirect_map_load(path, err);
    unlink(path);
    return m;
}

static redirect_map_t *load(const char *text)
{
    return load_bytes(text, strlen(text));
}

/* The map's answer for path as "CODE TO", or "-" when not found. */
static const char *get(const redirect_map_t *m, const char *p)
{
    static char out[REDIRECT_MAP_LINE_MAX + 16];
    const char *to = NULL;
    size_t to_len = 0;
    int code = 0;
    if (!redirect_map_get(m, p, strlen(p), &to, &to_len, &code))
        return "-";
    snprintf(out, sizeof(out), "%d %.*s", code, (int)to_len, to);
    return out;
}

/* The file must be refused with exactly "<path>:<line>: <problem>". */
static void refused_bytes(const char *text, size_t len, unsigned line, const char *problem)
{
    redirect_map_t *m = load_bytes(text, len);
    ck_assert_msg(m == NULL, "loaded, expected line %u: %s", line, problem);
    char want[REDIRECT_MAP_ERR_LEN];
    snprintf(want, sizeof(want), "%s:%u: %s", path, line, problem);
    ck_assert_str_eq(err, want);
}

static void refused(const char *text, unsigned line, const char *problem)
{
    refused_bytes(text, strlen(text), line, problem);
}

START_TEST(test_found_and_not_found)
{
    redirect_map_t *m = load("/old /new\n"
                             "/blog/2019/hello https://blog.example.com/hello\n");
    ck_assert_ptr_nonnull(m);
    ck_assert_str_eq(err, "");
    ck_assert_uint_eq(redirect_map_count(m), 2);
    ck_assert_str_eq(get(m, "/old"), "301 /new");
    ck_assert_str_eq(get(m, "/blog/2019/hello"), "301 https://blog.example.com/hello");
    ck_assert_str_eq(get(m, "/new"), "-");
    ck_assert_str_eq(get(m, "/OLD"), "-");
    ck_assert_str_eq(get(m, "/old/"), "-");
    ck_assert_str_eq(get(m, "/"), "-");
    ck_assert_str_eq(get(m, ""), "-");

    /* A miss leaves the outputs as they were. */
    const char *to = "untouched";
    size_t to_len = 9;
    int code = 7;
    ck_assert_int_eq(redirect_map_get(m, "/nope", 5, &to, &to_len, &code), 0);
    ck_assert_str_eq(to, "untouched");
    ck_assert_uint_eq(to_len, 9);
    ck_assert_int_eq(code, 7);

    /* The path is a slice: the bytes after len are not part of it. */
    const char buf[] = "/oldXYZ";
    ck_assert_int_eq(redirect_map_get(m, buf, 4, &to, &to_len, &code), 1);
    ck_assert_int_eq(code, 301);
    ck_assert_int_eq((int)to_len, 4);
    ck_assert_int_eq(memcmp(to, "/new", 4), 0);
    ck_assert_int_eq(redirect_map_get(m, buf, 7, &to, &to_len, &code), 0);
    redirect_map_free(m);
}
END_TEST

START_TEST(test_codes)
{
    redirect_map_t *m = load("/d /default\n"
                             "/a /a1 301\n"
                             "/b /b2 302\n"
                             "/c /c3 303\n"
                             "/e /e7 307\n"
                             "/f /f8 308\n");
    ck_assert_ptr_nonnull(m);
    ck_assert_uint_eq(redirect_map_count(m), 6);
    ck_assert_str_eq(get(m, "/d"), "301 /default");
    ck_assert_str_eq(get(m, "/a"), "301 /a1");
    ck_assert_str_eq(get(m, "/b"), "302 /b2");
    ck_assert_str_eq(get(m, "/c"), "303 /c3");
    ck_assert_str_eq(get(m, "/e"), "307 /e7");
    ck_assert_str_eq(get(m, "/f"), "308 /f8");
    redirect_map_free(m);
}
END_TEST

START_TEST(test_comments_blanks_tabs)
{
    redirect_map_t *m = load("# the 2024 migration\n"
                             "\n"
                             "   \n"
                             "\t\n"
                             "   # indented comment /x /y\n"
                             "#/commented /out\n"
                             "/tab\t/tabbed\n"
                             "\t /lead \t /leading\t\t302  \n"
                             "/crlf /windows\r\n"
                             "/crlf2 /windows2 308\r\n"
                             "/last /no-newline");
    ck_assert_ptr_nonnull(m);
    ck_assert_uint_eq(redirect_map_count(m), 5);
    ck_assert_str_eq(get(m, "/tab"), "301 /tabbed");
    ck_assert_str_eq(get(m, "/lead"), "302 /leading");
    ck_assert_str_eq(get(m, "/crlf"), "301 /windows");
    ck_assert_str_eq(get(m, "/crlf2"), "308 /windows2");
    ck_assert_str_eq(get(m, "/last"), "301 /no-newline");
    ck_assert_str_eq(get(m, "/commented"), "-");
    ck_assert_str_eq(get(m, "/x"), "-");
    redirect_map_free(m);
}
END_TEST

START_TEST(test_empty)
{
    const char *files[] = { "", "\n\n", "# only a comment\n", "  \t \r\n" };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        redirect_map_t *m = load(files[i]);
        ck_assert_ptr_nonnull(m);
        ck_assert_uint_eq(redirect_map_count(m), 0);
        ck_assert_str_eq(get(m, "/"), "-");
        redirect_map_free(m);
    }
    ck_assert_uint_eq(redirect_map_count(NULL), 0);
    const char *to;
    size_t to_len;
    int code;
    ck_assert_int_eq(redirect_map_get(NULL, "/", 1, &to, &to_len, &code), 0);
    redirect_map_free(NULL);
}
END_TEST

START_TEST(test_prefixes)
{
    redirect_map_t *m = load("/a /one\n"
                             "/a/b /two\n"
                             "/ab /three\n"
                             "/a/b/ /four\n"
                             "/ /root\n");
    ck_assert_ptr_nonnull(m);
    ck_assert_str_eq(get(m, "/"), "301 /root");
    ck_assert_str_eq(get(m, "/a"), "301 /one");
    ck_assert_str_eq(get(m, "/a/b"), "301 /two");
    ck_assert_str_eq(get(m, "/ab"), "301 /three");
    ck_assert_str_eq(get(m, "/a/b/"), "301 /four");
    ck_assert_str_eq(get(m, "/a/"), "-");
    ck_assert_str_eq(get(m, "/a/b/c"), "-");
    ck_assert_str_eq(get(m, "/abc"), "-");
    redirect_map_free(m);
}
END_TEST

START_TEST(test_bad_lines)
{
    refused("/ok /fine\n/lonely\n", 2, "expected \"FROM TO [CODE]\"");
    refused("\n\n\n\n\n\n/x\n", 7, "expected \"FROM TO [CODE]\"");
    refused("/a /b 301 extra\n", 1,
            "more than 3 fields, from \"extra\" on (expected \"FROM TO [CODE]\")");
    refused("# c\n/a /b 301 # a comment after is a field\n", 2,
            "more than 3 fields, from \"#\" on (expected \"FROM TO [CODE]\")");
    refused("/a /b\n/c /d\n/e /f 305\n", 3,
            "305 is not a redirect code (301, 302, 303, 307 or 308)");
    refused("/a /b 200\n", 1, "200 is not a redirect code (301, 302, 303, 307 or 308)");
    refused("/a /b 3010\n", 1, "3010 is not a redirect code (301, 302, 303, 307 or 308)");
    refused("/a /b abc\n", 1, "abc is not a redirect code (301, 302, 303, 307 or 308)");
    refused("/a /b #301\n", 1, "#301 is not a redirect code (301, 302, 303, 307 or 308)");
    refused("/a /b\nabc /d\n", 2, "\"abc\" must start with /");
    refused("https://old.example.com/x /y\n", 1,
            "\"https://old.example.com/x\" must start with /");
    refused("/a /b\x01x\n", 1, "control character 0x01 at column 6");
    refused("/a /b\rSet-Cookie:x\n", 1, "control character 0x0d at column 6");
    refused("/a\x7f /b\n", 1, "control character 0x7f at column 3");
}
END_TEST

START_TEST(test_long_quote_is_cut)
{
    char line[400];
    memset(line, 'a', 300);
    strcpy(line + 300, " /b\n");
    char want[200];
    snprintf(want, sizeof(want), "\"%.100s...\" must start with /", line);
    refused(line, 1, want);
}
END_TEST

START_TEST(test_duplicates)
{
    refused("# head\n"
            "/x /1\n"
            "/old /2\n"
            "/y /3\n"
            "\n"
            "/z /4\n"
            "/old /5 302\n",
            7, "/old is already redirected on line 3");
    /* Equal after the CR a CRLF line drops, and after the blanks. */
    refused("/p /1\r\n\t/p   /2\n", 2, "/p is already redirected on line 1");
}
END_TEST

START_TEST(test_line_length)
{
    /* REDIRECT_MAP_LINE_MAX bytes before the '\n' load; one more does not. */
    size_t max = REDIRECT_MAP_LINE_MAX;
    char *text = malloc(2 * max + 64);
    ck_assert_ptr_nonnull(text);
    strcpy(text, "/short /s\n");
    size_t start = strlen(text);
    text[start] = '/';
    memset(text + start + 1, 'f', 99);
    text[start + 100] = ' ';
    text[start + 101] = '/';
    memset(text + start + 102, 't', max - 102);
    text[start + max] = '\n';
    text[start + max + 1] = '\0';
    redirect_map_t *m = load(text);
    ck_assert_msg(m != NULL, "%s", err);
    const char *to;
    size_t to_len;
    int code;
    ck_assert_int_eq(redirect_map_get(m, text + start, 100, &to, &to_len, &code), 1);
    ck_assert_uint_eq(to_len, max - 101);
    ck_assert_int_eq(memcmp(to, text + start + 101, to_len), 0);
    redirect_map_free(m);

    /* The same line one byte longer, also without a '\n' at the end. */
    text[start + max] = 't';
    text[start + max + 1] = '\n';
    text[start + max + 2] = '\0';
    refused(text, 2, "line longer than 8192 bytes");
    text[start + max + 1] = '\0';
    refused(text, 2, "line longer than 8192 bytes");
    free(text);
}
END_TEST

START_TEST(test_nul_byte)
{
    static const char text[] = "/a /b\n/c /d\n/e /\0f\n";
    refused_bytes(text, sizeof(text) - 1, 3, "NUL byte at column 5 (not a text file?)");
    static const char first[] = "\0";
    refused_bytes(first, 1, 1, "NUL byte at column 1 (not a text file?)");
}
END_TEST

START_TEST(test_cannot_read)
{
    char want[REDIRECT_MAP_ERR_LEN];
    ck_assert_ptr_null(redirect_map_load("/nonexistent/drover/redirects.txt", err));
    ck_assert_str_eq(err, "open(\"/nonexistent/drover/redirects.txt\"): No such file or directory");

    char dir[] = "/tmp/drover-rm-dir-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_ptr_null(redirect_map_load(dir, err));
    snprintf(want, sizeof(want), "read(\"%s\"): %s", dir, strerror(EISDIR));
    ck_assert_str_eq(err, want);
    rmdir(dir);

    if (geteuid() != 0) { /* root reads a file of mode 0 all the same */
        strcpy(path, "/tmp/drover-rm-XXXXXX");
        int fd = mkstemp(path);
        ck_assert_int_ge(fd, 0);
        close(fd);
        chmod(path, 0);
        ck_assert_ptr_null(redirect_map_load(path, err));
        snprintf(want, sizeof(want), "open(\"%s\"): %s", path, strerror(EACCES));
        ck_assert_str_eq(err, want);
        unlink(path);
    }
}
END_TEST

/* A pipe has no size ahead: the buffer grows from 64 KiB to the whole
 * file (here about 330 KiB). */
START_TEST(test_pipe)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        char line[64];
        for (int i = 0; i < 10000; i++) {
            int n = snprintf(line, sizeof(line), "/pipe/%d /piped/%d 307\n", i, i);
            if (write(fds[1], line, (size_t)n) != n)
                _exit(1);
        }
        _exit(0);
    }
    close(fds[1]);
    char dev[32];
    snprintf(dev, sizeof(dev), "/dev/fd/%d", fds[0]);
    redirect_map_t *m = redirect_map_load(dev, err);
    close(fds[0]);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(m != NULL, "%s", err);
    ck_assert_uint_eq(redirect_map_count(m), 10000);
    ck_assert_str_eq(get(m, "/pipe/0"), "307 /piped/0");
    ck_assert_str_eq(get(m, "/pipe/9999"), "307 /piped/9999");
    redirect_map_free(m);
}
END_TEST

/* The paper's vectors (key 00..0f, message 00..len-1); the 8-byte one
 * has exactly one block and a tail of length only. */
START_TEST(test_siphash_vectors)
{
    uint64_t key[2];
    unsigned char kb[16], msg[16];
    for (int i = 0; i < 16; i++)
        kb[i] = (unsigned char)i, msg[i] = (unsigned char)i;
    memcpy(&key[0], kb, 8); /* little-endian, as the vectors are */
    memcpy(&key[1], kb + 8, 8);
    ck_assert_uint_eq(siphash_24(key, (const char *)msg, 0), 0x726fdb47dd0e0e31ULL);
    ck_assert_uint_eq(siphash_24(key, (const char *)msg, 8), 0x93f5f5799a932462ULL);
    ck_assert_uint_eq(siphash_24(key, (const char *)msg, 15), 0xa129ca6149be45e5ULL);
}
END_TEST

/* Two maps of the same file hash differently: a path set that collides
 * in one says nothing of the next. */
START_TEST(test_key_per_map)
{
    redirect_map_t *a = load("/a /b\n");
    redirect_map_t *b = load("/a /b\n");
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert(a->key[0] != b->key[0] || a->key[1] != b->key[1]);
    redirect_map_free(a);
    redirect_map_free(b);
}
END_TEST

static size_t heap_bytes(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

static size_t resident_bytes(void)
{
    unsigned long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL)
        return 0;
    if (fscanf(f, "%lu %lu", &size, &resident) != 2)
        resident = 0;
    fclose(f);
    return resident * (size_t)sysconf(_SC_PAGESIZE);
}

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define MANY 100000

START_TEST(test_many)
{
    static const int codes[] = { 301, 302, 303, 307, 308 };
    size_t cap = (size_t)MANY * 96;
    char *text = malloc(cap);
    ck_assert_ptr_nonnull(text);
    size_t len = 0;
    for (int i = 0; i < MANY; i++) {
        if (i % 10 == 0)
            len += (size_t)snprintf(text + len, cap - len, "# section %d\n", i / 10);
        if (i % 3 == 0)
            len += (size_t)snprintf(text + len, cap - len, "/old/articles/%d/some-slug-%d\t"
                                    "https://www.example.com/posts/%d\n", i, i * 7, i);
        else
            len += (size_t)snprintf(text + len, cap - len, "/old/articles/%d/some-slug-%d "
                                    "/posts/%d %d\n", i, i * 7, i, codes[i % 5]);
    }
    strcpy(path, "/tmp/drover-rm-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
    close(fd);
    free(text);

    size_t heap0 = heap_bytes(), rss0 = resident_bytes();
    double t0 = seconds();
    redirect_map_t *m = redirect_map_load(path, err);
    double t1 = seconds();
    size_t heap1 = heap_bytes(), rss1 = resident_bytes();
    unlink(path);
    ck_assert_msg(m != NULL, "%s", err);
    ck_assert_uint_eq(redirect_map_count(m), MANY);
    size_t table = (m->mask + 1) * sizeof(*m->slots);
    printf("redirect_map: %d lines (%zu bytes) loaded in %.1f ms; heap +%.2f MB "
           "(table %.2f MB, %zu slots of %zu bytes), resident +%.2f MB\n",
           MANY, len, (t1 - t0) * 1e3, (double)(heap1 - heap0) / 1e6, (double)table / 1e6,
           (size_t)m->mask + 1, sizeof(*m->slots), (double)(rss1 - rss0) / 1e6);
    ck_assert_msg(t1 - t0 < 2.0, "loading took %.3f s", t1 - t0);
    ck_assert_msg(heap1 - heap0 < 16u << 20, "the map takes %zu bytes", heap1 - heap0);
    ck_assert_uint_le(2 * m->count, m->mask + 1); /* load factor <= 0.5 */

    char from[96], want[96];
    for (int i = 0; i < MANY; i++) {
        snprintf(from, sizeof(from), "/old/articles/%d/some-slug-%d", i, i * 7);
        if (i % 3 == 0)
            snprintf(want, sizeof(want), "301 https://www.example.com/posts/%d", i);
        else
            snprintf(want, sizeof(want), "%d /posts/%d", codes[i % 5], i);
        ck_assert_str_eq(get(m, from), want);
        snprintf(from, sizeof(from), "/old/articles/%d/some-slug-%d/", i, i * 7);
        ck_assert_str_eq(get(m, from), "-");
    }

    /* The lookup alone, without the formatting and asserts above. */
    enum { KEY = 48 };
    char *keys = malloc((size_t)MANY * KEY);
    size_t *lens = malloc(MANY * sizeof(*lens));
    ck_assert_ptr_nonnull(keys);
    ck_assert_ptr_nonnull(lens);
    for (int i = 0; i < MANY; i++)
        lens[i] = (size_t)snprintf(keys + (size_t)i * KEY, KEY, "/old/articles/%d/some-slug-%d",
                                   i, i * 7);
    const char *to;
    size_t to_len;
    int code, hits = 0;
    double t2 = seconds();
    for (int i = 0; i < MANY; i++)
        hits += redirect_map_get(m, keys + (size_t)i * KEY, lens[i], &to, &to_len, &code);
    double t3 = seconds();
    ck_assert_int_eq(hits, MANY);
    printf("redirect_map: %d lookups in %.1f ms (%.0f ns a lookup)\n", MANY, (t3 - t2) * 1e3,
           (t3 - t2) * 1e9 / MANY);
    free(keys);
    free(lens);
    redirect_map_free(m);
}
END_TEST

static Suite *redirect_map_suite(void)
{
    Suite *s = suite_create("redirect_map");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_found_and_not_found);
    tcase_add_test(tc, test_codes);
    tcase_add_test(tc, test_comments_blanks_tabs);
    tcase_add_test(tc, test_empty);
    tcase_add_test(tc, test_prefixes);
    tcase_add_test(tc, test_bad_lines);
    tcase_add_test(tc, test_long_quote_is_cut);
    tcase_add_test(tc, test_duplicates);
    tcase_add_test(tc, test_line_length);
    tcase_add_test(tc, test_nul_byte);
    tcase_add_test(tc, test_cannot_read);
    tcase_add_test(tc, test_pipe);
    tcase_add_test(tc, test_siphash_vectors);
    tcase_add_test(tc, test_key_per_map);
    tcase_add_test(tc, test_many);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(redirect_map_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
