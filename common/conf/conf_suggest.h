/*
 * conf_suggest: the key a mistyped one probably meant, for "unknown key"
 * errors ("keepalive_timout: unknown key: did you mean keepalive_timeout?").
 *
 * Only the rows of the scope being read are candidates, so a suggestion is
 * always a key that would be accepted where the typo stands.
 */
#ifndef DROVER_CONF_SUGGEST_H
#define DROVER_CONF_SUGGEST_H

#include <stddef.h>

/* The name of the row of scope nearest to name by edit distance (insert,
 * delete, substitute, swap two neighbours; case-blind), or NULL when none is
 * near enough to be a typo: at most 1 edit for names under 5 characters,
 * 2 under 9, 3 beyond. Ties go to the row first in the table. The string
 * is the table's own (static). */
const char *conf_suggest_key(const char *name, unsigned scope);

/* Edit distance between a and b as above, counted up to limit + 1 (a
 * larger distance returns limit + 1). Exposed for the unit test. */
size_t conf_suggest_distance(const char *a, const char *b, size_t limit);

#endif
