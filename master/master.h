/*
 * master: the supervisor process.
 *
 * The master owns the listening sockets, the message queue and one pair of
 * pipes per worker, and runs one epoll loop over a signalfd, the workers'
 * pipes and the queue. It never serves a request. Its invariants:
 *   - every child is reaped (waitpid(WNOHANG) in a loop: signals coalesce);
 *   - a worker that dies unexpectedly is replaced, with a per-slot backoff;
 *   - a reload changes nothing until the new generation is READY.
 * The files of master/ share internal.h; this header is what main.c needs.
 */
#ifndef DROVER_MASTER_H
#define DROVER_MASTER_H

#include "conf.h"

/* Runs the master until it stops. conf is taken over. Returns the exit
 * status for main(). */
int master_run(conf_t *conf, int foreground);

#endif
