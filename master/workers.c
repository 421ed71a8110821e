/*
 * workers: the lives of the master's workers (internal.h).
 *
 * Spawning (a fork that keeps only what a worker needs), reaping (every
 * child, with a reason in the log), the per-slot backoff for workers that
 * keep dying, draining, the heartbeat watch and the pipe messages. A slot
 * is a place in the serving generation: the master keeps target_workers of
 * them filled.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "channel.h"
#include "health.h"
#include "internal.h"
#include "log.h"
#include "worker.h"

/* A worker that dies before READY, or sooner than this after READY without
 * having served a request, counts as crashing: its slot backs off. One that
 * served is replaced at once, however it died (a kill -9, the OOM killer). */
#define WORKERS_STABLE_AFTER_READY 1.0
#define WORKERS_BACKOFF_MIN 0.1
#define WORKERS_BACKOFF_MAX 30.0

master_worker_t *workers_find(master_t *m, pid_t pid)
{
    for (size_t i = 0; i < m->workers_end; i++)
        if (m->workers[i].pid == pid)
            return &m->workers[i];
    return NULL;
}

size_t workers_count(const master_t *m, int generation)
{
    size_t n = 0;
    for (size_t i = 0; i < m->workers_end; i++)
        if (m->workers[i].pid != 0 && (generation < 0 || m->workers[i].generation == (unsigned)generation))
            n++;
    return n;
}

void workers_send(master_worker_t *w, char cmd)
{
    if (w->pid == 0 || w->cmd_fd < 0)
        return;
    ssize_t r;
    do {
        r = write(w->cmd_fd, &cmd, 1);
    } while (r < 0 && errno == EINTR);
    if (r < 0 && errno != EPIPE)
        log_warn("write() to the pipe of worker %ld: %s", (long)w->pid, strerror(errno));
}

/* In the child, before worker_run(): keep only what a worker needs. */
static void workers__child_close(master_t *m, const conf_t *conf, const int *fds)
{
    /* Close the master's epoll, signalfd, the queue's read end and every
     * other worker's pipes, so that a pipe's end-of-file means what it
     * should. */
    close(m->epfd);
    close(m->sigfd);
    mq_close(m->mq.rd);
    if (m->ctl_fd >= 0)
        close(m->ctl_fd);
    for (size_t i = 0; i < m->num_waiters; i++)
        close(m->waiters[i]);
    for (size_t i = 0; i < m->num_inflight; i++)
        close(m->inflight[i]);
    for (size_t i = 0; i < m->num_up_waiters; i++)
        close(m->up_waiters[i]);
    /* The pipes of a binary upgrade: their end-of-file tells the other
     * master that this one exited, which a worker holding a copy would hide. */
    if (m->upgrade_fd >= 0)
        close(m->upgrade_fd);
    if (m->predecessor_fd >= 0)
        close(m->predecessor_fd);
    health_child(m);
    for (size_t i = 0; i < m->workers_end; i++) {
        if (m->workers[i].pid != 0) {
            close(m->workers[i].cmd_fd);
            close(m->workers[i].msg_fd);
        }
    }
    /* And every listening socket its config does not list: a socket kept
     * here would stay in LISTEN after the master closes its own copy (an
     * address a reload removed), taking connections nobody accepts. */
    for (size_t j = 0; j < m->num_listen; j++) {
        int used = 0;
        for (size_t k = 0; k < conf->num_listen; k++)
            if (fds[k] == m->listen[j].fd)
                used = 1;
        if (!used)
            close(m->listen[j].fd);
    }
}

int workers_spawn(master_t *m, unsigned slot, unsigned generation, const conf_t *conf)
{
    /* A free entry below workers_end first, so that the used part of the
     * array stays as short as the most workers ever alive at once. */
    master_worker_t *w = workers_find(m, 0);
    if (w == NULL && m->workers_end < MASTER_MAX_WORKERS)
        w = &m->workers[m->workers_end];
    int down[2] = { -1, -1 }, up[2] = { -1, -1 };
    int fds[CONF_MAX_LISTEN];
    if (w == NULL) {
        log_error("cannot start a worker: %d workers already", MASTER_MAX_WORKERS);
        return -1;
    }
    if (listen_bind(m->listen, &m->num_listen, MASTER_MAX_LISTEN, conf, fds) < 0)
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
        workers__child_close(m, conf, fds);
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
            .metrics = m->metrics,
            .balance = m->balance,
            .limits = m->limits,
            .upstreams = m->upstreams,
            .cell = (unsigned)(w - m->workers),
            .tls = pending_gen ? m->pending_tls : m->tls,
        };
        worker_run(&a);
    }
    close(down[0]);
    close(up[1]);
    memset(w, 0, sizeof(*w));
    w->pid = pid;
    if ((size_t)(w - m->workers) >= m->workers_end)
        m->workers_end = (size_t)(w - m->workers) + 1;
    w->slot = slot;
    w->generation = generation;
    w->state = WORKER_STARTING;
    w->cmd_fd = down[1];
    w->msg_fd = up[0];
    w->started = w->last_heartbeat = master__now();
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = MASTER_TAG(MASTER_TAG_WORKER, (uint32_t)pid) };
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

static void workers__forget(master_t *m, master_worker_t *w)
{
    epoll_ctl(m->epfd, EPOLL_CTL_DEL, w->msg_fd, NULL);
    close(w->cmd_fd);
    close(w->msg_fd);
    memset(w, 0, sizeof(*w));
    w->cmd_fd = w->msg_fd = -1;
}

void workers_drain(master_t *m, master_worker_t *w, const char *why)
{
    if (w->state == WORKER_DRAINING)
        return;
    w->state = WORKER_DRAINING;
    w->kill_at = master__now() + m->conf->shutdown_timeout;
    log_info("worker %ld (slot %u, generation %u): draining (%s)", (long)w->pid, w->slot,
             w->generation, why);
    workers_send(w, CMD_DRAIN);
}

void workers_drain_all(master_t *m, const char *why)
{
    for (size_t i = 0; i < m->workers_end; i++)
        if (m->workers[i].pid != 0)
            workers_drain(m, &m->workers[i], why);
}

/* 1 when w had settled in: READY and then served, or READY for a while. */
static int workers__was_serving(const master_worker_t *w, double now)
{
    if (w->ready_at == 0)
        return 0;
    return w->report.requests > 0 || now - w->ready_at >= WORKERS_STABLE_AFTER_READY;
}

/* The slot is empty in the serving generation: start one now (the worker
 * was serving) or later (it keeps dying young: the delay doubles). */
static void workers__schedule(master_t *m, unsigned slot, int crashed)
{
    master_slot_t *s = &m->slots[slot];
    double now = master__now();
    if (!crashed) {
        s->backoff = 0;
        s->spawn_at = now;
        return;
    }
    s->backoff = s->backoff == 0 ? WORKERS_BACKOFF_MIN : s->backoff * 2;
    if (s->backoff > WORKERS_BACKOFF_MAX)
        s->backoff = WORKERS_BACKOFF_MAX;
    s->spawn_at = now + s->backoff;
    log_warn("slot %u keeps dying: next start in %.1fs", slot, s->backoff);
}

/* 1 when a live, not draining worker of generation gen holds the slot
 * (a recycled worker's successor, say). */
static int workers__slot_taken(master_t *m, unsigned slot, unsigned gen)
{
    for (size_t i = 0; i < m->workers_end; i++) {
        master_worker_t *w = &m->workers[i];
        if (w->pid != 0 && w->slot == slot && w->generation == gen && w->state != WORKER_DRAINING)
            return 1;
    }
    return 0;
}

void workers_reap(master_t *m)
{
    /* Read what the dying sent first: its final counters join the totals. */
    workers_reports(m);
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0) {
            if (pid < 0 && errno != ECHILD)
                log_error("waitpid(): %s", strerror(errno));
            return;
        }
        if (pid == m->upgrade_pid) {
            /* The new master of a binary upgrade: upgrade_tick() decides. */
            m->upgrade_reaped = 1;
            m->upgrade_status = status;
            if (m->upgrade_handed) {
                log_warn("master %ld, which took over, exited (status 0x%x)", (long)pid, status);
                m->upgrade_pid = 0;
            }
            continue;
        }
        master_worker_t *w = workers_find(m, pid);
        if (w == NULL)
            continue;

        double lived = master__now() - w->started;
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
        int hung = w->hung;
        int was_serving = workers__was_serving(w, master__now());
        workers__forget(m, w);

        m->status_dirty = 1;
        if (m->stop != MASTER_RUNNING || draining)
            continue;
        if (gen == m->generation && !expected) {
            /* A successor that died before READY: its predecessor stays,
             * and may ask to be recycled again. */
            for (size_t i = 0; i < m->workers_end; i++) {
                master_worker_t *o = &m->workers[i];
                if (o->pid != 0 && o->slot == slot && o->generation == gen && o->recycling &&
                    o->state != WORKER_DRAINING)
                    o->recycling = 0;
            }
        }
        if (gen == m->generation && slot < (unsigned)m->target_workers &&
            !workers__slot_taken(m, slot, gen)) {
            m->slots[slot].restarts++;
            m->restarts_by[hung ? METRICS_RESTART_HANG : METRICS_RESTART_CRASH]++;
            workers__schedule(m, slot, !was_serving);
        } else if (m->pending != NULL && gen == m->pending_generation) {
            /* A worker of a reload died before the reload committed: the new
             * configuration does not work, so the old generation stays.
             * reload_tick() aborts the reload. */
            m->pending_died = 1;
        }
    }
}

/* A new worker is READY: drain the recycled worker it replaces, if any. */
static void workers__retire_recycled(master_t *m, master_worker_t *ready)
{
    for (size_t i = 0; i < m->workers_end; i++) {
        master_worker_t *w = &m->workers[i];
        if (w->pid != 0 && w != ready && w->recycling && w->slot == ready->slot &&
            w->generation == ready->generation) {
            workers_drain(m, w, "replaced after worker_max_requests");
            m->restarts_by[METRICS_RESTART_RECYCLE]++;
        }
    }
}

void workers_message(master_t *m, pid_t pid)
{
    master_worker_t *w = workers_find(m, pid);
    if (w == NULL)
        return;
    char buf[64];
    ssize_t n;
    while ((n = read(w->msg_fd, buf, sizeof(buf))) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] == MSG_HEARTBEAT) {
                w->last_heartbeat = master__now();
            } else if (buf[i] == MSG_READY && w->state == WORKER_STARTING) {
                w->state = WORKER_READY;
                w->last_heartbeat = w->ready_at = master__now();
                m->status_dirty = 1;
                log_debug("worker %ld is ready", (long)w->pid);
                workers__retire_recycled(m, w);
            } else if (buf[i] == MSG_RECYCLE && w->state == WORKER_READY && !w->recycling &&
                       m->stop == MASTER_RUNNING && w->generation == m->generation) {
                /* Start the successor first; the old worker keeps serving
                 * until the new one is READY, so no capacity is lost. */
                log_info("worker %ld reached worker_max_requests: replacing it", (long)w->pid);
                w->recycling = 1;
                m->status_dirty = 1;
                if (workers_spawn(m, w->slot, w->generation, m->conf) < 0)
                    w->recycling = 0;
            }
        }
    }
    if (n == 0) {
        /* The worker closed its end: it is exiting; SIGCHLD reaps it. */
        epoll_ctl(m->epfd, EPOLL_CTL_DEL, w->msg_fd, NULL);
    }
}

void workers_reports(master_t *m)
{
    /* mq_receive wants room for the queue's largest message. */
    union {
        report_t r;
        metrics_hosts_msg_t h;
    } u;
    report_t r;
    ssize_t n;
    while ((n = mq_receive(m->mq.rd, (char *)&u, sizeof(u), NULL)) > 0) {
        if (n == (ssize_t)sizeof(u.h) && u.h.type == REPORT_HOSTS) {
            metrics_hosts(m, &u.h);
            m->status_dirty = 1;
            continue;
        }
        if (n != (ssize_t)sizeof(r))
            continue;
        r = u.r;
        master_worker_t *w = workers_find(m, (pid_t)r.pid);
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

void workers_change(master_t *m, int delta)
{
    int n = m->target_workers + delta;
    if (n < 1 || n > MASTER_MAX_WORKERS) {
        log_warn("worker count stays %d (limits 1 to %d)", m->target_workers, MASTER_MAX_WORKERS);
        return;
    }
    if (delta > 0) {
        m->target_workers = n;
        m->slots[n - 1] = (master_slot_t){ 0, 0, master__now() };
    } else {
        m->target_workers = n;
        m->slots[n].spawn_at = 0;
        for (size_t i = 0; i < m->workers_end; i++) {
            master_worker_t *w = &m->workers[i];
            if (w->pid != 0 && w->generation == m->generation && w->slot == (unsigned)n)
                workers_drain(m, w, "one worker fewer");
        }
    }
    log_info("workers: %d", m->target_workers);
}

void workers_respawn(master_t *m)
{
    double now = master__now();
    for (int s = 0; s < m->target_workers; s++) {
        if (m->slots[s].spawn_at != 0 && now >= m->slots[s].spawn_at) {
            m->slots[s].spawn_at = 0;
            if (workers_spawn(m, (unsigned)s, m->generation, m->conf) < 0)
                workers__schedule(m, (unsigned)s, 1);
        }
    }
}

void workers_watch(master_t *m)
{
    double now = master__now();
    for (size_t i = 0; i < m->workers_end; i++) {
        master_worker_t *w = &m->workers[i];
        if (w->pid == 0 || w->killed || w->hung)
            continue;
        if (w->state == WORKER_DRAINING && w->kill_at != 0 && now >= w->kill_at) {
            log_warn("worker %ld still draining after shutdown_timeout: killing it", (long)w->pid);
            w->killed = 1;
            kill(w->pid, SIGKILL);
        } else if (w->state != WORKER_DRAINING && now - w->last_heartbeat > m->conf->worker_timeout) {
            log_error("worker %ld (slot %u) sent no heartbeat for %.1fs: killing it", (long)w->pid,
                      w->slot, now - w->last_heartbeat);
            /* Once: the kill takes a moment to be reaped, and the timers
             * run again meanwhile. Not w->killed: a hung worker is still an
             * unexpected death, logged and replaced as one. */
            w->hung = 1;
            kill(w->pid, SIGKILL);
        }
    }
}

void workers_kill_late(master_t *m)
{
    if (master__now() < m->stop_deadline)
        return;
    for (size_t i = 0; i < m->workers_end; i++) {
        master_worker_t *w = &m->workers[i];
        if (w->pid != 0 && !w->killed) {
            log_warn("worker %ld did not stop in time: killing it", (long)w->pid);
            w->killed = 1;
            kill(w->pid, SIGKILL);
        }
    }
}

/* Which workers accept: ready and not draining. A cell whose worker is
 * gone is zeroed so its count does not linger in the mean. */
void workers_publish_balance(master_t *m)
{
    if (m->balance == NULL)
        return;
    uint32_t n = 0;
    for (size_t i = 0; i < m->workers_end && i < BALANCE_CELLS; i++) {
        master_worker_t *w = &m->workers[i];
        if (w->pid == 0)
            __atomic_store_n(&m->balance->conns[i], 0, __ATOMIC_RELAXED);
        else if (w->state == WORKER_READY)
            __atomic_store_n(&m->balance->active[n++], (uint16_t)i, __ATOMIC_RELAXED);
    }
    __atomic_store_n(&m->balance->nactive, n, __ATOMIC_RELAXED);
}
