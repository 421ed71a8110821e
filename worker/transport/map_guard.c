/*
 * map_guard: see map_guard.h.
 */
#include "config.h"

#include "map_guard.h"

#include <string.h>

map_guard_t map_guard;

static void map_guard__on_sigbus(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    const char *a = si->si_addr;
    if (map_guard.armed && a >= map_guard.lo && a < map_guard.hi) {
        map_guard.armed = 0;
        siglongjmp(map_guard.jmp, 1);
    }
    /* Not ours: the default action, once the faulting access runs again. */
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;
    sigaction(sig, &sa, NULL);
}

int map_guard_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = map_guard__on_sigbus;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    return sigaction(SIGBUS, &sa, NULL);
}
