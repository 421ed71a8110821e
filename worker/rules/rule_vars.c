/*
 * rule_vars: see rule_vars.h.
 */
#include "rule_vars.h"

#include <ctype.h>
#include <stddef.h>
#include <string.h>

static int rule_vars__put(char *out, size_t cap, size_t *n, const char *p, size_t len)
{
    if (len == 0)
        return 0; /* p may be NULL: an absent query is STR_NULL */
    if (len >= cap - *n)
        return -1;
    memcpy(out + *n, p, len);
    *n += len;
    return 0;
}

/* The value of capture i of v's match ("" when unset or absent). */
static str_t rule_vars__capture(const rule_vars_t *v, size_t i)
{
    const rules_match_t *m = v->match;
    if (m == NULL || i >= m->ncap || m->cap[2 * i] == (size_t)-1 || m->cap[2 * i + 1] < m->cap[2 * i])
        return STR_LIT("");
    return str_make(m->subject + m->cap[2 * i], m->cap[2 * i + 1] - m->cap[2 * i]);
}

static int rule_vars__named(const rule_vars_t *v, const char *name, size_t len, str_t *out)
{
    static const struct { const char *name; size_t off; } vars[] = {
        { "uri", offsetof(rule_vars_t, uri) },
        { "request_uri", offsetof(rule_vars_t, request_uri) },
        { "args", offsetof(rule_vars_t, args) },
        { "host", offsetof(rule_vars_t, host) },
        { "scheme", offsetof(rule_vars_t, scheme) },
        { "port", offsetof(rule_vars_t, port) },
    };
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
        if (strlen(vars[i].name) == len && memcmp(vars[i].name, name, len) == 0) {
            *out = *(const str_t *)(const void *)((const char *)v + vars[i].off);
            return 0;
        }
    if (v->match != NULL) {
        int g = rules_group(v->match, name, len);
        if (g > 0) {
            *out = rule_vars__capture(v, (size_t)g);
            return 0;
        }
    }
    return -1;
}

ssize_t rule_vars_expand(const char *tmpl, const rule_vars_t *v, char *out, size_t cap)
{
    size_t n = 0;
    if (cap == 0)
        return -1;
    for (const char *p = tmpl; *p;) {
        if (*p != '$') {
            const char *d = strchr(p, '$');
            size_t len = d != NULL ? (size_t)(d - p) : strlen(p);
            if (rule_vars__put(out, cap, &n, p, len) < 0)
                return -1;
            p += len;
            continue;
        }
        str_t val;
        if (p[1] >= '0' && p[1] <= '9') {
            val = rule_vars__capture(v, (size_t)(p[1] - '0'));
            if (rule_vars__put(out, cap, &n, val.p, val.len) < 0)
                return -1;
            p += 2;
            continue;
        }
        const char *name = p + 1, *end;
        int braced = *name == '{';
        if (braced)
            name++;
        if (braced && name[0] >= '0' && name[0] <= '9' && name[1] == '}') {
            val = rule_vars__capture(v, (size_t)(name[0] - '0'));
            if (rule_vars__put(out, cap, &n, val.p, val.len) < 0)
                return -1;
            p = name + 2;
            continue;
        }
        for (end = name; isalnum((unsigned char)*end) || *end == '_'; end++)
            ;
        if (end == name || (braced && *end != '}') ||
            rule_vars__named(v, name, (size_t)(end - name), &val) < 0) {
            if (rule_vars__put(out, cap, &n, "$", 1) < 0)
                return -1;
            p++;
            continue;
        }
        if (rule_vars__put(out, cap, &n, val.p, val.len) < 0)
            return -1;
        p = end + braced;
    }
    out[n] = '\0';
    return (ssize_t)n;
}
