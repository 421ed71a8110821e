/*
 * limit_table: the counters of limit_req, limit_conn and failed logins,
 * in memory every worker shares (README "Access control").
 *
 * The master maps the table (a memfd, MAP_SHARED) once, before the first
 * fork, and keeps it for its life: workers of every generation count into
 * the same slots, so N workers do not mean N times the rate, and a reload
 * does not hand a client a fresh allowance. A binary upgrade passes the
 * memfd on with the listeners (master/upgrade.c), so the new master maps
 * the same counters.
 *
 * The size is fixed: LIMIT_TABLE_BUCKETS buckets of LIMIT_TABLE_WAYS slots.
 * A key (a limit's zone and a client address, hashed with the table's own
 * SipHash key so clients cannot aim at one bucket) lives in one bucket;
 * a new key takes an empty slot, else the least recently seen one without
 * open connections, else the least recently seen one. A million distinct
 * clients cost what ten do: the table's bytes.
 *
 * Each bucket has its own process-shared robust mutex: a worker that dies
 * holding one (SIGKILL between lock and unlock) leaves it EOWNERDEAD, and
 * the next locker marks it consistent and goes on (the slot being updated
 * may keep a half-written count, which costs one client one wrong answer).
 *
 * Times are CLOCK_MONOTONIC microseconds, the same in every process of the
 * machine (and across exec, for the upgrade).
 */
#ifndef DROVER_LIMIT_TABLE_H
#define DROVER_LIMIT_TABLE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define LIMIT_TABLE_WAYS 8
#define LIMIT_TABLE_BUCKETS 8192
#define LIMIT_TABLE_MAGIC 0x6c696d31u

typedef struct {
    uint64_t key;      /* 0: empty */
    int64_t tat;       /* limit_req's theoretical arrival time (GCRA), us */
    int64_t seen;      /* last touched, us */
    int32_t conns;     /* limit_conn: connections registered */
    int32_t pad;
} limit_slot_t;

typedef struct {
    pthread_mutex_t lock;
    limit_slot_t slot[LIMIT_TABLE_WAYS];
} limit_bucket_t;

typedef struct limit_table_s {
    uint32_t magic;
    uint32_t nbuckets;
    uint64_t hash_key[2];
    uint64_t recovered;      /* locks found EOWNERDEAD and made consistent */
    uint64_t evicted;        /* keys dropped for new ones */
    limit_bucket_t b[LIMIT_TABLE_BUCKETS];
} limit_table_t;

/* A new table in a memfd, mapped shared; its descriptor in *fd (close-on-
 * exec; the upgrade clears that). NULL with errno on failure. */
limit_table_t *limit_table_create(int *fd);

/* Maps the table that fd holds (the upgrade's new master); NULL when fd
 * does not hold one. */
limit_table_t *limit_table_attach(int fd);

/* The slot key of (zone, client address). Never 0. */
uint64_t limit_table_key(const limit_table_t *t, uint64_t zone, int family, const void *addr);

/* limit_req (GCRA): one request at now; interval is 1/rate, burst the
 * requests allowed above the rate. 0: allowed (counted); 1: refused, with
 * how long until one would be allowed in *retry_us. peek: only say. */
int limit_table_req(limit_table_t *t, uint64_t key, int64_t now, int64_t interval, int burst,
                    int peek, int64_t *retry_us);

/* limit_conn: delta +1 registers a connection unless max are (1: refused);
 * delta -1 unregisters one. 0 otherwise. */
int limit_table_conn(limit_table_t *t, uint64_t key, int delta, int max, int64_t now);

/* Monotonic microseconds. */
int64_t limit_table_now(void);

#endif
