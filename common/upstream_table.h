/*
 * upstream_table: the reverse proxy's figures and the active health
 * checks' verdicts, per upstream and per server, in memory that the master
 * and every worker share (README "Reverse proxy", "Status and metrics").
 *
 * The master maps the table (anonymous, MAP_SHARED) before the first fork
 * that needs it: at start when the configuration has upstreams, else at
 * the first reload that brings some. It keeps it for its life, so every
 * generation's workers see the same rows, and workers that are restarted
 * (a crash, kill -9) inherit the mapping with the rest.
 *
 * Rows are keyed by name, not by index, because a reload renumbers
 * upstreams while the old generation's workers still count: row (app, "")
 * holds upstream app's own counts, row (app, "127.0.0.1:9000") that
 * server's. Only the master adds rows, when a configuration is loaded and
 * before the workers that use it fork (upstream_table_bind), so a worker
 * finds its rows with a plain lookup and never races an insertion; nrows is
 * stored with release order after the row is written. The table only
 * grows, so counters never go backwards: rows of a removed upstream keep
 * their counts. It is bounded: past UPSTREAM_TABLE_ROWS - 1 rows every new
 * one shares the last, upstream="_other", which is counted but never
 * health-checked (a warning at load says so).
 *
 * Counters are added to by workers with relaxed atomic adds, so a worker
 * killed at any moment leaves nothing half done and nothing waits for a
 * report. The health fields are written by the master's prober only
 * (master/health.c); workers read `down` when they choose a server
 * (proxy_balance.c), and write passive_until when their own failure count
 * takes a server out (for the gauge only).
 */
#ifndef DROVER_UPSTREAM_TABLE_H
#define DROVER_UPSTREAM_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "conf_upstreams.h"
#include "metrics_counts.h"

#define UPSTREAM_TABLE_ROWS 4096
#define UPSTREAM_TABLE_NAME 120 /* bytes kept of a name or an address (a label) */
#define UPSTREAM_TABLE_OTHER "_other"
#define UPSTREAM_TABLE_MAGIC 0x75707331u

typedef struct {
    uint64_t key; /* the hash of the full names; never 0 in a used row */
    char upstream[UPSTREAM_TABLE_NAME];
    char server[UPSTREAM_TABLE_NAME]; /* "": the upstream's own row */
    /* An upstream's row, counted by workers. */
    uint64_t requests;   /* client requests, counted when they end */
    uint64_t retries;    /* tries after a request's first */
    uint64_t gateway[2]; /* answered by drover itself: [0] 502, [1] 504 */
    /* A server's row, counted by workers. */
    uint64_t attempts;                       /* tries: a connect or a pooled connection */
    uint64_t responses[METRICS_CLASSES];     /* response heads, [1]..[5]: 1xx..5xx */
    uint64_t duration[METRICS_BUCKETS + 1];  /* per bucket of metrics_bucket_us */
    uint64_t duration_ns;
    uint64_t connect_failures;               /* refused, failed or timed out */
    int64_t passive_until;                   /* monotonic us: a worker took it out until */
    /* A server's row, written by the master's prober. */
    uint32_t down;      /* 1: the active checks took it out */
    uint32_t checked;   /* 1: health checks of the serving configuration probe it */
    uint32_t run_ok;    /* consecutive passed checks */
    uint32_t run_fail;  /* consecutive failed checks */
    uint64_t checks[2]; /* [0] passed, [1] failed */
} upstream_row_t;

typedef struct upstream_table_s {
    uint32_t magic;
    uint32_t nrows; /* rows in use; the master stores it, release order */
    upstream_row_t rows[UPSTREAM_TABLE_ROWS];
} upstream_table_t;

/* A new zeroed table, mapped shared; NULL with errno. */
upstream_table_t *upstream_table_create(void);

/* The master, at load: a row for every upstream of us and every server of
 * each. Returns how many did not get a row of their own (they share
 * _other). */
size_t upstream_table_bind(upstream_table_t *t, const conf_upstreams_t *us);

/* The row of (upstream, server) (server NULL: the upstream's own), the
 * _other row when that one did not fit, or NULL (no table, or no row).
 * Never adds a row. */
upstream_row_t *upstream_table_find(upstream_table_t *t, const char *upstream, const char *server);

/* 1 when row r is the shared overflow row. */
int upstream_table_is_other(const upstream_row_t *r);

/* Monotonic microseconds (the same clock in every process). */
int64_t upstream_table_now(void);

static inline void upstream_table_add(uint64_t *counter, uint64_t n)
{
    __atomic_add_fetch(counter, n, __ATOMIC_RELAXED);
}

static inline uint64_t upstream_table_get(const uint64_t *counter)
{
    return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

/* The active checks' verdict: 1 when r is taken out. */
static inline int upstream_table_down(const upstream_row_t *r)
{
    return __atomic_load_n(&r->down, __ATOMIC_RELAXED) != 0;
}

#endif
