/*
 * auth_pool: see auth_pool.h.
 */
#include "auth_pool.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "auth_hash.h"
#include "log.h"

static void *auth_pool__thread(void *arg)
{
    auth_pool_t *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (p->todo == NULL && !p->stop)
            pthread_cond_wait(&p->cond, &p->lock);
        if (p->stop)
            break;
        auth_job_t *j = p->todo;
        p->todo = j->next;
        if (p->todo == NULL)
            p->todo_tail = NULL;
        pthread_mutex_unlock(&p->lock);
        j->ok = auth_hash_verify(j->user, j->pass, j->len);
        OPENSSL_cleanse(j->pass, sizeof(j->pass));
        pthread_mutex_lock(&p->lock);
        j->next = p->done;
        p->done = j;
        uint64_t one = 1;
        /* Cannot fail but by overflow, which the loop's read resets. */
        if (write(p->efd, &one, sizeof(one)) < 0)
            (void)0;
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

auth_pool_t *auth_pool_new(int epfd, uint64_t tag)
{
    auth_pool_t *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        log_error("auth_pool: out of memory");
        return NULL;
    }
    p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };
    if (p->efd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, p->efd, &ev) < 0) {
        log_error("eventfd/epoll_ctl(auth pool): %s", strerror(errno));
        if (p->efd >= 0)
            close(p->efd);
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    return p;
}

/* The threads, made on first use, with every signal blocked: the worker's
 * signals are for its loop. */
static int auth_pool__start(auth_pool_t *p)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    while (p->nthreads < AUTH_POOL_THREADS) {
        int e = pthread_create(&p->threads[p->nthreads], NULL, auth_pool__thread, p);
        if (e != 0) {
            log_error("pthread_create(auth pool): %s", strerror(e));
            break;
        }
        p->nthreads++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return p->nthreads > 0 ? 0 : -1;
}

auth_job_t *auth_pool_submit(auth_pool_t *p, const conf_auth_t *a, const htpasswd_user_t *user,
                             uint64_t hash, const char *pass, size_t len, void *conn)
{
    if (p->jobs >= AUTH_POOL_MAX_JOBS || len >= sizeof(((auth_job_t *)0)->pass))
        return NULL;
    if (p->nthreads == 0 && auth_pool__start(p) < 0)
        return NULL;
    auth_job_t *j = malloc(sizeof(*j));
    if (j == NULL)
        return NULL;
    j->next = NULL;
    j->user = user;
    j->auth = a;
    j->hash = hash;
    j->conn = conn;
    j->ok = 0;
    j->len = len;
    memcpy(j->pass, pass, len);
    j->pass[len] = '\0';
    p->jobs++;
    pthread_mutex_lock(&p->lock);
    if (p->todo_tail != NULL)
        p->todo_tail->next = j;
    else
        p->todo = j;
    p->todo_tail = j;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
    return j;
}

void auth_pool_forget(void *job)
{
    if (job != NULL)
        ((auth_job_t *)job)->conn = NULL;
}

void auth_pool_collect(auth_pool_t *p, void (*done)(void *arg, auth_job_t *job), void *arg)
{
    uint64_t n;
    if (read(p->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
        log_error("read(auth pool eventfd): %s", strerror(errno));
    pthread_mutex_lock(&p->lock);
    auth_job_t *list = p->done;
    p->done = NULL;
    pthread_mutex_unlock(&p->lock);
    while (list != NULL) {
        auth_job_t *j = list;
        list = j->next;
        p->jobs--;
        done(arg, j);
        free(j);
    }
}
