/*
 * upgrade: a binary upgrade without a dropped connection.
 *
 * SIGUSR2 (or "drover -s upgrade") makes the master fork and execute the
 * binary at the path it was started with (not /proc/self/exe, which names
 * the old file once a package replaced it), handing over every listening
 * socket by systemd's convention: fds from 3, LISTEN_FDS, LISTEN_PID (the
 * child's own pid), LISTEN_FDNAMES. DROVER_UPGRADE_FROM names the old
 * master and DROVER_UPGRADE_FD a pipe back to it.
 *
 * The new master loads its config, adopts the sockets (binds only new
 * addresses), starts its workers and, once they are all READY, writes the
 * pid file and says "ok <pid>" on the pipe: the old master then drains and
 * exits. Until then the old master serves alone and nothing is shared but
 * the sockets. A new master that fails at any step says "error: why" (when
 * it can) and exits; the old one reaps it, logs why, keeps serving and
 * answers "-s upgrade" with the reason. So the pid file names the serving
 * master at every moment.
 *
 * The new master is the old one's child until the old one exits; it is then
 * reparented (to init, or to the nearest subreaper: systemd), as nginx's
 * is. Under systemd the old master sends MAINPID= before it drains, so the
 * service's main process is the new master from then on.
 */
#ifndef DROVER_UPGRADE_H
#define DROVER_UPGRADE_H

#include <sys/types.h>

#include "internal.h"

/* How long a new master has to be ready; the old one waits a little more. */
#define UPGRADE_READY_TIMEOUT 10.0
#define UPGRADE_WAIT_TIMEOUT 20.0

/* --- in main(), before anything else */

/* The absolute path of the binary as started (argv[0], made absolute
 * against the working directory or found in $PATH; symlinks are kept, so a
 * link switched to a new release is followed). malloc'd; NULL if unknown. */
char *upgrade_exe_path(const char *argv0);

/* When this process is a new master: the old master's pid in *from and the
 * report pipe in *fd (close-on-exec from now on); else 0 and -1. Unsets
 * the variables so that no child of ours sees them. */
void upgrade_child_env(pid_t *from, int *fd);

/* When this process is a new master: the ticket keys the old master
 * handed over (generated keys only; keys read from files are read again)
 * copied into ring, so tickets it issued still resume here. 1 when keys
 * were taken, 0 when there were none or they did not fit (logged). Unsets
 * the variable. */
int upgrade_take_tickets(tls_ticket_ring_t *ring);

/* A new master that cannot start tells the old one why, once: "error:
 * why" on the pipe, which is then closed (*fd = -1). No-op when *fd < 0. */
void upgrade_report_fail(int *fd, const char *why);

/* --- the old master */

/* SIGUSR2: starts the new master, unless one is starting already. */
void upgrade_begin(master_t *m);

/* The report pipe is readable. Returns 1 when the new master took over:
 * the caller stops gracefully (without STOPPING=1: the service goes on). */
int upgrade_input(master_t *m);

/* Timers: an upgrade whose new master exited, or is late (killed), fails. */
void upgrade_tick(master_t *m);

/* --- the new master */

/* The first generation is ready: write the pid file, tell systemd and the
 * old master. 0, or -1 when the take-over failed (reported to the old
 * master, which keeps serving: the caller stops fast and exits 1). */
int upgrade_take_over(master_t *m);

/* The new master of an upgrade: the old one's limit counters (a memfd,
 * limit_table.h), or -1. */
int upgrade_take_limits(void);

#endif
