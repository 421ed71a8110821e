/*
 * limit_counters: the master's shared counters of limit_req, limit_conn and failed
 * logins (common/limit_table.h), mapped only once a configuration needs
 * them: at start, or by the first reload that adds such a key, before the
 * generation that uses them forks. Once mapped they stay for the master's
 * life (a reload that drops the keys and one that brings them back keep the
 * counts), and an upgrade hands them on.
 */
#ifndef DROVER_LIMIT_COUNTERS_H
#define DROVER_LIMIT_COUNTERS_H

#include "conf.h"
#include "internal.h"

/* Maps the counters when conf needs them and they are not mapped yet.
 * A failure is logged, not fatal: the limits are then not applied. */
void limit_counters_ensure(master_t *m, const conf_t *conf);

#endif
