/*
 * rule_pattern: reads the key of a locations: entry, in nginx's forms:
 *   "= /path"  exact     "/prefix"  prefix     "^~ /prefix"  prefix, no regexes
 *   "~ re"     regex     "~* re"    caseless   "@name"       named
 * A path is printable ASCII without spaces, starting with "/" (it is
 * matched against the decoded path); a regex is anything without a NUL.
 *
 * Pure and allocation-free, so it is fuzzed (tests/fuzz/fuzz_rule_pattern.c).
 */
#ifndef DROVER_RULE_PATTERN_H
#define DROVER_RULE_PATTERN_H

#include <stddef.h>

typedef enum {
    RULE_PATTERN_EXACT = 0,
    RULE_PATTERN_PREFIX,
    RULE_PATTERN_PREFIX_STOP,
    RULE_PATTERN_REGEX,
    RULE_PATTERN_NAMED,
} rule_pattern_kind_t;

typedef struct {
    rule_pattern_kind_t kind;
    int caseless;         /* "~*" */
    size_t off, len;      /* the path, regex or name (with its @) within the key */
} rule_pattern_t;

/* Reads key[0..len) (no NUL needed). 0, or -1 with why, a static string. */
int rule_pattern_parse(const char *key, size_t len, rule_pattern_t *out, const char **why);

/* The literal that every subject matched by the (case-sensitive) PCRE2
 * regex re[0..len) begins with: "^/blog/\\d+" gives "/blog/". Written to
 * lit (room for len bytes); returns its length, 0 when the regex is not
 * anchored, has a top-level alternative, or starts with no literal. The
 * matcher compares it before running the regex, so a site's regexes cost
 * a memcmp on the paths they cannot match. Conservative: a byte that a
 * quantifier may drop ("^/a?") ends the literal before it. */
size_t rule_pattern_regex_prefix(const char *re, size_t len, char *lit);

#endif
