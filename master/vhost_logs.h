/*
 * vhost_logs: the master's part in the access logs of virtual hosts.
 *
 * A worker opens its hosts' logs before it drops privileges, but reopens
 * them on USR1 as the workers' user. So the master, like it does for the
 * top-level access_log, creates each host's log (owned by that user when
 * it runs as root) at start, before a reload is accepted and before it
 * tells the workers to reopen: a log that cannot be opened stops the start
 * or refuses the reload with the reason, instead of workers that die.
 */
#ifndef DROVER_VHOST_LOGS_H
#define DROVER_VHOST_LOGS_H

#include <stddef.h>
#include <sys/types.h>

#include "conf.h"

/* Creates (or opens) the access log of every host of conf that has its own,
 * chowned to uid:gid when uid is not (uid_t)-1 and we are root. 0, or -1
 * with "host NAME: access_log: open(PATH): REASON" in err. */
int vhost_logs_prepare(const conf_t *conf, uid_t uid, gid_t gid, char *err, size_t errlen);

#endif
