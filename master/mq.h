/*
 * mq: the POSIX message queue that carries worker reports to the master.
 *
 * Named "/drover.<master pid>"; created at start, unlinked at exit. Queues
 * of masters that are gone (killed with SIGKILL, say) are removed at start,
 * which the pid in the name makes safe to decide.
 */
#ifndef DROVER_MQ_H
#define DROVER_MQ_H

#include <mqueue.h>
#include <stddef.h>

typedef struct {
    char name[64];
    mqd_t rd;   /* the master's end, non-blocking */
    mqd_t wr;   /* inherited by workers, non-blocking: a full queue drops */
} mq_t;

/* Returns 0, or -1 with a message in err. */
int mq_create(mq_t *q, char *err, size_t errlen);
void mq_destroy(mq_t *q);

/* Removes queues whose master is gone, as listed in /dev/mqueue; returns
 * how many. Without that mount nothing can be listed: see mq_remove_of(). */
int mq_remove_stale(void);

/* Removes "/drover.<pid>" when pid is not a live drover (nor us): a new
 * master calls it with the pid its pid file held, so the queue of a
 * predecessor killed with SIGKILL goes even when /dev/mqueue is not
 * mounted. Returns 1 when a queue was removed. */
int mq_remove_of(long pid);

#endif
