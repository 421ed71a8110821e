/*
 * auth: HTTP basic authentication of a request (RFC 7617) against an
 * htpasswd file (auth: {realm, htpasswd}).
 *
 * A credential once verified is remembered by this worker: the cache holds
 * a keyed hash (SipHash, a key of the worker's own) of the Authorization
 * value and of the auth it passed, in AUTH_CACHE_SIZE direct-mapped slots,
 * so a bcrypt user's next requests cost one hash of a few dozen bytes, not
 * a bcrypt. The cache belongs to the worker process and its conf_t: a
 * reload, which reads the file again, starts new workers with empty caches.
 *
 * Failed attempts are counted per client in the shared limit table
 * (limit_table.h): past AUTH_FAIL_BURST failures, one more every
 * AUTH_FAIL_INTERVAL_US, a client gets 429 without any hashing, so a
 * guesser cannot make a worker spend its time in bcrypt.
 *
 * Anything malformed (no "Basic", base64 that does not decode, no colon,
 * a NUL, a header longer than AUTH_HEADER_MAX) is a 401, like a wrong
 * password: the client learns nothing more.
 */
#ifndef DROVER_AUTH_H
#define DROVER_AUTH_H

#include <stdint.h>

#include "conf_access.h"
#include "http_parser.h"
#include "limit_table.h"
#include "real_ip.h"
#include "str.h"

#define AUTH_CACHE_SIZE 1024
#define AUTH_HEADER_MAX 4096
#define AUTH_FAIL_BURST 10
#define AUTH_FAIL_INTERVAL_US 6000000

struct auth_pool_s;

typedef struct auth_cache_s {
    uint64_t key[2];
    struct {
        uint64_t hash;
        const conf_auth_t *auth;
    } slot[AUTH_CACHE_SIZE], failed[AUTH_CACHE_SIZE]; /* failed: hashed by the pool, wrong,
                                                        * not yet answered */
    uint64_t hashed;             /* passwords hashed by this worker */
} auth_cache_t;

typedef enum {
    AUTH_OK = 0,
    AUTH_DENIED,                 /* 401 */
    AUTH_LIMITED,                /* 429: too many failures (or hashes queued); *retry_s set */
    AUTH_PENDING,                /* the pool hashes it; the waiter is resumed (auth_pool.h) */
} auth_result_t;

/* The verdict of req for a; *cache is made on first use (NULL on ENOMEM:
 * then nothing is remembered). lt may be NULL (no failure counting). A
 * credential not in the cache goes to pool when there are a pool and a
 * waiter (the job in *job), else it is hashed here. now: monotonic us. */
auth_result_t auth_check(auth_cache_t **cache, limit_table_t *lt, struct auth_pool_s *pool,
                         void *waiter, void **job, const conf_auth_t *a,
                         const http_request_t *req, const real_ip_t *client, int64_t now,
                         int *retry_s);

/* Records the pool's verdict on the credential of hash for a. */
void auth_remember(auth_cache_t *cache, uint64_t hash, const conf_auth_t *a, int ok);

/* The user:password of an Authorization value ("Basic dXNlcjpwYXNz") into
 * out (size bytes): 0 with the colon's offset in *colon, -1 malformed. */
int auth_decode(str_t value, char *out, size_t size, size_t *len, size_t *colon);

#endif
