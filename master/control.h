/*
 * control: the master's control socket, abstract "drover-ctl.<pid>".
 *
 * A signal cannot carry an answer back; a client of this socket writes one
 * command line and reads the answer until end-of-file. Only root or the
 * master's own user may use it (SO_PEERCRED). A reload asked for here goes
 * the same way as SIGHUP (the master signals itself), so the two cannot
 * behave differently; its clients wait until the reload's outcome is known.
 */
#ifndef DROVER_CONTROL_H
#define DROVER_CONTROL_H

#include <stddef.h>
#include <sys/types.h>

#include "internal.h"

/* Listens on the socket of m->pid. The fd, or -1 (logged). */
int control_open(master_t *m);

/* Accepts and answers the clients that are waiting (m->ctl_fd readable). */
void control_accept(master_t *m);

/* A reload begins: the clients that asked so far will get its outcome. */
void control_reload_start(master_t *m);

/* The outcome of the reload under way: "ok: msg" or "error: msg" to each
 * of its clients, which are then closed. */
void control_reload_done(master_t *m, int ok, const char *msg);

/* The outcome of an upgrade, to every client that asked for one. */
void control_upgrade_done(master_t *m, int ok, const char *msg);

/* Client side, for the command line: sends cmd, reads the reply into out
 * (NUL-terminated after the bytes read). Returns the bytes read, or -1 with
 * errno (ECONNREFUSED: no control socket). */
int control_request(pid_t pid, const char *cmd, double timeout, char *out, size_t size);

#endif
