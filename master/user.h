/*
 * user: the credentials workers drop to (the user and group keys).
 *
 * Resolved by the command line (drover -t checks them), at start and on
 * every reload: a reload that names a user that does not exist is refused.
 * A master run as root with no user configured gives its workers to nobody,
 * as nginx does; user: root keeps root, with a warning.
 */
#ifndef DROVER_USER_H
#define DROVER_USER_H

#include <sys/types.h>

#include "conf.h"

/* Resolves user/group of conf into uid/gid ((uid_t)-1 / (gid_t)-1 when not
 * set and not root; nobody's when not set and root). 0, or -1 with a message
 * in err naming the key's file and line. */
int user_resolve(const conf_t *conf, uid_t *uid, gid_t *gid, char *err, size_t errlen);

/* Says in the log who the workers of conf run as when that was not the
 * admin's explicit choice (the nobody fallback, info) or is root (a warning). */
void user_report(const conf_t *conf, uid_t uid, gid_t gid);

#endif
