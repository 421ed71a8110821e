/*
 * conf_hosts: the hosts: section of the config (README "Virtual hosts"),
 * internal to common/conf/conf*.c. conf_hosts_parse() reads each entry into a
 * conf_t that starts as a copy of the top level's per-host keys, then its
 * locations (conf_rules.c). 0, or -1 with the message in ctx->err.
 */
#ifndef DROVER_CONF_HOSTS_H
#define DROVER_CONF_HOSTS_H

#include "conf_scalar.h"

int conf_hosts_parse(conf_ctx_t *ctx, yaml_node_t *v, conf_t *c);

#endif
