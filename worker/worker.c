/*
 * worker: see worker.h.
 */
#include "config.h"

#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "compress_cache.h"
#include "conf_rules.h"
#include "access_log.h"
#include "host.h"
#include "auth_pool.h"
#include "balance.h"
#include "channel.h"
#include "conn.h"
#include "fd_budget.h"
#include "file_cache.h"
#include "http1.h"
#include "http2.h"
#include "log.h"
#include "map_guard.h"
#include "metrics.h"
#include "host_metrics.h"
#include "plain.h"
#include "tls_transport.h"
#include "proxy_header.h"
#include "proxy.h"

/* epoll data for what is not a connection (a conn_t pointer is even). */
#define WORKER_EV_CMD ((uint64_t)1)
#define WORKER_EV_LISTEN(i) ((uint64_t)3 + 2 * (uint64_t)(i))
#define WORKER_ACCEPT_BATCH 16
/* A TLS connection's first step is the costly half of its handshake (key
 * exchange, ~0.3 ms), run at once on accept. Sixteen of them in one turn
 * kept the connections already open waiting for their responses: p99 over
 * 6 ms in small-close, 3 ms at one per turn (as nginx's multi_accept off).
 * The listener is level-triggered, so the rest wait for the next turn. */
#define WORKER_ACCEPT_BATCH_TLS 1
/* After EMFILE/ENFILE or at worker_connections, accept pauses this long. */
#define WORKER_ACCEPT_PAUSE 0.1
/* An overloaded worker looks again after this long. */
#define WORKER_BALANCE_PAUSE 0.005
/* On drain, idle keep-alive connections get this long to send a request
 * that may already be on its way; it is answered with Connection: close. */
#define WORKER_DRAIN_GRACE 1.0

/* The one variable at file scope: a signal handler can only set a flag. */
static volatile sig_atomic_t worker_stop_flag;

static void worker__on_term(int sig)
{
    (void)sig;
    worker_stop_flag = 1;
}

static double worker__clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void worker__tell_master(worker_t *w, char msg)
{
    /* Non-blocking: a master too busy to read misses a heartbeat, it does
     * not stall this loop. */
    ssize_t r = write(w->a.msg_fd, &msg, 1);
    (void)r;
}

static void worker__report(worker_t *w, report_type_t type)
{
    w->report.type = type;
    w->report.pid = (int32_t)getpid();
    w->report.generation = w->a.generation;
    w->report.slot = w->a.slot;
    w->report.connections = (uint32_t)w->num_conns;
    if (w->tls != NULL) {
        const tls_stats_t *t = &w->tls->stats;
        w->report.tls_handshakes = t->handshakes;
        w->report.tls_handshake_failures = t->handshake_failures;
        w->report.tls_resumed = t->resumed;
        w->report.tls_sendfile_ktls = t->sendfile_ktls;
        w->report.tls_sendfile_fallback = t->sendfile_fallback;
    }
    metrics_report(w);
    /* O_NONBLOCK queue: when full, this report is dropped; the next one
     * carries the same totals. */
    mq_send(w->a.mq, (const char *)&w->report, sizeof(w->report), 0);
    host_metrics_send(w, type == REPORT_EXITED);
}

static void worker__listen(worker_t *w, int on)
{
    if (w->listening == on)
        return;
    for (size_t i = 0; i < w->a.num_listen; i++) {
        if (on) {
            /* EPOLLEXCLUSIVE: a new connection wakes one waiting worker
             * instead of all of them. It cannot be changed with
             * EPOLL_CTL_MOD, hence ADD/DEL to pause accepting. */
            struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE,
                                      .data.u64 = WORKER_EV_LISTEN(i) };
            if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->a.listen_fds[i], &ev) < 0)
                log_error("epoll_ctl(ADD listen): %s", strerror(errno));
        } else {
            epoll_ctl(w->epfd, EPOLL_CTL_DEL, w->a.listen_fds[i], NULL);
        }
    }
    w->listening = on;
}

/* 1 when this worker holds clearly more connections than the mean of the
 * accepting workers: it should leave new ones to the others for a moment. */
static int worker__overloaded(worker_t *w)
{
    balance_t *b = w->a.balance;
    if (b == NULL)
        return 0;
    uint32_t n = __atomic_load_n(&b->nactive, __ATOMIC_RELAXED);
    if (n < 2 || n > BALANCE_CELLS)
        return 0;
    uint64_t sum = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint16_t cell = __atomic_load_n(&b->active[i], __ATOMIC_RELAXED);
        if (cell < BALANCE_CELLS)
            sum += __atomic_load_n(&b->conns[cell], __ATOMIC_RELAXED);
    }
    double mean = (double)sum / n;
    double slack = mean / 16 > 2 ? mean / 16 : 2;
    return (double)w->num_conns > mean + slack;
}

/* Out of room for connections (the limit, or EMFILE): idle keep-alive
 * connections give way to new clients, as nginx reuses them. They are
 * closed after this batch of events, which may still hold an event for
 * one of them; accepting resumes on the next turn. Without idle ones,
 * accepting pauses. */
static void worker__pause_full(worker_t *w)
{
    worker__listen(w, 0);
    if (!list_empty(&w->keepalive_list.head)) {
        w->reclaim = WORKER_ACCEPT_BATCH;
        w->accept_resume = w->now;
    } else {
        w->accept_resume = w->now + WORKER_ACCEPT_PAUSE;
    }
}

static void worker__accept(worker_t *w, size_t li)
{
    int lfd = w->a.listen_fds[li];
    const conf_listen_t *l = &w->a.conf->listen[li];
    int batch = l->tls && w->tls != NULL ? WORKER_ACCEPT_BATCH_TLS : WORKER_ACCEPT_BATCH;
    for (int i = 0; i < batch; i++) {
        /* Checked before every accept: in a burst of connections, one
         * check per batch would let this worker run ahead by a batch. */
        if (worker__overloaded(w)) {
            worker__listen(w, 0);
            w->balance_paused = 1;
            w->accept_resume = w->now + WORKER_BALANCE_PAUSE;
            return;
        }
        if (w->num_conns >= w->conns_max) {
            worker__pause_full(w);
            return;
        }
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        int fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
                return;
            if ((errno == EMFILE || errno == ENFILE) && !list_empty(&w->keepalive_list.head)) {
                worker__pause_full(w);
                return;
            }
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* Out of descriptors: stop accepting for a moment rather
                 * than spin on a socket that stays readable. */
                log_warn("accept4(): %s; pausing accept for %.0fms", strerror(errno),
                         WORKER_ACCEPT_PAUSE * 1000);
                worker__listen(w, 0);
                w->accept_resume = w->now + WORKER_ACCEPT_PAUSE;
                return;
            }
            log_error("accept4(): %s", strerror(errno));
            return;
        }
        w->report.accepted++;
        /* A TLS listener's connections handshake first (tls_transport.h),
         * then speak the protocol ALPN chose. */
        int tls = l->tls && w->tls != NULL;
        conn_t *c = conn_new(w, fd, (struct sockaddr *)&ss, tls ? &tls_transport : &plain_transport,
                             tls ? tls_transport_handshake
                             : w->a.conf->http2_cleartext ? http2_sniff : http1_process);
        if (c == NULL || (tls && tls_transport_start(c, w->tls) < 0))
            continue;
        c->https = (unsigned)tls;
        c->redirect_https = (unsigned)l->redirect_https;
        c->listener = l;
        /* The PROXY header comes before any byte of the protocol chosen
         * above, TLS included (HAProxy sends it first): whatever reads the
         * socket (a TLS handshake, a peek for plain HTTP on a TLS port)
         * belongs in that protocol's process function, which runs once
         * the header is consumed. */
        if (c->listener->proxy_protocol)
            proxy_header_start(c);
        conn_process(c, EPOLLIN);
    }
}

static void worker__drain(worker_t *w)
{
    if (w->draining)
        return;
    w->draining = 1;
    w->drain_started = w->now;
    worker__listen(w, 0);
    /* The master keeps the sockets; this worker's copies only keep a
     * removed address half-alive, so close them. */
    for (size_t i = 0; i < w->a.num_listen; i++)
        close(w->a.listen_fds[i]);
    w->a.num_listen = 0;
    proxy_worker_drain(w);
    log_info("draining: %zu connections left", w->num_conns);
    worker__report(w, REPORT_STOPPING);
}

/* A password the pool hashed: its verdict into the cache, then the
 * request that waited for it runs again (auth_pool.h). */
static void worker__auth_done(void *arg, auth_job_t *job)
{
    worker_t *w = arg;
    auth_remember(w->auth, job->hash, job->auth, job->ok);
    if (job->conn != NULL)
        conn_resume(job->conn, job);
}

static void worker__command(worker_t *w)
{
    char buf[16];
    ssize_t n = read(w->a.cmd_fd, buf, sizeof(buf));
    if (n == 0) {
        /* End of file: the master is gone. Nobody supervises us now. */
        log_warn("the master is gone: exiting");
        worker_stop_flag = 1;
        return;
    }
    for (ssize_t i = 0; i < n; i++) {
        switch (buf[i]) {
        case CMD_DRAIN:
            worker__drain(w);
            break;
        case CMD_STOP:
            worker_stop_flag = 1;
            break;
        case CMD_REOPEN:
            if (log_reopen() < 0)
                log_error("reopening the error log: %s", strerror(errno));
            if (access_log_reopen(&w->access_log) < 0)
                log_error("reopening the access log %s: %s", w->a.conf->access_log, strerror(errno));
            host_reopen(w);
            break;
        }
    }
}

static int worker__drop_privileges(const worker_args_t *a)
{
    if (a->uid == (uid_t)-1 || geteuid() != 0)
        return 0;
    if (setgroups(1, &a->gid) < 0) {
        log_error("setgroups(%ld): %s", (long)a->gid, strerror(errno));
        return -1;
    }
    if (setgid(a->gid) < 0) {
        log_error("setgid(%ld): %s", (long)a->gid, strerror(errno));
        return -1;
    }
    if (setuid(a->uid) < 0) {
        log_error("setuid(%ld): %s", (long)a->uid, strerror(errno));
        return -1;
    }
    return 0;
}

static int worker__rules_compress(const conf_t *c)
{
    const conf_rules_t *rs = c->locations;
    for (size_t i = 0; rs != NULL && i < rs->n; i++)
        if (rs->items[i].conf->compress.on)
            return 1;
    return c->compress.on;
}

/* Whether any host or location compresses: else no cache directory. */
static int worker__wants_compress(const conf_t *conf)
{
    if (worker__rules_compress(conf))
        return 1;
    for (size_t i = 0; i < conf->num_hosts; i++)
        if (worker__rules_compress(conf->hosts[i].conf))
            return 1;
    return 0;
}

static int worker__setup(worker_t *w)
{
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = worker__on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGQUIT, &sa, NULL);
    sigaction(SIGTTIN, &sa, NULL);
    sigaction(SIGTTOU, &sa, NULL);
    if (map_guard_install() < 0)
        log_warn("sigaction(SIGBUS): %s", strerror(errno));

    /* Files first, privileges second: the root and logs may be readable by
     * root only, like nginx's. */
    w->root_fd = open(w->a.conf->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (w->root_fd < 0)
        log_error("open(\"%s\"): %s: every request will get 404", w->a.conf->root, strerror(errno));
    if (access_log_open(&w->access_log, w->a.conf->access_log) < 0) {
        log_error("open(\"%s\"): %s", w->a.conf->access_log, strerror(errno));
        return -1;
    }
    /* Before host_open (its caches get it) and as root: the directory may
     * need making, and giving to the user the worker becomes. */
    if (worker__wants_compress(w->a.conf))
        w->cc = compress_cache_open(w->a.conf, geteuid() == 0 ? w->a.uid : (uid_t)-1, w->a.gid);
    if (host_open(w) < 0)
        return -1;
    if (worker__drop_privileges(&w->a) < 0)
        return -1;
    /* After setuid(): the kernel clears the parent-death signal on a
     * credential change. Then check the master did not die before it. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) {
        log_error("prctl(PR_SET_PDEATHSIG): %s", strerror(errno));
        return -1;
    }
    if (getppid() != w->a.master_pid)
        return -1;

    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (w->epfd < 0) {
        log_error("epoll_create1(): %s", strerror(errno));
        return -1;
    }
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = WORKER_EV_CMD };
    if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->a.cmd_fd, &ev) < 0) {
        log_error("epoll_ctl(command pipe): %s", strerror(errno));
        return -1;
    }
    w->header_list.timeout = w->a.conf->client_header_timeout;
    w->keepalive_list.timeout = w->a.conf->keepalive_timeout;
    w->send_list.timeout = w->a.conf->send_timeout;
    w->body_list.timeout = w->a.conf->client_body_timeout;
    /* A lingering close waits for the client's FIN no longer than a slow
     * body would be waited for. */
    w->linger_list.timeout = w->body_list.timeout < 2.0 ? w->body_list.timeout : 2.0;
    w->rbuf_size = w->a.conf->max_header_size;
    if (w->a.tls != NULL && (w->tls = tls_transport_worker_new(w->a.tls)) == NULL) {
        log_error("calloc(tls): out of memory");
        return -1;
    }
    if (w->root_fd >= 0) {
        /* A quarter of the descriptors at most go to cached open files. */
        struct rlimit rl;
        /* An entry may hold three descriptors (the file, .gz, .br): a
         * twelfth of the limit in entries is a quarter in descriptors. */
        size_t max = 1024;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur / 12 < max)
            max = rl.rlim_cur / 12 < 8 ? 8 : rl.rlim_cur / 12;
        w->fc = file_cache_new(w->root_fd, w->a.conf, max);
        if (w->fc == NULL) {
            log_error("file_cache_new(): out of memory");
            return -1;
        }
        file_cache_set_compress(w->fc, w->cc);
    }
    /* A reserve of descriptors for files and logs: accepting stops before
     * the last few, so a file can still be opened for the clients held. */
    w->conns_max = fd_budget_conns(w->a.conf->worker_connections, fd_budget_lowest_free(),
                                   w->fc != NULL ? file_cache_max_fds(w->fc) : 0);
    worker__listen(w, 1);
    return 0;
}

/* Milliseconds until the next timer, at most a second. */
static int worker__timeout(worker_t *w)
{
    if (!list_empty(&w->ready))
        return 0;
    double next = conn_next_deadline(w, w->next_tick);
    /* Only a resume time still ahead: one that passed while the worker is
     * at worker_connections (or draining) would make epoll_wait return at
     * once, again and again. A closing connection re-enables accepting in
     * the loop itself. */
    if (!w->listening && w->accept_resume > w->now && w->accept_resume < next)
        next = w->accept_resume;
    double ms = (next - w->now) * 1000.0;
    return ms <= 0 ? 0 : (int)ms + 1;
}

void worker_run(const worker_args_t *args)
{
    /* On this frame, which never returns. */
    worker_t worker;
    worker_t *w = &worker;
    memset(w, 0, sizeof(*w));
    w->a = *args;
    /* The caller's fd array lives on the master's stack frame: copy it. */
    memcpy(w->listen_fds, args->listen_fds, args->num_listen * sizeof(int));
    w->a.listen_fds = w->listen_fds;
    w->access_log.fd = -1;
    list_init(&w->ready);
    list_init(&w->conn_free);
    list_init(&w->header_list.head);
    list_init(&w->keepalive_list.head);
    list_init(&w->send_list.head);
    list_init(&w->linger_list.head);
    list_init(&w->body_list.head);
    list_init(&w->proxy_list.head);
    w->now = worker__clock();
    w->wall = time(NULL);

    if (worker__setup(w) < 0)
        _exit(WORKER_EXIT_SETUP);

    if (w->a.conf->worker_max_requests > 0) {
        /* Jitter of up to 10 %, so workers started together are not all
         * replaced at the same moment. */
        unsigned seed = (unsigned)getpid() ^ (unsigned)w->wall;
        uint64_t max = (uint64_t)w->a.conf->worker_max_requests;
        w->recycle_at = max + (uint64_t)rand_r(&seed) % (max / 10 + 1);
    }
    worker__tell_master(w, MSG_READY);
    worker__report(w, REPORT_STARTED);
    w->next_tick = w->now + 1.0;

    struct epoll_event events[256];
    while (!worker_stop_flag) {
        int n = epoll_wait(w->epfd, events, 256, worker__timeout(w));
        if (n < 0 && errno != EINTR) {
            log_error("epoll_wait(): %s", strerror(errno));
            break;
        }
        w->now = worker__clock();
        w->wall = time(NULL);
        for (int i = 0; i < n; i++) {
            uint64_t d = events[i].data.u64;
            if (d == WORKER_EV_CMD)
                worker__command(w);
            else if (PROXY_EV_IS(d))
                proxy_event(w, d, events[i].events);
            else if (d == WORKER_EV_AUTH) {
                if (w->auth_pool != NULL)
                    auth_pool_collect(w->auth_pool, worker__auth_done, w);
            }
            else if (d & 1) {
                /* An event from before a drain or a pause in this batch:
                 * the socket may be closed or no longer ours to take. */
                if (w->listening)
                    worker__accept(w, (size_t)((d - 3) / 2));
            }
            else
                conn_process((conn_t *)(uintptr_t)d, events[i].events);
        }
        if (w->reclaim > 0) {
            conn_close_idle_oldest(w, w->reclaim);
            w->reclaim = 0;
        }
        conn_run_ready(w);
        conn_expire(w);
        if (!w->listening && !w->draining && w->balance_paused) {
            /* Looked at on every turn, not only when the pause ends: with
             * short connections the counts move fast, and two workers that
             * each waited out a pause could both stand aside at once. */
            if (!worker__overloaded(w)) {
                w->balance_paused = 0;
                w->accept_resume = 0;
                worker__listen(w, 1);
            } else if (w->now >= w->accept_resume) {
                w->accept_resume = w->now + WORKER_BALANCE_PAUSE;
            }
        } else if (!w->listening && !w->draining && w->accept_resume != 0 &&
                   w->now >= w->accept_resume &&
                   w->num_conns < w->conns_max) {
            w->accept_resume = 0;
            worker__listen(w, 1);
        }
        if (w->now >= w->next_tick) {
            w->next_tick = w->now + 1.0;
            if (w->recycle_at != 0 && w->report.requests >= w->recycle_at && !w->draining) {
                /* Every second until drained: the master starts a successor
                 * and drains us when it is ready, and ignores the repeats
                 * meanwhile (a successor that dies lets it ask again). */
                worker__tell_master(w, MSG_RECYCLE);
            }
            worker__tell_master(w, MSG_HEARTBEAT);
            worker__report(w, REPORT_COUNTERS);
            access_log_flush(&w->access_log);
            host_flush(w);
            proxy_worker_tick(w);
            log_tick();
        }
        if (w->draining) {
            if (w->now - w->drain_started >= WORKER_DRAIN_GRACE)
                conn_close_idle(w);
            if (w->num_conns == 0)
                break;
        }
    }

    access_log_flush(&w->access_log);
    host_flush(w);
    log_tick();
    if (!w->draining)
        worker__report(w, REPORT_STOPPING);
    worker__report(w, REPORT_EXITED);
    access_log_close(&w->access_log);
    host_close(w);
    proxy_worker_exit(w);
    _exit(WORKER_EXIT_OK);
}
