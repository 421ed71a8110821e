/*
 * master: the supervisor process.
 *
 * The master owns the listening sockets, the message queue and one pair of
 * pipes per worker, and runs one epoll loop over a signalfd, the workers'
 * pipes and the queue. It never serves a request. Its invariants:
 *   - every child is reaped (waitpid(WNOHANG) in a loop: signals coalesce);
 *   - a worker that dies unexpectedly is replaced, with a per-slot backoff;
 *   - a reload changes nothing until the new generation is READY.
 */
#ifndef DROVER_MASTER_H
#define DROVER_MASTER_H

#include <sys/types.h>

#include "conf.h"
#include "listen.h"
#include "mq.h"
#include "report.h"
#include "status_page.h"

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
    int cmd_fd;            /* master -> worker */
    int msg_fd;            /* worker -> master */
    double started;        /* monotonic seconds */
    double last_heartbeat;
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
    int status_dirty;      /* something changed since the last publish */
    int ctl_fd;            /* the control socket, or -1 */
    int waiters[16];       /* control clients waiting for a reload to start */
    size_t num_waiters;
    int inflight[16];      /* ... and for the outcome of the one under way */
    size_t num_inflight;
    int reload_queued;     /* a reload waits for old workers to leave */
    unsigned reloads_ok, reloads_failed;
    report_t retired;      /* counters of workers that have exited */
    char last_reload[CONF_ERR_LEN + 128]; /* outcome of the last reload, for status */
} master_t;

/* Runs the master until it stops. conf is taken over. Returns the exit
 * status for main(). */
int master_run(conf_t *conf, int foreground);

/* Resolves user/group of conf. 0, or -1 with a message naming the key. */
int master_resolve_user(const conf_t *conf, uid_t *uid, gid_t *gid, char *err, size_t errlen);

double master_now(void);

/* master/status.c: the master's view as text (drover -s status) or JSON
 * (the status page). Both return the length written (truncated at size). */
size_t status_render_text(const master_t *m, char *buf, size_t size);
size_t status_render_json(const master_t *m, char *buf, size_t size);
void status_publish(master_t *m);

/* master/control.c: the control socket, abstract "drover-ctl.<pid>".
 * Only root or the master's own user may use it (SO_PEERCRED). */
int control_open(master_t *m);
void control_accept(master_t *m);
void control_reload_start(master_t *m);
void control_reload_done(master_t *m, int ok, const char *msg);

/* Client side, for the command line: sends cmd, reads the reply into out.
 * Returns 0, or -1 with errno (ECONNREFUSED: no control socket). */
int control_request(pid_t pid, const char *cmd, double timeout, char *out, size_t size);

#endif
