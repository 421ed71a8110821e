/*
 * conf_access: the values of the access-control keys that have more than
 * one shape (README "Access control"), internal to common/conf/conf*.c; the
 * key table (conf_keys.c) points at them as CONF_KIND_NODE rows:
 *
 *   real_ip:    {header: X-Forwarded-For | Forwarded, trusted: [CIDR...]} | off
 *   auth:       {realm: "...", htpasswd: FILE} | off
 *   limit_req:  {rate: N/s | N/m, burst: N, key: client, status: 429} | off
 *   limit_conn: {max: N, key: client, status: 429} | off
 *
 * (allow and deny are plain lists of addresses: CONF_KIND_LIST rows.)
 *
 * Each value is an immutable struct behind a pointer in conf_t (NULL: off)
 * with a reference count: a host that inherits the top level's, or a
 * location its host's, shares it (conf_access_copy), and a limit inherited
 * is the same limit, counted in the same zone. The htpasswd file is read
 * when the key is, so a bad file fails `drover -t` and a reload, and a
 * reload reads it again.
 */
#ifndef DROVER_CONF_ACCESS_H
#define DROVER_CONF_ACCESS_H

#include <stdint.h>
#include <stdio.h>

#include "conf.h"

struct htpasswd_s;

typedef struct conf_real_ip_s {
    int refs;
    char *header;             /* as written: "X-Forwarded-For" */
    int forwarded;            /* the header is RFC 7239 Forwarded: for= */
    conf_cidr_t trusted[CONF_MAX_ALLOW];
    size_t num_trusted;
} conf_real_ip_t;

typedef struct conf_auth_s {
    int refs;
    char *realm;
    char *file;               /* absolute */
    struct htpasswd_s *users;
} conf_auth_t;

typedef struct conf_limit_s {
    int refs;
    int conn;                 /* 1: limit_conn, 0: limit_req */
    double rate;              /* limit_req: requests per second */
    int per_minute;           /* written as N/m (for -T) */
    int burst;
    int max;                  /* limit_conn: open connections */
    int status;               /* 429 unless told */
    /* Names the counters of this limit in the shared table: a hash of the
     * host and location that wrote it (conf_access_zones), so a reload
     * that keeps the limit keeps its counts. */
    uint64_t zone;
    char where[96];           /* "host example.com, location /login" */
} conf_limit_t;

/* The node readers (conf_key_t.node). */
int conf_access_real_ip(void *ctx, const void *row, void *value, char *base);
int conf_access_auth(void *ctx, const void *row, void *value, char *base);
int conf_access_limit_req(void *ctx, const void *row, void *value, char *base);
int conf_access_limit_conn(void *ctx, const void *row, void *value, char *base);

/* The pointer at base + offset: shared into dst (0), dropped, printed. */
int conf_access_copy(void *dst, const void *src);
void conf_access_free(void *at, const char *name);
void conf_access_print(FILE *out, const char *name, const void *at, const char *indent);

/* Names every limit of conf, its hosts and locations (conf_limit_t.zone). */
void conf_access_zones(conf_t *conf);

/* 1 when conf, a host or a location has limit_req, limit_conn or auth
 * (whose failed attempts are counted there): the shared counters are
 * needed. A site without them never maps the table's 2.4 MB. */
int conf_access_counts(const conf_t *conf);

#endif
