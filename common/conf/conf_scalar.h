/*
 * conf_scalar: the scalar layer of the config loader, internal to
 * common/conf/conf*.c: the load context, error messages naming file, line and
 * key, path resolution, opening the file, and applying a scalar row of the
 * key table (bool, int, size, duration, enum, path, string) to a value.
 * conf.c walks the YAML document and calls these; they call nothing back.
 */
#ifndef DROVER_CONF_SCALAR_H
#define DROVER_CONF_SCALAR_H

#include <stdio.h>
#include <yaml.h>

#include "conf.h"
#include "conf_keys.h"

typedef struct {
    const char *file;
    char *err;
    yaml_document_t *doc;
    const char *base;   /* relative paths are resolved against this */
    const char *prefix; /* "" at the top, "status." inside status */
    yaml_node_t *hosts; /* hosts:, read after the top level it inherits from */
    unsigned char *set; /* in a host: the rows it sets (conf_host_t.set) */
    yaml_node_t *locations; /* locations: of the mapping being read, read after it */
} conf_ctx_t;

/* "file:line: prefix key: message" into ctx->err; returns -1. */
int conf_scalar_error(conf_ctx_t *ctx, const yaml_node_t *node, const char *key,
                      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* path made absolute against base (NULL: the working directory); malloc'd. */
char *conf_scalar_abspath(const char *base, const char *path);

/* The config file opened for reading (a regular file only), or NULL with err. */
FILE *conf_scalar_open(const char *path, char *err);

/* The text of a scalar node v, or an error naming key. */
int conf_scalar_get(conf_ctx_t *ctx, yaml_node_t *v, const char *key, const char **out);

/* Applies scalar row k to the text s (v its node, or NULL for a default);
 * quoted: s was a quoted scalar. Stores into base + k->offset. */
int conf_scalar_set(conf_ctx_t *ctx, const conf_key_t *k, yaml_node_t *v, const char *s,
                    int quoted, char *base);

#endif
