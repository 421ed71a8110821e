/*
 * health: see health.h.
 */
#include "config.h"

#include "health.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf_upstreams.h"
#include "conf_value.h"
#include "http_response_parser.h"
#include "log.h"
#include "upstream_table.h"

typedef enum {
    HEALTH_IDLE = 0,   /* waiting for next_at */
    HEALTH_CONNECTING,
    HEALTH_SENDING,
    HEALTH_READING,
} health_phase_t;

/* One server's checks. Everything it needs is copied from the
 * configuration, which a reload frees while checks may be under way. */
typedef struct {
    upstream_row_t *row;
    char *upstream, *server; /* names, for the log */
    struct sockaddr_storage addr;
    socklen_t addr_len;
    char *req; /* the request, sent as it is */
    size_t req_len, req_off;
    double interval, timeout;
    int fails, passes;
    int fd;
    health_phase_t phase;
    double next_at, deadline;
    char *buf; /* HEALTH_HEAD_MAX bytes while reading */
    size_t len;
} health_probe_t;

typedef struct health_s {
    health_probe_t *p;
    size_t n;
    /* Checks that could not start for a reason of ours: logged at most once
     * a minute, with how many were not logged since. */
    double local_logged;
    unsigned long local_quiet;
} health_t;

void health_bind(master_t *m, const conf_t *conf)
{
    if (conf->upstreams == NULL || conf->upstreams->n == 0)
        return;
    if (m->upstreams == NULL && (m->upstreams = upstream_table_create()) == NULL) {
        log_error("mmap(upstream table): %s: the proxy's metrics and active health checks are "
                  "off", strerror(errno));
        return;
    }
    size_t missed = upstream_table_bind(m->upstreams, conf->upstreams);
    if (missed > 0)
        log_warn("upstreams: %zu upstreams and servers do not fit the shared table (%d rows): "
                 "they are counted together as \"%s\" and not health-checked",
                 missed, UPSTREAM_TABLE_ROWS, UPSTREAM_TABLE_OTHER);
}

static void health__close(master_t *m, health_probe_t *p)
{
    if (p->fd >= 0) {
        epoll_ctl(m->epfd, EPOLL_CTL_DEL, p->fd, NULL);
        close(p->fd);
    }
    p->fd = -1;
    p->phase = HEALTH_IDLE;
    free(p->buf);
    p->buf = NULL;
}

static void health__free_probes(master_t *m, health_t *h)
{
    for (size_t i = 0; i < h->n; i++) {
        health__close(m, &h->p[i]);
        free(h->p[i].upstream);
        free(h->p[i].server);
        free(h->p[i].req);
    }
    free(h->p);
    h->p = NULL;
    h->n = 0;
}

/* The check of server s of u, in p (zeroed). 0, or -1 out of memory. */
static int health__probe(health_probe_t *p, const conf_upstream_t *u,
                         const conf_upstream_server_t *s, upstream_row_t *row, double now)
{
    p->fd = -1;
    p->row = row;
    p->addr = s->addr;
    p->addr_len = s->addr_len;
    p->interval = u->health.interval;
    p->timeout = u->health.timeout;
    p->fails = u->health.fails;
    p->passes = u->health.passes;
    p->next_at = now;
    const char *host = s->addr.ss_family == AF_UNIX ? "localhost" : s->host;
    int n = asprintf(&p->req, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: drover-health-check\r\n"
                              "Connection: close\r\n\r\n", u->health.path, host);
    if (n < 0) {
        p->req = NULL;
        return -1;
    }
    p->req_len = (size_t)n;
    p->upstream = strdup(u->name);
    p->server = strdup(s->spec);
    return p->upstream != NULL && p->server != NULL ? 0 : -1;
}

/* Was this row checked by the set h? */
static int health__has(const health_t *h, const upstream_row_t *row)
{
    for (size_t i = 0; i < h->n; i++)
        if (h->p[i].row == row)
            return 1;
    return 0;
}

void health_configure(master_t *m, const conf_t *conf)
{
    health_t next = { NULL, 0, -1e9, 0 };
    const conf_upstreams_t *us = conf->upstreams;
    size_t want = 0;
    double now = master__now();
    for (size_t i = 0; us != NULL && i < us->n; i++)
        if (us->items[i].health.path != NULL)
            want += us->items[i].nservers;
    if (want > 0 && m->upstreams != NULL && (next.p = calloc(want, sizeof(*next.p))) == NULL)
        log_error("health checks: out of memory: none run");
    for (size_t i = 0; next.p != NULL && i < us->n; i++) {
        const conf_upstream_t *u = &us->items[i];
        if (u->health.path == NULL)
            continue;
        for (size_t j = 0; j < u->nservers; j++) {
            upstream_row_t *row = upstream_table_find(m->upstreams, u->name, u->servers[j].spec);
            if (row == NULL || upstream_table_is_other(row))
                continue; /* health_bind warned */
            if (health__probe(&next.p[next.n++], u, &u->servers[j], row, now) < 0) {
                log_error("health checks: out of memory: none run");
                health__free_probes(m, &next);
                break;
            }
        }
    }
    health_t *old = m->health;
    /* Servers no longer checked are up again: nothing would ever bring
     * them back otherwise. */
    for (size_t i = 0; old != NULL && i < old->n; i++) {
        health_probe_t *p = &old->p[i];
        if (health__has(&next, p->row))
            continue;
        if (__atomic_exchange_n(&p->row->down, 0, __ATOMIC_RELAXED))
            log_warn("upstream %s: server %s is up again (health checks stopped by the reload)",
                     p->upstream, p->server);
        p->row->checked = 0;
        p->row->run_ok = p->row->run_fail = 0;
    }
    /* The first checks spread over an interval, so that many servers do
     * not mean a burst of connects (HAProxy's spread-checks). */
    for (size_t i = 0; i < next.n; i++) {
        next.p[i].row->checked = 1;
        next.p[i].next_at = now + next.p[i].interval * (double)i / (double)next.n;
    }
    if (old != NULL)
        health__free_probes(m, old);
    if (next.n == 0) {
        free(next.p);
        free(old);
        m->health = NULL;
        return;
    }
    if (old == NULL && (old = malloc(sizeof(*old))) == NULL) {
        log_error("health checks: out of memory: none run");
        health__free_probes(m, &next);
        m->health = NULL;
        return;
    }
    *old = next;
    m->health = old;
    log_info("health checks: %zu server%s", next.n, next.n == 1 ? "" : "s");
}

/* A check is over: its verdict, and a change of the server's state. */
static void health__done(master_t *m, health_probe_t *p, int ok, const char *why)
{
    health__close(m, p);
    upstream_row_t *r = p->row;
    upstream_table_add(&r->checks[ok ? 0 : 1], 1);
    log_debug("health check of upstream %s, server %s: %s (%s)", p->upstream, p->server,
              ok ? "passed" : "failed", why);
    if (ok) {
        r->run_fail = 0;
        if (++r->run_ok >= (uint32_t)p->passes && upstream_table_down(r)) {
            __atomic_store_n(&r->down, 0, __ATOMIC_RELAXED);
            log_warn("upstream %s: server %s is up again (health check: %s)", p->upstream,
                     p->server, why);
        }
        return;
    }
    r->run_ok = 0;
    if (++r->run_fail >= (uint32_t)p->fails && !upstream_table_down(r)) {
        __atomic_store_n(&r->down, 1, __ATOMIC_RELAXED);
        log_warn("upstream %s: server %s is down (health check: %s)", p->upstream, p->server, why);
    }
}

static void health__fail_errno(master_t *m, health_probe_t *p, const char *call, int err)
{
    char why[160];
    snprintf(why, sizeof(why), "%s: %s", call, strerror(err));
    health__done(m, p, 0, why);
}

/* The response head so far: 1 when the check is decided. */
static int health__verdict(master_t *m, health_probe_t *p, size_t last)
{
    http_response_t res;
    ssize_t n = http_parse_response(p->buf, p->len, last, HEALTH_HEAD_MAX, &res);
    char why[64];
    if (n == -2 && p->len < HEALTH_HEAD_MAX)
        return 0;
    if (n < 0) {
        health__done(m, p, 0, n == -1 ? "a malformed response head" : "a response head over 8 KiB");
        return 1;
    }
    snprintf(why, sizeof(why), "status %d", res.status);
    health__done(m, p, res.status >= 200 && res.status < 400, why);
    return 1;
}

/* Runs check p as far as its socket allows. */
static void health__run(master_t *m, health_probe_t *p)
{
    /* Edge-triggered: run until the socket says EAGAIN or the check is
     * decided. Every turn moves a phase on or reads a byte at least, so the
     * bound is never what stops it. */
    for (int turn = 0; turn < HEALTH_HEAD_MAX + 8 && p->fd >= 0; turn++) {
        if (p->phase == HEALTH_CONNECTING) {
            int err = 0;
            socklen_t len = sizeof(err);
            if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
                err = errno;
            if (err != 0) {
                health__fail_errno(m, p, "connect()", err);
                return;
            }
            struct sockaddr_storage ss;
            socklen_t sl = sizeof(ss);
            if (getpeername(p->fd, (struct sockaddr *)&ss, &sl) < 0)
                return; /* still connecting */
            p->phase = HEALTH_SENDING;
        } else if (p->phase == HEALTH_SENDING) {
            ssize_t k = send(p->fd, p->req + p->req_off, p->req_len - p->req_off,
                             MSG_NOSIGNAL | MSG_DONTWAIT);
            if (k < 0) {
                if (errno != EAGAIN)
                    health__fail_errno(m, p, "send()", errno);
                return;
            }
            if ((p->req_off += (size_t)k) == p->req_len) {
                if ((p->buf = malloc(HEALTH_HEAD_MAX)) == NULL) {
                    health__done(m, p, 0, "out of memory");
                    return;
                }
                p->phase = HEALTH_READING;
            }
        } else if (p->phase == HEALTH_READING) {
            ssize_t k = recv(p->fd, p->buf + p->len, HEALTH_HEAD_MAX - p->len, MSG_DONTWAIT);
            if (k < 0) {
                if (errno != EAGAIN)
                    health__fail_errno(m, p, "recv()", errno);
                return;
            }
            if (k == 0) {
                health__done(m, p, 0, "closed before the response head");
                return;
            }
            size_t last = p->len;
            p->len += (size_t)k;
            if (health__verdict(m, p, last))
                return;
        } else {
            return;
        }
    }
}

/* A check that cannot start for a reason of ours (no descriptor left):
 * not the server's fault, so not counted. */
static void health__local_error(master_t *m, health_probe_t *p, const char *call, double now)
{
    health_t *h = m->health;
    if (now - h->local_logged >= 60) {
        log_error("health check of upstream %s, server %s: %s: %s (not counted against it; "
                  "%lu more such since the last of these lines; at most one a minute)",
                  p->upstream, p->server, call, strerror(errno), h->local_quiet);
        h->local_logged = now;
        h->local_quiet = 0;
    } else {
        h->local_quiet++;
    }
    health__close(m, p);
}

static void health__start(master_t *m, health_probe_t *p, uint32_t index, double now)
{
    p->next_at = now + p->interval;
    p->deadline = now + p->timeout;
    p->req_off = p->len = 0;
    p->fd = socket(p->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (p->fd < 0) {
        health__local_error(m, p, "socket()", now);
        return;
    }
    p->phase = HEALTH_SENDING;
    if (connect(p->fd, (const struct sockaddr *)&p->addr, p->addr_len) < 0) {
        if (errno != EINPROGRESS) {
            health__fail_errno(m, p, "connect()", errno);
            return;
        }
        p->phase = HEALTH_CONNECTING;
    }
    struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                              .data.u64 = MASTER_TAG(MASTER_TAG_HEALTH, index) };
    if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, p->fd, &ev) < 0) {
        health__local_error(m, p, "epoll_ctl()", now);
        return;
    }
    health__run(m, p);
}

void health_tick(master_t *m)
{
    health_t *h = m->health;
    if (h == NULL)
        return;
    double now = master__now();
    for (size_t i = 0; i < h->n; i++) {
        health_probe_t *p = &h->p[i];
        if (p->fd >= 0 && now >= p->deadline) {
            char why[96], d[32];
            snprintf(why, sizeof(why), "timed out after %s",
                     conf_value_duration_str(p->timeout, d, sizeof(d)));
            health__done(m, p, 0, why);
        }
        /* A check never overlaps the one before: a timeout longer than
         * the interval spaces them out. */
        if (p->fd < 0 && now >= p->next_at)
            health__start(m, p, (uint32_t)i, now);
    }
}

void health_event(master_t *m, uint32_t index)
{
    health_t *h = m->health;
    /* A stale event (its check swapped by a reload in this batch) finds
     * another check or none; running a check early is harmless. */
    if (h != NULL && index < h->n && h->p[index].fd >= 0)
        health__run(m, &h->p[index]);
}

void health_child(master_t *m)
{
    for (size_t i = 0; m->health != NULL && i < m->health->n; i++)
        if (m->health->p[i].fd >= 0)
            close(m->health->p[i].fd);
}

void health_free(master_t *m)
{
    if (m->health == NULL)
        return;
    health__free_probes(m, m->health);
    free(m->health);
    m->health = NULL;
}
