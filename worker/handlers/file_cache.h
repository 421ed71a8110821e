/*
 * file_cache: what a request path resolves to, cached per worker.
 *
 * Resolving a path costs openat2 + fstat (+ the index file, + the .gz and
 * .br beside it) + a read + close; under keep-alive load that is most of a
 * worker's time. An entry keeps the result: the kind of answer, and for a
 * file its stat, validators, prebuilt header lines and, for a small file,
 * its bytes (else an open descriptor for sendfile).
 *
 * Everything a 200 response says about a file is decided once per build
 * (file_resolve.c), never per request: Content-Type (the config's mime_types, then
 * the built-in table), Cache-Control (the config's cache_control for the
 * extension, else its default), the precompressed variants and their
 * Content-Encoding, and Vary. The header lines are prebuilt in that order:
 *   Content-Type, Content-Length | Last-Modified, ETag, Accept-Ranges,
 *   [Content-Encoding], [Vary], [Cache-Control]
 * where the part after "|" (meta) is what 206 and 304 responses reuse.
 *
 * Freshness: an entry is used for at most FILE_CACHE_VALID seconds after it
 * was built, then built again from disk, so a file that is changed,
 * replaced or deleted is served fresh within a second; but when the
 * rebuild fails for want of descriptors (EMFILE, ENFILE), the old entry is
 * served on and retried a second later, rather than answering 503. Entries are
 * reference-counted: a connection still sending from an entry that was
 * replaced keeps it alive until the response is done.
 *
 * This file's functions keep the entries: the table, its LRU lists, the
 * budget several caches share, freshness and references. An entry is
 * built from disk, and freed, by file_resolve.c, which only file_cache.c
 * calls.
 */
#ifndef DROVER_FILE_CACHE_H
#define DROVER_FILE_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "conf.h"
#include "http_accept.h"
#include "list.h"

#define FILE_CACHE_VALID 1          /* seconds */
#define FILE_CACHE_SMALL 12288      /* bodies up to this are kept in memory */

typedef enum {
    FC_FILE = 0,
    FC_REDIRECT,   /* a directory asked for without its trailing slash */
    FC_FORBIDDEN,  /* a directory without index, not a regular file */
    FC_NOTFOUND,
    FC_LISTING,    /* a directory without index, autoindex on: not cached */
    FC_ERROR,
} file_cache_kind_t;

typedef struct file_cache_entry_s file_cache_entry_t;

struct file_cache_entry_s {
    file_cache_entry_t *hnext;            /* hash chain */
    list_t lru;                           /* on the cache's LRU list while cached */
    list_t shared_lru;                    /* on the shared budget's, when shared */
    struct file_cache_s *owner;           /* the cache holding it */
    unsigned refs;                        /* the cache's own + connections' */
    unsigned cached : 1;                  /* still in the table */
    time_t built;                         /* wall second it was built */

    file_cache_kind_t kind;
    int err;                              /* FC_ERROR: the errno (EMFILE: 503) */
    int fd;                               /* FC_FILE without body: for sendfile */
    const char *map;                      /* fd's st_size bytes mapped, once
                                           * file_cache_map asked; NULL: not */
    unsigned map_failed : 1;              /* mmap said no: not asked again */
    struct stat st;
    const char *type;                     /* Content-Type */
    char etag[56];                        /* strong; a variant's ends in -gzip or -br */
    size_t etag_len;
    char last_modified[32];
    char *body;                           /* FC_FILE, small: the bytes */
    char *headers;                        /* every header line of a 200, see above */
    size_t headers_len;
    size_t meta_off;                      /* headers + meta_off: from Last-Modified on */
    /* The Content-Encoding line inside headers (ce_len 0: none), which a
     * 304 leaves out (RFC 9110 15.4.5: no representation metadata). */
    size_t ce_off, ce_len;
    /* The precompressed copies beside a file (gzip_static): variant[c] for
     * c in codings (HTTP_CODING_MASK bits); any of them makes every answer
     * for the file vary by Accept-Encoding. */
    file_cache_entry_t *variant[HTTP_CODING_COUNT];
    unsigned codings;
    int vary;
    int pref[HTTP_CODING_COUNT];          /* the server's order of codings */
    unsigned npref;
    unsigned from_cache : 1;              /* a variant from the compression cache */

    size_t path_len;
    char path[];                          /* the normalised request path (key) */
};

typedef struct file_cache_s file_cache_t;

/* max_entries bounds the table; root_fd is the document root. conf (index,
 * gzip_static, autoindex, mime_types, cache_control) must outlive the
 * cache. */
file_cache_t *file_cache_new(int root_fd, const conf_t *conf, size_t max_entries);
void file_cache_free(file_cache_t *fc);

/* Resolves a normalised path (NUL-terminated, starting with "/"). Returns a
 * referenced entry (release with file_cache_unref), or NULL when out of
 * memory. Never NULL for a missing file: that is an FC_NOTFOUND entry. */
file_cache_entry_t *file_cache_get(file_cache_t *fc, const char *path, size_t len, time_t now);

void file_cache_unref(file_cache_t *fc, file_cache_entry_t *e);

/* The file behind descriptor fd mapped read-only (all st_size bytes): e's
 * own, or one of its variants' (a response's reference is the file's entry
 * while its bytes may be the .gz variant's). Made on the first call and
 * kept while the entry lives; NULL when fd is neither, the file is empty,
 * or mmap failed.
 * For TLS, which must read a file to encrypt it: encrypting straight from
 * the page cache saves the pread() copy. A truncation of the file makes
 * reads past its new end raise SIGBUS: read it under map_guard. */
const char *file_cache_map(file_cache_entry_t *e, int fd);

/* file_resolve_openat for fc's root: openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_MAGICLINKS), O_RDONLY | O_NONBLOCK of rel under dirfd, a
 * directory at or under fc's root: -1 with errno (EXDEV for a path that
 * leads outside dirfd, or outside the root where openat2 is missing). */
int file_cache_openat(file_cache_t *fc, int dirfd, const char *rel);

/* Makes fc build compressed variants (compress:) through cc, the worker's
 * compression cache (worker/compress/compress_cache.h); NULL: none. */
struct compress_cache_s;
void file_cache_set_compress(file_cache_t *fc, struct compress_cache_s *cc);

/* Makes the ETags of fc's entries start with tag (in hex; 0: none, the
 * default): a virtual host's own, so two hosts never share a validator
 * even for files of the same size and second. */
void file_cache_set_tag(file_cache_t *fc, unsigned tag);

/* Entries shared out between several caches (the virtual hosts' of one
 * worker): at most max between them, the least recently used of all of
 * them giving way, so they hold the descriptors the worker set aside for
 * one cache. */
typedef struct {
    size_t total, max;
    list_t lru;             /* first: most recently used, of every cache */
} file_cache_budget_t;

void file_cache_budget_init(file_cache_budget_t *b, size_t max);

/* Makes fc's entries, those it holds included, count in b. */
void file_cache_share(file_cache_t *fc, file_cache_budget_t *b);

/* Descriptors the cache may hold at most in the usual case (one per entry:
 * a large file), for the worker's descriptor reserve. */
size_t file_cache_max_fds(const file_cache_t *fc);

/* The document root's descriptor (owned by the caller of file_cache_new). */
int file_cache_root_fd(const file_cache_t *fc);

/* Lookups so far: answered from the cache, and built from disk. */
void file_cache_stats(const file_cache_t *fc, uint64_t *hits, uint64_t *misses);

#endif
