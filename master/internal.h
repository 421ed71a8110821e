/*
 * internal: what the files of master/ share and nothing outside uses.
 *
 * One master_t per process (master.c owns it); every master/ file works on
 * it. The files call one way: master.c (loop, signals) -> reload.c (the
 * reload transaction) -> workers.c (spawn, reap, backoff, drain) -> listen.c;
 * control.c (the control socket) -> status.c (a pure formatter); master.c
 * -> upgrade.c (binary hand-over) -> control.c, listen.c, notify.c. None of
 * them calls back up: workers.c tells reload.c that a new generation's
 * worker died through a flag (pending_died) that reload_tick() reads, and
 * tells upgrade.c that the new master exited the same way (upgrade_reaped).
 */
#ifndef DROVER_MASTER_INTERNAL_H
#define DROVER_MASTER_INTERNAL_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "balance.h"
#include "conf.h"
#include "listen.h"
#include "metrics_hosts.h"
#include "metrics_page.h"
#include "mq.h"
#include "report.h"
#include "status_page.h"
#include "tls_setup.h"

#define MASTER_MAX_WORKERS 1024
#define MASTER_MAX_LISTEN (CONF_MAX_LISTEN * 2)

typedef enum {
    WORKER_STARTING = 0,
    WORKER_READY,
    WORKER_DRAINING,
} worker_state_t;

typedef struct {
    pid_t pid;             /* 0: the entry is free */
    unsigned slot;
    unsigned generation;
    worker_state_t state;
    int cmd_fd;            /* master -> worker; with pid 0 it means nothing */
    int msg_fd;            /* worker -> master */
    double started;        /* monotonic seconds */
    double last_heartbeat;
    double ready_at;       /* when it reported READY; 0: not yet */
    int hung;              /* killed for missing heartbeats (logged once) */
    double kill_at;        /* draining: SIGKILL after this; 0 = none */
    int killed;            /* the master sent it SIGKILL */
    int recycling;         /* reached worker_max_requests: replaced when its successor is ready */
    report_t report;       /* its latest counters */
} master_worker_t;

typedef struct {
    unsigned restarts;     /* unexpected deaths */
    double backoff;        /* seconds before the next respawn */
    double spawn_at;       /* 0: nothing pending */
} master_slot_t;

typedef enum {
    MASTER_RUNNING = 0,
    MASTER_STOP_FAST,
    MASTER_STOP_GRACEFUL,
} master_stop_t;

typedef struct {
    conf_t *conf;          /* the generation that serves */
    conf_t *pending;       /* a reload's config, until its workers are ready */
    unsigned generation;
    unsigned pending_generation;
    unsigned next_generation; /* never reused, even after an aborted reload */
    uid_t pending_uid;     /* the pending generation's credentials: */
    gid_t pending_gid;     /* uid/gid change only when it commits */
    double pending_deadline;
    int pending_wanted;
    uid_t uid;             /* workers drop to these when root; -1: keep */
    gid_t gid;

    listen_sock_t listen[MASTER_MAX_LISTEN];
    size_t num_listen;

    master_worker_t workers[MASTER_MAX_WORKERS];
    /* Entries at and past this index were never used (pid 0): every scan
     * of workers[] stops here. The whole array is about 1 MB, and a scan
     * that reads an untouched page of it can make the page resident (the
     * kernel need not map the shared zero page for a read once the
     * mapping has been written), in the master and again in each worker. */
    size_t workers_end;
    master_slot_t slots[MASTER_MAX_WORKERS];
    int target_workers;    /* conf->workers, moved by TTIN/TTOU */

    int epfd;
    int sigfd;
    mq_t mq;
    pid_t pid;
    char *pid_path;        /* the pid file we wrote, removed at exit */
    master_stop_t stop;
    double stop_deadline;

    double started;        /* monotonic */
    status_page_t *page;   /* shared with every worker */
    balance_t *balance;    /* accept balance, shared with every worker */
    /* limit_req/limit_conn counters, shared with every worker of every
     * generation (limit_table.h); limits_fd is its memfd, for the upgrade. */
    struct limit_table_s *limits;
    int limits_fd;
    /* The proxy's figures and health verdicts, shared with every worker
     * of every generation (upstream_table.h), and the prober that writes
     * the verdicts (health.c); both NULL until a configuration has
     * upstreams. */
    struct upstream_table_s *upstreams;
    struct health_s *health;
    int status_dirty;      /* something changed since the last publish */
    int ctl_fd;            /* the control socket, or -1 */
    int waiters[16];       /* control clients waiting for a reload to start */
    size_t num_waiters;
    int inflight[16];      /* ... and for the outcome of the one under way */
    size_t num_inflight;
    int reload_queued;     /* a reload waits for old workers to leave */
    int pending_died;      /* a worker of the pending generation died (set by workers.c) */
    unsigned reloads_ok, reloads_failed;
    report_t retired;      /* counters of workers that have exited */
    char last_reload[CONF_ERR_LEN + 128]; /* outcome of the last reload, for status */
    int ready_announced;   /* the first generation was ready: READY=1 sent */
    int failed;            /* exit status 1: a start that failed late */

    /* Binary upgrade, as the old master (upgrade.c). */
    char *exe;             /* the absolute path we were started with, or NULL */
    pid_t upgrade_pid;     /* the new master we started, until it is reaped */
    int upgrade_fd;        /* the read end of its report pipe, or -1 */
    char upgrade_buf[CONF_ERR_LEN + 64]; /* what it said so far (a line) */
    size_t upgrade_len;
    char upgrade_why[CONF_ERR_LEN + 64]; /* its last "error: ..." line */
    double upgrade_deadline;
    int upgrade_timed_out; /* killed for not being ready in time */
    int upgrade_reaped;    /* set by workers.c when waitpid() returns it */
    int upgrade_status;
    int upgrade_handed;    /* it took over: this master drains and exits */
    int up_waiters[16];    /* control clients waiting for the outcome */
    size_t num_up_waiters;
    char last_upgrade[CONF_ERR_LEN + 128];
    /* ... and as the new master, until it takes over. */
    pid_t predecessor;     /* the old master, or 0 */
    int predecessor_fd;    /* the write end of our report pipe to it, or -1 */
    tls_ctx_t *tls;        /* conf's TLS contexts, or NULL */
    tls_ctx_t *pending_tls; /* pending's, until the reload commits or aborts */
    tls_ticket_ring_t pending_keys; /* pending's ticket keys, installed when it commits */
    tls_ticket_ring_t *ticket_ring; /* shared with every worker; NULL without TLS at start */
    metrics_page_t *metrics;  /* shared with every worker (metrics.c) */
    double started_wall;      /* Unix seconds */
    uint64_t restarts_by[METRICS_RESTART_REASONS];
    uint64_t reloads_by[METRICS_RELOAD_RESULTS];
    double last_reload_ok;    /* Unix seconds; 0: none yet */
} master_t;

/* epoll tags of the master's loop: what an event's fd is. */
#define MASTER_TAG_SIGNAL 1ULL
#define MASTER_TAG_MQ 2ULL
#define MASTER_TAG_WORKER 3ULL
#define MASTER_TAG_CONTROL 4ULL
#define MASTER_TAG_UPGRADE 5ULL
#define MASTER_TAG_HEALTH 6ULL
#define MASTER_TAG(t, i) (((uint64_t)(t) << 32) | (uint32_t)(i))

static inline double master__now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* master/workers.c: the workers' lives. */
master_worker_t *workers_find(master_t *m, pid_t pid);          /* pid 0: a free entry below workers_end */
size_t workers_count(const master_t *m, int generation);        /* -1: every generation */
void workers_send(master_worker_t *w, char cmd);                /* a CMD_* of channel.h */
int workers_spawn(master_t *m, unsigned slot, unsigned generation, const conf_t *conf);
void workers_drain(master_t *m, master_worker_t *w, const char *why);
void workers_drain_all(master_t *m, const char *why);
void workers_reap(master_t *m);
void workers_message(master_t *m, pid_t pid);                   /* its pipe is readable */
void workers_reports(master_t *m);                              /* the queue is readable */
void workers_change(master_t *m, int delta);                    /* TTIN/TTOU */
void workers_respawn(master_t *m);                              /* slots whose time has come */
void workers_watch(master_t *m);                                /* heartbeats, drain limits */
void workers_kill_late(master_t *m);                            /* stopping, past the deadline */
void workers_publish_balance(master_t *m);

/* master/metrics.c: the metrics page (metrics_page.h). */
void metrics_publish(master_t *m);
void metrics_hosts(master_t *m, const metrics_hosts_msg_t *msg); /* a REPORT_HOSTS message */
double metrics_wall(void);                                      /* Unix seconds */

/* master/reload.c: the reload transaction. */
void reload_begin(master_t *m);                                 /* SIGHUP */
void reload_tick(master_t *m);                                  /* commit, abort or start a queued one */

#endif
