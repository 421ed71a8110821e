/*
 * Unit tests for common/conf/conf_compress (the compress: key: shapes,
 * inheritance, errors naming file, line and key) and common/http/compress
 * (the codecs: what they make inflates back to the input).
 */
#include "config.h"

#include <check.h>
#include <libdeflate.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "compress.h"
#include "conf.h"
#include "conf_compress.h"

static char dir[] = "/tmp/check_compress.XXXXXX";

static conf_t *load(const char *yaml, char *err)
{
    char path[64];
    snprintf(path, sizeof(path), "%s/d.yaml", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "listen: [\"127.0.0.1:1\"]\npid_file: %s/run/d.pid\n%s", dir, yaml);
    fclose(f);
    err[0] = '\0';
    return conf_load(path, err);
}

START_TEST(test_defaults)
{
    char err[CONF_ERR_LEN], want[128];
    conf_t *c = load("root: .\n", err);
    ck_assert_msg(c != NULL, "%s", err);
    ck_assert_int_eq(c->compress.on, 0);
    ck_assert_int_eq(c->compress.num_encodings, 3);
    ck_assert_int_eq(c->compress.encodings[0], CONF_CODING_ZSTD);
    ck_assert_int_eq(c->compress.level[CONF_CODING_BR], 11);
    ck_assert_uint_eq(c->compress.min_size, 256);
    snprintf(want, sizeof(want), "%s/run/drover-cache", dir);
    ck_assert_str_eq(c->compress.cache_path, want);
    ck_assert(conf_compress_type_ok(&c->compress, "text/html; charset=utf-8"));
    ck_assert(conf_compress_type_ok(&c->compress, "application/javascript"));
    ck_assert(!conf_compress_type_ok(&c->compress, "image/png"));
    ck_assert(!conf_compress_type_ok(&c->compress, "application/json-seq"));
    conf_free(c);
}
END_TEST

START_TEST(test_inherit)
{
    char err[CONF_ERR_LEN];
    conf_t *c = load("compress: {encodings: [gzip, br], types: [text/css], min_size: 1k, "
                     "level: {gzip: 6}, cache: {path: /tmp/zc, max_size: 1m}}\n"
                     "hosts:\n  a.example: {compress: off}\n  b.example: {compress: {min_size: 2k}}\n"
                     "  c.example: {root: .}\n", err);
    ck_assert_msg(c != NULL, "%s", err);
    ck_assert_int_eq(c->compress.on, 1);
    ck_assert_int_eq(c->compress.num_encodings, 2);
    ck_assert_int_eq(c->compress.encodings[0], CONF_CODING_GZIP);
    ck_assert_int_eq(c->compress.level[CONF_CODING_GZIP], 6);
    ck_assert_str_eq(c->compress.cache_path, "/tmp/zc");
    ck_assert_uint_eq(c->compress.cache_max, 1u << 20);
    ck_assert(conf_compress_type_ok(&c->compress, "text/css"));
    ck_assert(!conf_compress_type_ok(&c->compress, "text/html"));
    ck_assert_int_eq(c->hosts[0].conf->compress.on, 0);
    ck_assert_int_eq(c->hosts[1].conf->compress.on, 1);
    ck_assert_uint_eq(c->hosts[1].conf->compress.min_size, 2048);
    ck_assert_int_eq(c->hosts[1].conf->compress.level[CONF_CODING_GZIP], 6);
    ck_assert(conf_compress_type_ok(&c->hosts[2].conf->compress, "text/css"));
    conf_free(c);
}
END_TEST

static const struct {
    const char *yaml;
    int line;
    const char *words;
} bad[] = {
    { "compress: maybe\n", 3, "compress: expected off, on" },
    { "compress: [gzip]\n", 3, "compress: expected off, on" },
    { "compress: {encodings: [lz4]}\n", 3, "\"lz4\" is not zstd" },
    { "compress: {encodings: [gzip, gzip]}\n", 3, "twice" },
    { "compress: {encodings: []}\n", 3, "at least one" },
    { "compress: {types: [html]}\n", 3, "not a media type" },
    { "compress: {min_size: lots}\n", 3, "min_size" },
    { "compress: {level: {br: 12}}\n", 3, "from 0 to 11" },
    { "compress: {level: {gzip: 0}}\n", 3, "from 1 to 12" },
    { "compress: {cache: {max_size: 1k}}\n", 3, "at least 64k" },
    { "compress: {cache: {where: /x}}\n", 3, "unknown key" },
    { "compress: {speed: 1}\n", 3, "unknown key" },
    { "hosts:\n  a.example: {compress: {cache: {path: /x}}}\n", 4, "only at the top level" },
    { "locations:\n  /x/: {compress: {level: {zstd: 23}}}\n", 4, "location \"/x/\": compress" },
};

START_TEST(test_bad)
{
    char err[CONF_ERR_LEN], where[80];
    conf_t *c = load(bad[_i].yaml, err);
    ck_assert_msg(c == NULL, "accepted: %s", bad[_i].yaml);
    snprintf(where, sizeof(where), "d.yaml:%d: ", bad[_i].line);
    ck_assert_msg(strstr(err, where) != NULL, "\"%s\" does not name %s", err, where);
    ck_assert_msg(strstr(err, bad[_i].words) != NULL, "\"%s\" lacks \"%s\"", err, bad[_i].words);
}
END_TEST

/* Text that compresses, and is not trivially one repeated byte. */
static char *sample(size_t n)
{
    char *s = malloc(n);
    ck_assert_ptr_nonnull(s);
    for (size_t i = 0; i < n; i++)
        s[i] = "<p>drover compresses once</p>\n"[i % 30] + (char)((i / 997) % 3);
    return s;
}

START_TEST(test_gzip_round_trip)
{
    size_t n = 100000, outlen = 0, got = 0;
    char *in = sample(n), *out = NULL, *back = malloc(n);
    ck_assert_int_eq(compress_buffer(CONF_CODING_GZIP, 9, in, n, &out, &outlen), 0);
    ck_assert_uint_lt(outlen, n / 4);
    ck_assert(outlen > 18 && (unsigned char)out[0] == 0x1f && (unsigned char)out[1] == 0x8b);
    struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
    ck_assert_int_eq(libdeflate_gzip_decompress(d, out, outlen, back, n, &got), LIBDEFLATE_SUCCESS);
    ck_assert_uint_eq(got, n);
    ck_assert_int_eq(memcmp(in, back, n), 0);
    libdeflate_free_decompressor(d);
    free(in);
    free(out);
    free(back);
}
END_TEST

START_TEST(test_zstd_round_trip)
{
    size_t n = 100000, outlen = 0;
    char *in = sample(n), *out = NULL, *back = malloc(n);
    ck_assert_int_eq(compress_buffer(CONF_CODING_ZSTD, 19, in, n, &out, &outlen), 0);
    ck_assert_uint_lt(outlen, n / 4);
    ck_assert_uint_eq(ZSTD_decompress(back, n, out, outlen), n);
    ck_assert_int_eq(memcmp(in, back, n), 0);
    free(in);
    free(out);
    free(back);
}
END_TEST

START_TEST(test_br_and_levels)
{
    size_t n = 50000, outlen = 0;
    char *in = sample(n), *out = NULL;
    ck_assert_int_eq(compress_buffer(CONF_CODING_BR, 11, in, n, &out, &outlen), 0);
    ck_assert_uint_lt(outlen, n / 4);
    free(out);
    ck_assert_int_eq(compress_buffer(0, 1, in, n, &out, &outlen), -1);
    ck_assert_int_eq(compress_level_for(CONF_CODING_BR, 11, 1000), 11);
    ck_assert_int_eq(compress_level_for(CONF_CODING_BR, 11, 50u << 20), 9);
    ck_assert_int_eq(compress_level_for(CONF_CODING_ZSTD, 19, 50u << 20), 12);
    ck_assert_int_eq(compress_level_for(CONF_CODING_ZSTD, 19, 8u << 20), 19);
    ck_assert_int_eq(compress_level_for(CONF_CODING_ZSTD, 3, 50u << 20), 3);
    free(in);
}
END_TEST

int main(void)
{
    if (mkdtemp(dir) == NULL)
        return 1;
    Suite *s = suite_create("compress");
    TCase *tc = tcase_create("conf");
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_inherit);
    tcase_add_loop_test(tc, test_bad, 0, (int)(sizeof(bad) / sizeof(bad[0])));
    suite_add_tcase(s, tc);
    tc = tcase_create("codecs");
    tcase_add_test(tc, test_gzip_round_trip);
    tcase_add_test(tc, test_zstd_round_trip);
    tcase_add_test(tc, test_br_and_levels);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        failed++;
    return failed == 0 ? 0 : 1;
}
