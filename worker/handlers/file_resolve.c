/*
 * file_resolve: see file_resolve.h.
 */
#include "file_resolve.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "http_date.h"
#include "log.h"
#include "mime.h"
#include "compress.h"
#include "compress_cache.h"
#include "conf_compress.h"

/* openat2(RESOLVE_BENEATH): the kernel refuses any way out of dirfd, a
 * symlink that points outside included; path_normalize() has already
 * refused the spellings, this is the second lock on the same door.
 * O_NONBLOCK: opening a FIFO in the root must not wait for a writer (it
 * would stall the whole worker); it changes nothing for regular files. */
static int file_resolve__openat2(int dirfd, const char *rel)
{
    struct open_how how;
    memset(&how, 0, sizeof(how));
    how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    return (int)syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
}

void file_resolve_init(file_resolve_t *fr, int root_fd, const conf_t *conf)
{
    memset(fr, 0, sizeof(*fr));
    fr->root_fd = root_fd;
    fr->conf = conf;
    if (realpath(conf->root, fr->root_real) == NULL)
        fr->root_real[0] = '\0';
    /* Probe once: a seccomp filter may answer EPERM rather than ENOSYS.
     * DROVER_NO_OPENAT2 forces the fallback, so the tests can check it on a
     * kernel that has openat2. */
    int probe = getenv("DROVER_NO_OPENAT2") ? (errno = ENOSYS, -1) : file_resolve__openat2(root_fd, ".");
    if (probe >= 0) {
        close(probe);
    } else if (errno == ENOSYS || errno == EPERM) {
        log_warn("openat2() is not available (%s): files are checked against the root "
                 "after opening instead", strerror(errno));
        fr->no_openat2 = 1;
    }
}

int file_resolve_openat(file_resolve_t *fr, int dirfd, const char *rel)
{
    if (!fr->no_openat2) {
        int fd = file_resolve__openat2(dirfd, rel);
        if (fd >= 0 || errno != ENOSYS)
            return fd;
        fr->no_openat2 = 1;
    }
    /* Without openat2 (kernels before 5.6, some seccomp filters): open,
     * then ask the kernel where the file really is, and refuse it unless
     * it lies under the root, so a symlink cannot lead out. */
    int fd = openat(dirfd, rel, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0 || fr->root_real[0] == '\0')
        return fd;
    char link[64], real[PATH_MAX];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, real, sizeof(real) - 1);
    size_t rl = strlen(fr->root_real);
    if (n < 0 || (size_t)n < rl || memcmp(real, fr->root_real, rl) != 0 ||
        ((size_t)n > rl && real[rl] != '/' && rl > 1)) {
        close(fd);
        errno = EXDEV; /* as RESOLVE_BENEATH says it */
        return -1;
    }
    return fd;
}

/* The file name's extension decides its Content-Type (mime_types first)
 * and its Cache-Control (cache_control, else its default). */
static const char *file_resolve__type(const file_resolve_t *fr, str_t ext)
{
    const char *t = ext.len > 0 ? conf_map_get(&fr->conf->mime_types, ext.p, ext.len) : NULL;
    if (t == NULL)
        t = mime_type_of_extension(ext);
    return t != NULL ? t : MIME_DEFAULT;
}

static const char *file_resolve__cache_control(const file_resolve_t *fr, str_t ext)
{
    const conf_map_t *m = &fr->conf->cache_control;
    if (m->n == 0)
        return NULL;
    const char *v = ext.len > 0 ? conf_map_get(m, ext.p, ext.len) : NULL;
    return v != NULL ? v : conf_map_get(m, "default", 7);
}

/* Fills validators, header lines and (small files) the bytes. fd is taken.
 * coding: what this copy is encoded with (a variant), or identity. */
static int file_resolve__load(const file_resolve_t *fr, file_cache_entry_t *e, int fd,
                              const struct stat *st, const char *type, http_coding_t coding,
                              int vary, const char *cache_control)
{
    e->kind = FC_FILE;
    e->st = *st;
    e->type = type;
    e->fd = -1;
    e->vary = vary;
    /* Strong, from size and mtime; a variant's tag is marked with its
     * coding, so it never equals the identity's even when the two files
     * share a size and a second (each is a different representation). */
    const char *cname = http_coding_name(coding);
    e->etag_len = (size_t)snprintf(e->etag, sizeof(e->etag), "\"%s%llx-%llx%s%s\"",
                                   fr->etag_tag, (unsigned long long)st->st_mtime,
                                   (unsigned long long)st->st_size, cname ? "-" : "",
                                   cname ? cname : "");
    http_date_format(st->st_mtime, e->last_modified);

    char h[1024];
    int n = snprintf(h, sizeof(h), "Content-Type: %s\r\nContent-Length: %lld\r\n", type,
                     (long long)st->st_size);
    e->meta_off = (size_t)n;
    n += snprintf(h + n, sizeof(h) - (size_t)n, "Last-Modified: %s\r\nETag: %s\r\nAccept-Ranges: bytes\r\n",
                  e->last_modified, e->etag);
    e->ce_off = (size_t)n;
    if (cname != NULL)
        n += snprintf(h + n, sizeof(h) - (size_t)n, "Content-Encoding: %s\r\n", cname);
    e->ce_len = (size_t)n - e->ce_off;
    n += snprintf(h + n, sizeof(h) - (size_t)n, "%s%s%s", vary ? "Vary: Accept-Encoding\r\n" : "",
                  cache_control ? "Cache-Control: " : "", cache_control ? cache_control : "");
    if (cache_control != NULL)
        n += snprintf(h + n, sizeof(h) - (size_t)n, "\r\n");
    if (n < 0 || (size_t)n >= sizeof(h)) {
        /* conf bounds the type and Cache-Control values well below this */
        log_error("header lines of a file too long");
        goto fail;
    }
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

/* A variant's entry (a sibling file or the compression cache's) for the
 * open vfd: NULL when out of memory or it could not be loaded (vfd closed
 * either way). */
static file_cache_entry_t *file_resolve__variant(file_resolve_t *fr, int vfd,
                                                 const struct stat *vst, const char *type,
                                                 http_coding_t coding, const char *cache_control)
{
    file_cache_entry_t *v = calloc(1, sizeof(*v) + 1);
    if (v == NULL) {
        close(vfd);
        return NULL;
    }
    v->refs = 1;
    list_init(&v->lru);
    list_init(&v->shared_lru);
    if (file_resolve__load(fr, v, vfd, vst, type, coding, 1, cache_control) < 0) {
        file_resolve_free(v);
        return NULL;
    }
    return v;
}

/* file.gz, file.br beside the file whose root-relative name is in rel (a
 * buffer with room for 4 more bytes): loaded into e->variant[]. */
static void file_resolve__variants(file_resolve_t *fr, file_cache_entry_t *e, char *rel,
                                   const char *type, const char *cache_control)
{
    static const struct {
        http_coding_t coding;
        const char *suffix;
    } kinds[] = { { HTTP_CODING_GZIP, ".gz" }, { HTTP_CODING_BR, ".br" },
                  { HTTP_CODING_ZSTD, ".zst" } };
    size_t rl = strlen(rel);
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        memcpy(rel + rl, kinds[i].suffix, strlen(kinds[i].suffix) + 1);
        int vfd = file_resolve_openat(fr, fr->root_fd, rel);
        rel[rl] = '\0';
        struct stat vst;
        if (vfd < 0)
            continue;
        if (fstat(vfd, &vst) < 0 || !S_ISREG(vst.st_mode)) {
            close(vfd);
            continue;
        }
        file_cache_entry_t *v = file_resolve__variant(fr, vfd, &vst, type, kinds[i].coding,
                                                      cache_control);
        if (v == NULL)
            continue;
        e->variant[kinds[i].coding] = v;
        e->codings |= HTTP_CODING_MASK(kinds[i].coding);
    }
}

/* The server's order of codings for e: compress's encodings, then the
 * siblings' usual order (br, zstd, gzip) for those it does not name. */
static void file_resolve__pref(const file_resolve_t *fr, file_cache_entry_t *e)
{
    static const int usual[] = { HTTP_CODING_BR, HTTP_CODING_ZSTD, HTTP_CODING_GZIP };
    const conf_compress_t *z = &fr->conf->compress;
    e->npref = 0;
    for (int i = 0; z->on && i < z->num_encodings; i++)
        e->pref[e->npref++] = z->encodings[i];
    for (size_t i = 0; i < 3; i++) {
        int have = 0;
        for (unsigned j = 0; j < e->npref; j++)
            have |= e->pref[j] == usual[i];
        if (!have)
            e->pref[e->npref++] = usual[i];
    }
}

/* The variants from the compression cache (compress:), for the codings
 * that have no sibling: loaded like siblings. 1 when the file is
 * compressible at all (then every answer for it varies by Accept-Encoding,
 * identity included, even before its variants are ready). */
static int file_resolve__compressed(file_resolve_t *fr, file_cache_entry_t *e, int fd,
                                    const struct stat *st, const char *type,
                                    const char *cache_control)
{
    const conf_compress_t *z = &fr->conf->compress;
    file_resolve__pref(fr, e);
    if (!z->on || fr->cc == NULL || st->st_size < (off_t)z->min_size || st->st_size == 0 ||
        !conf_compress_type_ok(z, type))
        return 0;
    for (int i = 0; i < z->num_encodings; i++) {
        int coding = z->encodings[i];
        if (e->codings & HTTP_CODING_MASK(coding))
            continue; /* a sibling (.gz, .br, .zst) wins over the cache */
        int level = compress_level_for(coding, z->level[coding], (size_t)st->st_size);
        struct stat vst;
        int vfd = compress_cache_get(fr->cc, fd, st, coding, level, &vst);
        if (vfd < 0)
            continue;
        /* Validators from the file's identity and the coding: the same in
         * every worker and after a restart, never equal to identity's. */
        vst.st_mtim = st->st_mtim;
        file_cache_entry_t *v = file_resolve__variant(fr, vfd, &vst, type, (http_coding_t)coding,
                                                      cache_control);
        if (v == NULL)
            continue;
        v->from_cache = 1;
        e->variant[coding] = v;
        e->codings |= HTTP_CODING_MASK(coding);
    }
    return 1;
}

file_cache_entry_t *file_resolve_build(file_resolve_t *fr, const char *path, size_t len, time_t now)
{
    /* As an entry no cache holds yet: off every list, one reference (the
     * caller's). */
    file_cache_entry_t *e = calloc(1, sizeof(*e) + len + 1);
    if (e == NULL)
        return NULL;
    memcpy(e->path, path, len);
    e->path_len = len;
    list_init(&e->lru);
    list_init(&e->shared_lru);
    e->fd = -1;
    e->built = now;
    e->refs = 1;

    char rel[4096 + 512];
    if (len + 300 > sizeof(rel)) {
        e->kind = FC_NOTFOUND;
        return e;
    }
    snprintf(rel, sizeof(rel), "%s", len > 1 ? path + 1 : ".");
    int fd = file_resolve_openat(fr, fr->root_fd, rel);
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
            e->err = errno;
            log_error("openat2(\"%s\"): %s", path, strerror(e->err));
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
        for (size_t i = 0; i < fr->conf->num_index; i++) {
            int f = file_resolve_openat(fr, dirfd, fr->conf->index[i]);
            if (f < 0)
                continue;
            if (fstat(f, &st) == 0 && S_ISREG(st.st_mode)) {
                fd = f;
                type_name = fr->conf->index[i];
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
            e->kind = fr->conf->autoindex ? FC_LISTING : FC_FORBIDDEN;
            return e;
        }
    } else if (!S_ISREG(st.st_mode)) {
        close(fd);
        e->kind = FC_FORBIDDEN;
        return e;
    }

    str_t ext = mime_extension(type_name, type_len);
    const char *type = file_resolve__type(fr, ext);
    const char *cache_control = file_resolve__cache_control(fr, ext);
    if (fr->conf->gzip_static)
        file_resolve__variants(fr, e, rel, type, cache_control);
    int compressible = file_resolve__compressed(fr, e, fd, &st, type, cache_control);
    file_resolve__load(fr, e, fd, &st, type, HTTP_CODING_IDENTITY, e->codings != 0 || compressible,
                       cache_control);
    return e;
}

void file_resolve_free(file_cache_entry_t *e)
{
    if (e == NULL)
        return;
    if (e->map != NULL)
        munmap((void *)(uintptr_t)e->map, (size_t)e->st.st_size);
    if (e->fd >= 0)
        close(e->fd);
    free(e->body);
    free(e->headers);
    for (int i = 0; i < HTTP_CODING_COUNT; i++)
        file_resolve_free(e->variant[i]);
    free(e);
}
