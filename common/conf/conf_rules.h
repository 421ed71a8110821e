/*
 * conf_rules: the locations: of the top level and of each host, compiled
 * at load (README "Locations").
 *
 * Each entry maps a pattern to a rule, in nginx's forms:
 *   "= /path"      exact            "/prefix" or "^~ /prefix"   prefix
 *   "~ regex"      PCRE2            "~* regex"                  caseless
 *   "@name"        named: reached only from try_files
 * A rule's conf_t starts as a copy of its host's per-host keys, then reads
 * its own keys (scope RULE of conf_keys.c) over them, so a reader of a
 * rule's conf never asks where a value came from. Regexes are compiled and
 * JIT-compiled here, in the master before the workers fork, so a bad one
 * is a config error and workers share the compiled code.
 *
 * The match order is prepared here too: exact paths sorted (binary
 * search), prefixes longest first, regexes in file order. The matcher that
 * reads it is worker/rules.c.
 *
 * Owned by the conf_t whose locations they are; freed by conf_rules_free.
 */
#ifndef DROVER_CONF_RULES_H
#define DROVER_CONF_RULES_H

#include <stddef.h>

#include "conf.h"
#include "rule_pattern.h"

/* The same values as rule_pattern_kind_t (rule_pattern.h). */
typedef enum {
    CONF_RULE_EXACT = RULE_PATTERN_EXACT,
    CONF_RULE_PREFIX = RULE_PATTERN_PREFIX,
    CONF_RULE_PREFIX_STOP = RULE_PATTERN_PREFIX_STOP,
    CONF_RULE_REGEX = RULE_PATTERN_REGEX,
    CONF_RULE_NAMED = RULE_PATTERN_NAMED,
} conf_rule_kind_t;

typedef struct conf_rule_s {
    char *pattern;        /* the key as written: "^~ /assets/" */
    conf_rule_kind_t kind;
    int caseless;
    char *text;           /* the path, regex source or @name */
    size_t text_len;
    void *re;             /* pcre2_code *, for CONF_RULE_REGEX */
    int jit;              /* re was JIT-compiled: pcre2_jit_match runs it */
    char *lit;            /* every subject re matches starts with lit */
    size_t lit_len;       /* (rule_pattern_regex_prefix); 0: no such literal */
    unsigned line;
    conf_t *conf;         /* the host's keys with the rule's own over them */
    unsigned char set[32]; /* bit i: the rule set row i of the key table itself */
    /* It sets a key that the file cache reads (root, alias, index,
     * autoindex, gzip_static, cache_control, error_pages): its files
     * come from a cache of its own. */
    int own_files;
    int named_target;     /* try_files ends in @name: its index in items */
} conf_rule_t;

typedef struct conf_rules_s {
    conf_rule_t *items;   /* file order */
    size_t n;
    size_t *exact;        /* indices of the exact rules, sorted by text */
    size_t nexact;
    size_t *prefix;       /* of the prefix rules, by their second byte, */
    size_t nprefix;       /* then longest text first; "/" alone last */
    /* prefix[pstart[c] .. pstart[c + 1]) are those whose text[1] is c;
     * [pstart[256] .. pstart[257]) the one-byte ones. The matcher scans
     * one bucket and the one-byte ones, not every prefix. */
    size_t pstart[258];
    size_t *regex;        /* of the regex rules, file order */
    size_t nregex;
} conf_rules_t;

/* 1 when rule r sets key name itself (not inherited from its host). */
int conf_rule_sets(const conf_rule_t *r, const char *name);

/* Frees conf's locations and redirect map. */
void conf_rules_free(conf_t *conf);

#endif
