/*
 * fd_budget: see fd_budget.h.
 */
#include "fd_budget.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "log.h"

unsigned long fd_budget_raise(int worker_connections)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
        log_warn("getrlimit(RLIMIT_NOFILE): %s", strerror(errno));
        return 0;
    }
    rlim_t need = (rlim_t)fd_budget_need(worker_connections);
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
        rlim_t want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need ? need : rl.rlim_max;
        if (want > rl.rlim_cur) {
            struct rlimit nrl = { want, rl.rlim_max };
            if (setrlimit(RLIMIT_NOFILE, &nrl) == 0)
                rl.rlim_cur = want;
            else
                log_warn("setrlimit(RLIMIT_NOFILE, %llu): %s", (unsigned long long)want,
                         strerror(errno));
        }
        if (rl.rlim_cur < need)
            log_warn("RLIMIT_NOFILE is %llu (hard limit %llu), below the %llu descriptors that "
                     "worker_connections %d needs: each worker will hold fewer connections "
                     "(raise the hard limit: ulimit -Hn, or LimitNOFILE= under systemd)",
                     (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max,
                     (unsigned long long)need, worker_connections);
    }
    return rl.rlim_cur == RLIM_INFINITY ? 0 : (unsigned long)rl.rlim_cur;
}

int fd_budget_lowest_free(void)
{
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd >= 0)
        close(fd);
    return fd < 0 ? 0 : fd;
}

size_t fd_budget_conns(int worker_connections, int lowest_free, size_t cache_fds)
{
    size_t max = (size_t)worker_connections;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
        return max;
    size_t used = (size_t)lowest_free + cache_fds + FD_BUDGET_SPARE;
    size_t left = rl.rlim_cur > used ? (size_t)rl.rlim_cur - used : 1;
    if (left < 1)
        left = 1;
    return left < max ? left : max;
}
