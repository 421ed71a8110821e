/*
 * master: the event loop and the dispatch of signals (master.h).
 *
 * One epoll loop over a signalfd, the workers' pipes, the message queue and
 * the control socket. What a signal means is decided here; the work is done
 * by workers.c (the workers' lives) and reload.c (the reload transaction).
 */
#include "config.h"

#include "master.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include "channel.h"
#include "control.h"
#include "daemon.h"
#include "fd_budget.h"
#include "health.h"
#include "internal.h"
#include "log.h"
#include "notify.h"
#include "status.h"
#include "upgrade.h"
#include "limit_table.h"
#include "limit_counters.h"
#include "user.h"
#include "vhost_logs.h"

/* A fast stop kills what is left after this. */
#define MASTER_FAST_STOP_LIMIT 5.0

static void master__begin_stop(master_t *m, master_stop_t how)
{
    if (m->stop == MASTER_STOP_FAST)
        return;
    if (m->stop == MASTER_STOP_GRACEFUL && how == MASTER_STOP_GRACEFUL)
        return;
    m->stop = how;
    /* After an upgrade the service goes on in the new master: systemd must
     * not hear that it stops. */
    if (!m->upgrade_handed)
        notify_send("STOPPING=1\nSTATUS=stopping (%s)", how == MASTER_STOP_FAST ? "fast" : "graceful");
    if (m->upgrade_pid != 0 && !m->upgrade_handed) {
        /* A new master still starting would take over a server that was
         * told to stop. Its workers die with it. */
        log_info("stopping: killing new master %ld, which had not taken over", (long)m->upgrade_pid);
        kill(m->upgrade_pid, SIGKILL);
    }
    control_upgrade_done(m, 0, "the server is stopping");
    if (m->pending != NULL) {
        conf_free(m->pending);
        m->pending = NULL;
    }
    control_reload_start(m);
    control_reload_done(m, 0, "the server is stopping");
    /* Refuse new clients at once: a connection the kernel accepted into a
     * backlog nobody will take waits, then is reset when the master exits;
     * a refused one goes to another server (a load balancer retries it).
     * The workers close their copies on CMD_DRAIN (or exit on SIGTERM).
     * Only a stop does this: a reload keeps the sockets for the new
     * generation and only its old workers stop accepting. */
    if (m->num_listen > 0)
        log_info("closing %zu listening socket%s", m->num_listen, m->num_listen == 1 ? "" : "s");
    listen_close_all(m->listen, &m->num_listen);
    if (how == MASTER_STOP_FAST) {
        log_info("fast stop: stopping every worker");
        m->stop_deadline = master__now() + MASTER_FAST_STOP_LIMIT;
        for (size_t i = 0; i < m->workers_end; i++)
            if (m->workers[i].pid != 0)
                kill(m->workers[i].pid, SIGTERM);
    } else {
        log_info("graceful stop: workers finish their requests (at most %.0fs)",
                 m->conf->shutdown_timeout);
        m->stop_deadline = master__now() + m->conf->shutdown_timeout;
        workers_drain_all(m, "stopping");
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
    char err[CONF_ERR_LEN];
    if (vhost_logs_prepare(m->conf, m->uid, m->gid, err, sizeof(err)) < 0)
        log_error("%s", err);
    for (size_t i = 0; i < m->workers_end; i++)
        if (m->workers[i].pid != 0)
            workers_send(&m->workers[i], CMD_REOPEN);
}

static void master__signals(master_t *m)
{
    struct signalfd_siginfo si;
    while (read(m->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        switch (si.ssi_signo) {
        case SIGCHLD:
            workers_reap(m);
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
                reload_begin(m);
            break;
        case SIGUSR1:
            master__reopen(m);
            break;
        case SIGUSR2:
            if (m->stop == MASTER_RUNNING && m->predecessor == 0)
                upgrade_begin(m);
            else
                control_upgrade_done(m, 0, "the master is stopping or still starting");
            break;
        case SIGTTIN:
            if (m->stop == MASTER_RUNNING)
                workers_change(m, +1);
            break;
        case SIGTTOU:
            if (m->stop == MASTER_RUNNING)
                workers_change(m, -1);
            break;
        }
    }
}

/* A start that cannot finish: a new master of an upgrade tells the old one
 * (which keeps serving), stops and exits 1. */
static void master__start_failed(master_t *m, const char *why)
{
    log_error("%s", why);
    upgrade_report_fail(&m->predecessor_fd, why);
    m->failed = 1;
    master__begin_stop(m, MASTER_STOP_FAST);
}

/* The first generation's readiness: READY=1 for systemd, and for the new
 * master of an upgrade the moment it takes over (or gives up). */
static void master__check_ready(master_t *m)
{
    if (m->ready_announced)
        return;
    size_t ready = 0;
    unsigned restarts = 0;
    for (size_t i = 0; i < m->workers_end; i++)
        if (m->workers[i].pid != 0 && m->workers[i].generation == m->generation &&
            m->workers[i].state == WORKER_READY)
            ready++;
    for (int s = 0; s < m->target_workers; s++)
        restarts += m->slots[s].restarts;
    if (m->predecessor != 0 && restarts > 0) {
        master__start_failed(m, "a worker of the new master died before it was ready (see the "
                                "error log)");
        return;
    }
    if (m->predecessor != 0 && master__now() - m->started > UPGRADE_READY_TIMEOUT) {
        master__start_failed(m, "the workers of the new master were not ready in time");
        return;
    }
    if (ready < (size_t)m->target_workers)
        return;
    m->ready_announced = 1;
    if (m->predecessor != 0) {
        if (upgrade_take_over(m) < 0) {
            m->failed = 1;
            master__begin_stop(m, MASTER_STOP_FAST);
        }
        return;
    }
    notify_send("READY=1\nSTATUS=serving: generation %u, %d worker%s, master %ld (drover %s)",
                m->generation, m->target_workers, m->target_workers == 1 ? "" : "s", (long)m->pid,
                DROVER_VERSION);
}

/* Timers: respawns, readiness of a reload, heartbeats, drain limits. */
static void master__timers(master_t *m)
{
    if (m->stop != MASTER_RUNNING) {
        workers_kill_late(m);
        return;
    }
    workers_respawn(m);
    reload_tick(m);
    upgrade_tick(m);
    workers_watch(m);
    health_tick(m);
    tls_setup_tick(m->ticket_ring, time(NULL));
    master__check_ready(m);
}

static int master__loop(master_t *m)
{
    struct epoll_event events[64];
    while (m->stop == MASTER_RUNNING || workers_count(m, -1) > 0) {
        int n = epoll_wait(m->epfd, events, 64, 100);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            log_error("epoll_wait(): %s", strerror(errno));
            return 1;
        }
        for (int i = 0; i < n; i++) {
            uint64_t tag = events[i].data.u64 >> 32;
            if (tag == MASTER_TAG_SIGNAL)
                master__signals(m);
            else if (tag == MASTER_TAG_MQ)
                workers_reports(m);
            else if (tag == MASTER_TAG_WORKER)
                workers_message(m, (pid_t)(uint32_t)events[i].data.u64);
            else if (tag == MASTER_TAG_CONTROL)
                control_accept(m);
            else if (tag == MASTER_TAG_UPGRADE && upgrade_input(m))
                master__begin_stop(m, MASTER_STOP_GRACEFUL);
            else if (tag == MASTER_TAG_HEALTH)
                health_event(m, (uint32_t)events[i].data.u64);
        }
        workers_reap(m);
        master__timers(m);
        if (m->status_dirty) {
            workers_publish_balance(m);
            status_publish(m);
            metrics_publish(m);
        }
    }
    return 0;
}

int master_run(conf_t *conf, int foreground, char *exe, pid_t predecessor, int predecessor_fd)
{
    /* Large (about 1 MB, most of it the 1024 worker entries) and zero as
     * static storage is: master_run() runs once per process, so it is not
     * cleared again. Writing it would make every page resident in the
     * master and, copied on write, counted again in each worker; left
     * alone, only the entries workers_spawn() takes are touched. A free
     * entry (pid 0) has no pipes: its cmd_fd and msg_fd mean nothing. */
    static master_t master;
    master_t *m = &master;
    char err[512];
    int status = 1;
    sigset_t mask;

    m->epfd = m->sigfd = m->ctl_fd = m->upgrade_fd = -1;
    m->exe = exe;
    m->predecessor = predecessor;
    m->predecessor_fd = predecessor_fd;
    m->mq.rd = m->mq.wr = (mqd_t)-1;
    m->conf = conf;
    m->generation = 1;
    m->next_generation = 2;
    m->target_workers = conf->workers;

    if (user_resolve(conf, &m->uid, &m->gid, err, sizeof(err)) < 0) {
        log_error("%s", err);
        goto fail;
    }
    if (conf->user != NULL && geteuid() != 0) {
        log_warn("user \"%s\" is ignored: drover is not running as root", conf->user);
        m->uid = (uid_t)-1;
        m->gid = (gid_t)-1;
    }
    user_report(conf, m->uid, m->gid);

    /* Certificates and keys are read here, by the master, before any fork
     * and before workers drop privileges. The ticket ring is shared memory
     * made now, so that every generation's workers inherit the same page. */
    if ((m->ticket_ring = tls_ticket_ring_new_shared()) == NULL) {
        log_error("mmap(ticket keys): %s", strerror(errno));
        goto fail;
    }
    /* A new master of an upgrade resumes the old one's tickets: its keys
     * are in the ring before the build, which then keeps them. */
    if (predecessor != 0)
        upgrade_take_tickets(m->ticket_ring);
    tls_ticket_ring_t keys;
    if (tls_setup_build(conf, m->ticket_ring, &keys, &m->tls, err, sizeof(err)) < 0) {
        log_error("%s", err);
        goto fail;
    }
    tls_setup_install_keys(m->ticket_ring, &keys);

    /* Bind before anything else that could touch a running instance: a
     * second instance on a busy port must fail here, with its pid file and
     * the first instance's queue untouched. */
    /* Sockets passed by systemd or by the old master of an upgrade first:
     * an address they cover is not bound again (it could not be: the port
     * is taken, by the very socket we are given). */
    listen_adopt(m->listen, &m->num_listen, MASTER_MAX_LISTEN, conf);
    int fds[CONF_MAX_LISTEN];
    if (listen_bind(m->listen, &m->num_listen, MASTER_MAX_LISTEN, conf, fds) < 0)
        goto fail;

    /* Before the first fork: workers inherit the limit. */
    fd_budget_raise(conf->worker_connections);

    struct stat st;
    if (stat(conf->root, &st) < 0 || !S_ISDIR(st.st_mode))
        log_warn("root %s is not a directory: every request will get 404", conf->root);

    /* Until the master runs, errors also go to the terminal that started
     * it, even when the error log is a file. */
    /* The new master of an upgrade stays where the old one put it: it is
     * already detached when the old one was, and a fork here would look to
     * the old master like an exit. */
    if (conf->daemon && !foreground && predecessor == 0) {
        if (daemon_detach() < 0) {
            log_error("daemon: %s", strerror(errno));
            goto fail;
        }
    }
    m->pid = getpid();
    m->started = master__now();

    /* The pid file names the serving master: during an upgrade that is the
     * old one until we take over (upgrade_take_over() writes it then). */
    pid_t before = 0;
    if (predecessor == 0) {
        before = daemon_read_pid(conf->pid_file, err, sizeof(err));
        if (daemon_write_pid(conf->pid_file, 0, err, sizeof(err)) < 0) {
            log_error("%s", err);
            goto fail;
        }
        m->pid_path = strdup(conf->pid_file);
    }

    /* Queues of dead masters: by the pid file's previous pid (works without
     * /dev/mqueue mounted), then whatever /dev/mqueue lists. */
    if (before > 0)
        mq_remove_of(before);
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
    if (vhost_logs_prepare(conf, m->uid, m->gid, err, sizeof(err)) < 0) {
        log_error("%s", err);
        goto fail;
    }

    sigemptyset(&mask);
    int sigs[] = { SIGCHLD, SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2, SIGTTIN, SIGTTOU };
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
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = MASTER_TAG(MASTER_TAG_SIGNAL, 0) };
    struct epoll_event evq = { .events = EPOLLIN, .data.u64 = MASTER_TAG(MASTER_TAG_MQ, 0) };
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
    m->metrics = mmap(NULL, sizeof(metrics_page_t), PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (m->metrics == MAP_FAILED) {
        log_error("mmap(metrics page): %s", strerror(errno));
        m->metrics = NULL;
        goto fail;
    }
    m->started_wall = metrics_wall();
    m->balance = mmap(NULL, sizeof(balance_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                      -1, 0);
    if (m->balance == MAP_FAILED) {
        log_error("mmap(balance): %s", strerror(errno));
        m->balance = NULL;
        goto fail;
    }
    /* The limits' counters: the old master's when an upgrade handed them
     * over, so a client's allowance survives the new binary too. */
    m->limits_fd = predecessor != 0 ? upgrade_take_limits() : -1;
    if (m->limits_fd >= 0 && (m->limits = limit_table_attach(m->limits_fd)) == NULL) {
        log_warn("upgrade: the old master's limit counters do not fit this binary: new ones");
        close(m->limits_fd);
        m->limits_fd = -1;
    }
    limit_counters_ensure(m, m->conf);
    health_bind(m, m->conf);
    health_configure(m, m->conf);
    m->ctl_fd = control_open(m);
    if (m->ctl_fd >= 0) {
        struct epoll_event evc = { .events = EPOLLIN, .data.u64 = MASTER_TAG(MASTER_TAG_CONTROL, 0) };
        if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, m->ctl_fd, &evc) < 0)
            log_error("epoll_ctl(control socket): %s", strerror(errno));
    }

    log_info("drover " DROVER_VERSION " master %ld started: %d worker%s, root %s", (long)m->pid,
             conf->workers, conf->workers == 1 ? "" : "s", conf->root);
    /* From here on the error log alone: decided before the first fork, so
     * that the first generation's workers do not copy every warning to
     * stderr (under systemd, a second copy in the journal). */
    log_also_stderr(0);
    for (int s = 0; s < m->target_workers; s++)
        m->slots[s].spawn_at = master__now();
    master__timers(m);

    status = master__loop(m);
    log_info("master %ld exiting", (long)m->pid);

fail:
    if (m->predecessor_fd >= 0)
        upgrade_report_fail(&m->predecessor_fd, log_last_error());
    /* Only while it names us: after an upgrade it names the new master. */
    if (m->pid_path != NULL && daemon_remove_pid(m->pid_path) < 0)
        log_warn("unlink(\"%s\"): %s", m->pid_path, strerror(errno));
    if (m->upgrade_fd >= 0)
        close(m->upgrade_fd);
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
    health_free(m);
    conf_free(m->pending);
    conf_free(m->conf);
    tls_ctx_free(m->pending_tls);
    tls_ctx_free(m->tls);
    if (m->ticket_ring != NULL)
        tls_ticket_ring_free_shared(m->ticket_ring);
    free(m->exe);
    return m->failed ? 1 : status;
}
