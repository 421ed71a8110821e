/*
 * compress: the three codecs behind one call, for the compressed variants
 * of files (worker/compress_cache.c) and small generated bodies.
 *
 * gzip is libdeflate (a gzip member, the same bytes zlib would inflate,
 * faster than zlib at equal ratio), br is libbrotli, zstd is libzstd; the
 * coding numbers are http_coding_t's (CONF_CODING_*). Pure functions: no
 * state kept between calls, safe to call from several threads at once.
 */
#ifndef DROVER_COMPRESS_H
#define DROVER_COMPRESS_H

#include <stddef.h>

/* Compresses in[0, n) with coding at level into a malloc'd buffer (*out,
 * *outlen bytes; the caller frees). 0 ok, -1 (out of memory, a codec error,
 * or an unknown coding). */
int compress_buffer(int coding, int level, const void *in, size_t n, char **out, size_t *outlen);

/* The level actually used for a file of size bytes: brotli above 1 MiB is
 * capped at 9 (levels 10-11 run at ~1 MB/s), zstd above 8 MiB at 12 (16-19
 * at ~2 MB/s); see README "Compression". */
int compress_level_for(int coding, int level, size_t size);

#endif
