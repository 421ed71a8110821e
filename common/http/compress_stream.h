/*
 * compress_stream: a body compressed as it passes, for responses whose
 * length is not known before they end (a proxied response, a generated
 * page written in pieces).
 *
 * br (libbrotli's BrotliEncoderCompressStream) and zstd (ZSTD_compressStream2)
 * stream; gzip does not: libdeflate, which drover uses for gzip, compresses
 * whole buffers only, so a caller that wants gzip collects a body up to
 * COMPRESS_STREAM_GZIP_MAX and hands it to compress_buffer (compress.h).
 * (zlib would stream gzip, at a third of libdeflate's speed and a library
 * more; a streamed response that only gzip suits is sent identity.)
 *
 * Levels: on the fly, every response pays for its compression, unlike a
 * cached file's variant made once, so a configured level is capped
 * (compress_stream_level): brotli 5 and zstd 6 compress text at 50-100
 * MB/s of one core, brotli 11 or zstd 19 at ~1 MB/s would stall the event
 * loop; gzip at 6 (libdeflate), so a whole COMPRESS_STREAM_GZIP_MAX body
 * takes ~10 ms.
 */
#ifndef DROVER_COMPRESS_STREAM_H
#define DROVER_COMPRESS_STREAM_H

#include <stddef.h>
#include <sys/types.h>

/* The largest body collected whole for gzip. */
#define COMPRESS_STREAM_GZIP_MAX ((size_t)1 << 20)

typedef struct compress_stream_s compress_stream_t;

/* How compress_stream_run leaves the output after this input. */
typedef enum {
    COMPRESS_STREAM_MORE = 0,  /* more input follows: emit when the codec likes */
    COMPRESS_STREAM_FLUSH = 1, /* no more input for now: what was given decodes at once */
    COMPRESS_STREAM_END = 2,   /* the body ends here */
} compress_stream_op_t;

/* The level used on the fly for a configured one. */
int compress_stream_level(int coding, int level);

/* A stream for coding (CONF_CODING_BR or CONF_CODING_ZSTD) at level, or
 * NULL (out of memory, or a coding that does not stream: gzip). */
compress_stream_t *compress_stream_new(int coding, int level);

/* Takes what it can of in[0, n) (*used bytes) and writes compressed bytes
 * into out[0, cap): their number, or -1 on a codec error. With FLUSH or END
 * call again with the rest (n 0 once all is used) until compress_stream_pending
 * is 0 (and, with END, compress_stream_done is 1). */
ssize_t compress_stream_run(compress_stream_t *z, const void *in, size_t n, size_t *used,
                            char *out, size_t cap, compress_stream_op_t op);

/* Output is still held by the codec for the last FLUSH or END. */
int compress_stream_pending(const compress_stream_t *z);

/* END is through: every byte is out. */
int compress_stream_done(const compress_stream_t *z);

void compress_stream_free(compress_stream_t *z);

#endif
