/*
 * rule_explain: `drover -T /path [-H host]`: which host and which location
 * serve a path, and why (the exact, prefix or regex that matched, what the
 * redirect map says), with the same matcher the workers use (worker/rules.c).
 */
#ifndef DROVER_RULE_EXPLAIN_H
#define DROVER_RULE_EXPLAIN_H

#include <stdio.h>

#include "conf.h"

/* Writes the explanation to out. 0, or 1 when path is not a valid path. */
int rule_explain(const conf_t *conf, const char *host, const char *path, FILE *out);

#endif
