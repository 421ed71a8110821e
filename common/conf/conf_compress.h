/*
 * conf_compress: the compress: key (README "Compression"), internal to
 * common/conf/conf*.c except for the helpers at the end, which the worker
 * uses to ask whether a type is compressible.
 *
 *   compress: off | on | {encodings: [zstd, br, gzip], types: [text/html, ...],
 *                         min_size: 256, level: {gzip: 9, br: 11, zstd: 19},
 *                         cache: {path: /var/cache/drover, max_size: 512m}}
 *
 * A mapping turns compression on and changes only what it names: a host's
 * or a location's compress starts as a copy of the level above it. cache is
 * top-level only, since every host shares one cache directory.
 */
#ifndef DROVER_CONF_COMPRESS_H
#define DROVER_CONF_COMPRESS_H

#include <stddef.h>

#include "conf.h"

/* The conf_key_t hooks of the compress row (node: a yaml_node_t *). */
int conf_compress_node(void *ctx, const void *row, void *value, char *base);
int conf_compress_copy(void *dst, const void *src);
void conf_compress_release(void *at, const char *name);

/* The defaults (off, [zstd, br, gzip], levels 9/11/19, min_size 256). */
void conf_compress_defaults(conf_compress_t *z);

/* Fills cache_path from pid_file's directory when it was not given: a
 * directory "drover-cache" beside it. 0, -1 ENOMEM. */
int conf_compress_finish(conf_t *c);

/* The default types, in the form of conf_compress_t.types. */
#define CONF_COMPRESS_TYPES " text/* application/javascript application/json application/xml " \
                            "image/svg+xml application/wasm "

/* 1 when the media type (Content-Type, parameters ignored) is one of z's
 * types: "text/" followed by a star covers every text subtype. */
int conf_compress_type_ok(const conf_compress_t *z, const char *type);

/* "gzip", "br", "zstd" for CONF_CODING_*; NULL otherwise. */
const char *conf_compress_coding_name(int coding);

/* Writes z as YAML after "compress: " (drover -T). */
void conf_compress_print(FILE *out, const conf_compress_t *z, int top);

#endif
