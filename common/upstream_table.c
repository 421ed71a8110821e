/*
 * upstream_table: see upstream_table.h.
 */
#include "upstream_table.h"

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

upstream_table_t *upstream_table_create(void)
{
    upstream_table_t *t = mmap(NULL, sizeof(*t), PROT_READ | PROT_WRITE,
                               MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (t == MAP_FAILED)
        return NULL;
    /* Zero as mapped; only the rows in use are ever touched. */
    t->magic = UPSTREAM_TABLE_MAGIC;
    return t;
}

/* FNV-1a of the full names (cut names could collide; the hash of the whole
 * ones tells them apart). */
static uint64_t upstream_table__key(const char *upstream, const char *server)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (const char *p = upstream; *p; p++)
        h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
    h = (h ^ 0xff) * 0x100000001b3ull; /* a separator no name contains */
    for (const char *p = server != NULL ? server : ""; *p; p++)
        h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
    return h != 0 ? h : 1;
}

static upstream_row_t *upstream_table__lookup(upstream_table_t *t, uint64_t key)
{
    uint32_t n = __atomic_load_n(&t->nrows, __ATOMIC_ACQUIRE);
    if (n > UPSTREAM_TABLE_ROWS)
        n = UPSTREAM_TABLE_ROWS;
    for (uint32_t i = 0; i < n; i++)
        if (t->rows[i].key == key)
            return &t->rows[i];
    return NULL;
}

/* Adds (upstream, server) when missing: 0, or 1 when it got _other. */
static int upstream_table__ensure(upstream_table_t *t, const char *upstream, const char *server)
{
    uint64_t key = upstream_table__key(upstream, server);
    if (upstream_table__lookup(t, key) != NULL)
        return 0;
    uint32_t n = t->nrows;
    if (n >= UPSTREAM_TABLE_ROWS - 1) {
        upstream_row_t *o = &t->rows[UPSTREAM_TABLE_ROWS - 1];
        if (n == UPSTREAM_TABLE_ROWS - 1) {
            snprintf(o->upstream, sizeof(o->upstream), "%s", UPSTREAM_TABLE_OTHER);
            snprintf(o->server, sizeof(o->server), "%s", UPSTREAM_TABLE_OTHER);
            o->key = 0; /* matches no name: a lookup that misses lands here */
            __atomic_store_n(&t->nrows, UPSTREAM_TABLE_ROWS, __ATOMIC_RELEASE);
        }
        return 1;
    }
    upstream_row_t *r = &t->rows[n];
    snprintf(r->upstream, sizeof(r->upstream), "%s", upstream);
    snprintf(r->server, sizeof(r->server), "%s", server != NULL ? server : "");
    r->key = key;
    __atomic_store_n(&t->nrows, n + 1, __ATOMIC_RELEASE);
    return 0;
}

size_t upstream_table_bind(upstream_table_t *t, const conf_upstreams_t *us)
{
    size_t missed = 0;
    for (size_t i = 0; us != NULL && i < us->n; i++) {
        const conf_upstream_t *u = &us->items[i];
        missed += (size_t)upstream_table__ensure(t, u->name, NULL);
        for (size_t j = 0; j < u->nservers; j++)
            missed += (size_t)upstream_table__ensure(t, u->name, u->servers[j].spec);
    }
    return missed;
}

upstream_row_t *upstream_table_find(upstream_table_t *t, const char *upstream, const char *server)
{
    if (t == NULL)
        return NULL;
    upstream_row_t *r = upstream_table__lookup(t, upstream_table__key(upstream, server));
    if (r != NULL)
        return r;
    if (__atomic_load_n(&t->nrows, __ATOMIC_ACQUIRE) == UPSTREAM_TABLE_ROWS)
        return &t->rows[UPSTREAM_TABLE_ROWS - 1];
    return NULL;
}

int upstream_table_is_other(const upstream_row_t *r)
{
    return r->key == 0;
}

int64_t upstream_table_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
