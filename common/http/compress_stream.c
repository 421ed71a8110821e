/*
 * compress_stream: see compress_stream.h.
 */
#include "compress_stream.h"

#include <stdlib.h>

#include <brotli/encode.h>
#include <zstd.h>

#include "conf.h"

#define COMPRESS_STREAM_BR_MAX 5
#define COMPRESS_STREAM_ZSTD_MAX 6
#define COMPRESS_STREAM_GZIP_LEVEL_MAX 6

struct compress_stream_s {
    int coding;
    int pending; /* the last FLUSH or END is not all out yet */
    int done;
    BrotliEncoderState *br;
    ZSTD_CCtx *zstd;
};

int compress_stream_level(int coding, int level)
{
    if (coding == CONF_CODING_BR && level > COMPRESS_STREAM_BR_MAX)
        return COMPRESS_STREAM_BR_MAX;
    if (coding == CONF_CODING_ZSTD && level > COMPRESS_STREAM_ZSTD_MAX)
        return COMPRESS_STREAM_ZSTD_MAX;
    if (coding == CONF_CODING_GZIP && level > COMPRESS_STREAM_GZIP_LEVEL_MAX)
        return COMPRESS_STREAM_GZIP_LEVEL_MAX;
    return level;
}

compress_stream_t *compress_stream_new(int coding, int level)
{
    if (coding != CONF_CODING_BR && coding != CONF_CODING_ZSTD)
        return NULL;
    compress_stream_t *z = calloc(1, sizeof(*z));
    if (z == NULL)
        return NULL;
    z->coding = coding;
    level = compress_stream_level(coding, level);
    if (coding == CONF_CODING_BR) {
        z->br = BrotliEncoderCreateInstance(NULL, NULL, NULL);
        if (z->br == NULL)
            goto fail;
        BrotliEncoderSetParameter(z->br, BROTLI_PARAM_QUALITY, (uint32_t)level);
        BrotliEncoderSetParameter(z->br, BROTLI_PARAM_MODE, BROTLI_MODE_TEXT);
        /* 1 MiB of window: a streamed body's size is unknown, and the
         * default 4 MiB would be memory held per response. */
        BrotliEncoderSetParameter(z->br, BROTLI_PARAM_LGWIN, 20);
    } else {
        z->zstd = ZSTD_createCCtx();
        if (z->zstd == NULL)
            goto fail;
        if (ZSTD_isError(ZSTD_CCtx_setParameter(z->zstd, ZSTD_c_compressionLevel, level)) ||
            ZSTD_isError(ZSTD_CCtx_setParameter(z->zstd, ZSTD_c_windowLog, 20)))
            goto fail;
    }
    return z;
fail:
    compress_stream_free(z);
    return NULL;
}

static ssize_t compress_stream__br(compress_stream_t *z, const void *in, size_t n, size_t *used,
                                   char *out, size_t cap, compress_stream_op_t op)
{
    BrotliEncoderOperation bop = op == COMPRESS_STREAM_END     ? BROTLI_OPERATION_FINISH
                                 : op == COMPRESS_STREAM_FLUSH ? BROTLI_OPERATION_FLUSH
                                                               : BROTLI_OPERATION_PROCESS;
    size_t avail_in = n, avail_out = cap;
    const uint8_t *next_in = in;
    uint8_t *next_out = (uint8_t *)out;
    if (!BrotliEncoderCompressStream(z->br, bop, &avail_in, &next_in, &avail_out, &next_out, NULL))
        return -1;
    *used = n - avail_in;
    if (op == COMPRESS_STREAM_END)
        z->done = BrotliEncoderIsFinished(z->br);
    z->pending = op != COMPRESS_STREAM_MORE &&
                 (avail_in > 0 || BrotliEncoderHasMoreOutput(z->br) || (op == COMPRESS_STREAM_END && !z->done));
    return (ssize_t)(cap - avail_out);
}

static ssize_t compress_stream__zstd(compress_stream_t *z, const void *in, size_t n, size_t *used,
                                     char *out, size_t cap, compress_stream_op_t op)
{
    ZSTD_EndDirective zop = op == COMPRESS_STREAM_END     ? ZSTD_e_end
                            : op == COMPRESS_STREAM_FLUSH ? ZSTD_e_flush
                                                          : ZSTD_e_continue;
    ZSTD_inBuffer ib = {in, n, 0};
    ZSTD_outBuffer ob = {out, cap, 0};
    size_t left = ZSTD_compressStream2(z->zstd, &ob, &ib, zop);
    if (ZSTD_isError(left))
        return -1;
    *used = ib.pos;
    /* With flush or end, 0 means the codec holds nothing more. */
    z->pending = op != COMPRESS_STREAM_MORE && (left != 0 || ib.pos < n);
    if (op == COMPRESS_STREAM_END && !z->pending)
        z->done = 1;
    return (ssize_t)ob.pos;
}

ssize_t compress_stream_run(compress_stream_t *z, const void *in, size_t n, size_t *used,
                            char *out, size_t cap, compress_stream_op_t op)
{
    *used = 0;
    if (z->done)
        return 0;
    return z->coding == CONF_CODING_BR ? compress_stream__br(z, in, n, used, out, cap, op)
                                       : compress_stream__zstd(z, in, n, used, out, cap, op);
}

int compress_stream_pending(const compress_stream_t *z)
{
    return z->pending;
}

int compress_stream_done(const compress_stream_t *z)
{
    return z->done;
}

void compress_stream_free(compress_stream_t *z)
{
    if (z == NULL)
        return;
    if (z->br != NULL)
        BrotliEncoderDestroyInstance(z->br);
    if (z->zstd != NULL)
        ZSTD_freeCCtx(z->zstd);
    free(z);
}
