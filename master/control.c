/*
 * control: the master's control socket (control.h).
 *
 * A signal cannot carry an answer back, so "drover -s reload" could not say
 * whether the reload worked, and "drover -s status" could not ask at all.
 * The master listens on an abstract unix socket named after its pid (no
 * file to clean up after a crash); a client writes one command line and
 * reads the answer until end-of-file:
 *   status        the text table of drover -s status
 *   status json   the JSON of the status page
 *   reload        the outcome of a reload, once known: "ok: ..." or "error: ..."
 *   metrics       the metrics page's bytes (metrics_page.h), for drover -s top
 *   upgrade       the outcome of a binary upgrade, the same way
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "log.h"
#include "status.h"

static socklen_t control__addr(pid_t pid, struct sockaddr_un *sun)
{
    memset(sun, 0, sizeof(*sun));
    sun->sun_family = AF_UNIX;
    /* sun_path[0] == '\0': the abstract namespace. */
    int n = snprintf(sun->sun_path + 1, sizeof(sun->sun_path) - 1, "drover-ctl.%ld", (long)pid);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

int control_open(master_t *m)
{
    struct sockaddr_un sun;
    socklen_t len = control__addr(m->pid, &sun);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        log_error("socket(AF_UNIX): %s", strerror(errno));
        return -1;
    }
    if (bind(fd, (struct sockaddr *)&sun, len) < 0 || listen(fd, 16) < 0) {
        log_error("bind/listen(control socket @%s): %s", sun.sun_path + 1, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* How long an answer waits for its reader to make room: since the
 * reader last took some, and in all. */
#define CONTROL_SEND_STALL 0.25
#define CONTROL_SEND_ALL 1.0

/* An answer can outgrow the socket's buffer (a status with many
 * certificates is up to STATUS_PAGE_SIZE; the buffer is about 208 KiB), and
 * giving up at the first EAGAIN cut its end off, the status's TLS
 * counters and the JSON's closing brackets with it. So it waits for the
 * reader to make room, but like the command's read, briefly: the master
 * must not stall on a client that does not read. */
static void control__send(int fd, const char *p, size_t len)
{
    double start = 0, stall = 0;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            double now = master__now();
            if (start == 0)
                start = now;
            if (stall == 0)
                stall = now + CONTROL_SEND_STALL;
            double until = stall < start + CONTROL_SEND_ALL ? stall : start + CONTROL_SEND_ALL;
            struct pollfd pfd = { fd, POLLOUT, 0 };
            if (now < until && poll(&pfd, 1, (int)((until - now) * 1000) + 1) >= 0)
                continue;
            return;
        }
        if (n <= 0)
            return;
        p += n;
        len -= (size_t)n;
        stall = 0; /* the reader took some: its next wait starts afresh */
    }
}

static void control__client(master_t *m, int fd)
{
    struct ucred cred;
    socklen_t clen = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0 ||
        (cred.uid != 0 && cred.uid != geteuid())) {
        static const char no[] = "error: permission denied\n";
        control__send(fd, no, sizeof(no) - 1);
        close(fd);
        return;
    }
    /* The client writes its command right after connecting; wait briefly. */
    char cmd[64];
    size_t len = 0;
    struct pollfd pfd = { fd, POLLIN, 0 };
    /* At most a few short waits: the master must not stall on a client
     * that dribbles (its workers' heartbeats wait meanwhile). */
    for (int tries = 0; tries < 5 && len < sizeof(cmd) - 1 && memchr(cmd, '\n', len) == NULL;
         tries++) {
        if (poll(&pfd, 1, 50) <= 0)
            continue;
        ssize_t n = read(fd, cmd + len, sizeof(cmd) - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    cmd[len] = '\0';
    cmd[strcspn(cmd, "\r\n")] = '\0';

    if (strcmp(cmd, "status") == 0 || strcmp(cmd, "status json") == 0) {
        static char out[STATUS_PAGE_SIZE];
        size_t n = cmd[6] ? status_render_json(m, out, sizeof(out))
                          : status_render_text(m, out, sizeof(out));
        control__send(fd, out, n);
        close(fd);
    } else if (strcmp(cmd, "metrics") == 0) {
        /* Published now, so top sees this moment's figures. Binary: the
         * client is this same program. */
        metrics_publish(m);
        if (m->metrics != NULL)
            control__send(fd, (const char *)m->metrics, metrics_page_size(m->metrics->nworkers));
        close(fd);
    } else if (strcmp(cmd, "reload") == 0) {
        if (m->num_waiters == sizeof(m->waiters) / sizeof(m->waiters[0])) {
            static const char busy[] = "error: too many reloads waiting\n";
            control__send(fd, busy, sizeof(busy) - 1);
            close(fd);
            return;
        }
        m->waiters[m->num_waiters++] = fd;
        /* Same path as SIGHUP, so the two can never behave differently. */
        kill(getpid(), SIGHUP);
    } else if (strcmp(cmd, "upgrade") == 0) {
        if (m->stop != MASTER_RUNNING || m->num_up_waiters == sizeof(m->up_waiters) / sizeof(m->up_waiters[0])) {
            static const char busy[] = "error: the master is stopping, or too many upgrades wait\n";
            control__send(fd, busy, sizeof(busy) - 1);
            close(fd);
            return;
        }
        m->up_waiters[m->num_up_waiters++] = fd;
        /* Same path as SIGUSR2, like reload and SIGHUP. */
        kill(getpid(), SIGUSR2);
    } else {
        static const char bad[] = "error: unknown command (status, status json, metrics, reload, upgrade)\n";
        control__send(fd, bad, sizeof(bad) - 1);
        close(fd);
    }
}

void control_accept(master_t *m)
{
    for (int i = 0; i < 16; i++) {
        int fd = accept4(m->ctl_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0)
            return;
        control__client(m, fd);
    }
}

void control_reload_start(master_t *m)
{
    /* The clients that asked before this reload began get its outcome; one
     * that asks later waits for the next reload, which reads the file again. */
    for (size_t i = 0; i < m->num_waiters; i++) {
        if (m->num_inflight < sizeof(m->inflight) / sizeof(m->inflight[0]))
            m->inflight[m->num_inflight++] = m->waiters[i];
        else
            close(m->waiters[i]);
    }
    m->num_waiters = 0;
}

static void control__answer(int *fds, size_t *num, int ok, const char *msg)
{
    char line[CONF_ERR_LEN + 256];
    int n = snprintf(line, sizeof(line), "%s: %s\n", ok ? "ok" : "error", msg);
    if (n >= (int)sizeof(line))
        n = (int)sizeof(line) - 1;
    for (size_t i = 0; i < *num; i++) {
        control__send(fds[i], line, (size_t)n);
        close(fds[i]);
    }
    *num = 0;
}

void control_reload_done(master_t *m, int ok, const char *msg)
{
    control__answer(m->inflight, &m->num_inflight, ok, msg);
}

void control_upgrade_done(master_t *m, int ok, const char *msg)
{
    control__answer(m->up_waiters, &m->num_up_waiters, ok, msg);
}

int control_request(pid_t pid, const char *cmd, double timeout, char *out, size_t size)
{
    struct sockaddr_un sun;
    socklen_t len = control__addr(pid, &sun);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sun, len) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    char line[80];
    int n = snprintf(line, sizeof(line), "%s\n", cmd);
    control__send(fd, line, (size_t)n);

    size_t got = 0;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct pollfd pfd = { fd, POLLIN, 0 };
    for (;;) {
        struct timespec t1;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double left = timeout - ((double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
        if (left <= 0) {
            close(fd);
            errno = ETIMEDOUT;
            return -1;
        }
        int r = poll(&pfd, 1, (int)(left * 1000) + 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            continue;
        ssize_t k = read(fd, out + got, size - 1 - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
        if (got == size - 1)
            break;
    }
    out[got] = '\0';
    close(fd);
    return (int)got;
}
