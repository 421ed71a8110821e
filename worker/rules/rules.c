/*
 * rules: see rules.h.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "rules.h"

#include <pcre2.h>
#include <string.h>

/* Generous for a path (4 KiB at most), small enough that a catastrophic
 * pattern gives up in well under a millisecond's worth of steps per MB. */
#define RULES_MATCH_LIMIT 100000
#define RULES_DEPTH_LIMIT 1000

int rules_matcher_init(rules_matcher_t *m)
{
    m->md = pcre2_match_data_create(RULES_MAX_CAPTURES, NULL);
    m->mc = pcre2_match_context_create(NULL);
    if (m->md == NULL || m->mc == NULL) {
        rules_matcher_free(m);
        return -1;
    }
    pcre2_set_match_limit(m->mc, RULES_MATCH_LIMIT);
    pcre2_set_depth_limit(m->mc, RULES_DEPTH_LIMIT);
    return 0;
}

void rules_matcher_free(rules_matcher_t *m)
{
    pcre2_match_data_free(m->md);
    pcre2_match_context_free(m->mc);
    m->md = NULL;
    m->mc = NULL;
}

static const conf_rule_t *rules__exact(const conf_rules_t *rs, const char *path, size_t len)
{
    size_t lo = 0, hi = rs->nexact;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const conf_rule_t *r = &rs->items[rs->exact[mid]];
        size_t n = r->text_len < len ? r->text_len : len;
        int d = memcmp(r->text, path, n);
        if (d == 0)
            d = (r->text_len > len) - (r->text_len < len);
        if (d == 0)
            return r;
        if (d < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static const conf_rule_t *rules__prefix(const conf_rules_t *rs, size_t bucket, const char *path,
                                       size_t len)
{
    for (size_t i = rs->pstart[bucket]; i < rs->pstart[bucket + 1]; i++) {
        const conf_rule_t *p = &rs->items[rs->prefix[i]];
        if (p->text_len <= len && memcmp(p->text, path, p->text_len) == 0)
            return p;
    }
    return NULL;
}

const conf_rule_t *rules_match(rules_matcher_t *m, const conf_rules_t *rs, const char *path,
                               size_t len, rules_match_t *out)
{
    out->rule = NULL;
    out->why = "none";
    out->subject = path;
    out->ncap = 0;
    if (rs == NULL)
        return NULL;
    const conf_rule_t *r = rs->nexact > 0 ? rules__exact(rs, path, len) : NULL;
    if (r != NULL) {
        out->why = "exact";
        return out->rule = r;
    }
    /* The bucket of the path's second byte, then the one-byte prefixes:
     * each longest first, so the first that matches is the longest. */
    const conf_rule_t *prefix = NULL;
    if (len >= 2)
        prefix = rules__prefix(rs, (unsigned char)path[1], path, len);
    if (prefix == NULL)
        prefix = rules__prefix(rs, 256, path, len);
    if (prefix != NULL && prefix->kind == CONF_RULE_PREFIX_STOP) {
        out->why = "^~ prefix";
        return out->rule = prefix;
    }
    for (size_t i = 0; i < rs->nregex; i++) {
        const conf_rule_t *x = &rs->items[rs->regex[i]];
        if (x->lit_len > 0 && (x->lit_len > len || memcmp(x->lit, path, x->lit_len) != 0))
            continue; /* it cannot match: its literal start is not the path's */
        /* The JIT's own entry skips the checks pcre2_match repeats on every
         * call; it honours the match limit of m->mc (the depth limit is the
         * JIT stack's size). */
        int rc = x->jit ? pcre2_jit_match(x->re, (PCRE2_SPTR)path, len, 0, 0, m->md, m->mc)
                        : pcre2_match(x->re, (PCRE2_SPTR)path, len, 0, 0, m->md, m->mc);
        if (rc == PCRE2_ERROR_NOMATCH || rc == PCRE2_ERROR_MATCHLIMIT ||
            rc == PCRE2_ERROR_DEPTHLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT || rc < 0)
            continue; /* a limit hit is no match: the worker goes on */
        size_t n = rc == 0 ? RULES_MAX_CAPTURES : (size_t)rc;
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(m->md);
        for (size_t j = 0; j < 2 * n; j++)
            out->cap[j] = ov[j];
        out->ncap = n;
        out->why = "regex";
        return out->rule = x;
    }
    if (prefix != NULL) {
        out->why = "prefix";
        return out->rule = prefix;
    }
    return NULL;
}

int rules_group(const rules_match_t *out, const char *name, size_t len)
{
    char buf[64];
    if (out->rule == NULL || out->rule->re == NULL || len == 0 || len >= sizeof(buf))
        return -1;
    memcpy(buf, name, len);
    buf[len] = '\0';
    int n = pcre2_substring_number_from_name(out->rule->re, (PCRE2_SPTR)buf);
    return n > 0 ? n : -1;
}
