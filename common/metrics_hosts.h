/*
 * metrics_hosts: requests and response bytes by virtual host, for
 * drover_host_requests_total{host,code} and drover_host_response_bytes_total.
 *
 * Per-host counts do not ride in report_t: the master keeps one report_t
 * per worker-table entry and the metrics page one per live worker, so a
 * host dimension there would multiply their memory by the hosts. Instead a
 * worker sends, with each report, REPORT_HOSTS messages holding what each
 * host counted since the last message that was accepted (deltas, kept
 * until the queue takes them), keyed by the host's name; the master adds
 * them into one table of METRICS_HOSTS rows, which the page carries.
 *
 * Names, not indexes, because a reload renumbers hosts while the old
 * generation's workers still report. The table only grows: a host removed
 * by a reload keeps its row, so counters never go backwards. Bounded: the
 * first METRICS_HOSTS - 1 names seen get a row each, every later one is
 * counted in the last row, host="_other". The default host (requests that
 * match no host) is host="_default". Names longer than METRICS_HOST_NAME - 1
 * bytes are cut (two that share that prefix share a row).
 */
#ifndef DROVER_METRICS_HOSTS_H
#define DROVER_METRICS_HOSTS_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "metrics_counts.h"
#include "report.h"

#define METRICS_HOSTS 64
#define METRICS_HOST_NAME 96
/* Five rows keep a hosts message no larger than a report_t, so the queue's
 * message size (and with it what each queue costs of the user's
 * RLIMIT_MSGQUEUE, 800 KiB by default and shared by every drover of that
 * user, an upgrading one included) does not grow with per-host metrics. */
#define METRICS_HOSTS_PER_MSG 5
#define METRICS_HOST_DEFAULT "_default"
#define METRICS_HOST_OTHER "_other"

typedef struct {
    char name[METRICS_HOST_NAME];
    uint64_t requests[METRICS_CLASSES]; /* [1]..[5]: 1xx..5xx */
    uint64_t bytes;                     /* response bytes handed to the kernel */
} metrics_host_t;

/* A REPORT_HOSTS message (its type and pid where report_t has them). */
typedef struct {
    uint32_t type;  /* REPORT_HOSTS */
    int32_t pid;
    uint32_t n;     /* rows used */
    uint32_t pad;
    metrics_host_t rows[METRICS_HOSTS_PER_MSG];
} metrics_hosts_msg_t;

typedef struct {
    uint32_t n;
    metrics_host_t rows[METRICS_HOSTS];
} metrics_hosts_t;

/* Adds row r into table t: by name, a new row while there is room, else
 * the overflow row. */
static inline void metrics_hosts_add(metrics_hosts_t *t, const metrics_host_t *r)
{
    char name[METRICS_HOST_NAME];
    memcpy(name, r->name, sizeof(name));
    name[sizeof(name) - 1] = '\0'; /* from another process: trust no terminator */
    uint32_t i = 0;
    while (i < t->n && strcmp(t->rows[i].name, name) != 0)
        i++;
    if (i == t->n) {
        if (t->n < METRICS_HOSTS - 1) {
            memcpy(t->rows[i].name, name, sizeof(name));
        } else {
            i = METRICS_HOSTS - 1;
            if (t->n < METRICS_HOSTS)
                snprintf(t->rows[i].name, sizeof(t->rows[i].name), "%s", METRICS_HOST_OTHER);
        }
        if (t->n <= i)
            t->n = i + 1;
    }
    for (int k = 0; k < METRICS_CLASSES; k++)
        t->rows[i].requests[k] += r->requests[k];
    t->rows[i].bytes += r->bytes;
}

/* The queue's message size: the larger of the two messages. */
#define REPORT_MSG_MAX (sizeof(report_t) > sizeof(metrics_hosts_msg_t) ? sizeof(report_t) \
                                                                      : sizeof(metrics_hosts_msg_t))
_Static_assert(sizeof(metrics_hosts_msg_t) <= sizeof(report_t),
               "a hosts message larger than a report makes every queue cost more");

#endif
