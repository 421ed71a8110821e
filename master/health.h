/*
 * health: the active health checks of upstreams (`health:`, README
 * "Reverse proxy"), run by the master in its own event loop, and the
 * shared upstream table (upstream_table.h) they write their verdicts to.
 *
 * Every server of an upstream with `health: {path, ...}` gets a check every
 * `interval`: a non-blocking connect, `GET path HTTP/1.1` (Host: the
 * server's address as written, Connection: close), and the response head,
 * all within `timeout`. A 2xx or 3xx passes; a refusal, a reset, a close
 * before the head, a malformed head (the proxy's own strict parser) or any
 * other status fails. `fails` failures in a row take the server out,
 * `passes` passes in a row bring it back; each change is logged once
 * ("upstream app: server 127.0.0.1:9000 is down (health check: status
 * 500)", "... is up again (health check: status 200)") and written to the
 * server's row, which every worker reads when it picks a server. Servers
 * start up, as with nginx Plus and HAProxy.
 *
 * Why the master: it is the one process that outlives every worker and
 * generation, so the checks run once per server whatever the number of
 * workers, and a restarted worker reads the current verdict from the
 * mapping it inherits. Why its loop and not a prober child: a check is a
 * few non-blocking syscalls on sockets in the master's epoll set (tag
 * MASTER_TAG_HEALTH), addresses are resolved at load (no DNS here), and
 * the only input read is one bounded response head; timers ride the
 * loop's 100 ms tick (master__timers), so signals and workers are never
 * kept waiting. HAProxy checks in its event loop the same way.
 *
 * A reload's configuration is checked from its commit: health_bind at
 * load gives its upstreams rows before its workers fork, health_configure
 * at commit swaps the checks (a check under way is dropped; the first
 * checks spread over one interval; verdicts of servers still checked are
 * kept; a server no longer checked is up again, logged when it was down).
 */
#ifndef DROVER_HEALTH_H
#define DROVER_HEALTH_H

#include "conf.h"
#include "internal.h"

/* A check's response head: larger is a failed check. */
#define HEALTH_HEAD_MAX 8192

/* Maps the table when conf has upstreams and it is not mapped yet, and
 * gives every upstream and server of conf its row. Before the fork of the
 * workers that use conf. A failure is logged: no metrics, no checks. */
void health_bind(master_t *m, const conf_t *conf);

/* The checks of conf (the serving configuration), replacing any. */
void health_configure(master_t *m, const conf_t *conf);

/* Starts the checks that are due and fails those past their timeout. */
void health_tick(master_t *m);

/* The socket of check index is ready. */
void health_event(master_t *m, uint32_t index);

/* In a forked worker: closes the checks' sockets, which are the master's. */
void health_child(master_t *m);

/* Frees the checks (the master exits). */
void health_free(master_t *m);

#endif
