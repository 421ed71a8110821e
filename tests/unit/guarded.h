/*
 * guarded: an input for a parser's suite, copied so that its last byte sits
 * right before a PROT_NONE page. A parser that reads one byte past the
 * length it was given faults there instead of reading a neighbour's bytes
 * unseen. Header-only: each suite is one program.
 */
#ifndef DROVER_TEST_GUARDED_H
#define DROVER_TEST_GUARDED_H

#include <check.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* The mapping that guarded(len) makes: its data pages, then the guard. */
static inline size_t guarded_data_size(size_t len)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    return len == 0 ? pg : (len + pg - 1) / pg * pg;
}

/* A copy of s[0, len) ending at a guard page. The mapping stays until
 * guarded_free or the test process exits (slices in a parse result may
 * point into it). */
static inline char *guarded(const void *s, size_t len)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE), data = guarded_data_size(len);
    char *map = mmap(NULL, data + pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(map, MAP_FAILED);
    ck_assert_int_eq(mprotect(map + data, pg, PROT_NONE), 0);
    if (len > 0)
        memcpy(map + data - len, s, len);
    return map + data - len;
}

/* Unmaps what guarded(s, len) returned as p. */
static inline void guarded_free(char *p, size_t len)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE), data = guarded_data_size(len);
    munmap(p + len - data, data + pg);
}

#endif
