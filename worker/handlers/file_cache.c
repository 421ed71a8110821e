/*
 * file_cache: see file_cache.h. The table, its LRU lists, the shared budget
 * and the references; what an entry holds is built by file_resolve.c.
 */
#include "file_cache.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "file_resolve.h"

struct file_cache_s {
    file_resolve_t res;    /* the root, and how its paths are opened */
    size_t max_entries;
    size_t count;
    file_cache_budget_t *budget; /* shared with other caches, or NULL */
    size_t nbuckets;
    file_cache_entry_t **buckets;
    list_t lru;            /* first: most recently used */
    uint64_t hits, misses; /* lookups, for /metrics */
};

void file_cache_set_compress(file_cache_t *fc, struct compress_cache_s *cc)
{
    fc->res.cc = cc;
}

void file_cache_set_tag(file_cache_t *fc, unsigned tag)
{
    if (tag == 0)
        fc->res.etag_tag[0] = '\0';
    else
        snprintf(fc->res.etag_tag, sizeof(fc->res.etag_tag), "%x-", tag);
}

void file_cache_budget_init(file_cache_budget_t *b, size_t max)
{
    b->total = 0;
    b->max = max;
    list_init(&b->lru);
}

void file_cache_share(file_cache_t *fc, file_cache_budget_t *b)
{
    fc->budget = b;
    /* oldest last, as in fc's own list */
    list_t *q, *tmp;
    list_foreach_safe(q, tmp, &fc->lru) {
        file_cache_entry_t *e = list_entry(q, file_cache_entry_t, lru);
        list_insert_tail(&b->lru, &e->shared_lru);
        b->total++;
    }
}

/* e was used: first on its cache's list and on the shared one. */
static void file_cache__touch(file_cache_t *fc, file_cache_entry_t *e)
{
    list_remove(&e->lru);
    list_insert_head(&fc->lru, &e->lru);
    if (fc->budget != NULL) {
        list_remove(&e->shared_lru);
        list_insert_head(&fc->budget->lru, &e->shared_lru);
    }
}

size_t file_cache_max_fds(const file_cache_t *fc)
{
    return fc->max_entries;
}

int file_cache_root_fd(const file_cache_t *fc)
{
    return fc->res.root_fd;
}

int file_cache_openat(file_cache_t *fc, int dirfd, const char *rel)
{
    return file_resolve_openat(&fc->res, dirfd, rel);
}

file_cache_t *file_cache_new(int root_fd, const conf_t *conf, size_t max_entries)
{
    file_cache_t *fc = calloc(1, sizeof(*fc));
    if (fc == NULL)
        return NULL;
    file_resolve_init(&fc->res, root_fd, conf);
    list_init(&fc->lru);
    fc->max_entries = max_entries;
    fc->nbuckets = 64;
    while (fc->nbuckets < max_entries)
        fc->nbuckets *= 2;
    fc->buckets = calloc(fc->nbuckets, sizeof(*fc->buckets));
    if (fc->buckets == NULL) {
        free(fc);
        return NULL;
    }
    return fc;
}

static uint64_t file_cache__hash(const char *p, size_t len)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

const char *file_cache_map(file_cache_entry_t *e, int fd)
{
    if (fd < 0)
        return NULL;
    if (e->fd != fd) {
        /* the bytes sent are a variant's (gzip_static): map that one */
        file_cache_entry_t *v = NULL;
        for (int i = 0; i < HTTP_CODING_COUNT && v == NULL; i++)
            if (e->variant[i] != NULL && e->variant[i]->fd == fd)
                v = e->variant[i];
        if (v == NULL)
            return NULL;
        e = v;
    }
    if (e->map == NULL && !e->map_failed && e->fd >= 0 && e->st.st_size > 0) {
        void *m = mmap(NULL, (size_t)e->st.st_size, PROT_READ, MAP_SHARED, e->fd, 0);
        if (m == MAP_FAILED)
            e->map_failed = 1; /* ENOMEM, or a file system without mmap: pread */
        else
            e->map = m;
    }
    return e->map;
}
void file_cache_unref(file_cache_t *fc, file_cache_entry_t *e)
{
    (void)fc;
    if (--e->refs == 0 && !e->cached)
        file_resolve_free(e);
}

static void file_cache__remove(file_cache_t *fc, file_cache_entry_t *e)
{
    file_cache_entry_t **pp = &fc->buckets[file_cache__hash(e->path, e->path_len) & (fc->nbuckets - 1)];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    list_remove(&e->lru);
    fc->count--;
    if (fc->budget != NULL) {
        list_remove(&e->shared_lru);
        fc->budget->total--;
    }
    e->cached = 0;
    file_cache_unref(fc, e);
}

/* The least recently used cached entry, or NULL. */
static file_cache_entry_t *file_cache__lru_oldest(const file_cache_t *fc)
{
    list_t *l = list_last(&fc->lru);
    return l ? list_entry(l, file_cache_entry_t, lru) : NULL;
}
/* 1 when a build failed for want of descriptors, not for the file. */
static int file_cache__short_of_fds(const file_cache_entry_t *e)
{
    return e->kind == FC_ERROR && (e->err == EMFILE || e->err == ENFILE);
}

file_cache_entry_t *file_cache_get(file_cache_t *fc, const char *path, size_t len, time_t now)
{
    size_t b = file_cache__hash(path, len) & (fc->nbuckets - 1);
    file_cache_entry_t *stale = NULL;
    for (file_cache_entry_t *e = fc->buckets[b]; e != NULL; e = e->hnext) {
        if (e->path_len == len && memcmp(e->path, path, len) == 0) {
            if (now >= e->built && now < e->built + FILE_CACHE_VALID && e->kind != FC_ERROR) {
                file_cache__touch(fc, e);
                e->refs++;
                fc->hits++;
                return e;
            }
            stale = e; /* build it again; replaced only once that worked */
            break;
        }
    }

    fc->misses++;
    file_cache_entry_t *e = file_resolve_build(&fc->res, path, len, now);
    if (stale != NULL && (e == NULL || file_cache__short_of_fds(e))) {
        /* Out of descriptors (or memory): the previous answer beats a 503.
         * It is tried again a second later. */
        if (e != NULL)
            file_cache_unref(fc, e);
        stale->built = now;
        file_cache__touch(fc, stale);
        stale->refs++;
        return stale;
    }
    if (stale != NULL)
        file_cache__remove(fc, stale);
    if (e == NULL)
        return NULL;
    if (e->kind == FC_LISTING || e->kind == FC_ERROR)
        return e; /* not cached: the caller's reference is the only one */

    file_cache_entry_t *old;
    while (fc->count >= fc->max_entries && (old = file_cache__lru_oldest(fc)) != NULL)
        file_cache__remove(fc, old);
    /* Then within the budget shared with the other hosts' caches: the
     * least recently used entry of any of them makes room. */
    for (list_t *q; fc->budget != NULL && fc->budget->total >= fc->budget->max &&
                    (q = list_last(&fc->budget->lru)) != NULL;) {
        old = list_entry(q, file_cache_entry_t, shared_lru);
        file_cache__remove(old->owner, old);
    }
    e->cached = 1;
    e->refs++; /* the table's reference */
    e->hnext = fc->buckets[b];
    fc->buckets[b] = e;
    list_insert_head(&fc->lru, &e->lru);
    fc->count++;
    e->owner = fc;
    if (fc->budget != NULL) {
        list_insert_head(&fc->budget->lru, &e->shared_lru);
        fc->budget->total++;
    }
    return e;
}

void file_cache_stats(const file_cache_t *fc, uint64_t *hits, uint64_t *misses)
{
    *hits = fc->hits;
    *misses = fc->misses;
}

void file_cache_free(file_cache_t *fc)
{
    if (fc == NULL)
        return;
    file_cache_entry_t *old;
    while ((old = file_cache__lru_oldest(fc)) != NULL)
        file_cache__remove(fc, old);
    free(fc->buckets);
    free(fc);
}
