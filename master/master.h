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

#include <sys/types.h>

/* Runs the master until it stops. conf and exe (the binary's absolute path
 * for upgrades, or NULL: see upgrade.h) are taken over. predecessor and
 * predecessor_fd: the old master and the report pipe to it when this is
 * the new master of an upgrade, else 0 and -1. Returns the exit status for
 * main(). */
int master_run(conf_t *conf, int foreground, char *exe, pid_t predecessor, int predecessor_fd);

#endif
