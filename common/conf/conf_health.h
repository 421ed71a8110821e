/*
 * conf_health: an upstream's `health:` key, its active health checks
 * (README "Reverse proxy"; master/health.c runs them).
 *
 *   upstreams:
 *     app:
 *       servers: [...]
 *       health: {path: /healthz, interval: 5s, timeout: 2s, fails: 1, passes: 1}
 *
 * The defaults are nginx Plus's health_check (interval 5s, fails 1,
 * passes 1), with a timeout of its own (2s) rather than the upstream's
 * connect and read timeouts: a check that waits a minute says nothing a
 * check every few seconds needs. Only path is required.
 *
 * conf_health_parse returns 0, or -1 with the message in the load context
 * naming the file, line and key.
 */
#ifndef DROVER_CONF_HEALTH_H
#define DROVER_CONF_HEALTH_H

#include <stdio.h>

/* Below the master's timer tick (100 ms) an interval could not be kept. */
#define CONF_HEALTH_MIN_INTERVAL 0.1
#define CONF_HEALTH_PATH_MAX 1024

typedef struct {
    char *path;      /* NULL: no active checks */
    double interval; /* from the start of one check to the start of the next */
    double timeout;  /* connect, send and the response head together */
    int fails;       /* consecutive failed checks that take a server out */
    int passes;      /* consecutive passed checks that bring it back */
} conf_health_t;

/* Parses the mapping node (a yaml_node_t) of `health:` into h; ctx is
 * the loader's conf_ctx_t (conf_scalar.h). */
int conf_health_parse(void *ctx, void *node, conf_health_t *h);

/* The `health:` line of drover -T (nothing without checks). */
void conf_health_print(FILE *out, const conf_health_t *h, const char *indent);

void conf_health_free(conf_health_t *h);

#endif
