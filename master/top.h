/*
 * top: "drover -s top", a live view of the running master's workers,
 * refreshed every second from the control socket's "metrics" answer.
 */
#ifndef DROVER_TOP_H
#define DROVER_TOP_H

#include <sys/types.h>

/* Shows master pid's workers count times (0: until q, Ctrl-C or a
 * signal). Returns the exit status: 0, or 1 when the master does not
 * answer. */
int top_run(pid_t pid, int count);

#endif
