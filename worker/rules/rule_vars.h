/*
 * rule_vars: expands the variables of a rule's try_files entries, redirect
 * targets and return bodies: $1..$9 and $name (the captures of the regex
 * that matched, "" when unset), $uri (the decoded, normalised path),
 * $request_uri (the target as sent), $args (the query), $host (the Host
 * without its port, lower-case), $scheme and $port. ${name} may be written
 * where a letter follows. A $ that names nothing stays as it is.
 *
 * A pure function of its arguments: unit-tested in check_rule_vars.c.
 */
#ifndef DROVER_RULE_VARS_H
#define DROVER_RULE_VARS_H

#include <sys/types.h>

#include "rules.h"
#include "str.h"

typedef struct {
    const rules_match_t *match; /* NULL: no captures */
    str_t uri, request_uri, args, host, scheme, port;
} rule_vars_t;

/* Writes tmpl with its variables expanded into out (cap bytes, NUL-ended).
 * Returns the length, or -1 when it does not fit. */
ssize_t rule_vars_expand(const char *tmpl, const rule_vars_t *v, char *out, size_t cap);

#endif
