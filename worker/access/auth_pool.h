/*
 * auth_pool: password hashing off the event loop.
 *
 * A bcrypt of cost 10 takes tens of milliseconds; done in the loop, every
 * other connection of the worker would wait that long. A worker instead
 * hands a credential it has not verified yet to a few threads of its own
 * (AUTH_POOL_THREADS, started on first use: a worker that never sees a
 * password never has them) and parks the request: the HTTP/1 connection
 * waits in CONN_WAIT, its body unread, an HTTP/2 stream stays unanswered
 * (its job in the stream, http2__resume answers it; DATA meanwhile is held
 * under its stream window), every other connection goes on. A thread runs
 * auth_hash_verify() (crypt_rn is reentrant, its state on the thread's
 * stack) and queues the result; an eventfd in the worker's epoll set wakes
 * the loop, which records the verdict in the credential cache (auth.h) and
 * runs the parked request again from its head, which the cache now
 * answers.
 *
 * The threads touch nothing but their job: the password copy, the user's
 * hash (in the conf_t, which outlives the worker) and the verdict. The
 * connection pointer is read by the loop alone; a connection that closes
 * while its job runs (timeout, reset) forgets the job, whose verdict is
 * still cached but resumes nothing.
 */
#ifndef DROVER_AUTH_POOL_H
#define DROVER_AUTH_POOL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "htpasswd.h"

#define AUTH_POOL_THREADS 2
#define AUTH_POOL_MAX_JOBS 256   /* queued or running per worker; more: 429 */

typedef struct auth_job_s {
    struct auth_job_s *next;
    const htpasswd_user_t *user;
    const conf_auth_t *auth;
    uint64_t hash;               /* the Authorization value's, in the cache */
    void *conn;                  /* who waits; NULL: gone (loop only) */
    int ok;
    size_t len;
    char pass[AUTH_HEADER_MAX];
} auth_job_t;

typedef struct auth_pool_s {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    auth_job_t *todo, *todo_tail;
    auth_job_t *done;
    int efd;                     /* eventfd: done is not empty */
    int nthreads;
    size_t jobs;                 /* submitted and not yet collected (loop only) */
    int stop;
    pthread_t threads[AUTH_POOL_THREADS];
} auth_pool_t;

/* A pool whose eventfd is in epfd with data.u64 tag; threads start on the
 * first job. NULL (logged) on failure: then passwords are hashed inline. */
auth_pool_t *auth_pool_new(int epfd, uint64_t tag);

/* Queues the check of pass[0..len) for user; conn is resumed when it is
 * done. The job, or NULL (too many queued, or no thread could start). */
auth_job_t *auth_pool_submit(auth_pool_t *p, const conf_auth_t *a, const htpasswd_user_t *user,
                             uint64_t hash, const char *pass, size_t len, void *conn);

/* The connection of job went away: nothing is resumed (loop only). */
void auth_pool_forget(void *job);

/* Takes every finished job: done(arg, job) for each, then frees it. */
void auth_pool_collect(auth_pool_t *p, void (*done)(void *arg, auth_job_t *job), void *arg);

#endif
