/*
 * daemon: detaching from the terminal, and the pid file.
 */
#ifndef DROVER_DAEMON_H
#define DROVER_DAEMON_H

#include <sys/types.h>

/* fork, setsid, chdir("/"), stdio to /dev/null. Returns 0 in the daemon
 * (the parent exits 0), -1 with errno on failure. */
int daemon_detach(void);

/* Writes our pid (atomically: a rename). Refuses (-1, message in err) when
 * the file names another live drover master, so a second instance never
 * takes the first's file; predecessor (0: none) is the one live master it
 * may replace: the old master of a binary upgrade. */
int daemon_write_pid(const char *path, pid_t predecessor, char *err, size_t errlen);

/* Removes the pid file if it still names us (after an upgrade it names the
 * new master, which must keep it). 0, or -1 with errno. */
int daemon_remove_pid(const char *path);

/* Reads the pid in path. Returns the pid, or -1 with a message in err. */
pid_t daemon_read_pid(const char *path, char *err, size_t errlen);

/* 1 when pid is alive and is a drover process (by /proc/PID/comm). */
int daemon_is_drover(pid_t pid);

#endif
