/*
 * upgrade: see upgrade.h.
 */
#define _GNU_SOURCE 1
#include "config.h"

#include "upgrade.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "control.h"
#include "daemon.h"
#include "log.h"
#include "notify.h"

#define UPGRADE_ENV_FROM "DROVER_UPGRADE_FROM"
#define UPGRADE_ENV_FD "DROVER_UPGRADE_FD"
#define UPGRADE_ENV_TICKETS "DROVER_UPGRADE_TICKETS"
#define UPGRADE_ENV_LIMITS "DROVER_UPGRADE_LIMITS"

char *upgrade_exe_path(const char *argv0)
{
    char buf[PATH_MAX];
    if (argv0 == NULL || argv0[0] == '\0')
        return NULL;
    if (argv0[0] == '/')
        return strdup(argv0);
    if (strchr(argv0, '/') != NULL) {
        char cwd[PATH_MAX];
        if (getcwd(cwd, sizeof(cwd)) == NULL)
            return NULL;
        if (snprintf(buf, sizeof(buf), "%s/%s", cwd, argv0) >= (int)sizeof(buf))
            return NULL;
        return strdup(buf);
    }
    /* Found in $PATH, as execvp() did for whoever started us. */
    const char *path = getenv("PATH");
    for (const char *p = path; p != NULL && *p;) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > 0 && len < sizeof(buf) - 2 &&
            snprintf(buf, sizeof(buf), "%.*s/%s", (int)len, p, argv0) < (int)sizeof(buf) &&
            buf[0] == '/' && access(buf, X_OK) == 0)
            return strdup(buf);
        p = end ? end + 1 : NULL;
    }
    return NULL;
}

void upgrade_child_env(pid_t *from, int *fd)
{
    const char *f = getenv(UPGRADE_ENV_FROM), *d = getenv(UPGRADE_ENV_FD);
    *from = 0;
    *fd = -1;
    if (f != NULL && d != NULL) {
        long pid = strtol(f, NULL, 10), n = strtol(d, NULL, 10);
        if (pid > 0 && n > 2 && fcntl((int)n, F_SETFD, FD_CLOEXEC) == 0) {
            *from = (pid_t)pid;
            *fd = (int)n;
        }
    }
    unsetenv(UPGRADE_ENV_FROM);
    unsetenv(UPGRADE_ENV_FD);
}

int upgrade_take_tickets(tls_ticket_ring_t *ring)
{
    const char *v = getenv(UPGRADE_ENV_TICKETS);
    tls_ticket_ring_t in;
    struct stat st;
    int taken = 0;
    if (v == NULL)
        return 0;
    long fd = strtol(v, NULL, 10);
    unsetenv(UPGRADE_ENV_TICKETS);
    if (fd <= 2 || fcntl((int)fd, F_SETFD, FD_CLOEXEC) < 0)
        return 0;
    /* The ring is plain data; a binary whose ring has another layout
     * (another size) does not take it, and makes keys of its own. */
    if (fstat((int)fd, &st) == 0 && st.st_size == (off_t)sizeof(in) &&
        pread((int)fd, &in, sizeof(in), 0) == (ssize_t)sizeof(in) && in.nkeys > 0 &&
        in.nkeys <= TLS_TICKET_MAX_KEYS && !in.from_files) {
        tls_ticket_ring_copy_keys(ring, &in);
        taken = 1;
        log_info("upgrade: %u session ticket key(s) taken over from the old master", (unsigned)in.nkeys);
    } else {
        log_warn("upgrade: the old master's session ticket keys do not fit this binary: new keys");
    }
    close((int)fd);
    return taken;
}

int upgrade_take_limits(void)
{
    const char *v = getenv(UPGRADE_ENV_LIMITS);
    if (v == NULL)
        return -1;
    long fd = strtol(v, NULL, 10);
    unsetenv(UPGRADE_ENV_LIMITS);
    if (fd <= 2 || fcntl((int)fd, F_SETFD, FD_CLOEXEC) < 0)
        return -1;
    log_info("upgrade: the limit counters are taken over from the old master");
    return (int)fd;
}

/* In the old master's child, before execv(): the ring's bytes in a memfd
 * for the new master, -1 when there is nothing to hand over. */
static int upgrade__tickets_fd(const master_t *m)
{
    const tls_ticket_ring_t *ring = m->ticket_ring;
    tls_ticket_ring_t copy;
    if (ring == NULL || !tls_ticket_ring_snapshot(ring, &copy) || copy.nkeys == 0 || copy.from_files)
        return -1;
    int fd = memfd_create("drover-tickets", MFD_CLOEXEC);
    if (fd < 0)
        return -1;
    if (write(fd, &copy, sizeof(copy)) != (ssize_t)sizeof(copy)) {
        close(fd);
        return -1;
    }
    return fd;
}

static void upgrade__say(int fd, const char *line)
{
    size_t len = strlen(line);
    while (len > 0) {
        ssize_t n = write(fd, line, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        line += n;
        len -= (size_t)n;
    }
}

void upgrade_report_fail(int *fd, const char *why)
{
    if (*fd < 0)
        return;
    char line[CONF_ERR_LEN + 64];
    snprintf(line, sizeof(line), "error: %s", why && why[0] ? why : "the new master could not start");
    line[strcspn(line, "\n")] = '\0';
    strcat(line, "\n");
    upgrade__say(*fd, line);
    close(*fd);
    *fd = -1;
}

/* In the forked child: put the sockets at fds 3.., set the environment and
 * execute the binary. Never returns. */
static void upgrade__exec(master_t *m, int report)
{
    size_t n = m->num_listen;
    int hi[MASTER_MAX_LISTEN + 3];
    int tickets = upgrade__tickets_fd(m);
    char names[MASTER_MAX_LISTEN * 80] = "", num[32];
    sigset_t none;

    /* The master blocks the signals it reads from its signalfd and ignores
     * SIGPIPE; both would survive execve() into the new master (and, with
     * a script in the binary's place, into anything it runs). */
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);

    /* Out of the way first: the sockets may sit anywhere, fds 3.. included. */
    /* fds 3..: the sockets, the report pipe, then the ticket keys and the
     * limit counters' memfd, each if any */
    int extra[2];
    size_t nextra = 0, limits_at = 0;
    if (tickets >= 0)
        extra[nextra++] = tickets;
    if (m->limits_fd >= 0) {
        limits_at = n + 1 + nextra;
        extra[nextra++] = m->limits_fd;
    }
    size_t last = n + nextra;
    for (size_t i = 0; i <= last; i++) {
        int fd = i < n ? m->listen[i].fd : i == n ? report : extra[i - n - 1];
        hi[i] = fcntl(fd, F_DUPFD_CLOEXEC, (int)(LISTEN_FDS_START + last + 1));
        if (hi[i] < 0)
            goto fail;
    }
    for (size_t i = 0; i <= last; i++)
        if (dup2(hi[i], (int)(LISTEN_FDS_START + i)) < 0) /* dup2 clears FD_CLOEXEC */
            goto fail;
    report = (int)(LISTEN_FDS_START + n);
    /* Nothing else goes over: the queue's write end, the workers' pipes,
     * the control socket are the old master's. */
    if (close_range((unsigned)(LISTEN_FDS_START + last) + 1, ~0U, 0) < 0)
        for (int fd = (int)(LISTEN_FDS_START + last) + 1; fd < 4096; fd++)
            close(fd);
    if (tickets >= 0) {
        snprintf(num, sizeof(num), "%d", (int)(LISTEN_FDS_START + n + 1));
        setenv(UPGRADE_ENV_TICKETS, num, 1);
    } else {
        unsetenv(UPGRADE_ENV_TICKETS);
    }
    if (limits_at != 0) {
        snprintf(num, sizeof(num), "%d", (int)(LISTEN_FDS_START + limits_at));
        setenv(UPGRADE_ENV_LIMITS, num, 1);
    } else {
        unsetenv(UPGRADE_ENV_LIMITS);
    }

    for (size_t i = 0; i < n; i++) {
        char one[80];
        listen_fdname(&m->listen[i], one, sizeof(one));
        if (i > 0)
            strcat(names, ":");
        strcat(names, one);
    }
    snprintf(num, sizeof(num), "%zu", n);
    setenv("LISTEN_FDS", num, 1);
    snprintf(num, sizeof(num), "%ld", (long)getpid());
    setenv("LISTEN_PID", num, 1);
    setenv("LISTEN_FDNAMES", names, 1);
    snprintf(num, sizeof(num), "%ld", (long)m->pid);
    setenv(UPGRADE_ENV_FROM, num, 1);
    snprintf(num, sizeof(num), "%d", report);
    setenv(UPGRADE_ENV_FD, num, 1);

    /* Relative paths in the file resolve as they did for us. */
    if (m->conf->base != NULL && chdir(m->conf->base) < 0)
        log_warn("chdir(\"%s\"): %s", m->conf->base, strerror(errno));
    char *argv[] = { m->exe, (char *)"-c", m->conf->file, NULL };
    execv(m->exe, argv);
fail:;
    char line[PATH_MAX + 128];
    snprintf(line, sizeof(line), "execv(\"%s\"): %s", m->exe, strerror(errno));
    upgrade_report_fail(&report, line);
    _exit(127);
}

/* The outcome, once: to the log, the status page and the waiting clients. */
static void upgrade__finish(master_t *m, int ok, const char *msg)
{
    size_t n = strlen(msg);
    if (n >= sizeof(m->last_upgrade))
        n = sizeof(m->last_upgrade) - 1;
    memcpy(m->last_upgrade, msg, n);
    m->last_upgrade[n] = '\0';
    if (ok)
        log_info("upgrade: %s", msg);
    else
        log_error("upgrade failed: %s", msg);
    m->status_dirty = 1;
    control_upgrade_done(m, ok, msg);
}

void upgrade_begin(master_t *m)
{
    int p[2];
    char why[PATH_MAX + 128];
    if (m->upgrade_pid != 0) {
        log_info("upgrade: master %ld is already starting", (long)m->upgrade_pid);
        return;
    }
    if (m->exe == NULL) {
        upgrade__finish(m, 0, "the path of the binary is unknown; master keeps serving");
        return;
    }
    if (access(m->exe, X_OK) < 0) {
        snprintf(why, sizeof(why), "%s: %s; master %ld keeps serving", m->exe, strerror(errno),
                 (long)m->pid);
        upgrade__finish(m, 0, why);
        return;
    }
    if (pipe2(p, O_CLOEXEC) < 0) {
        snprintf(why, sizeof(why), "pipe2(): %s; master %ld keeps serving", strerror(errno),
                 (long)m->pid);
        upgrade__finish(m, 0, why);
        return;
    }
    log_info("upgrade: starting %s (%zu listening socket%s handed over)", m->exe, m->num_listen,
             m->num_listen == 1 ? "" : "s");
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        upgrade__exec(m, p[1]);
    }
    close(p[1]);
    if (pid < 0) {
        snprintf(why, sizeof(why), "fork(): %s; master %ld keeps serving", strerror(errno),
                 (long)m->pid);
        close(p[0]);
        upgrade__finish(m, 0, why);
        return;
    }
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = MASTER_TAG(MASTER_TAG_UPGRADE, 0) };
    if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, p[0], &ev) < 0)
        log_error("epoll_ctl(upgrade pipe): %s", strerror(errno));
    m->upgrade_pid = pid;
    m->upgrade_fd = p[0];
    m->upgrade_len = 0;
    m->upgrade_why[0] = '\0';
    m->upgrade_reaped = m->upgrade_timed_out = 0;
    m->upgrade_deadline = master__now() + UPGRADE_WAIT_TIMEOUT;
    log_info("upgrade: new master %ld started", (long)pid);
}

static void upgrade__close_pipe(master_t *m)
{
    if (m->upgrade_fd >= 0) {
        epoll_ctl(m->epfd, EPOLL_CTL_DEL, m->upgrade_fd, NULL);
        close(m->upgrade_fd);
        m->upgrade_fd = -1;
    }
}

/* One line from the new master: 1 when it says it took over. */
static int upgrade__line(master_t *m, const char *line)
{
    if (strncmp(line, "ok", 2) == 0 && !m->upgrade_handed) {
        char msg[256];
        m->upgrade_handed = 1;
        snprintf(msg, sizeof(msg), "master %ld is serving; master %ld drains and exits",
                 (long)m->upgrade_pid, (long)m->pid);
        /* Before anything else: under systemd the service's main process
         * must be the new master before this one starts to go away. */
        notify_send("MAINPID=%ld\nSTATUS=upgraded: master %ld is serving", (long)m->upgrade_pid,
                    (long)m->upgrade_pid);
        upgrade__finish(m, 1, msg);
        return 1;
    }
    if (strncmp(line, "error: ", 7) == 0)
        snprintf(m->upgrade_why, sizeof(m->upgrade_why), "%s", line + 7);
    return 0;
}

int upgrade_input(master_t *m)
{
    int handed = 0;
    for (int turns = 0; turns < 64 && m->upgrade_fd >= 0; turns++) {
        size_t room = sizeof(m->upgrade_buf) - 1 - m->upgrade_len;
        ssize_t n = read(m->upgrade_fd, m->upgrade_buf + m->upgrade_len, room);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n <= 0) {
            /* End of file: it took over and closed the pipe, or it exited
             * (upgrade_tick() reports that once it is reaped). */
            if (m->upgrade_len > 0) {
                m->upgrade_buf[m->upgrade_len] = '\0';
                handed |= upgrade__line(m, m->upgrade_buf);
                m->upgrade_len = 0;
            }
            upgrade__close_pipe(m);
            break;
        }
        m->upgrade_len += (size_t)n;
        m->upgrade_buf[m->upgrade_len] = '\0';
        char *nl;
        while ((nl = strchr(m->upgrade_buf, '\n')) != NULL) {
            *nl = '\0';
            handed |= upgrade__line(m, m->upgrade_buf);
            size_t used = (size_t)(nl + 1 - m->upgrade_buf);
            memmove(m->upgrade_buf, nl + 1, m->upgrade_len - used + 1);
            m->upgrade_len -= used;
        }
        if (m->upgrade_len == sizeof(m->upgrade_buf) - 1)
            m->upgrade_len = 0; /* a line too long for us: drop it */
    }
    return handed;
}

void upgrade_tick(master_t *m)
{
    if (m->upgrade_pid == 0 || m->upgrade_handed)
        return;
    if (!m->upgrade_reaped) {
        if (!m->upgrade_timed_out && master__now() >= m->upgrade_deadline) {
            log_error("upgrade: new master %ld not ready within %.0fs: killing it",
                      (long)m->upgrade_pid, UPGRADE_WAIT_TIMEOUT);
            m->upgrade_timed_out = 1;
            kill(m->upgrade_pid, SIGKILL);
        }
        return;
    }
    /* Reaped before it took over: the upgrade failed. Read what is left
     * of its last words first. */
    upgrade_input(m);
    upgrade__close_pipe(m);
    char how[CONF_ERR_LEN + 64], msg[CONF_ERR_LEN + 192];
    int st = m->upgrade_status;
    if (m->upgrade_timed_out)
        snprintf(how, sizeof(how), "the new master was not ready within %.0fs", UPGRADE_WAIT_TIMEOUT);
    else if (m->upgrade_why[0])
        snprintf(how, sizeof(how), "%s", m->upgrade_why);
    else if (WIFEXITED(st))
        snprintf(how, sizeof(how), "the new binary exited with status %d before it was ready",
                 WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(how, sizeof(how), "the new master was killed by signal %d (%s)", WTERMSIG(st),
                 strsignal(WTERMSIG(st)));
    else
        snprintf(how, sizeof(how), "the new master stopped (status 0x%x)", st);
    snprintf(msg, sizeof(msg), "%s; master %ld keeps serving", how, (long)m->pid);
    m->upgrade_pid = 0;
    m->upgrade_reaped = 0;
    upgrade__finish(m, 0, msg);
}

int upgrade_take_over(master_t *m)
{
    char err[512], line[64];
    if (daemon_write_pid(m->conf->pid_file, m->predecessor, err, sizeof(err)) < 0) {
        log_error("%s", err);
        upgrade_report_fail(&m->predecessor_fd, err);
        return -1;
    }
    free(m->pid_path);
    m->pid_path = strdup(m->conf->pid_file);
    log_info("upgrade: taking over from master %ld", (long)m->predecessor);
    notify_send("MAINPID=%ld\nREADY=1\nSTATUS=serving (upgraded): generation %u, %d worker%s",
                (long)m->pid, m->generation, m->target_workers, m->target_workers == 1 ? "" : "s");
    snprintf(line, sizeof(line), "ok %ld\n", (long)m->pid);
    upgrade__say(m->predecessor_fd, line);
    close(m->predecessor_fd);
    m->predecessor_fd = -1;
    m->predecessor = 0;
    return 0;
}
