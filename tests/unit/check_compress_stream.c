/*
 * Unit tests for common/http/compress_stream: a body fed in pieces, with a
 * small output buffer, decodes back to itself for br and zstd; after a
 * FLUSH everything given so far decodes without the rest; levels are capped
 * for the fly; gzip does not stream.
 */
#include "config.h"

#include <brotli/decode.h>
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "compress_stream.h"
#include "conf.h"

/* Text with some repetition, like a page or a JSON answer. */
static char *text(size_t n)
{
    static const char *words[] = {"drover ", "serves ", "{\"id\": ", "1234, ", "\"name\": ",
                                  "\"proxy\" ", "<div class=\"x\">", "</div>\n"};
    char *t = malloc(n);
    ck_assert_ptr_nonnull(t);
    unsigned r = 7;
    for (size_t i = 0; i < n;) {
        r = r * 1103515245u + 12345u;
        const char *w = words[(r >> 16) % 8];
        for (size_t k = 0; w[k] != '\0' && i < n; k++)
            t[i++] = w[k];
    }
    return t;
}

/* Runs in[0, n) through z in pieces of step bytes and an output buffer of
 * cap bytes, op for each piece (END after the last); the whole output,
 * its length in *outlen. */
static char *run(compress_stream_t *z, const char *in, size_t n, size_t step, size_t cap,
                 compress_stream_op_t op, size_t *outlen)
{
    size_t have = 0, size = 1024;
    char *out = malloc(size), *buf = malloc(cap);
    ck_assert_ptr_nonnull(out);
    for (size_t off = 0, turns = 0; turns < 10000000; turns++) {
        size_t k = n - off < step ? n - off : step;
        compress_stream_op_t o = off + k == n ? COMPRESS_STREAM_END : op;
        size_t used = 0;
        ssize_t got = compress_stream_run(z, in + off, k, &used, buf, cap, o);
        ck_assert_int_ge(got, 0);
        ck_assert_uint_le((size_t)got, cap);
        off += used;
        if (have + (size_t)got > size) {
            size = (have + (size_t)got) * 2;
            out = realloc(out, size);
            ck_assert_ptr_nonnull(out);
        }
        memcpy(out + have, buf, (size_t)got);
        have += (size_t)got;
        if (compress_stream_done(z))
            break;
    }
    ck_assert(compress_stream_done(z));
    free(buf);
    *outlen = have;
    return out;
}

static void check_decodes(int coding, const char *comp, size_t clen, const char *want, size_t n)
{
    char *back = malloc(n + 1);
    size_t got = n + 1;
    if (coding == CONF_CODING_BR) {
        ck_assert_int_eq(BrotliDecoderDecompress(clen, (const uint8_t *)comp, &got,
                                                 (uint8_t *)back),
                         BROTLI_DECODER_RESULT_SUCCESS);
    } else {
        got = ZSTD_decompress(back, n + 1, comp, clen);
        ck_assert_msg(!ZSTD_isError(got), "%s", ZSTD_getErrorName(got));
    }
    ck_assert_uint_eq(got, n);
    ck_assert(memcmp(back, want, n) == 0);
    free(back);
}

static const int codings[] = {CONF_CODING_BR, CONF_CODING_ZSTD};

START_TEST(test_round_trip_in_pieces)
{
    int coding = codings[_i];
    size_t n = 300000;
    char *in = text(n);
    static const size_t steps[] = {1, 100, 4096, 65536, 300000};
    static const size_t caps[] = {1, 37, 16384};
    for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++)
        for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
            if (steps[s] == 1 && caps[c] == 1)
                continue; /* correct, only slow */
            compress_stream_t *z = compress_stream_new(coding, 11);
            ck_assert_ptr_nonnull(z);
            size_t clen;
            char *comp = run(z, in, n, steps[s], caps[c], COMPRESS_STREAM_MORE, &clen);
            ck_assert_uint_lt(clen, n / 3); /* it compresses */
            check_decodes(coding, comp, clen, in, n);
            free(comp);
            compress_stream_free(z);
        }
    free(in);
}
END_TEST

START_TEST(test_flush_makes_what_was_given_decodable)
{
    int coding = codings[_i];
    char *in = text(5000);
    compress_stream_t *z = compress_stream_new(coding, 5);
    ck_assert_ptr_nonnull(z);
    char out[65536];
    size_t have = 0, used = 0, off = 0;
    for (int turns = 0; turns < 100 && (off < 3000 || compress_stream_pending(z)); turns++) {
        ssize_t got = compress_stream_run(z, in + off, 3000 - off, &used, out + have,
                                          sizeof(out) - have > 64 ? 64 : sizeof(out) - have,
                                          COMPRESS_STREAM_FLUSH);
        ck_assert_int_ge(got, 0);
        off += used;
        have += (size_t)got;
    }
    ck_assert_uint_eq(off, 3000);
    ck_assert(!compress_stream_pending(z));
    ck_assert(!compress_stream_done(z));
    /* Decode the flushed prefix as a stream: all 3000 bytes come out. */
    char back[8192];
    size_t produced;
    if (coding == CONF_CODING_BR) {
        BrotliDecoderState *d = BrotliDecoderCreateInstance(NULL, NULL, NULL);
        size_t ain = have, aout = sizeof(back);
        const uint8_t *nin = (const uint8_t *)out;
        uint8_t *nout = (uint8_t *)back;
        BrotliDecoderResult r = BrotliDecoderDecompressStream(d, &ain, &nin, &aout, &nout, NULL);
        ck_assert_int_eq(r, BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT);
        produced = sizeof(back) - aout;
        BrotliDecoderDestroyInstance(d);
    } else {
        ZSTD_DCtx *d = ZSTD_createDCtx();
        ZSTD_inBuffer ib = {out, have, 0};
        ZSTD_outBuffer ob = {back, sizeof(back), 0};
        size_t r = ZSTD_decompressStream(d, &ob, &ib);
        ck_assert(!ZSTD_isError(r));
        produced = ob.pos;
        ZSTD_freeDCtx(d);
    }
    ck_assert_uint_eq(produced, 3000);
    ck_assert(memcmp(back, in, 3000) == 0);
    /* The rest, then the end: the whole decodes. */
    size_t clen;
    char *tail = run(z, in + 3000, 2000, 500, 128, COMPRESS_STREAM_MORE, &clen);
    char *all = malloc(have + clen);
    memcpy(all, out, have);
    memcpy(all + have, tail, clen);
    check_decodes(coding, all, have + clen, in, 5000);
    free(all);
    free(tail);
    compress_stream_free(z);
    free(in);
}
END_TEST

START_TEST(test_empty_body)
{
    int coding = codings[_i];
    compress_stream_t *z = compress_stream_new(coding, 3);
    ck_assert_ptr_nonnull(z);
    size_t clen;
    char *comp = run(z, "", 0, 1, 64, COMPRESS_STREAM_MORE, &clen);
    ck_assert_uint_gt(clen, 0);
    check_decodes(coding, comp, clen, "", 0);
    /* Done is done: more calls give nothing. */
    size_t used = 9;
    char b[16];
    ck_assert_int_eq(compress_stream_run(z, "x", 1, &used, b, sizeof(b), COMPRESS_STREAM_END), 0);
    ck_assert_uint_eq(used, 0);
    free(comp);
    compress_stream_free(z);
}
END_TEST

START_TEST(test_levels_and_codings)
{
    ck_assert_int_eq(compress_stream_level(CONF_CODING_BR, 11), 5);
    ck_assert_int_eq(compress_stream_level(CONF_CODING_BR, 3), 3);
    ck_assert_int_eq(compress_stream_level(CONF_CODING_ZSTD, 19), 6);
    ck_assert_int_eq(compress_stream_level(CONF_CODING_ZSTD, 1), 1);
    ck_assert_int_eq(compress_stream_level(CONF_CODING_GZIP, 9), 6);
    ck_assert_int_eq(compress_stream_level(CONF_CODING_GZIP, 4), 4);
    ck_assert_ptr_null(compress_stream_new(CONF_CODING_GZIP, 6));
    ck_assert_ptr_null(compress_stream_new(0, 6));
    compress_stream_free(NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("compress_stream");
    TCase *tc = tcase_create("stream");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_round_trip_in_pieces, 0, 2);
    tcase_add_loop_test(tc, test_flush_makes_what_was_given_decodable, 0, 2);
    tcase_add_loop_test(tc, test_empty_body, 0, 2);
    tcase_add_test(tc, test_levels_and_codings);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
