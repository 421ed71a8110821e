/*
 * Unit tests for common/http/path: percent-decoding and normalisation of request
 * paths, the guard that keeps every request inside the document root.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "path.h"

/* Normalises s (with its exact length, NULs included) into a buffer of the
 * documented minimum size, len + 1. */
static ssize_t norm_len(const char *s, size_t len, char *out)
{
    return path_normalize(s, len, out, len + 1);
}

static void assert_norm(const char *in, const char *want)
{
    char out[512];
    ssize_t r = norm_len(in, strlen(in), out);

    ck_assert_msg(r >= 0, "\"%s\": refused, expected \"%s\"", in, want);
    ck_assert_msg((size_t)r == strlen(want) && memcmp(out, want, (size_t)r) == 0,
                  "\"%s\": \"%.*s\" (%zd), expected \"%s\"", in, (int)r, out, r, want);
    ck_assert_msg(out[r] == '\0', "\"%s\": result not NUL-terminated", in);
}

typedef struct {
    const char *in;
    size_t len;
} raw_t;

#define RAW(lit) { lit, sizeof(lit) - 1 }

static const struct {
    const char *in;
    const char *out;
} good[] = {
    { "/", "/" },
    { "/a", "/a" },
    { "/a/b", "/a/b" },
    { "//a///b", "/a/b" },
    { "/a/./b", "/a/b" },
    { "/./a", "/a" },
    { "/a/b/../c", "/a/c" },
    { "/a/b/c/../../d", "/a/d" },
    { "/a/../b", "/b" },
    { "/a/%2e%2e/b", "/b" },
    { "/a/%2E%2E/b", "/b" },
    { "/a/.%2e/b", "/b" },
    { "/a/%2e./b", "/b" },
    { "/a/%2e/b", "/a/b" },
    { "/a%2fb", "/a/b" },
    { "/a%2Fb", "/a/b" },
    { "/a%2f%2fb", "/a/b" },
    { "/a/b%2f..%2fc", "/a/c" },
    { "/%41%42c", "/ABc" },
    { "/a%20b", "/a b" },
    { "/caf%C3%A9", "/caf\xc3\xa9" },
    { "/100%25", "/100%" },
    { "/%25%32%65", "/%2e" }, /* decoded once only */
    { "/dir/", "/dir/" },
    { "/a/b/", "/a/b/" },
    { "/dir//", "/dir/" },
    { "/a/b/../", "/a/" },
    { "/a...b", "/a...b" },
    { "/...", "/..." },
    { "/..a", "/..a" },
    { "/a..", "/a.." },
    { "/.well-known/acme", "/.well-known/acme" },
    { "/a+b", "/a+b" },
};

START_TEST(test_good)
{
    assert_norm(good[_i].in, good[_i].out);
}
END_TEST

static const raw_t bad[] = {
    RAW("/../x"),
    RAW("/.."),
    RAW("/../"),
    RAW("/%2e%2e/x"),
    RAW("/%2E%2E"),
    RAW("/.%2e/x"),
    RAW("/a/../../x"),
    RAW("/a/b/../../../x"),
    RAW("/a/..%2f..%2fetc"),
    RAW("/a/..%2F..%2Fetc/passwd"),
    RAW("/%2e%2e%2fetc"),
    RAW("/./../x"),
    RAW("//../x"),
    /* NUL, raw or encoded */
    RAW("%00"),
    RAW("/%00"),
    RAW("/a%00b"),
    RAW("/a\0b"),
    RAW("/a.html%00.png"),
    /* backslash, raw or encoded */
    RAW("/a\\b"),
    RAW("/..\\x"),
    RAW("/a%5cb"),
    RAW("/a%5C..%5C..%5Cx"),
    /* broken escapes */
    RAW("/%zz"),
    RAW("/%4"),
    RAW("/%"),
    RAW("/a%g0"),
    RAW("/a%0g"),
    RAW("/a%%41"),
    RAW("/a%-1"),
    RAW("/a% 1"),
    /* control bytes, raw or encoded */
    RAW("/a\x01" "b"),
    RAW("/a\nb"),
    RAW("/a\rb"),
    RAW("/a\tb"),
    RAW("/a\x1f"),
    RAW("/a\x7f"),
    RAW("/a%01b"),
    RAW("/a%0ab"),
    RAW("/a%0D%0Ab"),
    RAW("/a%1F"),
    RAW("/a%7f"),
    RAW("/a%7F"),
};

START_TEST(test_bad)
{
    char out[512];
    ssize_t r = norm_len(bad[_i].in, bad[_i].len, out);

    ck_assert_msg(r == -1, "\"%.*s\" (case %d): accepted as \"%.*s\"", (int)bad[_i].len, bad[_i].in,
                  _i, r > 0 ? (int)r : 0, out);
}
END_TEST

/* A trailing "." or ".." names a directory. Whether the result keeps a
 * trailing slash is left open by the header; it must not climb, must start
 * with "/", and must be the directory meant. */
static void assert_dir(const char *in, const char *dir)
{
    char out[512], with_slash[512];
    ssize_t r = norm_len(in, strlen(in), out);

    snprintf(with_slash, sizeof(with_slash), "%s%s", dir, strcmp(dir, "/") == 0 ? "" : "/");
    ck_assert_msg(r > 0, "\"%s\": refused", in);
    ck_assert_msg(strcmp(out, dir) == 0 || strcmp(out, with_slash) == 0,
                  "\"%s\": \"%s\", expected \"%s\" or \"%s\"", in, out, dir, with_slash);
}

START_TEST(test_trailing_dots)
{
    assert_dir("/a/..", "/");
    assert_dir("/a/%2e%2e", "/");
    assert_dir("/a/b/..", "/a");
    assert_dir("/a/.", "/a");
    assert_dir("/.", "/");
    assert_dir("/a/b/.%2E", "/a");
}
END_TEST

/* The two forms above must at least agree with each other. */
START_TEST(test_trailing_dots_consistent)
{
    char o1[64], o2[64], o3[64];
    ssize_t r1 = norm_len("/a/b/..", 7, o1);
    ssize_t r2 = norm_len("/a/b/.", 6, o2);
    ssize_t r3 = norm_len("/a/x/../b/.", 11, o3);

    ck_assert_int_gt(r1, 0);
    ck_assert_int_gt(r2, 0);
    ck_assert_int_gt(r3, 0);
    /* "/a/b/.." is /a; "/a/b/." is /a/b; both forms end the same way */
    ck_assert_int_eq(o1[r1 - 1] == '/', o2[r2 - 1] == '/');
    ck_assert_str_eq(o2, o3);
}
END_TEST

START_TEST(test_output_too_small)
{
    char out[16];
    ssize_t r;
    size_t i;

    /* "/abcdef" needs 8 bytes with its NUL */
    memset(out, 'Z', sizeof(out));
    r = path_normalize("/abcdef", 7, out, 3);
    ck_assert_int_eq(r, -1);
    for (i = 3; i < sizeof(out); i++)
        ck_assert_msg(out[i] == 'Z', "byte %zu written past outsize", i);

    r = path_normalize("/abcdef", 7, out, 7);
    ck_assert_int_eq(r, -1);
    for (i = 7; i < sizeof(out); i++)
        ck_assert_msg(out[i] == 'Z', "byte %zu written past outsize", i);

    r = path_normalize("/abcdef", 7, out, 0);
    ck_assert_int_eq(r, -1);

    r = path_normalize("/abcdef", 7, out, 8);
    ck_assert_int_eq(r, 7);
    ck_assert_str_eq(out, "/abcdef");
}
END_TEST

/* Only len bytes are read: the request buffer is not NUL-terminated. */
START_TEST(test_length_respected)
{
    char out[64];
    ssize_t r;

    r = path_normalize("/a/bXYZ", 4, out, sizeof(out));
    ck_assert_int_eq(r, 4);
    ck_assert_str_eq(out, "/a/b");
    r = path_normalize("/a/..%00", 5, out, sizeof(out));
    ck_assert_int_gt(r, 0);
    ck_assert_str_eq(out, "/");
    /* an escape cut by len is broken */
    r = path_normalize("/a%41", 4, out, sizeof(out));
    ck_assert_int_eq(r, -1);
}
END_TEST

START_TEST(test_dotfile)
{
    static const struct {
        const char *path;
        int dot;
    } d[] = {
        { "/.git/config", 1 },
        { "/.git", 1 },
        { "/a/.htpasswd", 1 },
        { "/a/b/.env", 1 },
        { "/.hidden/", 1 },
        { "/...", 1 },
        { "/.well-knownx/a", 1 },
        { "/.well-known/.secret", 1 },
        { "/.well-known/acme", 0 },
        { "/.well-known/acme-challenge/token", 0 },
        { "/.well-known/", 0 },
        { "/a.b/c", 0 },
        { "/a./b", 0 },
        { "/a/b.", 0 },
        { "/index.html", 0 },
        { "/", 0 },
        { "/a/b/c", 0 },
    };
    size_t i;

    for (i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
        int r = path_has_dotfile(d[i].path, strlen(d[i].path));

        ck_assert_msg(r == d[i].dot, "\"%s\": %d, expected %d", d[i].path, r, d[i].dot);
    }
    /* only len bytes count */
    ck_assert_int_eq(path_has_dotfile("/a/.git", 3), 0);
    ck_assert_int_eq(path_has_dotfile("/a/.git", 5), 1);
}
END_TEST

/*
 * A small reference model: decode everything (refusing NUL, backslash,
 * control bytes and broken escapes), then resolve segments, refusing a ".."
 * that climbs above "/". Writes the result without a trailing slash.
 */
static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static ssize_t model(const char *in, size_t len, char *out)
{
    char dec[256];
    size_t n = 0, i, seg[128], seglen[128], nseg = 0, o;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];

        if (c == '%') {
            int h, l;

            if (i + 2 >= len)
                return -1;
            h = hexval((unsigned char)in[i + 1]);
            l = hexval((unsigned char)in[i + 2]);
            if (h < 0 || l < 0)
                return -1;
            c = (unsigned char)(h * 16 + l);
            i += 2;
        }
        if (c == 0 || c == '\\' || c < 0x20 || c == 0x7f)
            return -1;
        dec[n++] = (char)c;
    }
    if (n == 0 || dec[0] != '/')
        return -1;
    i = 0;
    while (i < n) {
        size_t s, l;

        while (i < n && dec[i] == '/')
            i++;
        s = i;
        while (i < n && dec[i] != '/')
            i++;
        l = i - s;
        if (l == 0 || (l == 1 && dec[s] == '.'))
            continue;
        if (l == 2 && dec[s] == '.' && dec[s + 1] == '.') {
            if (nseg == 0)
                return -1;
            nseg--;
            continue;
        }
        seg[nseg] = s;
        seglen[nseg] = l;
        nseg++;
    }
    o = 0;
    if (nseg == 0)
        out[o++] = '/';
    for (i = 0; i < nseg; i++) {
        out[o++] = '/';
        memcpy(out + o, dec + seg[i], seglen[i]);
        o += seglen[i];
    }
    out[o] = '\0';
    return (ssize_t)o;
}

/* Deterministic random paths over an alphabet rich in the tricky bytes,
 * checked against the model and against the invariants the server needs. */
START_TEST(test_against_model)
{
    static const char alphabet[] = "/////....aab%%%%2eEfF5c0";
    uint32_t x = 0x12345678u;
    int iter;

    for (iter = 0; iter < 50000; iter++) {
        char in[64], out[128], want[128];
        size_t len, i;
        ssize_t r, m;

        x = x * 1664525u + 1013904223u;
        len = 1 + (x >> 24) % 20;
        in[0] = '/';
        for (i = 1; i < len; i++) {
            x = x * 1664525u + 1013904223u;
            in[i] = alphabet[(x >> 16) % (sizeof(alphabet) - 1)];
        }
        in[len] = '\0';

        r = norm_len(in, len, out);
        m = model(in, len, want);
        ck_assert_msg((r < 0) == (m < 0), "\"%s\": %s by path_normalize, %s by the model", in,
                      r < 0 ? "refused" : "accepted", m < 0 ? "refused" : "accepted");
        if (r < 0)
            continue;
        ck_assert_msg(r == -1 || r >= 1, "\"%s\": returned %zd", in, r);
        ck_assert_int_eq(out[r], '\0');
        ck_assert_msg(out[0] == '/', "\"%s\" -> \"%s\": not absolute", in, out);
        ck_assert_msg(strstr(out, "//") == NULL, "\"%s\" -> \"%s\": double slash", in, out);
        ck_assert_msg(strstr(out, "/./") == NULL && strstr(out, "/../") == NULL,
                      "\"%s\" -> \"%s\": dot segment left", in, out);
        ck_assert_msg(!(r >= 2 && strcmp(out + r - 2, "/.") == 0) &&
                          !(r >= 3 && strcmp(out + r - 3, "/..") == 0),
                      "\"%s\" -> \"%s\": trailing dot segment", in, out);
        ck_assert_msg(memchr(out, '\\', (size_t)r) == NULL, "\"%s\" -> \"%s\": backslash", in,
                      out);
        /* the same path as the model, apart from a trailing slash */
        if (r > 1 && out[r - 1] == '/')
            out[--r] = '\0';
        ck_assert_msg(strcmp(out, want) == 0, "\"%s\" -> \"%s\", model says \"%s\"", in, out,
                      want);
    }
}
END_TEST

/* path_encode: a file name keeps only the unreserved bytes; a path also
 * keeps "/" and the sub-delimiters, ":" and "@". */
static const struct {
    path_encode_t kind;
    const char *in, *want;
} encoded[] = {
    { PATH_ENCODE_NAME, "plain-name_1.~txt", "plain-name_1.~txt" },
    { PATH_ENCODE_NAME, "a b&c", "a%20b%26c" },
    { PATH_ENCODE_NAME, "dir/x?y#z", "dir%2Fx%3Fy%23z" },
    { PATH_ENCODE_NAME, "\"<>'%", "%22%3C%3E%27%25" },
    { PATH_ENCODE_NAME, "\xc3\xa9\x7f\x01", "%C3%A9%7F%01" },
    { PATH_ENCODE_PATH, "/dir/sub", "/dir/sub" },
    { PATH_ENCODE_PATH, "/a b/c&d=e;f:g@h!$'()*+,", "/a%20b/c&d=e;f:g@h!$'()*+,"},
    { PATH_ENCODE_PATH, "/q?x#y%", "/q%3Fx%23y%25" },
    { PATH_ENCODE_PATH, "//evil.example", "//evil.example" },
    { PATH_ENCODE_PATH, "", "" },
};

START_TEST(test_encode)
{
    char out[128];
    size_t n = path_encode(encoded[_i].in, strlen(encoded[_i].in), encoded[_i].kind, out);
    ck_assert_msg(n == strlen(encoded[_i].want) && memcmp(out, encoded[_i].want, n) == 0,
                  "\"%s\": \"%.*s\", expected \"%s\"", encoded[_i].in, (int)n, out,
                  encoded[_i].want);
    ck_assert_uint_le(n, 3 * strlen(encoded[_i].in));
}
END_TEST

/* Every byte: encoded or not, and decoded back by path_normalize. */
START_TEST(test_encode_round_trip)
{
    for (int ch = 1; ch < 256; ch++) {
        char in[2] = { '/', (char)ch }, enc[8], back[8];
        size_t n = path_encode(in + 1, 1, PATH_ENCODE_NAME, enc + 1);
        enc[0] = '/';
        ck_assert(n == 1 || n == 3);
        if (ch == '/' || ch == '.' || ch == '\\' || ch < 0x20 || ch == 0x7f)
            continue; /* refused or a segment of its own: not a name */
        ssize_t r = path_normalize(enc, n + 1, back, sizeof(back));
        ck_assert_int_eq(r, 2);
        ck_assert_mem_eq(back, in, 2);
    }
}
END_TEST

static Suite *path_suite(void)
{
    Suite *s = suite_create("path");
    TCase *tc;

    tc = tcase_create("normalize");
    tcase_set_timeout(tc, 10);
    tcase_add_loop_test(tc, test_good, 0, (int)(sizeof(good) / sizeof(good[0])));
    tcase_add_loop_test(tc, test_bad, 0, (int)(sizeof(bad) / sizeof(bad[0])));
    tcase_add_test(tc, test_trailing_dots);
    tcase_add_test(tc, test_trailing_dots_consistent);
    tcase_add_test(tc, test_output_too_small);
    tcase_add_test(tc, test_length_respected);
    tcase_add_test(tc, test_against_model);
    suite_add_tcase(s, tc);

    tc = tcase_create("dotfile");
    tcase_add_test(tc, test_dotfile);
    suite_add_tcase(s, tc);

    tc = tcase_create("encode");
    tcase_add_loop_test(tc, test_encode, 0, (int)(sizeof(encoded) / sizeof(encoded[0])));
    tcase_add_test(tc, test_encode_round_trip);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(path_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
