/*
 * conf_walk: the mapping walker of the config loader, internal to
 * common/conf/conf*.c. It reads a YAML mapping whose keys are rows of one scope
 * of the key table (conf_keys.c) into the struct of that scope, and applies
 * a scope's defaults. conf.c (the top level), conf_hosts.c (hosts:) and
 * conf_rules.c (locations:) call it; it calls none of them back: the keys
 * read after their mapping (hosts, locations) are left in the context.
 *
 * Functions return 0, or -1 with the message in ctx->err.
 */
#ifndef DROVER_CONF_WALK_H
#define DROVER_CONF_WALK_H

#include "conf_scalar.h"

/* Reads mapping m, whose keys must be rows of scope, into base; where
 * names it in errors (NULL at the top level). */
int conf_walk_mapping(conf_ctx_t *ctx, yaml_node_t *m, unsigned scope, const char *where,
                      char *base);

/* Applies the default of every row of scope to base. */
int conf_walk_defaults(conf_ctx_t *ctx, char *base, unsigned scope);

/* Reads the locations: noted in ctx while the mapping of conf (the top
 * level's or a host's) was read, and loads conf's redirect_map. In
 * conf_rules.c. */
int conf_rules_parse(conf_ctx_t *ctx, conf_t *conf);

#endif
