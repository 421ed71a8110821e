/*
 * rules: the matcher of site rules: (a host's locations, a path) -> the
 * one rule that answers, in nginx's order (README "Locations"):
 *   1. an exact "= /path" wins at once;
 *   2. the longest prefix ("/p" or "^~ /p") is remembered; if it is a
 *      "^~" one, it wins and regexes are not tried;
 *   3. regexes in file order, the first that matches wins;
 *   4. else the remembered prefix; else no rule (the host's own keys).
 * The path is the decoded, normalised one the static handler serves, so a
 * rule cannot be passed by with %2e%2e or //.
 *
 * A regex runs under PCRE2 match and depth limits: one that would run away
 * on a hostile path counts as no match instead of holding the worker.
 * The match data is the matcher's own (rules_matcher_t, one per worker);
 * a match's captures point into the path it was given.
 *
 * The structures it reads were prepared at load (common/conf/conf_rules.c):
 * a site without rules never calls it.
 */
#ifndef DROVER_RULES_H
#define DROVER_RULES_H

#include <stddef.h>

#include "conf_rules.h"

#define RULES_MAX_CAPTURES 10 /* $0 .. $9 */

typedef struct {
    void *md;   /* pcre2_match_data * */
    void *mc;   /* pcre2_match_context *, with the limits */
} rules_matcher_t;

typedef struct {
    const conf_rule_t *rule;  /* NULL: none matched */
    const char *why;          /* "exact", "prefix", "^~ prefix", "regex", "none" */
    const char *subject;      /* the path the captures are offsets into */
    size_t ncap;              /* captures set ($0 is the whole match) */
    size_t cap[2 * RULES_MAX_CAPTURES];
} rules_match_t;

/* 0, or -1 (out of memory). */
int rules_matcher_init(rules_matcher_t *m);
void rules_matcher_free(rules_matcher_t *m);

/* Fills out with the rule of rs for path[0..len); returns out->rule. */
const conf_rule_t *rules_match(rules_matcher_t *m, const conf_rules_t *rs, const char *path,
                               size_t len, rules_match_t *out);

/* The number of the named group name[0..len) of out's regex, or -1. */
int rules_group(const rules_match_t *out, const char *name, size_t len);

#endif
