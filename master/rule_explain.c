/*
 * rule_explain: see rule_explain.h.
 */
#include "rule_explain.h"

#include <string.h>

#include "conf_rules.h"
#include "path.h"
#include "redirect_map.h"
#include "rule_vars.h"
#include "rules.h"
#include "vhost.h"

static void rule_explain__then(const conf_rule_t *r, const rules_match_t *m, const char *path,
                               size_t plen, const char *host, FILE *out)
{
    const conf_t *c = r->conf;
    rule_vars_t v = { .match = m, .uri = str_make(path, plen), .request_uri = str_make(path, plen),
                      .args = STR_LIT(""), .host = str_make(host, strlen(host)),
                      .scheme = STR_LIT("http"), .port = STR_LIT("80") };
    char buf[4096];
    for (size_t i = 1; i < m->ncap; i++)
        if (m->cap[2 * i] != (size_t)-1)
            fprintf(out, "  $%zu = \"%.*s\"\n", i, (int)(m->cap[2 * i + 1] - m->cap[2 * i]),
                    path + m->cap[2 * i]);
    if (c->methods != 0)
        fputs("  methods: only those listed; others get 405\n", out);
    if (c->return_code != 0) {
        fprintf(out, "  then: return %d", c->return_code);
        if (c->return_body != NULL && rule_vars_expand(c->return_body, &v, buf, sizeof(buf)) >= 0)
            fprintf(out, " with a body of %zu bytes", strlen(buf));
        fputc('\n', out);
    } else if (c->redirect_to != NULL) {
        if (rule_vars_expand(c->redirect_to, &v, buf, sizeof(buf)) >= 0)
            fprintf(out, "  then: redirect %d to %s\n", c->redirect_code, buf);
    } else if (c->num_try_files > 0) {
        fputs("  then: try_files", out);
        for (size_t i = 0; i < c->num_try_files; i++)
            if (rule_vars_expand(c->try_files[i], &v, buf, sizeof(buf)) >= 0)
                fprintf(out, " %s", buf);
        fprintf(out, " (under %s)\n", c->alias != NULL ? c->alias : c->root);
    } else if (c->alias != NULL) {
        fprintf(out, "  then: the file %s%.*s\n", c->alias,
                (int)(plen > r->text_len ? plen - r->text_len : 0), path + r->text_len);
    } else {
        fprintf(out, "  then: the file %s%.*s\n", c->root, (int)plen, path);
    }
}

int rule_explain(const conf_t *conf, const char *host, const char *raw, FILE *out)
{
    char path[4096 + 8];
    ssize_t plen = path_normalize(raw, strlen(raw), path, 4096);
    if (plen < 0) {
        fprintf(out, "drover: -T %s: not a path a request could have (400)\n", raw);
        return 1;
    }
    int i = host != NULL && conf->vhosts != NULL
                ? vhost_match_header(conf->vhosts, str_make(host, strlen(host)))
                : VHOST_DEFAULT;
    const conf_t *hc = i == VHOST_DEFAULT ? conf : conf->hosts[i].conf;
    if (i == VHOST_DEFAULT)
        fprintf(out, "host: the default host (the top level)%s%s%s\n", host ? ", for \"" : "",
                host ? host : "", host ? "\"" : "");
    else
        fprintf(out, "host: %s (line %u), for \"%s\"\n", conf->hosts[i].name, conf->hosts[i].line,
                host);
    fprintf(out, "path: %s", raw);
    if ((size_t)plen != strlen(raw) || memcmp(raw, path, (size_t)plen) != 0)
        fprintf(out, " (matched as %s)", path);
    fputc('\n', out);
    if (hc->redirect != NULL) {
        fprintf(out, "rule: the host's redirect: 301 to %s + the path\n", hc->redirect);
        return 0;
    }
    const char *to;
    size_t to_len;
    int code;
    if (hc->redirect_map != NULL &&
        redirect_map_get(hc->redirect_map, path, (size_t)plen, &to, &to_len, &code)) {
        fprintf(out, "rule: redirect_map %s: %d to %.*s (looked up before locations)\n",
                hc->redirect_map_path, code, (int)to_len, to);
        return 0;
    }
    rules_matcher_t mr;
    rules_match_t m;
    if (rules_matcher_init(&mr) < 0) {
        fputs("drover: out of memory\n", out);
        return 1;
    }
    const conf_rule_t *r = rules_match(&mr, hc->locations, path, (size_t)plen, &m);
    if (r == NULL) {
        fprintf(out, "rule: none (%s); the host's own keys: the file %s%s\n",
                hc->locations == NULL ? "the host has no locations" : "no location matches",
                hc->root, path);
    } else {
        static const char *const why[] = {
            [CONF_RULE_EXACT] = "an exact match wins at once",
            [CONF_RULE_PREFIX] = "the longest prefix, and no regex matched",
            [CONF_RULE_PREFIX_STOP] = "the longest prefix, and ^~ skips the regexes",
            [CONF_RULE_REGEX] = "the first regex in file order that matches",
            [CONF_RULE_NAMED] = "named",
        };
        fprintf(out, "rule: \"%s\" (line %u): %s\n", r->pattern, r->line, why[r->kind]);
        rule_explain__then(r, &m, path, (size_t)plen, host != NULL ? host : "", out);
    }
    rules_matcher_free(&mr);
    return 0;
}
