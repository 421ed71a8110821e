/*
 * compress_cache: see compress_cache.h.
 */
#include "compress_cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <libdeflate.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "compress.h"
#include "compress_pool.h"
#include "compress_sweep.h"
#include "conf_compress.h"
#include "log.h"

#define COMPRESS_CACHE_MAGIC "DRVZ0001"
#define COMPRESS_CACHE_VERIFY (64 * 1024) /* bodies up to this are CRC-checked on lookup */
#define COMPRESS_CACHE_INFLIGHT 64
#define COMPRESS_CACHE_NAME 128
#define COMPRESS_CACHE_RETRY 30           /* seconds before writing is tried again */
#define COMPRESS_CACHE_NO_GAIN 1u         /* trailer flag: compressing did not pay */

/* The last bytes of an entry. Fixed-width fields, native byte order: an
 * entry is only ever read on the machine that wrote it. */
typedef struct {
    char magic[8];
    uint64_t dev, ino, size;
    int64_t sec, nsec;
    uint32_t coding, level;
    uint64_t body_len;
    uint32_t crc, flags;
} compress_cache_trailer_t;
_Static_assert(sizeof(compress_cache_trailer_t) == 72, "trailer layout");

enum { CC_F_WRITE, CC_F_FULL, CC_F_CHANGED, CC_F_CORRUPT, CC_F_COUNT };

struct compress_cache_s {
    int dirfd;
    char path[PATH_MAX];
    size_t max_size;
    compress_pool_t *pool;
    pthread_mutex_t mu;           /* the fields below */
    compress_cache_stats_t st;
    unsigned logged, pending;     /* CC_F_* bits: logged once; to log on the loop */
    char msg[CC_F_COUNT][384];
    time_t broken_until;          /* writing failed (EACCES, ENOSPC): not before */
    unsigned seq;
    int sweep_queued;
    size_t ninflight;
    char inflight[COMPRESS_CACHE_INFLIGHT][COMPRESS_CACHE_NAME];
};

typedef struct {
    compress_cache_t *cc;
    int fd;                       /* -1: a sweep only */
    struct stat st;
    int coding, level;
    char name[COMPRESS_CACHE_NAME];
} compress_cache_job_t;

/* --- faults, logged once ------------------------------------------------ */

static void compress_cache__fault(compress_cache_t *cc, int kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void compress_cache__fault(compress_cache_t *cc, int kind, const char *fmt, ...)
{
    pthread_mutex_lock(&cc->mu);
    if (!(cc->logged & (1u << kind))) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(cc->msg[kind], sizeof(cc->msg[kind]), fmt, ap);
        va_end(ap);
        cc->logged |= 1u << kind;
        cc->pending |= 1u << kind;
    }
    if (kind == CC_F_WRITE || kind == CC_F_FULL)
        cc->broken_until = time(NULL) + COMPRESS_CACHE_RETRY;
    cc->st.failed++;
    pthread_mutex_unlock(&cc->mu);
}

/* On the loop thread only: log_*() is not thread-safe. */
static void compress_cache__drain(compress_cache_t *cc)
{
    if (__atomic_load_n(&cc->pending, __ATOMIC_RELAXED) == 0)
        return;
    pthread_mutex_lock(&cc->mu);
    for (int k = 0; k < CC_F_COUNT; k++)
        if (cc->pending & (1u << k))
            log_warn("compress cache %s: %s (logged once; those responses go uncompressed)",
                     cc->path, cc->msg[k]);
    cc->pending = 0;
    pthread_mutex_unlock(&cc->mu);
}

/* --- names and entries -------------------------------------------------- */

static void compress_cache__name(const struct stat *st, int coding, int level,
                                 char out[COMPRESS_CACHE_NAME])
{
    snprintf(out, COMPRESS_CACHE_NAME, "%llx-%llx-%llx-%llx.%lx-%s%d",
             (unsigned long long)st->st_dev, (unsigned long long)st->st_ino,
             (unsigned long long)st->st_size, (unsigned long long)st->st_mtim.tv_sec,
             (unsigned long)st->st_mtim.tv_nsec, conf_compress_coding_name(coding), level);
}

static void compress_cache__trailer(compress_cache_trailer_t *t, const struct stat *st, int coding,
                                    int level)
{
    memset(t, 0, sizeof(*t));
    memcpy(t->magic, COMPRESS_CACHE_MAGIC, 8);
    t->dev = (uint64_t)st->st_dev;
    t->ino = (uint64_t)st->st_ino;
    t->size = (uint64_t)st->st_size;
    t->sec = (int64_t)st->st_mtim.tv_sec;
    t->nsec = (int64_t)st->st_mtim.tv_nsec;
    t->coding = (uint32_t)coding;
    t->level = (uint32_t)level;
}

/* 1 when two stats are the same version of the same file. */
static int compress_cache__same(const struct stat *a, const struct stat *b)
{
    /* ctime too: a rewrite that put size and mtime back still moves it. */
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* The entry's descriptor (vst: st_size the body's length); -1: none;
 * -3: there is one saying compression does not pay for this file. A
 * corrupt entry is deleted (and logged once): -1. */
static int compress_cache__lookup(compress_cache_t *cc, const char *name, const struct stat *st,
                                  int coding, int level, struct stat *vst)
{
    compress_cache_trailer_t want, got;
    char *body = NULL;
    int fd = openat(cc->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0)
        return -1;
    compress_cache__trailer(&want, st, coding, level);
    const char *why = NULL;
    if (fstat(fd, vst) < 0 || !S_ISREG(vst->st_mode) || vst->st_size < (off_t)sizeof(got)) {
        why = "shorter than its trailer";
    } else if (pread(fd, &got, sizeof(got), vst->st_size - (off_t)sizeof(got)) != (ssize_t)sizeof(got) ||
               memcmp(&got, &want, offsetof(compress_cache_trailer_t, body_len)) != 0) {
        why = "its trailer does not match the file";
    } else if (got.body_len != (uint64_t)(vst->st_size - (off_t)sizeof(got))) {
        why = "truncated";
    } else if (got.body_len <= COMPRESS_CACHE_VERIFY && !(got.flags & COMPRESS_CACHE_NO_GAIN)) {
        body = malloc(got.body_len + 1);
        if (body == NULL || pread(fd, body, got.body_len, 0) != (ssize_t)got.body_len ||
            (uint32_t)libdeflate_crc32(0, body, got.body_len) != got.crc)
            why = "its body does not match its CRC-32";
    }
    free(body);
    if (why != NULL) {
        close(fd);
        compress_cache__fault(cc, CC_F_CORRUPT, "entry %s is corrupt (%s): deleted, made again",
                              name, why);
        unlinkat(cc->dirfd, name, 0);
        return -1;
    }
    if (got.flags & COMPRESS_CACHE_NO_GAIN) {
        close(fd);
        return -3;
    }
    /* atime is the entry's last use, for the LRU sweep; set at most once
     * a minute (a lookup happens once a second per worker and file). */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    if (vst->st_atim.tv_sec + 60 < now.tv_sec) {
        struct timespec ts[2] = { { 0, UTIME_NOW }, { 0, UTIME_OMIT } };
        futimens(fd, ts);
    }
    vst->st_size = (off_t)got.body_len;
    return fd;
}

static int compress_cache__write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = ENOSPC;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads the whole file at fd: malloc'd, or NULL (errno). */
static char *compress_cache__read(int fd, size_t n)
{
    char *buf = malloc(n + 1);
    size_t got = 0;
    while (buf != NULL && got < n) {
        ssize_t r = pread(fd, buf + got, n - got, (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r == 0)
                errno = ESTALE; /* shorter than its stat: it changed */
            free(buf);
            return NULL;
        }
        got += (size_t)r;
    }
    return buf;
}

static uint64_t compress_cache__cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Compresses the file at fd into entry name: temporary file, then
 * rename(). 0, or -1 (the fault recorded). Any thread. */
static int compress_cache__make(compress_cache_t *cc, int fd, const struct stat *st, int coding,
                                int level, const char *name)
{
    char tmp[COMPRESS_CACHE_NAME + 48] = "";
    char *in = NULL, *out = NULL;
    size_t outlen = 0;
    int tfd = -1;
    struct stat now;
    compress_cache_trailer_t t;

    in = compress_cache__read(fd, (size_t)st->st_size);
    if (in == NULL && errno != ESTALE)
        goto fail;
    if (in == NULL || fstat(fd, &now) < 0 || !compress_cache__same(st, &now)) {
        compress_cache__fault(cc, CC_F_CHANGED, "a file changed while it was read for %s: "
                              "not cached, made again once it is stable", name);
        goto fail;
    }
    uint64_t cpu = compress_cache__cpu_ns();
    if (compress_buffer(coding, level, in, (size_t)st->st_size, &out, &outlen) < 0)
        goto fail;
    cpu = compress_cache__cpu_ns() - cpu;
    /* The file may have been rewritten in place while it was compressed. */
    if (fstat(fd, &now) < 0 || !compress_cache__same(st, &now)) {
        compress_cache__fault(cc, CC_F_CHANGED, "a file changed while it was compressed for %s: "
                              "discarded", name);
        goto fail;
    }
    compress_cache__trailer(&t, st, coding, level);
    if (outlen >= (size_t)st->st_size) {
        t.flags = COMPRESS_CACHE_NO_GAIN; /* remembered, so it is not tried again */
        outlen = 0;
    } else {
        t.crc = (uint32_t)libdeflate_crc32(0, out, outlen);
    }
    t.body_len = outlen;

    pthread_mutex_lock(&cc->mu);
    unsigned seq = cc->seq++;
    pthread_mutex_unlock(&cc->mu);
    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld.%u", name, (long)getpid(), seq);
    tfd = openat(cc->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (tfd < 0 || compress_cache__write_all(tfd, out, outlen) < 0 ||
        compress_cache__write_all(tfd, (const char *)&t, sizeof(t)) < 0) {
        int err = errno;
        int full = err == ENOSPC || err == EDQUOT || err == EFBIG;
        compress_cache__fault(cc, full ? CC_F_FULL : CC_F_WRITE, "%s(\"%s\"): %s", tfd < 0 ? "open" : "write",
                              tmp, strerror(err));
        goto fail;
    }
    if (close(tfd) < 0) {
        tfd = -1;
        compress_cache__fault(cc, CC_F_FULL, "close(\"%s\"): %s", tmp, strerror(errno));
        goto fail;
    }
    tfd = -1;
    if (renameat(cc->dirfd, tmp, cc->dirfd, name) < 0) {
        compress_cache__fault(cc, CC_F_WRITE, "rename(\"%s\"): %s", tmp, strerror(errno));
        goto fail;
    }
    pthread_mutex_lock(&cc->mu);
    cc->st.made++;
    cc->st.bytes_in += (uint64_t)st->st_size;
    cc->st.bytes_out += outlen;
    cc->st.cpu_ns += cpu;
    cc->st.size += outlen + sizeof(t);
    pthread_mutex_unlock(&cc->mu);
    free(in);
    free(out);
    return 0;

fail:
    if (tfd >= 0) {
        close(tfd);
        unlinkat(cc->dirfd, tmp, 0);
    } else if (tmp[0] != '\0' && in != NULL && out != NULL) {
        unlinkat(cc->dirfd, tmp, 0);
    }
    free(in);
    free(out);
    return -1;
}

/* --- claims ---------------------------------------------------------------- */

/* 0: this thread may make entry name (its claim file is made); -1: another
 * live process has claimed it, or the claim cannot be made. */
static int compress_cache__claim(compress_cache_t *cc, const char *name)
{
    char claim[COMPRESS_CACHE_NAME + 8];
    snprintf(claim, sizeof(claim), "%s.claim", name);
    for (int turn = 0; turn < 2; turn++) {
        int fd = openat(cc->dirfd, claim, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd >= 0) {
            char pid[24];
            int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
            int ok = compress_cache__write_all(fd, pid, (size_t)n) == 0;
            close(fd);
            if (!ok) {
                unlinkat(cc->dirfd, claim, 0);
                compress_cache__fault(cc, CC_F_FULL, "write(\"%s\"): %s", claim, strerror(errno));
                return -1;
            }
            return 0;
        }
        if (errno != EEXIST) {
            compress_cache__fault(cc, CC_F_WRITE, "open(\"%s\"): %s", claim, strerror(errno));
            return -1;
        }
        /* Someone's: alive and recent, it is theirs; else take it over. */
        char buf[24] = "";
        struct stat cst;
        int cfd = openat(cc->dirfd, claim, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (cfd < 0)
            continue; /* released meanwhile: try again */
        ssize_t r = read(cfd, buf, sizeof(buf) - 1);
        int have = fstat(cfd, &cst) == 0;
        close(cfd);
        long pid = r > 0 ? strtol(buf, NULL, 10) : 0;
        int alive = pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
        int stale = have && cst.st_mtime + COMPRESS_CACHE_CLAIM_STALE < time(NULL);
        /* An empty claim is being written: give it the stale period too. */
        if ((alive || (pid == 0 && !stale)) && !stale)
            return -1;
        unlinkat(cc->dirfd, claim, 0);
    }
    return -1;
}

static void compress_cache__unclaim(compress_cache_t *cc, const char *name)
{
    char claim[COMPRESS_CACHE_NAME + 8];
    snprintf(claim, sizeof(claim), "%s.claim", name);
    unlinkat(cc->dirfd, claim, 0);
}

/* --- the pool's jobs ------------------------------------------------------- */

static void compress_cache__inflight_drop(compress_cache_t *cc, const char *name)
{
    pthread_mutex_lock(&cc->mu);
    for (size_t i = 0; i < cc->ninflight; i++)
        if (strcmp(cc->inflight[i], name) == 0) {
            memcpy(cc->inflight[i], cc->inflight[--cc->ninflight], COMPRESS_CACHE_NAME);
            break;
        }
    pthread_mutex_unlock(&cc->mu);
}

static void compress_cache__job_free(void *arg)
{
    compress_cache_job_t *j = arg;
    if (j->fd >= 0)
        close(j->fd);
    free(j);
}

static void compress_cache__run(void *arg)
{
    compress_cache_job_t *j = arg;
    compress_cache_t *cc = j->cc;
    if (j->fd >= 0) {
        if (compress_cache__claim(cc, j->name) == 0) {
            int made = compress_cache__make(cc, j->fd, &j->st, j->coding, j->level, j->name) == 0;
            compress_cache__unclaim(cc, j->name);
            if (made) {
                uint64_t size = compress_sweep(cc->dirfd, cc->max_size, &j->st, j->name);
                pthread_mutex_lock(&cc->mu);
                cc->st.size = size;
                pthread_mutex_unlock(&cc->mu);
            }
        }
        compress_cache__inflight_drop(cc, j->name);
    } else {
        uint64_t size = compress_sweep(cc->dirfd, cc->max_size, &j->st, j->name);
        pthread_mutex_lock(&cc->mu);
        cc->st.size = size;
        cc->sweep_queued = 0;
        pthread_mutex_unlock(&cc->mu);
    }
    compress_cache__job_free(j);
}

static compress_cache_job_t *compress_cache__job(compress_cache_t *cc, int fd,
                                                 const struct stat *st, int coding, int level,
                                                 const char *name)
{
    compress_cache_job_t *j = calloc(1, sizeof(*j));
    if (j == NULL)
        return NULL;
    j->cc = cc;
    j->fd = fd;
    j->st = *st;
    j->coding = coding;
    j->level = level;
    snprintf(j->name, sizeof(j->name), "%s", name);
    return j;
}

/* Queues the compression of name (fd dup()ed). Not when it is queued
 * already in this worker, or the queue is full: the next lookup asks again. */
static void compress_cache__queue(compress_cache_t *cc, int fd, const struct stat *st, int coding,
                                  int level, const char *name)
{
    pthread_mutex_lock(&cc->mu);
    int busy = cc->ninflight >= COMPRESS_CACHE_INFLIGHT;
    for (size_t i = 0; i < cc->ninflight && !busy; i++)
        busy = strcmp(cc->inflight[i], name) == 0;
    if (!busy)
        snprintf(cc->inflight[cc->ninflight++], COMPRESS_CACHE_NAME, "%s", name);
    pthread_mutex_unlock(&cc->mu);
    if (busy)
        return;
    int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    compress_cache_job_t *j = dfd >= 0 ? compress_cache__job(cc, dfd, st, coding, level, name) : NULL;
    if (j == NULL || compress_pool_submit(cc->pool, compress_cache__run, j) < 0) {
        if (j != NULL)
            compress_cache__job_free(j);
        else if (dfd >= 0)
            close(dfd);
        compress_cache__inflight_drop(cc, name);
    }
}

/* After a variant made on the loop: the directory's listing (old versions
 * of the file, the bound) is the pool's, never the loop's. */
static void compress_cache__queue_sweep(compress_cache_t *cc, const struct stat *st,
                                        const char *name)
{
    pthread_mutex_lock(&cc->mu);
    int queued = cc->sweep_queued;
    cc->sweep_queued = 1;
    pthread_mutex_unlock(&cc->mu);
    if (queued)
        return;
    compress_cache_job_t *j = compress_cache__job(cc, -1, st, 0, 0, name);
    if (j == NULL || compress_pool_submit(cc->pool, compress_cache__run, j) < 0) {
        free(j);
        pthread_mutex_lock(&cc->mu);
        cc->sweep_queued = 0;
        pthread_mutex_unlock(&cc->mu);
    }
}

/* --- the loop's side ------------------------------------------------------- */

/* Bytes that one coding compresses within about a millisecond at level on
 * this kind of machine (README "Compression" has the measurements): files
 * up to this are made on the loop, the response already compressed. */
static off_t compress_cache__inline_max(int coding, int level)
{
    switch (coding) {
    case CONF_CODING_GZIP:
        return level >= 10 ? 8192 : 32768;
    case CONF_CODING_BR:
        return level >= 10 ? 2048 : level >= 7 ? 16384 : 65536;
    case CONF_CODING_ZSTD:
        return level >= 16 ? 8192 : 65536;
    default:
        return 0;
    }
}

int compress_cache_get(compress_cache_t *cc, int fd, const struct stat *st, int coding, int level,
                       struct stat *vst)
{
    char name[COMPRESS_CACHE_NAME];
    compress_cache__drain(cc);
    compress_cache__name(st, coding, level, name);
    int vfd = compress_cache__lookup(cc, name, st, coding, level, vst);
    if (vfd >= 0 || vfd == -3) {
        pthread_mutex_lock(&cc->mu);
        cc->st.hits += vfd >= 0;
        pthread_mutex_unlock(&cc->mu);
        return vfd >= 0 ? vfd : -1;
    }
    pthread_mutex_lock(&cc->mu);
    cc->st.misses++;
    int broken = cc->broken_until > time(NULL);
    pthread_mutex_unlock(&cc->mu);
    if (broken)
        return -1;
    if (st->st_size > compress_cache__inline_max(coding, level)) {
        compress_cache__queue(cc, fd, st, coding, level, name);
        return -1;
    }
    int made = compress_cache__make(cc, fd, st, coding, level, name);
    compress_cache__drain(cc);
    if (made < 0)
        return -1;
    compress_cache__queue_sweep(cc, st, name);
    vfd = compress_cache__lookup(cc, name, st, coding, level, vst);
    return vfd >= 0 ? vfd : -1;
}

compress_cache_t *compress_cache_open(const conf_t *conf, uid_t uid, gid_t gid)
{
    const char *path = conf->compress.cache_path;
    compress_cache_t *cc = calloc(1, sizeof(*cc));
    if (cc == NULL || path == NULL)
        goto fail;
    cc->dirfd = -1;
    snprintf(cc->path, sizeof(cc->path), "%s", path);
    cc->max_size = conf->compress.cache_max;
    pthread_mutex_init(&cc->mu, NULL);
    if (mkdir(path, 0700) < 0 && errno != EEXIST) {
        log_error("compress cache: mkdir(\"%s\"): %s: nothing is compressed", path, strerror(errno));
        goto fail;
    }
    cc->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cc->dirfd < 0) {
        log_error("compress cache: open(\"%s\"): %s: nothing is compressed", path, strerror(errno));
        goto fail;
    }
    /* Made by root for a worker that becomes another user. */
    struct stat dst;
    if (uid != (uid_t)-1 && fstat(cc->dirfd, &dst) == 0 && dst.st_uid != uid &&
        fchown(cc->dirfd, uid, gid) < 0)
        log_warn("compress cache: chown(\"%s\"): %s", path, strerror(errno));
    /* A file size limit (RLIMIT_FSIZE) must fail a write with EFBIG, a
     * fault handled like a full disk, not kill the worker with SIGXFSZ. */
    signal(SIGXFSZ, SIG_IGN);
    cc->pool = compress_pool_new(1, 256);
    if (cc->pool == NULL)
        goto fail;
    return cc;

fail:
    if (cc != NULL && cc->dirfd >= 0)
        close(cc->dirfd);
    free(cc);
    return NULL;
}

void compress_cache_stats(compress_cache_t *cc, compress_cache_stats_t *out)
{
    compress_cache__drain(cc);
    pthread_mutex_lock(&cc->mu);
    *out = cc->st;
    pthread_mutex_unlock(&cc->mu);
}

void compress_cache_free(compress_cache_t *cc)
{
    if (cc == NULL)
        return;
    compress_pool_free(cc->pool, compress_cache__job_free);
    close(cc->dirfd);
    pthread_mutex_destroy(&cc->mu);
    free(cc);
}
