/*
 * mq: see mq.h.
 */
#include "mq.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "report.h"

int mq_create(mq_t *q, char *err, size_t errlen)
{
    struct mq_attr attr;
    memset(&attr, 0, sizeof(attr));
    /* 10 is the default fs.mqueue.msg_max, so an unprivileged user can
     * create it; the byte total stays far below RLIMIT_MSGQUEUE's 800 KiB. */
    attr.mq_maxmsg = REPORT_QUEUE_MAXMSG;
    attr.mq_msgsize = sizeof(report_t);
    snprintf(q->name, sizeof(q->name), "/" REPORT_QUEUE_PREFIX "%ld", (long)getpid());
    q->rd = mq_open(q->name, O_RDONLY | O_NONBLOCK | O_CREAT | O_EXCL | O_CLOEXEC, 0600, &attr);
    if (q->rd == (mqd_t)-1 && errno == EEXIST) {
        /* A queue of an earlier process with our pid: it is stale. */
        mq_unlink(q->name);
        q->rd = mq_open(q->name, O_RDONLY | O_NONBLOCK | O_CREAT | O_EXCL | O_CLOEXEC, 0600, &attr);
    }
    if (q->rd == (mqd_t)-1) {
        snprintf(err, errlen, "mq_open(\"%s\"): %s", q->name, strerror(errno));
        return -1;
    }
    q->wr = mq_open(q->name, O_WRONLY | O_NONBLOCK);
    if (q->wr == (mqd_t)-1) {
        snprintf(err, errlen, "mq_open(\"%s\", O_WRONLY): %s", q->name, strerror(errno));
        mq_close(q->rd);
        mq_unlink(q->name);
        return -1;
    }
    return 0;
}

void mq_destroy(mq_t *q)
{
    if (q->rd != (mqd_t)-1) {
        mq_close(q->rd);
        mq_close(q->wr);
        mq_unlink(q->name);
        q->rd = q->wr = (mqd_t)-1;
    }
}

int mq_remove_of(long pid)
{
    if (pid <= 0 || pid == (long)getpid() || daemon_is_drover((pid_t)pid))
        return 0;
    char name[64];
    snprintf(name, sizeof(name), "/" REPORT_QUEUE_PREFIX "%ld", pid);
    if (mq_unlink(name) < 0)
        return 0;
    log_info("removed the stale message queue %s of master %ld, which is gone", name, pid);
    return 1;
}

int mq_remove_stale(void)
{
    DIR *d = opendir("/dev/mqueue");
    if (d == NULL)
        return 0; /* not mounted: nothing we can list */
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t plen = sizeof(REPORT_QUEUE_PREFIX) - 1;
        if (strncmp(e->d_name, REPORT_QUEUE_PREFIX, plen) != 0)
            continue;
        char *end;
        long pid = strtol(e->d_name + plen, &end, 10);
        if (*end != '\0' || pid <= 0 || pid == (long)getpid())
            continue;
        removed += mq_remove_of(pid);
    }
    closedir(d);
    return removed;
}
