/*
 * file_resolve: what a request path resolves to on disk, built into one
 * file_cache entry (file_cache.h), for file_cache.c, which keeps them.
 *
 * A build opens the path beneath the document root (openat2 with
 * RESOLVE_BENEATH, or an open checked against the root's real path where
 * openat2 is missing), tries the index files of a directory, and decides
 * the kind of answer. For a regular file it fills everything a 200 says,
 * once: the validators, the prebuilt header lines (Content-Type from
 * mime_types then the built-in table, Cache-Control from cache_control),
 * the bytes of a small file or the descriptor of a large one, and the
 * variants: the .gz, .br and .zst beside it (gzip_static) and those of the
 * compression cache (compress:) for the codings without one.
 *
 * Between builds this module keeps only what it learnt about the root:
 * whether openat2 works there, and the root's real path.
 */
#ifndef DROVER_FILE_RESOLVE_H
#define DROVER_FILE_RESOLVE_H

#include <limits.h>
#include <stddef.h>
#include <time.h>

#include "conf.h"
#include "file_cache.h"

struct compress_cache_s;

typedef struct {
    int root_fd;                 /* the document root (not owned) */
    const conf_t *conf;          /* index, gzip_static, autoindex, mime_types,
                                  * cache_control, compress; outlives this */
    /* Whether openat2 works here, and the real path of the root for the
     * check that replaces it where it does not. */
    int no_openat2;
    char root_real[PATH_MAX];
    char etag_tag[12];           /* "" or "<hex>-": starts every ETag
                                  * (file_cache_set_tag) */
    struct compress_cache_s *cc; /* the worker's compressed variants, or NULL */
} file_resolve_t;

/* Fills fr for the root root_fd, etag_tag and cc empty, and probes
 * openat2 once (a warning in the error log when it must do without). */
void file_resolve_init(file_resolve_t *fr, int root_fd, const conf_t *conf);

/* openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS), O_RDONLY | O_NONBLOCK
 * (a FIFO must not block the worker) of rel under dirfd, a directory at or
 * under fr's root: -1 with errno (EXDEV for a path that leads outside
 * dirfd, or outside the root where openat2 is missing). */
int file_resolve_openat(file_resolve_t *fr, int dirfd, const char *rel);

/* The entry for a normalised path (NUL-terminated, starting with "/") as
 * the disk has it at now: built at now, one reference (the caller's), in
 * no table and on no list. Never NULL for a missing file (an FC_NOTFOUND
 * entry) nor for a failure to open one (FC_ERROR with err); NULL only
 * when out of memory. */
file_cache_entry_t *file_resolve_build(file_resolve_t *fr, const char *path, size_t len, time_t now);

/* Frees e and all it holds: its descriptor, its mapping (file_cache_map),
 * its bytes, its header lines and its variants. NULL is ignored. */
void file_resolve_free(file_cache_entry_t *e);

#endif
