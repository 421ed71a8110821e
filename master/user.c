/*
 * user: see user.h.
 */
#include "user.h"

#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <unistd.h>

#include "log.h"

/* nginx's choice too: a master started as root with no user configured
 * must not hand every request to root-owned workers by silence. */
#define USER_FALLBACK "nobody"

int user_resolve(const conf_t *conf, uid_t *uid, gid_t *gid, char *err, size_t errlen)
{
    *uid = (uid_t)-1;
    *gid = (gid_t)-1;
    const char *name = conf->user;
    if (name == NULL && geteuid() == 0)
        name = USER_FALLBACK;
    if (name != NULL) {
        struct passwd *pw = getpwnam(name);
        if (pw == NULL && conf->user == NULL) {
            snprintf(err, errlen,
                     "%s: user: not set, and there is no user \"" USER_FALLBACK "\" for the "
                     "workers of a master run as root: set user (user: root keeps root)",
                     conf->file);
            return -1;
        }
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

void user_report(const conf_t *conf, uid_t uid, gid_t gid)
{
    if (geteuid() != 0 || uid == (uid_t)-1)
        return;
    if (conf->user == NULL) {
        struct group *gr = getgrgid(gid);
        log_info("workers run as " USER_FALLBACK ":%s: %s sets no user and drover runs as root "
                 "(set user to choose; user: root keeps root)",
                 gr != NULL ? gr->gr_name : "?", conf->file);
    } else if (uid == 0) {
        log_warn("%s:%u: user: root: workers run as root", conf->file, conf->user_line);
    }
}
