/*
 * worker: one process, one non-blocking epoll loop.
 *
 * A worker accepts on the listening sockets it inherited from the master
 * (registered with EPOLLEXCLUSIVE, so one connection wakes one worker, not
 * all of them), serves connections, talks to the master over its two pipes
 * and reports counters over the message queue. It leaves when told to stop
 * or drain, when its command pipe reaches end-of-file (the master is gone),
 * or when the kernel kills it because the master died (PR_SET_PDEATHSIG).
 */
#ifndef DROVER_WORKER_H
#define DROVER_WORKER_H

#include <mqueue.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "access_log.h"
#include "conf.h"
#include "list.h"
#include "report.h"
#include "rules.h"
#include "tls_ctx.h"

typedef struct conn_s conn_t;

/* The epoll data of the auth pool's eventfd (worker/access/auth_pool.h):
 * even like a connection's pointer, which 2 never is; worker.c tells. */
#define WORKER_EV_AUTH ((uint64_t)2)

/* A timer list of connections (conn.h). */
typedef struct {
    list_t head;
    double timeout; /* every entry has the same duration: append keeps order */
} conn_list_t;

typedef struct {
    const conf_t *conf;
    const int *listen_fds;
    size_t num_listen;
    int cmd_fd;
    int msg_fd;
    mqd_t mq;
    unsigned slot;
    unsigned generation;
    pid_t master_pid;
    uid_t uid;             /* (uid_t)-1: do not change */
    gid_t gid;
    const struct status_page_s *page; /* the master's status, shared; may be NULL */
    const struct metrics_page_s *metrics; /* the figures for /metrics, shared; may be NULL */
    struct balance_s *balance;        /* accept balance, shared; may be NULL */
    struct limit_table_s *limits;     /* limit_req/limit_conn counters, shared; may be NULL */
    struct upstream_table_s *upstreams; /* proxy figures and health, shared; may be NULL */
    unsigned cell;                    /* this worker's cell in balance */
    const tls_ctx_t *tls;             /* the generation's TLS contexts, or NULL */
} worker_args_t;

/* The worker's whole state: there is no other (worker/ has no file-scope
 * variables), so a test can build one, and two could live side by side. */
typedef struct {
    worker_args_t a;
    int listen_fds[CONF_MAX_LISTEN]; /* a.listen_fds points here */
    int epfd;
    int root_fd;
    struct file_cache_s *fc;   /* what paths resolve to; NULL without a root */
    int listening;         /* the listen fds are in the epoll set */
    int draining;
    double drain_started;
    double accept_resume;  /* when accept was paused (EMFILE): retry at */
    int balance_paused;    /* stood aside for a less loaded worker */

    double now;            /* monotonic seconds, updated once per turn */
    time_t wall;           /* time(NULL), for Date and logs */

    size_t num_conns;
    conn_list_t header_list;    /* waiting for a request head */
    conn_list_t keepalive_list; /* idle between requests */
    conn_list_t send_list;      /* writing a response or discarding a body */
    conn_list_t linger_list;    /* closing: reading what the client still sends */
    list_t ready;               /* work left without an event: run next turn */
    list_t conn_free;           /* conn_t structures kept for reuse */
    size_t conn_free_n;

    void *rbuf_free;       /* pools of fixed-size buffers */
    void *wbuf_free;
    size_t rbuf_free_n, wbuf_free_n;
    size_t rbuf_size;

    access_log_t access_log;
    report_t report;
    double next_tick;
    uint64_t recycle_at;   /* requests after which to ask for a successor; 0: no */
    /* Discarding a request body (discard.h): sorted by deadline, timeout
     * is the gap limit, client_body_timeout. */
    conn_list_t body_list;
    /* Connections accepted at most: worker_connections, or fewer when the
     * descriptor limit leaves fewer after a reserve (fd_budget.h). */
    size_t conns_max;
    int reclaim;           /* idle keep-alive connections to close after this batch */
    double proxy_refused_logged;        /* when an untrusted PROXY peer was last logged */
    unsigned long proxy_refused_quiet;  /* refused since then, not logged */
    struct tls_worker_s *tls; /* TLS counters and pool (tls_transport.h); NULL without TLS */
    struct host_set_s *hosts;  /* the virtual hosts (host.h) */
    struct host_s *host;       /* the current request's; fc is its cache */
    /* Site rules (rule_handler.c): the location that answers the current
     * request when it has files of its own (its error pages, not the
     * host's); and the regex match data, made on the first match. */
    const conf_t *rule_conf;
    rules_matcher_t rules;
    struct auth_cache_s *auth; /* verified credentials (worker/access/auth.h), or NULL */
    struct auth_pool_s *auth_pool; /* the threads that hash (auth_pool.h), or NULL */
    int auth_pool_failed;      /* it could not be made: hash inline */
    /* The compressed variants' cache (compress_cache.h), shared with the
     * other workers through its directory; NULL: nothing compresses. */
    struct compress_cache_s *cc;
    /* Reverse proxy (worker/proxy/): the upstreams' health and idle
     * connections (proxy_conn.h), the free proxy_t structures, and the
     * connections waiting on an upstream, sorted by deadline (each
     * upstream has timeouts of its own). */
    struct proxy_conns_s *proxy;
    void *proxy_free;
    void *proxy_links; /* free upstream connection links (proxy_upstream.c) */
    conn_list_t proxy_list;
} worker_t;

/* Never returns: the process exits with WORKER_EXIT_*. */
void worker_run(const worker_args_t *args) __attribute__((noreturn));

#endif
