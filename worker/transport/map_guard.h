/*
 * map_guard: reading a mapped file that someone truncates ends the one
 * call that read it, not the worker.
 *
 * A page of a mapping past the file's end raises SIGBUS when touched. The
 * TLS path encrypts files straight from their mapping (file_cache_map):
 * no pread() copy. Around such a read the caller arms the guard with
 * MAP_GUARD_ARM; on a SIGBUS inside the armed range the handler jumps back
 * there, and the caller gives the connection up (its SSL is then mid-write
 * and is only freed). Any other SIGBUS kills the worker as before.
 * lighttpd guards its mmap reads the same way.
 *
 *   map_guard_arm(map, map_len);
 *   if (sigsetjmp(map_guard.jmp, 0) != 0)
 *       return truncated();        // the jump lands here
 *   ... reads of map ...
 *   map_guard_disarm();
 *
 * (sigsetjmp stays in the caller, in a context the C standard allows for
 * it: the whole controlling expression compared with a constant.)
 */
#ifndef DROVER_MAP_GUARD_H
#define DROVER_MAP_GUARD_H

#include <setjmp.h>
#include <signal.h>
#include <stddef.h>

typedef struct {
    sigjmp_buf jmp;
    const char *lo, *hi;          /* the armed range */
    volatile sig_atomic_t armed;
} map_guard_t;

extern map_guard_t map_guard;

/* The SIGBUS handler, for the process: 0, or -1 (errno). */
int map_guard_install(void);

/* Arms the guard for reads of [p, p + len); the caller's sigsetjmp on
 * map_guard.jmp follows at once. */
static inline void map_guard_arm(const char *p, size_t len)
{
    map_guard.lo = p;
    map_guard.hi = p + len;
    map_guard.armed = 1;
}

static inline void map_guard_disarm(void)
{
    map_guard.armed = 0;
}

#endif
