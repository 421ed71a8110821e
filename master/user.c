/*
 * user: see user.h.
 */
#include "user.h"

#include <grp.h>
#include <pwd.h>
#include <stdio.h>

int user_resolve(const conf_t *conf, uid_t *uid, gid_t *gid, char *err, size_t errlen)
{
    *uid = (uid_t)-1;
    *gid = (gid_t)-1;
    if (conf->user != NULL) {
        struct passwd *pw = getpwnam(conf->user);
        if (pw == NULL) {
            snprintf(err, errlen, "%s:%u: user: no such user \"%s\"", conf->file, conf->user_line,
                     conf->user);
            return -1;
        }
        *uid = pw->pw_uid;
        *gid = pw->pw_gid;
    }
    if (conf->group != NULL) {
        struct group *gr = getgrnam(conf->group);
        if (gr == NULL) {
            snprintf(err, errlen, "%s:%u: group: no such group \"%s\"", conf->file,
                     conf->group_line, conf->group);
            return -1;
        }
        *gid = gr->gr_gid;
    }
    return 0;
}
