/*
 * user: the credentials workers drop to (the user and group keys).
 *
 * Resolved by the command line (drover -t checks them), at start and on
 * every reload: a reload that names a user that does not exist is refused.
 */
#ifndef DROVER_USER_H
#define DROVER_USER_H

#include <sys/types.h>

#include "conf.h"

/* Resolves user/group of conf into uid/gid ((uid_t)-1 / (gid_t)-1 when not
 * set). 0, or -1 with a message in err naming the key's file and line. */
int user_resolve(const conf_t *conf, uid_t *uid, gid_t *gid, char *err, size_t errlen);

#endif
