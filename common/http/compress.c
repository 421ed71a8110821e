/*
 * compress: see compress.h.
 */
#include "compress.h"

#include <stdlib.h>

#include <brotli/encode.h>
#include <libdeflate.h>
#include <zstd.h>

#include "conf.h"

/* Above this, brotli's levels 10 and 11 (the slow "quality" search) would
 * take minutes of a thread: level 9 is ~10x faster and a few % larger. */
#define COMPRESS_BR_LARGE ((size_t)1 << 20)

/* Above this, zstd's 16-19 (the "btultra" strategies) cost ~0.6 s of a thread
 * per MB of text: on 11 MB of Python sources 19 took 6.4 s and 12 took
 * 0.68 s for 14% more bytes, still 17% fewer than gzip -9. */
#define COMPRESS_ZSTD_LARGE ((size_t)8 << 20)

int compress_level_for(int coding, int level, size_t size)
{
    if (coding == CONF_CODING_BR && size > COMPRESS_BR_LARGE && level > 9)
        return 9;
    if (coding == CONF_CODING_ZSTD && size > COMPRESS_ZSTD_LARGE && level > 12)
        return 12;
    return level;
}

static int compress__gzip(int level, const void *in, size_t n, char **out, size_t *outlen)
{
    struct libdeflate_compressor *c = libdeflate_alloc_compressor(level);
    if (c == NULL)
        return -1;
    size_t cap = libdeflate_gzip_compress_bound(c, n);
    char *buf = malloc(cap);
    size_t got = buf != NULL ? libdeflate_gzip_compress(c, in, n, buf, cap) : 0;
    libdeflate_free_compressor(c);
    if (got == 0) {
        free(buf);
        return -1;
    }
    *out = buf;
    *outlen = got;
    return 0;
}

static int compress__br(int level, const void *in, size_t n, char **out, size_t *outlen)
{
    size_t cap = BrotliEncoderMaxCompressedSize(n);
    if (cap == 0)
        cap = n + 1024;
    char *buf = malloc(cap);
    if (buf == NULL)
        return -1;
    size_t got = cap;
    int lgwin = n > ((size_t)1 << 22) ? 24 : BROTLI_DEFAULT_WINDOW;
    if (!BrotliEncoderCompress(level, lgwin, BROTLI_MODE_TEXT, n, in, &got, (uint8_t *)buf)) {
        free(buf);
        return -1;
    }
    *out = buf;
    *outlen = got;
    return 0;
}

static int compress__zstd(int level, const void *in, size_t n, char **out, size_t *outlen)
{
    size_t cap = ZSTD_compressBound(n);
    char *buf = malloc(cap);
    if (buf == NULL)
        return -1;
    size_t got = ZSTD_compress(buf, cap, in, n, level);
    if (ZSTD_isError(got)) {
        free(buf);
        return -1;
    }
    *out = buf;
    *outlen = got;
    return 0;
}

int compress_buffer(int coding, int level, const void *in, size_t n, char **out, size_t *outlen)
{
    switch (coding) {
    case CONF_CODING_GZIP:
        return compress__gzip(level, in, n, out, outlen);
    case CONF_CODING_BR:
        return compress__br(level, in, n, out, outlen);
    case CONF_CODING_ZSTD:
        return compress__zstd(level, in, n, out, outlen);
    default:
        return -1;
    }
}
