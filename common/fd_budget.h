/*
 * fd_budget: how many descriptors a process may use, and how they are
 * shared out between connections and everything else.
 *
 * A worker that accepts until EMFILE has no descriptor left to open a file,
 * so every request after that fails. Instead, as users of nginx expect:
 * the master raises the soft RLIMIT_NOFILE at start to what
 * worker_connections needs (up to the hard limit, with one warning when
 * that is too low), and each worker accepts no more connections than its
 * limit leaves after a reserve for files and logs (fd_budget_conns).
 */
#ifndef DROVER_FD_BUDGET_H
#define DROVER_FD_BUDGET_H

#include <stddef.h>

/* Descriptors kept back beyond the file cache's: logs reopened, an index
 * file, a directory listing, a variant being probed. */
#define FD_BUDGET_SPARE 16

/* What worker_connections needs: a socket and, at worst, a file each
 * (as nginx's documentation advises), plus the fixed few. */
static inline unsigned long fd_budget_need(int worker_connections)
{
    return 2ul * (unsigned long)worker_connections + 64;
}

/* Raises the soft RLIMIT_NOFILE towards fd_budget_need() (never lowers it;
 * at most to the hard limit), and warns once when the hard limit is too
 * low. Returns the soft limit now in force (or 0 when unknown). */
unsigned long fd_budget_raise(int worker_connections);

/* The connections a worker may hold: worker_connections, or fewer when
 * the descriptor limit (less those open now, below lowest_free, less
 * cache_fds for the file cache and FD_BUDGET_SPARE) leaves fewer. At least
 * 1. */
size_t fd_budget_conns(int worker_connections, int lowest_free, size_t cache_fds);

/* The lowest descriptor number not in use (what the next open returns). */
int fd_budget_lowest_free(void);

#endif
