/*
 * vhost_logs: see vhost_logs.h.
 */
#include "vhost_logs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

int vhost_logs_prepare(const conf_t *conf, uid_t uid, gid_t gid, char *err, size_t errlen)
{
    for (size_t i = 0; i < conf->num_hosts; i++) {
        const conf_host_t *h = &conf->hosts[i];
        const char *path = h->conf->access_log;
        /* The top level's is the master's business already. */
        if (path == NULL || (conf->access_log != NULL && strcmp(path, conf->access_log) == 0))
            continue;
        int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) {
            snprintf(err, errlen, "host %s: access_log: open(\"%s\"): %s", h->name, path,
                     strerror(errno));
            return -1;
        }
        if (geteuid() == 0 && uid != (uid_t)-1 && fchown(fd, uid, gid) < 0)
            log_warn("fchown(\"%s\"): %s", path, strerror(errno));
        close(fd);
    }
    return 0;
}
