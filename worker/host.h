/*
 * host: a worker's virtual hosts (README "Virtual hosts").
 *
 * host_open() builds, once per worker and before privileges are dropped,
 * one host_t per hosts: entry plus the default host (the top level): its
 * document root's descriptor (hosts with the same root share one), its
 * access log (hosts with the same path share one; the top level's is the
 * worker's own), its extra header lines. Each host gets its own file cache,
 * made on its first request, so a path under one host never answers with
 * another host's file, ETag or error page.
 *
 * host_select() picks the host of a request once (common/conf/vhost.c: exact
 * names and aliases, then the longest wildcard, then the default) and makes
 * it the worker's current host: w->host, and w->fc its cache, which the
 * handlers, error pages and autoindex use. Every worker process starts from
 * a whole new conf_t, so a reload that fails (a log that cannot be opened
 * makes the new worker exit) leaves the running hosts untouched.
 *
 * Functions return 0, or -1 having logged why.
 */
#ifndef DROVER_HOST_H
#define DROVER_HOST_H

#include <stddef.h>

#include "access_log.h"
#include "conf.h"
#include "file_cache.h"
#include "http_parser.h"
#include "metrics_counts.h"
#include "vhost.h"
#include "conn.h"
#include "worker.h"

struct conf_rule_s;

/* A worker's state of one location of a host (worker/rule_handler.c). */
typedef struct host_rule_s {
    const struct conf_rule_s *rule;
    int root_fd;              /* own_files: its root's descriptor (-1: none) */
    struct file_cache_s *fc;  /* own_files: its file cache, made on first use */
    access_log_t *log;        /* where its requests are logged */
    char *headers;            /* its own "Name: value\r\n" lines, or NULL */
    size_t headers_len;
    char *unset;              /* the names it removes: "Name\0Name\0", or NULL */
    size_t unset_len;
} host_rule_t;

typedef struct host_s {
    const conf_t *conf;       /* the host's keys: its own, else the top level's */
    const char *name;         /* as configured; "" for the default host */
    int root_fd;              /* -1: no root (every path is a 404) */
    struct file_cache_s *fc;  /* NULL until the first request */
    access_log_t *log;        /* never NULL; fd -1 when off */
    char *headers;            /* "Name: value\r\n" lines, or NULL */
    size_t headers_len;
    /* Counted since the last REPORT_HOSTS the queue took (metrics_hosts.h). */
    uint64_t metrics_requests[METRICS_CLASSES];
    uint64_t metrics_bytes;
    host_rule_t *rules;       /* one per conf->locations item; NULL: none */
} host_t;

typedef struct host_set_s {
    host_t *hosts;            /* [0]: the default host, [i + 1]: conf->hosts[i] */
    size_t n;
    int *fds;                 /* root descriptors this set opened */
    size_t nfds;
    access_log_t **logs;      /* access logs this set opened (64 KiB each) */
    size_t nlogs;
    access_log_t off;         /* the log of hosts with access_log: off */
    size_t fc_max;
    /* Entries of every host's cache, the default's too: at most the
     * default cache's bound, what worker.c kept descriptors aside for. */
    file_cache_budget_t fc_budget;
    int default_fc;           /* hosts[0].fc was taken from w->fc */
    size_t metrics_next;      /* the host host_metrics_send starts at next */
    /* The last Host value matched and its answer: most requests repeat
     * the one before (a keep-alive connection, a site with one name), and
     * a memcmp of a few bytes is cheaper than normalising and probing. */
    char memo[VHOST_NAME_MAX + 8];
    size_t memo_len;          /* 0: nothing remembered */
    int memo_host;
} host_set_t;

/* Opens the roots and logs of every host of w->a.conf; w->root_fd and
 * w->access_log (the default host's) are already open. */
int host_open(worker_t *w);

/* Makes the host that req names (NULL: a request that could not be
 * parsed, the default host) current: w->host and w->fc. NULL when w has
 * no hosts (host_open was not called). */
host_t *host_select(worker_t *w, const http_request_t *req);

/* 1 when c is HTTPS and host (the Host header as sent) would have had
 * SNI choose another certificate than the one it chose: the request must
 * get 421 Misdirected Request (RFC 9110 15.5.20), not another site's
 * page under this certificate. */
int host_misdirected(const conn_t *c, str_t host);

/* The file cache of a location that has files of its own (root, alias,
 * index...), made on its first use; NULL when it cannot be. */
struct file_cache_s *host_rule_cache(worker_t *w, host_t *h, host_rule_t *hr);

/* For every log of every host: flush, reopen (USR1), flush and close. */
void host_flush(worker_t *w);
void host_reopen(worker_t *w);
void host_close(worker_t *w);

#endif
