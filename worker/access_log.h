/*
 * access_log: the access log of a worker: combined (the default),
 * vhost_combined (the host, then a combined line, as Apache's) or json (one
 * object per line: time, host, client, method, path, protocol, status,
 * bytes, referer, agent, duration_us).
 *
 * Lines are appended to a 64 KiB buffer (allocated when the log is on)
 * and written when it fills, at least
 * once a second, and at exit, with O_APPEND writes of whole lines so the
 * workers' lines never interleave. It knows nothing of connections: the
 * caller hands it a plain record, and builds one only when the log is on
 * (access_log_on), so a worker without an access log pays nothing.
 *
 * A write that fails (a full disk) never tears a line: a partial write is
 * cut back to its last whole line, the rest of the buffer is dropped in
 * whole lines, and writing resumes by itself when space returns.
 *
 * Functions return 0, or -1 with errno.
 */
#ifndef DROVER_ACCESS_LOG_H
#define DROVER_ACCESS_LOG_H

#include <stdint.h>
#include <time.h>

#include "str.h"

#define ACCESS_LOG_BUF (64 * 1024)

typedef struct {
    int fd;                 /* -1: logging off */
    char *path;             /* owned */
    size_t len;
    time_t clf_at;          /* the second clf was formatted for */
    char clf[32];
    /* A full disk (ENOSPC, EIO): lines are dropped whole, counted, and
     * reported to the error log once, then once a minute, until a write
     * works again. */
    int failing;            /* the last write failed */
    uint64_t dropped;       /* lines dropped since the last report */
    uint64_t dropped_total; /* since the failure began */
    time_t reported_at;     /* when the last report was logged */
    /* ACCESS_LOG_BUF bytes, allocated by access_log_open() only for a log
     * that is on: an embedded buffer made every access_log_t (the worker's
     * own, a host set's "off" one) 64 KiB, and clearing one made it all
     * resident in a worker that logs nothing. */
    char *buf;
    int format;             /* CONF_LOG_* (conf.h): combined unless set */
} access_log_t;

/* One exchange. The slices are borrowed for the call only. */
typedef struct {
    const char *addr;       /* the client as text */
    str_t request;          /* the request line, without CRLF */
    int status;
    uint64_t body_bytes;
    str_t referer;
    str_t agent;
    /* The connection: "https" or "http", and the TLS version ("TLSv1.3")
     * or NULL. The combined format does not show them; other formats may. */
    const char *scheme;
    const char *tls_version;
    str_t host;             /* the Host header as sent (normalised when written) */
    uint64_t duration_us;   /* from the request head to the end of the response */
    const char *rule;       /* the location that answered (its pattern), or NULL */
    /* A proxied request (proxy.h): the server last tried (its address as
     * configured; NULL: not proxied, or no server was tried), its status
     * (0: no response head) and the time from the start of the forwarding
     * to the end of the upstream's response. The json format shows them. */
    const char *upstream;
    int upstream_status;
    uint64_t upstream_us;
} access_log_record_t;

/* Starts l; path NULL: logging off. */
int access_log_open(access_log_t *l, const char *path);
int access_log_reopen(access_log_t *l);

static inline int access_log_on(const access_log_t *l)
{
    return l->fd >= 0;
}

void access_log_write(access_log_t *l, const access_log_record_t *r, time_t now);
void access_log_flush(access_log_t *l);
void access_log_close(access_log_t *l);

#endif
