/*
 * limit_table: see limit_table.h.
 */
#define _GNU_SOURCE
#include "limit_table.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "siphash.h"

int64_t limit_table_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

limit_table_t *limit_table_create(int *fd)
{
    limit_table_t *t = MAP_FAILED;
    pthread_mutexattr_t ma;
    int attr = 0;
    *fd = memfd_create("drover-limits", MFD_CLOEXEC);
    if (*fd < 0 || ftruncate(*fd, (off_t)sizeof(limit_table_t)) < 0)
        goto fail;
    t = mmap(NULL, sizeof(*t), PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
    if (t == MAP_FAILED)
        goto fail;
    if (pthread_mutexattr_init(&ma) != 0)
        goto fail;
    attr = 1;
    if (pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED) != 0 ||
        pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST) != 0)
        goto fail;
    for (size_t i = 0; i < LIMIT_TABLE_BUCKETS; i++)
        if (pthread_mutex_init(&t->b[i].lock, &ma) != 0)
            goto fail;
    pthread_mutexattr_destroy(&ma);
    siphash_key(t->hash_key);
    t->nbuckets = LIMIT_TABLE_BUCKETS;
    t->magic = LIMIT_TABLE_MAGIC;
    return t;
fail: {
    int e = errno;
    if (attr)
        pthread_mutexattr_destroy(&ma);
    if (t != MAP_FAILED)
        munmap(t, sizeof(*t));
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
    errno = e;
    return NULL;
}
}

limit_table_t *limit_table_attach(int fd)
{
    struct stat st;
    if (fstat(fd, &st) < 0 || st.st_size != (off_t)sizeof(limit_table_t)) {
        errno = EINVAL;
        return NULL;
    }
    limit_table_t *t = mmap(NULL, sizeof(*t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (t == MAP_FAILED)
        return NULL;
    if (t->magic != LIMIT_TABLE_MAGIC || t->nbuckets != LIMIT_TABLE_BUCKETS) {
        munmap(t, sizeof(*t));
        errno = EINVAL;
        return NULL;
    }
    return t;
}

uint64_t limit_table_key(const limit_table_t *t, uint64_t zone, int family, const void *addr)
{
    char buf[8 + 1 + 16];
    memcpy(buf, &zone, 8);
    buf[8] = (char)family;
    size_t n = family == AF_INET6 ? 16 : 4;
    memcpy(buf + 9, addr, n);
    uint64_t k = siphash_24(t->hash_key, buf, 9 + n);
    return k != 0 ? k : 1;
}

/* 0 locked; -1: the lock cannot be had (ENOTRECOVERABLE): the caller lets
 * the request through rather than refuse every client of the bucket. */
static int limit_table__lock(limit_table_t *t, limit_bucket_t *b)
{
    int e = pthread_mutex_lock(&b->lock);
    if (e == EOWNERDEAD) {
        /* Its holder died mid-update: the slots are usable as they are. */
        pthread_mutex_consistent(&b->lock);
        __atomic_add_fetch(&t->recovered, 1, __ATOMIC_RELAXED);
        return 0;
    }
    return e == 0 ? 0 : -1;
}

/* The slot of key in b, taken (and reset) if it has none. */
static limit_slot_t *limit_table__slot(limit_table_t *t, limit_bucket_t *b, uint64_t key, int make)
{
    limit_slot_t *empty = NULL, *idle = NULL, *old = NULL;
    for (int i = 0; i < LIMIT_TABLE_WAYS; i++) {
        limit_slot_t *s = &b->slot[i];
        if (s->key == key)
            return s;
        if (s->key == 0) {
            if (empty == NULL)
                empty = s;
            continue;
        }
        if (s->conns <= 0 && (idle == NULL || s->seen < idle->seen))
            idle = s;
        if (old == NULL || s->seen < old->seen)
            old = s;
    }
    if (!make)
        return NULL;
    limit_slot_t *s = empty != NULL ? empty : idle != NULL ? idle : old;
    if (s != empty)
        __atomic_add_fetch(&t->evicted, 1, __ATOMIC_RELAXED);
    memset(s, 0, sizeof(*s));
    s->key = key;
    return s;
}

int limit_table_req(limit_table_t *t, uint64_t key, int64_t now, int64_t interval, int burst,
                    int peek, int64_t *retry_us)
{
    limit_bucket_t *b = &t->b[key % LIMIT_TABLE_BUCKETS];
    *retry_us = 0;
    if (limit_table__lock(t, b) < 0)
        return 0;
    limit_slot_t *s = limit_table__slot(t, b, key, !peek);
    int refused = 0;
    if (s != NULL) {
        /* GCRA: the request is allowed when it comes no earlier than
         * burst intervals before its theoretical arrival time. */
        int64_t tat = s->tat > now ? s->tat : now;
        int64_t tolerance = interval * (int64_t)burst;
        if (tat - now > tolerance) {
            refused = 1;
            *retry_us = tat - tolerance - now;
        } else if (!peek) {
            s->tat = tat + interval;
        }
        if (!peek)
            s->seen = now;
    }
    pthread_mutex_unlock(&b->lock);
    return refused;
}

int limit_table_conn(limit_table_t *t, uint64_t key, int delta, int max, int64_t now)
{
    limit_bucket_t *b = &t->b[key % LIMIT_TABLE_BUCKETS];
    if (limit_table__lock(t, b) < 0)
        return 0;
    limit_slot_t *s = limit_table__slot(t, b, key, delta > 0);
    int refused = 0;
    if (s != NULL) {
        if (delta > 0 && s->conns >= max)
            refused = 1;
        else if (delta > 0 || s->conns > 0)
            s->conns += delta;
        s->seen = now;
    }
    pthread_mutex_unlock(&b->lock);
    return refused;
}
