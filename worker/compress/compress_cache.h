/*
 * compress_cache: the compressed variants of files, made once and kept in
 * a directory that every worker, and the next generation, shares.
 *
 * An entry is named after what it is a variant of, so a changed file can
 * never be answered with the old one's bytes:
 *     <dev>-<ino>-<size>-<mtime sec>.<nsec>-<coding><level>
 * (hex; "801-1c2f-4a0-65f0a1b2.1d2e3f00-br11"). Its content is the
 * compressed body, then a trailer (magic, the same identity, the body's
 * length and CRC-32), so a truncated, torn or foreign file is recognised:
 * it is deleted and made again, and the response goes identity meanwhile.
 * The body starts at offset 0, so an entry is sent with sendfile like any
 * file (Content-Length: the body's length).
 *
 * Making an entry: small files (compressed within about a millisecond)
 * right away on the loop; larger ones by the worker's compress_pool, while
 * the file goes out identity. The maker writes "<name>.tmp.<pid>.<n>" and
 * rename()s it into place, so a reader sees all of an entry or nothing.
 * Two workers asking for the same large variant: the first to create
 * "<name>.claim" (O_EXCL, its pid inside) compresses it; the others leave
 * it alone until the claim's owner is dead (its pid is gone) or the claim
 * is older than COMPRESS_CACHE_CLAIM_STALE, then take it over.
 *
 * Bounds: after each new entry the maker lists the directory, deletes the
 * entries of the same file (dev, ino) with another identity (it changed),
 * leftover temporary files, and then the least recently used entries
 * (by atime, which a lookup sets) until the total is under max_size.
 *
 * Faults (a directory that cannot be made or written, a full disk, a file
 * that changes while it is compressed, a corrupt entry) are logged once
 * per worker and kind, never per request; the answer is then identity.
 * Threads never call log_*(), which is not thread-safe: they leave the
 * message for the loop, which logs it on its next lookup.
 */
#ifndef DROVER_COMPRESS_CACHE_H
#define DROVER_COMPRESS_CACHE_H

#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "conf.h"

#define COMPRESS_CACHE_CLAIM_STALE 600 /* seconds */

typedef struct compress_cache_s compress_cache_t;

/* Counters for /metrics, since the worker started. */
typedef struct {
    uint64_t hits;          /* lookups that found a valid entry */
    uint64_t misses;        /* lookups that did not (then made or queued) */
    uint64_t made;          /* entries written by this worker */
    uint64_t bytes_in, bytes_out; /* of the entries made: saved = in - out */
    uint64_t cpu_ns;        /* compression CPU time */
    uint64_t size;          /* bytes in the directory at the last listing */
    uint64_t failed;        /* entries that could not be made */
} compress_cache_stats_t;

/* Opens (making it, mode 0700 owned by uid/gid when uid != -1) the cache
 * directory of conf->compress. NULL, having logged why, when it cannot:
 * the worker then compresses nothing. Call before dropping privileges. */
compress_cache_t *compress_cache_open(const conf_t *conf, uid_t uid, gid_t gid);

/*
 * The variant of the file open at fd (st: its fstat) in coding
 * (CONF_CODING_*) at level: a descriptor of the entry (the caller owns it)
 * and in *vst the entry's stat with st_size the body's length; or -1 when
 * there is none yet. Then it is made right away when small enough (and
 * returned), else queued for the pool (fd is dup()ed, not taken).
 */
int compress_cache_get(compress_cache_t *cc, int fd, const struct stat *st, int coding, int level,
                       struct stat *vst);

/* A copy of the counters. */
void compress_cache_stats(compress_cache_t *cc, compress_cache_stats_t *out);

/* Waits for nothing: queued jobs are dropped, running ones finish first.
 * Only for tests; a worker that exits leaves its threads to the kernel. */
void compress_cache_free(compress_cache_t *cc);

#endif
