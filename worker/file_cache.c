/*
 * file_cache: see file_cache.h.
 */
#include "file_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "http_date.h"
#include "log.h"
#include "mime.h"

struct file_cache_s {
    int root_fd;
    const char *const *index;
    size_t num_index;
    int gzip_static;
    int autoindex;
    size_t max_entries;
    size_t count;
    size_t nbuckets;
    file_cache_entry_t **buckets;
    file_cache_entry_t *lru_head, *lru_tail; /* head: most recent */
};

/* openat2(RESOLVE_BENEATH): the kernel refuses any way out of dirfd, a
 * symlink that points outside included; path_normalize() has already
 * refused the spellings, this is the second lock on the same door. */
int file_cache_openat(int dirfd, const char *rel)
{
    static int no_openat2;
    if (!no_openat2) {
        struct open_how how;
        memset(&how, 0, sizeof(how));
        how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY;
        how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
        int fd = (int)syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
        if (fd >= 0 || errno != ENOSYS)
            return fd;
        no_openat2 = 1;
    }
    return openat(dirfd, rel, O_RDONLY | O_CLOEXEC | O_NOCTTY);
}

file_cache_t *file_cache_new(int root_fd, const char *const *index, size_t num_index,
                             int gzip_static, int autoindex, size_t max_entries)
{
    file_cache_t *fc = calloc(1, sizeof(*fc));
    if (fc == NULL)
        return NULL;
    fc->root_fd = root_fd;
    fc->index = index;
    fc->num_index = num_index;
    fc->gzip_static = gzip_static;
    fc->autoindex = autoindex;
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

static void file_cache__destroy(file_cache_entry_t *e)
{
    if (e == NULL)
        return;
    if (e->fd >= 0)
        close(e->fd);
    free(e->body);
    free(e->headers);
    file_cache__destroy(e->gz);
    free(e);
}

void file_cache_unref(file_cache_t *fc, file_cache_entry_t *e)
{
    (void)fc;
    if (--e->refs == 0 && !e->cached)
        file_cache__destroy(e);
}

static void file_cache__remove(file_cache_t *fc, file_cache_entry_t *e)
{
    file_cache_entry_t **pp = &fc->buckets[file_cache__hash(e->path, e->path_len) & (fc->nbuckets - 1)];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    if (e->lprev)
        e->lprev->lnext = e->lnext;
    else
        fc->lru_head = e->lnext;
    if (e->lnext)
        e->lnext->lprev = e->lprev;
    else
        fc->lru_tail = e->lprev;
    fc->count--;
    e->cached = 0;
    file_cache_unref(fc, e);
}

static void file_cache__lru_front(file_cache_t *fc, file_cache_entry_t *e)
{
    if (fc->lru_head == e)
        return;
    if (e->lprev)
        e->lprev->lnext = e->lnext;
    if (e->lnext)
        e->lnext->lprev = e->lprev;
    else if (fc->lru_tail == e)
        fc->lru_tail = e->lprev;
    e->lprev = NULL;
    e->lnext = fc->lru_head;
    if (fc->lru_head)
        fc->lru_head->lprev = e;
    fc->lru_head = e;
    if (fc->lru_tail == NULL)
        fc->lru_tail = e;
}

/* Fills validators, header lines and (small files) the bytes. fd is taken. */
static int file_cache__load(file_cache_entry_t *e, int fd, const struct stat *st, const char *type,
                            int gz, int vary)
{
    e->kind = FC_FILE;
    e->st = *st;
    e->type = type;
    e->fd = -1;
    e->vary = vary;
    e->etag_len = (size_t)snprintf(e->etag, sizeof(e->etag), "\"%llx-%llx\"",
                                   (unsigned long long)st->st_mtime,
                                   (unsigned long long)st->st_size);
    http_date_format(st->st_mtime, e->last_modified);

    char h[512];
    int n = snprintf(h, sizeof(h),
                     "Content-Type: %s\r\nContent-Length: %lld\r\nLast-Modified: %s\r\n"
                     "ETag: %s\r\nAccept-Ranges: bytes\r\n%s%s",
                     type, (long long)st->st_size, e->last_modified, e->etag,
                     gz ? "Content-Encoding: gzip\r\n" : "", vary ? "Vary: Accept-Encoding\r\n" : "");
    e->headers = malloc((size_t)n + 1);
    if (e->headers == NULL)
        goto fail;
    memcpy(e->headers, h, (size_t)n + 1);
    e->headers_len = (size_t)n;

    if (st->st_size <= FILE_CACHE_SMALL) {
        e->body = malloc((size_t)st->st_size + 1);
        if (e->body == NULL)
            goto fail;
        ssize_t r = st->st_size ? pread(fd, e->body, (size_t)st->st_size, 0) : 0;
        if (r != st->st_size) {
            log_error("pread(): %s", r < 0 ? strerror(errno) : "short read: file changed");
            goto fail;
        }
        close(fd);
    } else {
        e->fd = fd;
    }
    return 0;

fail:
    close(fd);
    free(e->body);
    free(e->headers);
    e->body = e->headers = NULL;
    e->kind = FC_ERROR;
    return -1;
}

static file_cache_entry_t *file_cache__build(file_cache_t *fc, const char *path, size_t len,
                                             time_t now)
{
    file_cache_entry_t *e = calloc(1, sizeof(*e) + len + 1);
    if (e == NULL)
        return NULL;
    memcpy(e->path, path, len);
    e->path_len = len;
    e->fd = -1;
    e->built = now;
    e->refs = 1;

    char rel[4096 + 512];
    if (len + 300 > sizeof(rel)) {
        e->kind = FC_NOTFOUND;
        return e;
    }
    snprintf(rel, sizeof(rel), "%s", len > 1 ? path + 1 : ".");
    int fd = file_cache_openat(fc->root_fd, rel);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        switch (errno) {
        case ENOENT:
        case ENOTDIR:
        case ENAMETOOLONG:
        case EXDEV: /* RESOLVE_BENEATH: it leads outside the root */
            e->kind = FC_NOTFOUND;
            break;
        case EACCES:
        case EPERM:
        case ELOOP:
            e->kind = FC_FORBIDDEN;
            break;
        default:
            log_error("openat2(\"%s\"): %s", path, strerror(errno));
            e->kind = FC_ERROR;
        }
        if (fd >= 0)
            close(fd);
        return e;
    }

    const char *type_name = path;
    size_t type_len = len;
    if (S_ISDIR(st.st_mode)) {
        if (path[len - 1] != '/') {
            close(fd);
            e->kind = FC_REDIRECT;
            return e;
        }
        int dirfd = fd;
        fd = -1;
        for (size_t i = 0; i < fc->num_index; i++) {
            int f = file_cache_openat(dirfd, fc->index[i]);
            if (f < 0)
                continue;
            if (fstat(f, &st) == 0 && S_ISREG(st.st_mode)) {
                fd = f;
                type_name = fc->index[i];
                type_len = strlen(type_name);
                size_t rl = strlen(rel);
                snprintf(rel + rl, sizeof(rel) - rl, "%s%s", rl == 1 && rel[0] == '.' ? "/" : "",
                         type_name);
                break;
            }
            close(f);
        }
        close(dirfd);
        if (fd < 0) {
            e->kind = fc->autoindex ? FC_LISTING : FC_FORBIDDEN;
            return e;
        }
    } else if (!S_ISREG(st.st_mode)) {
        close(fd);
        e->kind = FC_FORBIDDEN;
        return e;
    }

    const char *type = mime_type(type_name, type_len);
    int vary = 0;
    if (fc->gzip_static) {
        /* file.gz beside file: served to clients that accept gzip; its
         * existence alone makes the response vary by Accept-Encoding. */
        size_t rl = strlen(rel);
        memcpy(rel + rl, ".gz", 4);
        int gfd = file_cache_openat(fc->root_fd, rel);
        rel[rl] = '\0';
        struct stat gst;
        if (gfd >= 0 && fstat(gfd, &gst) == 0 && S_ISREG(gst.st_mode)) {
            e->gz = calloc(1, sizeof(*e->gz) + 1);
            if (e->gz != NULL) {
                e->gz->refs = 1;
                if (file_cache__load(e->gz, gfd, &gst, type, 1, 1) == 0)
                    vary = 1;
                else {
                    file_cache__destroy(e->gz);
                    e->gz = NULL;
                }
            } else {
                close(gfd);
            }
        } else if (gfd >= 0) {
            close(gfd);
        }
    }
    file_cache__load(e, fd, &st, type, 0, vary);
    return e;
}

file_cache_entry_t *file_cache_get(file_cache_t *fc, const char *path, size_t len, time_t now)
{
    size_t b = file_cache__hash(path, len) & (fc->nbuckets - 1);
    for (file_cache_entry_t *e = fc->buckets[b]; e != NULL; e = e->hnext) {
        if (e->path_len == len && memcmp(e->path, path, len) == 0) {
            if (now >= e->built && now < e->built + FILE_CACHE_VALID && e->kind != FC_ERROR) {
                file_cache__lru_front(fc, e);
                e->refs++;
                return e;
            }
            file_cache__remove(fc, e); /* stale: build it again */
            break;
        }
    }

    file_cache_entry_t *e = file_cache__build(fc, path, len, now);
    if (e == NULL)
        return NULL;
    if (e->kind == FC_LISTING || e->kind == FC_ERROR)
        return e; /* not cached: the caller's reference is the only one */

    while (fc->count >= fc->max_entries && fc->lru_tail != NULL)
        file_cache__remove(fc, fc->lru_tail);
    e->cached = 1;
    e->refs++; /* the table's reference */
    e->hnext = fc->buckets[b];
    fc->buckets[b] = e;
    e->lprev = NULL;
    e->lnext = fc->lru_head;
    if (fc->lru_head)
        fc->lru_head->lprev = e;
    fc->lru_head = e;
    if (fc->lru_tail == NULL)
        fc->lru_tail = e;
    fc->count++;
    return e;
}

void file_cache_free(file_cache_t *fc)
{
    if (fc == NULL)
        return;
    while (fc->lru_tail != NULL)
        file_cache__remove(fc, fc->lru_tail);
    free(fc->buckets);
    free(fc);
}
