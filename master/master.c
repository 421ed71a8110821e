/*
 * master: see master.h.
 */
#include "config.h"

#include "master.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "worker.h"

/* epoll tags: what an event's fd is. */
#define TAG_SIGNAL 1ULL
#define TAG_MQ 2ULL
#define TAG_WORKER 3ULL
#define TAG_CONTROL 4ULL
#define TAG(t, i) (((uint64_t)(t) << 32) | (uint32_t)(i))

/* How long a reload's new generation has to report READY. */
#define MASTER_READY_TIMEOUT 10.0
/* A worker that dies sooner than this after its start counts as crashing. */
#define MASTER_STABLE_AFTER 10.0
#define MASTER_BACKOFF_MIN 0.1
#define MASTER_BACKOFF_MAX 30.0
/* A fast stop kills what is left after this. */
#define MASTER_FAST_STOP_LIMIT 5.0

double master_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int master_resolve_user(const conf_t *conf, uid_t *uid, gid_t *gid, char *err, size_t errlen)
{
    *uid = (uid_t)-1;
    *gid = (gid_t)-1;
    if (conf->user != NULL) {
        struct passwd *pw = getpwnam(conf->user);
        if (pw == NULL) {
            snprintf(err, errlen, "%s:%u: user: no such user \"%s\"", conf->file, conf->user_line,
                     conf->user);
            return -1;
        }
        *uid = pw->pw_uid;
        *gid = pw->pw_gid;
    }
    if (conf->group != NULL) {
        struct group *gr = getgrnam(conf->group);
        if (gr == NULL) {
            snprintf(err, errlen, "%s:%u: group: no such group \"%s\"", conf->file,
                     conf->group_line, conf->group);
            return -1;
        }
        *gid = gr->gr_gid;
    }
    return 0;
}

static master_worker_t *master__find(master_t *m, pid_t pid)
{
    for (size_t i = 0; i < MASTER_MAX_WORKERS; i++)
        if (m->workers[i].pid == pid)
            return &m->workers[i];
    return NULL;
}

static size_t master__count(master_t *m, int generation)
{
    size_t n = 0;
    for (size_t i = 0; i < MASTER_MAX_WORKERS; i++)
        if (m->workers[i].pid != 0 && (generation < 0 || m->workers[i].generation == (unsigned)generation))
            n++;
    return n;
}

static void master__send(master_worker_t *w, char cmd)
{
    if (w->cmd_fd < 0)
        return;
    ssize_t r;
    do {
        r = write(w->cmd_fd, &cmd, 1);
    } while (r < 0 && errno == EINTR);
    if (r < 0 && errno != EPIPE)
        log_warn("write() to the pipe of worker %ld: %s", (long)w->pid, strerror(errno));
}

/* Finds or opens the listening sockets for conf; fills fds in conf order. */
static int master__bind(master_t *m, const conf_t *conf, int *fds)
{
    size_t opened_from = m->num_listen;
    for (size_t i = 0; i < conf->num_listen; i++) {
        size_t j;
        for (j = 0; j < m->num_listen; j++)
            if (listen_same(&m->listen[j].addr, &conf->listen[i]))
                break;
        if (j == m->num_listen) {
            char err[256];
            if (m->num_listen == MASTER_MAX_LISTEN) {
                log_error("too many listen addresses");
                goto fail;
            }
            int fd = listen_open(&conf->listen[i], err, sizeof(err));
            if (fd < 0) {
                log_error("%s", err);
                goto fail;
            }
            m->listen[j].addr = conf->listen[i];
            m->listen[j].addr.spec = NULL;
            m->listen[j].fd = fd;
            m->num_listen++;
            log_info("listening on %s", conf->listen[i].spec);
        }
        fds[i] = m->listen[j].fd;
        if (listen_set_defer(fds[i], conf->defer_accept) < 0)
            log_warn("setsockopt(TCP_DEFER_ACCEPT) on %s: %s", conf->listen[i].spec, strerror(errno));
    }
    return 0;

fail:
    /* Close what this call opened: a failed reload leaves the set as it was. */
    while (m->num_listen > opened_from) {
        m->num_listen--;
        close(m->listen[m->num_listen].fd);
    }
    return -1;
}

/* Closes sockets that no config in use lists any more. */
static void master__unbind_unused(master_t *m)
{
    size_t out = 0;
    for (size_t i = 0; i < m->num_listen; i++) {
        int used = 0;
        const conf_t *confs[2] = { m->conf, m->pending };
        for (int c = 0; c < 2 && !used; c++)
            for (size_t k = 0; confs[c] && k < confs[c]->num_listen; k++)
                if (listen_same(&m->listen[i].addr, &confs[c]->listen[k]))
                    used = 1;
        if (used) {
            m->listen[out++] = m->listen[i];
        } else {
            log_info("closing listen address :%d, no longer in the configuration",
                     m->listen[i].addr.port);
            close(m->listen[i].fd);
        }
    }
    m->num_listen = out;
}

static int master__spawn(master_t *m, unsigned slot, unsigned generation, const conf_t *conf)
{
    master_worker_t *w = master__find(m, 0);
    int down[2] = { -1, -1 }, up[2] = { -1, -1 };
    int fds[CONF_MAX_LISTEN];
    if (w == NULL) {
        log_error("cannot start a worker: %d workers already", MASTER_MAX_WORKERS);
        return -1;
    }
    if (master__bind(m, conf, fds) < 0)
        return -1;
    int pending_gen = m->pending != NULL && generation == m->pending_generation;
    if (pipe2(down, O_CLOEXEC) < 0 || pipe2(up, O_CLOEXEC | O_NONBLOCK) < 0) {
        log_error("pipe2(): %s", strerror(errno));
        goto fail;
    }
    pid_t pid = fork();
    if (pid < 0) {
        log_error("fork(): %s", strerror(errno));
        goto fail;
    }
    if (pid == 0) {
        /* The child keeps only what a worker needs: close the master's
         * epoll, signalfd, the queue's read end and every other worker's
         * pipes, so that a pipe's end-of-file means what it should. */
        close(m->epfd);
        close(m->sigfd);
        mq_close(m->mq.rd);
        if (m->ctl_fd >= 0)
            close(m->ctl_fd);
        for (size_t i = 0; i < m->num_waiters; i++)
            close(m->waiters[i]);
        for (size_t i = 0; i < m->num_inflight; i++)
            close(m->inflight[i]);
        for (size_t i = 0; i < MASTER_MAX_WORKERS; i++) {
            if (m->workers[i].pid != 0) {
                close(m->workers[i].cmd_fd);
                close(m->workers[i].msg_fd);
            }
        }
        /* And every listening socket its config does not list: a socket
         * kept here would stay in LISTEN after the master closes its own
         * copy (an address a reload removed), taking connections nobody
         * accepts. */
        for (size_t j = 0; j < m->num_listen; j++) {
            int used = 0;
            for (size_t k = 0; k < conf->num_listen; k++)
                if (fds[k] == m->listen[j].fd)
                    used = 1;
            if (!used)
                close(m->listen[j].fd);
        }
        close(down[1]);
        close(up[0]);
        worker_args_t a = {
            .conf = conf,
            .listen_fds = fds,
            .num_listen = conf->num_listen,
            .cmd_fd = down[0],
            .msg_fd = up[1],
            .mq = m->mq.wr,
            .slot = slot,
            .generation = generation,
            .master_pid = m->pid,
            .uid = pending_gen ? m->pending_uid : m->uid,
            .gid = pending_gen ? m->pending_gid : m->gid,
            .page = m->page,
            .balance = m->balance,
            .cell = (unsigned)(w - m->workers),
        };
        worker_run(&a);
    }
    close(down[0]);
    close(up[1]);
    memset(w, 0, sizeof(*w));
    w->pid = pid;
    w->slot = slot;
    w->generation = generation;
    w->state = WORKER_STARTING;
    w->cmd_fd = down[1];
    w->msg_fd = up[0];
    w->started = w->last_heartbeat = master_now();
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = TAG(TAG_WORKER, (uint32_t)pid) };
    if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, w->msg_fd, &ev) < 0)
        log_error("epoll_ctl(worker pipe): %s", strerror(errno));
    log_info("started worker %ld (slot %u, generation %u)", (long)pid, slot, generation);
    m->status_dirty = 1;
    return 0;

fail:
    for (int i = 0; i < 2; i++) {
        if (down[i] >= 0)
            close(down[i]);
        if (up[i] >= 0)
            close(up[i]);
    }
    return -1;
}

static void master__forget(master_t *m, master_worker_t *w)
{
    epoll_ctl(m->epfd, EPOLL_CTL_DEL, w->msg_fd, NULL);
    close(w->cmd_fd);
    close(w->msg_fd);
    memset(w, 0, sizeof(*w));
    w->cmd_fd = w->msg_fd = -1;
    (void)m;
}

static void master__drain(master_t *m, master_worker_t *w, const char *why)
{
    if (w->state == WORKER_DRAINING)
        return;
    w->state = WORKER_DRAINING;
    w->kill_at = master_now() + m->conf->shutdown_timeout;
    log_info("worker %ld (slot %u, generation %u): draining (%s)", (long)w->pid, w->slot,
             w->generation, why);
    master__send(w, CMD_DRAIN);
}

/* The slot is empty in the serving generation: start one now or later. */
static void master__schedule(master_t *m, unsigned slot, int crashed, double lived)
{
    master_slot_t *s = &m->slots[slot];
    double now = master_now();
    if (!crashed || lived >= MASTER_STABLE_AFTER) {
        s->backoff = 0;
        s->spawn_at = now;
        return;
    }
    s->backoff = s->backoff == 0 ? MASTER_BACKOFF_MIN : s->backoff * 2;
    if (s->backoff > MASTER_BACKOFF_MAX)
        s->backoff = MASTER_BACKOFF_MAX;
    s->spawn_at = now + s->backoff;
    log_warn("slot %u keeps dying: next start in %.1fs", slot, s->backoff);
}

static void master__reload_abort(master_t *m, const char *why);

/* 1 when a live, not draining worker of generation gen holds the slot
 * (a recycled worker's successor, say). */
static int master__slot_taken(master_t *m, unsigned slot, unsigned gen)
{
    for (size_t i = 0; i < MASTER_MAX_WORKERS; i++) {
        master_worker_t *w = &m->workers[i];
        if (w->pid != 0 && w->slot == slot && w->generation == gen && w->state != WORKER_DRAINING)
            return 1;
    }
    return 0;
}

static void master__reports(master_t *m);

static void master__reap(master_t *m)
{
    /* Read what the dying sent first: its final counters join the totals. */
    master__reports(m);
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0) {
            if (pid < 0 && errno != ECHILD)
                log_error("waitpid(): %s", strerror(errno));
            return;
        }
        master_worker_t *w = master__find(m, pid);
        if (w == NULL)
            continue;

        double lived = master_now() - w->started;
        int expected = w->state == WORKER_DRAINING || m->stop != MASTER_RUNNING || w->killed;
        char how[128];
        if (WIFEXITED(status))
            snprintf(how, sizeof(how), "exited with status %d%s", WEXITSTATUS(status),
                     WEXITSTATUS(status) == WORKER_EXIT_SETUP ? " (could not set up; see above)" : "");
        else if (WIFSIGNALED(status))
            snprintf(how, sizeof(how), "was killed by signal %d (%s)%s", WTERMSIG(status),
                     strsignal(WTERMSIG(status)), WCOREDUMP(status) ? ", core dumped" : "");
        else
            snprintf(how, sizeof(how), "stopped with status 0x%x", status);
        int clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (expected && (clean || w->killed || m->stop == MASTER_STOP_FAST))
            log_info("worker %ld (slot %u, generation %u) %s", (long)pid, w->slot, w->generation, how);
        else
            log_error("worker %ld (slot %u, generation %u) %s after %.1fs", (long)pid, w->slot,
                      w->generation, how, lived);

        /* Its last report (sent as it stopped) joins the totals. */
        report_add(&m->retired, &w->report);
        unsigned slot = w->slot, gen = w->generation;
        int draining = w->state == WORKER_DRAINING;
        master__forget(m, w);

        m->status_dirty = 1;
        if (m->stop != MASTER_RUNNING || draining)
            continue;
        if (gen == m->generation && !expected) {
            /* A successor that died before READY: its predecessor stays,
             * and may ask to be recycled again. */
            for (size_t i = 0; i < MASTER_MAX_WORKERS; i++) {
                master_worker_t *o = &m->workers[i];
                if (o->pid != 0 && o->slot == slot && o->generation == gen && o->recycling &&
                    o->state != WORKER_DRAINING)
                    o->recycling = 0;
            }
        }
        if (gen == m->generation && slot < (unsigned)m->target_workers &&
            !master__slot_taken(m, slot, gen)) {
            m->slots[slot].restarts++;
            master__schedule(m, slot, 1, lived);
        } else if (m->pending != NULL && gen == m->pending_generation) {
            /* A worker of a reload died before the reload committed: the new
             * configuration does not work, so the old generation stays. */
            master__reload_abort(m, "a worker of the new generation died");
        }
    }
}

static void master__reload_abort(master_t *m, const char *why)
{
    log_error("reload to generation %u failed: %s; generation %u keeps serving",
              m->pending_generation, why, m->generation);
    snprintf(m->last_reload, sizeof(m->last_reload),
             "generation %u failed: %s; generation %u keeps serving", m->pending_generation, why,
             m->generation);
    m->reloads_failed++;
    control_reload_done(m, 0, m->last_reload);
    for (size_t i = 0; i < MASTER_MAX_WORKERS; i++) {
        master_worker_t *w = &m->workers[i];
        if (w->pid != 0 && w->generation == m->pending_generation) {
            w->killed = 1;
            kill(w->pid, SIGKILL);
        }
    }
    conf_free(m->pending);
    m->pending = NULL;
    master__unbind_unused(m);
}

/* Called when every worker of the pending generation reported READY. */
static void master__reload_commit(master_t *m)
{
    unsigned old = m->generation;
    for (size_t i = 0; i < MASTER_MAX_WORKERS; i++) {
        master_worker_t *w = &m->workers[i];
        if (w->pid != 0 && w->generation != m->pending_generation)
            master__drain(m, w, "reloaded");
    }
    if (strcmp(m->pending->error_log, m->conf->error_log) != 0 &&
        log_open(m->pending->error_log, m->pending->log_level) < 0)
        log_error("error_log: open(\"%s\"): %s; logging stays where it was",
                  m->pending->error_log, strerror(errno));
    conf_free(m->conf);
    m->conf = m->pending;
    m->pending = NULL;
    m->generation = m->pending_generation;
    m->uid = m->pending_uid;
    m->gid = m->pending_gid;
    m->target_workers = m->conf->workers;
    for (int s = 0; s < MASTER_MAX_WORKERS; s++)
        m->slots[s].spawn_at = 0;
    log_set_level(m->conf->log_level);
    master__unbind_unused(m);
    log_info("reload done: generation %u is serving, generation %u is draining", m->generation, old);
    snprintf(m->last_reload, sizeof(m->last_reload),
             "generation %u is serving, generation %u is draining", m->generation, old);
    m->reloads_ok++;
    m->status_dirty = 1;
    control_reload_done(m, 1, m->last_reload);
}

/* A reload that cannot happen: log it, tell waiting clients, keep serving. */
static void master__reload_refuse(master_t *m, const char *why)
{
    log_error("reload failed, configuration unchanged (generation %u keeps serving): %s",
              m->generation, why);
    snprintf(m->last_reload, sizeof(m->last_reload), "failed, configuration unchanged: %s", why);
    m->reloads_failed++;
    control_reload_done(m, 0, m->last_reload);
}

static void master__reload(master_t *m)
{
    char err[CONF_ERR_LEN];
    int most = m->target_workers > m->conf->workers ? m->target_workers : m->conf->workers;
    if (m->pending != NULL || master__count(m, -1) > (size_t)most) {
        /* A generation is still starting or draining: starting another now
         * would pass 2 x workers processes. Do it when they are gone. */
        if (!m->reload_queued)
            log_info("reload queued: waiting for generation %u to %s", m->pending ? m->pending_generation : m->generation - 1,
                     m->pending ? "start" : "finish draining");
        m->reload_queued = 1;
        return;
    }
    m->reload_queued = 0;
    control_reload_start(m);
    log_info("reloading %s", m->conf->file);
    conf_t *c = conf_load_at(m->conf->file, m->conf->base, err);
    if (c == NULL) {
        master__reload_refuse(m, err);
        return;
    }
    uid_t uid;
    gid_t gid;
    if (master_resolve_user(c, &uid, &gid, err, sizeof(err)) < 0) {
        master__reload_refuse(m, err);
        conf_free(c);
        return;
    }
    int fds[CONF_MAX_LISTEN];
    if (master__bind(m, c, fds) < 0) {
        master__reload_refuse(m, "cannot listen on a new address (see the error above)");
        conf_free(c);
        return;
    }
    if (strcmp(c->error_log, "stderr") != 0 && strcmp(c->error_log, m->conf->error_log) != 0) {
        /* Only checked here: the master switches logs when the reload
         * commits, so an aborted reload leaves it where it was. */
        int fd = open(c->error_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) {
            snprintf(err, sizeof(err), "error_log: open(\"%s\"): %s", c->error_log, strerror(errno));
            master__reload_refuse(m, err);
            conf_free(c);
            master__unbind_unused(m);
            return;
        }
        close(fd);
    }
    if (geteuid() != 0) {
        uid = (uid_t)-1;
        gid = (gid_t)-1;
    }
    m->pending_uid = uid;
    m->pending_gid = gid;
    m->pending = c;
    m->pending_generation = m->next_generation++;
    m->pending_deadline = master_now() + MASTER_READY_TIMEOUT;
    m->pending_wanted = c->workers;
    log_info("reload: starting generation %u (%d workers)", m->pending_generation, c->workers);
    for (int s = 0; s < c->workers; s++) {
        if (master__spawn(m, (unsigned)s, m->pending_generation, c) < 0) {
            master__reload_abort(m, "could not start its workers");
            return;
        }
    }
}

static void master__begin_stop(master_t *m, master_stop_t how)
{
    if (m->stop == MASTER_STOP_FAST)
        return;
    if (m->stop == MASTER_STOP_GRACEFUL && how == MASTER_STOP_GRACEFUL)
        return;
    m->stop = how;
    if (m->pending != NULL) {
        conf_free(m->pending);
        m->pending = NULL;
    }
    control_reload_start(m);
    control_reload_done(m, 0, "the server is stopping");
    if (how == MASTER_STOP_FAST) {
        log_info("fast stop: stopping every worker");
        m->stop_deadline = master_now() + MASTER_FAST_STOP_LIMIT;
        for (size_t i = 0; i < MASTER_MAX_WORKERS; i++)
            if (m->workers[i].pid != 0)
                kill(m->workers[i].pid, SIGTERM);
    } else {
        log_info("graceful stop: workers finish their requests (at most %.0fs)",
                 m->conf->shutdown_timeout);
        m->stop_deadline = master_now() + m->conf->shutdown_timeout;
        for (size_t i = 0; i < MASTER_MAX_WORKERS; i++)
            if (m->workers[i].pid != 0)
                master__drain(m, &m->workers[i], "stopping");
    }
}

static void master__reopen(master_t *m)
{
    log_info("reopening log files");
    if (log_reopen() < 0)
        log_error("reopening the error log: %s", strerror(errno));
    /* The workers reopen the error log after the master, as their own
     * user: the file the master just created must be theirs too. */
    if (geteuid() == 0 && m->uid != (uid_t)-1 && log_fd() != STDERR_FILENO &&
        fchown(log_fd(), m->uid, m->gid) < 0)
        log_warn("fchown(error log): %s", strerror(errno));
    /* Create the access log here, owned by the workers' user, so a worker
     * that dropped its privileges can open it again. */
    if (m->conf->access_log != NULL) {
        int fd = open(m->conf->access_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) {
            log_error("open(\"%s\"): %s", m->conf->access_log, strerror(errno));
        } else {
            if (geteuid() == 0 && m->uid != (uid_t)-1 && fchown(fd, m->uid, m->gid) < 0)
                log_warn("fchown(\"%s\"): %s", m->conf->access_log, strerror(errno));
            close(fd);
        }
    }
    for (size_t i = 0; i < MASTER_MAX_WORKERS; i++)
        if (m->workers[i].pid != 0)
            master__send(&m->workers[i], CMD_REOPEN);
}

static void master__change_workers(master_t *m, int delta)
{
    int n = m->target_workers + delta;
    if (n < 1 || n > MASTER_MAX_WORKERS) {
        log_warn("worker count stays %d (limits 1 to %d)", m->target_workers, MASTER_MAX_WORKERS);
        return;
    }
    if (delta > 0) {
        m->target_workers = n;
        m->slots[n - 1] = (master_slot_t){ 0, 0, master_now() };
    } else {
        m->target_workers = n;
        m->slots[n].spawn_at = 0;
        for (size_t i = 0; i < MASTER_MAX_WORKERS; i++) {
            master_worker_t *w = &m->workers[i];
            if (w->pid != 0 && w->generation == m->generation && w->slot == (unsigned)n)
                master__drain(m, w, "one worker fewer");
        }
    }
    log_info("workers: %d", m->target_workers);
}

static void master__signals(master_t *m)
{
    struct signalfd_siginfo si;
    while (read(m->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        switch (si.ssi_signo) {
        case SIGCHLD:
            master__reap(m);
            break;
        case SIGTERM:
        case SIGINT:
            master__begin_stop(m, MASTER_STOP_FAST);
            break;
        case SIGQUIT:
            master__begin_stop(m, MASTER_STOP_GRACEFUL);
            break;
        case SIGHUP:
            if (m->stop == MASTER_RUNNING)
                master__reload(m);
            break;
        case SIGUSR1:
            master__reopen(m);
            break;
        case SIGTTIN:
            if (m->stop == MASTER_RUNNING)
                master__change_workers(m, +1);
            break;
        case SIGTTOU:
            if (m->stop == MASTER_RUNNING)
                master__change_workers(m, -1);
            break;
        }
    }
}

/* A new worker is READY: drain the recycled worker it replaces, if any. */
static void master__retire_recycled(master_t *m, master_worker_t *ready)
{
    for (size_t i = 0; i < MASTER_MAX_WORKERS; i++) {
        master_worker_t *w = &m->workers[i];
        if (w->pid != 0 && w != ready && w->recycling && w->slot == ready->slot &&
            w->generation == ready->generation)
            master__drain(m, w, "replaced after worker_max_requests");
    }
}

static void master__worker_msg(master_t *m, pid_t pid)
{
    master_worker_t *w = master__find(m, pid);
    if (w == NULL)
        return;
    char buf[64];
    ssize_t n;
    while ((n = read(w->msg_fd, buf, sizeof(buf))) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] == MSG_HEARTBEAT) {
                w->last_heartbeat = master_now();
            } else if (buf[i] == MSG_READY && w->state == WORKER_STARTING) {
                w->state = WORKER_READY;
                w->last_heartbeat = master_now();
                m->status_dirty = 1;
                log_debug("worker %ld is ready", (long)w->pid);
                master__retire_recycled(m, w);
            } else if (buf[i] == MSG_RECYCLE && w->state == WORKER_READY && !w->recycling &&
                       m->stop == MASTER_RUNNING && w->generation == m->generation) {
                /* Start the successor first; the old worker keeps serving
                 * until the new one is READY, so no capacity is lost. */
                log_info("worker %ld reached worker_max_requests: replacing it", (long)w->pid);
                w->recycling = 1;
                m->status_dirty = 1;
                if (master__spawn(m, w->slot, w->generation, m->conf) < 0)
                    w->recycling = 0;
            }
        }
    }
    if (n == 0) {
        /* The worker closed its end: it is exiting; SIGCHLD reaps it. */
        epoll_ctl(m->epfd, EPOLL_CTL_DEL, w->msg_fd, NULL);
    }
}

static void master__reports(master_t *m)
{
    report_t r;
    ssize_t n;
    while ((n = mq_receive(m->mq.rd, (char *)&r, sizeof(r), NULL)) == (ssize_t)sizeof(r)) {
        master_worker_t *w = master__find(m, (pid_t)r.pid);
        if (w != NULL)
            w->report = r;
        m->status_dirty = 1;
        if (r.type == REPORT_STARTED)
            log_info("worker %ld reports: started (slot %u, generation %u)", (long)r.pid, r.slot,
                     r.generation);
        else if (r.type == REPORT_STOPPING)
            log_info("worker %ld reports: stopping after %llu requests", (long)r.pid,
                     (unsigned long long)r.requests);
    }
}

/* Timers: respawns, readiness of a reload, heartbeats, drain limits. */
static void master__timers(master_t *m)
{
    double now = master_now();

    if (m->stop != MASTER_RUNNING) {
        if (now >= m->stop_deadline) {
            for (size_t i = 0; i < MASTER_MAX_WORKERS; i++) {
                master_worker_t *w = &m->workers[i];
                if (w->pid != 0 && !w->killed) {
                    log_warn("worker %ld did not stop in time: killing it", (long)w->pid);
                    w->killed = 1;
                    kill(w->pid, SIGKILL);
                }
            }
        }
        return;
    }

    for (int s = 0; s < m->target_workers; s++) {
        if (m->slots[s].spawn_at != 0 && now >= m->slots[s].spawn_at) {
            m->slots[s].spawn_at = 0;
            if (master__spawn(m, (unsigned)s, m->generation, m->conf) < 0)
                master__schedule(m, (unsigned)s, 1, 0);
        }
    }

    if (m->reload_queued && m->pending == NULL)
        master__reload(m);

    if (m->pending != NULL) {
        size_t ready = 0;
        for (size_t i = 0; i < MASTER_MAX_WORKERS; i++)
            if (m->workers[i].pid != 0 && m->workers[i].generation == m->pending_generation &&
                m->workers[i].state == WORKER_READY)
                ready++;
        if (ready == (size_t)m->pending_wanted)
            master__reload_commit(m);
        else if (now >= m->pending_deadline)
            master__reload_abort(m, "its workers were not ready in time");
    }

    for (size_t i = 0; i < MASTER_MAX_WORKERS; i++) {
        master_worker_t *w = &m->workers[i];
        if (w->pid == 0 || w->killed)
            continue;
        if (w->state == WORKER_DRAINING && w->kill_at != 0 && now >= w->kill_at) {
            log_warn("worker %ld still draining after shutdown_timeout: killing it", (long)w->pid);
            w->killed = 1;
            kill(w->pid, SIGKILL);
        } else if (w->state != WORKER_DRAINING && now - w->last_heartbeat > m->conf->worker_timeout) {
            log_error("worker %ld (slot %u) sent no heartbeat for %.1fs: killing it", (long)w->pid,
                      w->slot, now - w->last_heartbeat);
            kill(w->pid, SIGKILL);
        }
    }
}

/* Which workers accept: ready and not draining. A cell whose worker is
 * gone is zeroed so its count does not linger in the mean. */
static void master__publish_balance(master_t *m)
{
    if (m->balance == NULL)
        return;
    uint32_t n = 0;
    for (size_t i = 0; i < MASTER_MAX_WORKERS && i < BALANCE_CELLS; i++) {
        master_worker_t *w = &m->workers[i];
        if (w->pid == 0)
            __atomic_store_n(&m->balance->conns[i], 0, __ATOMIC_RELAXED);
        else if (w->state == WORKER_READY)
            __atomic_store_n(&m->balance->active[n++], (uint16_t)i, __ATOMIC_RELAXED);
    }
    __atomic_store_n(&m->balance->nactive, n, __ATOMIC_RELAXED);
}

static int master__loop(master_t *m)
{
    struct epoll_event events[64];
    while (m->stop == MASTER_RUNNING || master__count(m, -1) > 0) {
        int n = epoll_wait(m->epfd, events, 64, 100);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            log_error("epoll_wait(): %s", strerror(errno));
            return 1;
        }
        for (int i = 0; i < n; i++) {
            uint64_t tag = events[i].data.u64 >> 32;
            if (tag == TAG_SIGNAL)
                master__signals(m);
            else if (tag == TAG_MQ)
                master__reports(m);
            else if (tag == TAG_WORKER)
                master__worker_msg(m, (pid_t)(uint32_t)events[i].data.u64);
            else if (tag == TAG_CONTROL)
                control_accept(m);
        }
        master__reap(m);
        master__timers(m);
        if (m->status_dirty) {
            master__publish_balance(m);
            status_publish(m);
        }
    }
    return 0;
}

int master_run(conf_t *conf, int foreground)
{
    static master_t master; /* large; one per process */
    master_t *m = &master;
    char err[512];
    int status = 1;
    sigset_t mask;

    memset(m, 0, sizeof(*m));
    m->epfd = m->sigfd = m->ctl_fd = -1;
    m->mq.rd = m->mq.wr = (mqd_t)-1;
    for (size_t i = 0; i < MASTER_MAX_WORKERS; i++)
        m->workers[i].cmd_fd = m->workers[i].msg_fd = -1;
    m->conf = conf;
    m->generation = 1;
    m->next_generation = 2;
    m->target_workers = conf->workers;

    if (master_resolve_user(conf, &m->uid, &m->gid, err, sizeof(err)) < 0) {
        log_error("%s", err);
        goto fail;
    }
    if (conf->user != NULL && geteuid() != 0) {
        log_warn("user \"%s\" is ignored: drover is not running as root", conf->user);
        m->uid = (uid_t)-1;
        m->gid = (gid_t)-1;
    }

    /* Bind before anything else that could touch a running instance: a
     * second instance on a busy port must fail here, with its pid file and
     * the first instance's queue untouched. */
    int fds[CONF_MAX_LISTEN];
    if (master__bind(m, conf, fds) < 0)
        goto fail;

    struct stat st;
    if (stat(conf->root, &st) < 0 || !S_ISDIR(st.st_mode))
        log_warn("root %s is not a directory: every request will get 404", conf->root);

    /* Until the master runs, errors also go to the terminal that started
     * it, even when the error log is a file. */
    if (conf->daemon && !foreground) {
        if (daemon_detach() < 0) {
            log_error("daemon: %s", strerror(errno));
            goto fail;
        }
    }
    m->pid = getpid();
    m->started = master_now();

    if (daemon_write_pid(conf->pid_file, err, sizeof(err)) < 0) {
        log_error("%s", err);
        goto fail;
    }
    m->pid_path = strdup(conf->pid_file);

    mq_remove_stale();
    if (mq_create(&m->mq, err, sizeof(err)) < 0) {
        log_error("%s", err);
        goto fail;
    }
    if (conf->access_log != NULL) {
        int fd = open(conf->access_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) {
            log_error("open(\"%s\"): %s", conf->access_log, strerror(errno));
            goto fail;
        }
        if (geteuid() == 0 && m->uid != (uid_t)-1 && fchown(fd, m->uid, m->gid) < 0)
            log_warn("fchown(\"%s\"): %s", conf->access_log, strerror(errno));
        close(fd);
    }

    sigemptyset(&mask);
    int sigs[] = { SIGCHLD, SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGTTIN, SIGTTOU };
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaddset(&mask, sigs[i]);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0) {
        log_error("sigprocmask(): %s", strerror(errno));
        goto fail;
    }
    signal(SIGPIPE, SIG_IGN);
    m->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    m->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (m->sigfd < 0 || m->epfd < 0) {
        log_error("signalfd()/epoll_create1(): %s", strerror(errno));
        goto fail;
    }
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = TAG(TAG_SIGNAL, 0) };
    struct epoll_event evq = { .events = EPOLLIN, .data.u64 = TAG(TAG_MQ, 0) };
    if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, m->sigfd, &ev) < 0 ||
        epoll_ctl(m->epfd, EPOLL_CTL_ADD, (int)m->mq.rd, &evq) < 0) {
        log_error("epoll_ctl(): %s", strerror(errno));
        goto fail;
    }

    m->page = mmap(NULL, sizeof(status_page_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                   -1, 0);
    if (m->page == MAP_FAILED) {
        log_error("mmap(status page): %s", strerror(errno));
        m->page = NULL;
        goto fail;
    }
    m->balance = mmap(NULL, sizeof(balance_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                      -1, 0);
    if (m->balance == MAP_FAILED) {
        log_error("mmap(balance): %s", strerror(errno));
        m->balance = NULL;
        goto fail;
    }
    m->ctl_fd = control_open(m);
    if (m->ctl_fd >= 0) {
        struct epoll_event evc = { .events = EPOLLIN, .data.u64 = TAG(TAG_CONTROL, 0) };
        if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, m->ctl_fd, &evc) < 0)
            log_error("epoll_ctl(control socket): %s", strerror(errno));
    }

    log_info("drover " PACKAGE_VERSION " master %ld started: %d workers, root %s", (long)m->pid,
             conf->workers, conf->root);
    for (int s = 0; s < m->target_workers; s++)
        m->slots[s].spawn_at = master_now();
    master__timers(m);
    log_also_stderr(0);

    status = master__loop(m);
    log_info("master %ld exiting", (long)m->pid);

fail:
    if (m->pid_path != NULL && unlink(m->pid_path) < 0)
        log_warn("unlink(\"%s\"): %s", m->pid_path, strerror(errno));
    free(m->pid_path);
    mq_destroy(&m->mq);
    control_reload_start(m);
    control_reload_done(m, 0, "the master exited");
    if (m->ctl_fd >= 0)
        close(m->ctl_fd);
    for (size_t i = 0; i < m->num_listen; i++)
        close(m->listen[i].fd);
    if (m->epfd >= 0)
        close(m->epfd);
    if (m->sigfd >= 0)
        close(m->sigfd);
    conf_free(m->pending);
    conf_free(m->conf);
    return status;
}
