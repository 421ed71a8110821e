/*
 * compress_pool: see compress_pool.h.
 */
#include "compress_pool.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

typedef struct {
    compress_pool_fn fn;
    void *arg;
} compress_pool_job_t;

struct compress_pool_s {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    compress_pool_job_t *q;    /* ring of queue_max */
    size_t queue_max, head, n;
    size_t running;
    unsigned threads, started;
    int start_failed;
    int stopping;
    pthread_t tid[8];
};

compress_pool_t *compress_pool_new(unsigned threads, size_t queue_max)
{
    compress_pool_t *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    p->q = calloc(queue_max, sizeof(*p->q));
    if (p->q == NULL) {
        free(p);
        return NULL;
    }
    p->queue_max = queue_max;
    p->threads = threads < 1 ? 1 : threads > 8 ? 8 : threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    return p;
}

static void *compress_pool__run(void *vp)
{
    compress_pool_t *p = vp;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->n == 0 && !p->stopping)
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->stopping)
            break;
        compress_pool_job_t job = p->q[p->head];
        p->head = (p->head + 1) % p->queue_max;
        p->n--;
        p->running++;
        pthread_mutex_unlock(&p->mu);
        job.fn(job.arg);
        pthread_mutex_lock(&p->mu);
        p->running--;
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* Under mu. Blocks every signal in the new threads: the loop thread
 * handles them (a SIGTERM taken by a compressing thread would be lost). */
static void compress_pool__start(compress_pool_t *p)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    while (p->started < p->threads) {
        if (pthread_create(&p->tid[p->started], NULL, compress_pool__run, p) != 0)
            break;
        p->started++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (p->started == 0)
        p->start_failed = 1;
}

int compress_pool_submit(compress_pool_t *p, compress_pool_fn fn, void *arg)
{
    int r = -1;
    pthread_mutex_lock(&p->mu);
    if (p->started == 0 && !p->start_failed)
        compress_pool__start(p);
    if (p->started > 0 && p->n < p->queue_max && !p->stopping) {
        p->q[(p->head + p->n) % p->queue_max] = (compress_pool_job_t){ fn, arg };
        p->n++;
        pthread_cond_signal(&p->cv);
        r = 0;
    }
    pthread_mutex_unlock(&p->mu);
    return r;
}

size_t compress_pool_pending(compress_pool_t *p)
{
    pthread_mutex_lock(&p->mu);
    size_t n = p->n + p->running;
    pthread_mutex_unlock(&p->mu);
    return n;
}

void compress_pool_free(compress_pool_t *p, void (*free_arg)(void *arg))
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    p->stopping = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->started; i++)
        pthread_join(p->tid[i], NULL);
    for (; p->n > 0; p->n--, p->head = (p->head + 1) % p->queue_max)
        if (free_arg != NULL)
            free_arg(p->q[p->head].arg);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p->q);
    free(p);
}
