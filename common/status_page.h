/*
 * status_page: the master's view of its workers, shared with them.
 *
 * The master renders its status as JSON into one shared anonymous mapping,
 * made before the first fork, so every worker of every generation sees it
 * and can serve it over HTTP without asking the master anything. A
 * sequence counter, odd while the master writes, lets a reader detect a
 * torn copy and try again (a seqlock); the master is the only writer.
 */
#ifndef DROVER_STATUS_PAGE_H
#define DROVER_STATUS_PAGE_H

#include <stdint.h>
#include <string.h>

#define STATUS_PAGE_SIZE (256 * 1024)

typedef struct status_page_s {
    uint32_t seq;
    uint32_t len;
    char json[STATUS_PAGE_SIZE - 8];
} status_page_t;

static inline void status_page_write(status_page_t *pg, const char *json, size_t len)
{
    if (len > sizeof(pg->json))
        len = sizeof(pg->json);
    __atomic_add_fetch(&pg->seq, 1, __ATOMIC_ACQ_REL); /* odd: writing */
    memcpy(pg->json, json, len);
    __atomic_store_n(&pg->len, (uint32_t)len, __ATOMIC_RELAXED);
    __atomic_add_fetch(&pg->seq, 1, __ATOMIC_ACQ_REL); /* even: done */
}

/* Copies the page into out (size bytes). Returns the length, or -1 when no
 * consistent copy could be taken in a few tries (the master was writing). */
static inline long status_page_read(const status_page_t *pg, char *out, size_t size)
{
    for (int tries = 0; tries < 8; tries++) {
        uint32_t s1 = __atomic_load_n(&pg->seq, __ATOMIC_ACQUIRE);
        if (s1 & 1)
            continue;
        uint32_t len = __atomic_load_n(&pg->len, __ATOMIC_RELAXED);
        if (len > size)
            len = (uint32_t)size;
        memcpy(out, pg->json, len);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&pg->seq, __ATOMIC_RELAXED) == s1)
            return (long)len;
    }
    return -1;
}

#endif
