/*
 * compress_pool: a few threads of a worker that run long jobs (compressing
 * a large file for the cache) so that the event loop never waits for them.
 *
 * Jobs are a function and its argument, queued in a bounded FIFO; submit
 * never blocks and refuses (-1) when the queue is full, in which case the
 * caller simply tries again later (the response meanwhile goes identity).
 * A job must not touch anything the loop owns: it gets its own copies (a
 * dup()ed descriptor) and reports through atomics or the pool's mutex.
 * Threads start on the first submit, with every signal blocked, so the
 * worker's signal handling stays on the loop thread.
 */
#ifndef DROVER_COMPRESS_POOL_H
#define DROVER_COMPRESS_POOL_H

#include <stddef.h>

typedef struct compress_pool_s compress_pool_t;

typedef void (*compress_pool_fn)(void *arg);

/* threads run at most queue_max queued jobs; NULL when out of memory. */
compress_pool_t *compress_pool_new(unsigned threads, size_t queue_max);

/* Queues fn(arg). 0, or -1 (full, or the threads could not start): the
 * job did not run and arg is still the caller's. */
int compress_pool_submit(compress_pool_t *p, compress_pool_fn fn, void *arg);

/* Jobs queued or running. */
size_t compress_pool_pending(compress_pool_t *p);

/* Waits for the running jobs, drops the queued ones (free_arg(arg) for
 * each), joins the threads and frees the pool. */
void compress_pool_free(compress_pool_t *p, void (*free_arg)(void *arg));

#endif
