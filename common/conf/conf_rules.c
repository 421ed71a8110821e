/*
 * conf_rules: see conf_rules.h.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "conf_rules.h"

#include <errno.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_keys.h"
#include "conf_walk.h"
#include "rule_pattern.h"
#include "redirect_map.h"

#define CONF_RULES_MAX 4096

int conf_rule_sets(const conf_rule_t *r, const char *name)
{
    const conf_key_t *k = conf__key_find(name, CONF_SCOPE_RULE);
    if (k == NULL)
        return 0;
    size_t row = (size_t)(k - conf__keys);
    return row < 8 * sizeof(r->set) && (r->set[row / 8] >> (row % 8)) & 1;
}

/* The rule-only values, which the key table cannot free (CONF_KIND_NODE). */
static void conf_rules__free_conf(conf_t *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->num_try_files; i++)
        free(c->try_files[i]);
    c->num_try_files = 0;
    free(c->return_body);
    free(c->return_type);
    free(c->redirect_to);
    free(c->proxy_uri);
    conf__map_free(&c->rule_headers);
    conf__free_scope(c, CONF_SCOPE_ALL);
    free(c);
}

void conf_rules_free(conf_t *conf)
{
    conf_rules_t *rs = conf->locations;
    if (rs != NULL) {
        for (size_t i = 0; i < rs->n; i++) {
            conf_rule_t *r = &rs->items[i];
            free(r->pattern);
            free(r->text);
            free(r->lit);
            pcre2_code_free(r->re);
            conf_rules__free_conf(r->conf);
        }
        free(rs->items);
        free(rs->exact);
        free(rs->prefix);
        free(rs->regex);
        free(rs);
        conf->locations = NULL;
    }
    redirect_map_free(conf->redirect_map);
    conf->redirect_map = NULL;
}

/* Compiles r's regex: PCRE2's message and offset make the error. The JIT
 * is best effort (a kernel or build without it still matches, slower). */
static int conf_rules__compile(conf_ctx_t *ctx, yaml_node_t *kn, conf_rule_t *r)
{
    int code;
    PCRE2_SIZE off;
    uint32_t opts = r->caseless ? PCRE2_CASELESS : 0;
    r->re = pcre2_compile((PCRE2_SPTR)r->text, r->text_len, opts, &code, &off, NULL);
    if (r->re == NULL) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(code, msg, sizeof(msg));
        return conf_scalar_error(ctx, kn, "locations", "\"%s\": invalid regex at offset %zu: %s",
                                 r->pattern, (size_t)off, (const char *)msg);
    }
    uint32_t groups = 0;
    pcre2_pattern_info(r->re, PCRE2_INFO_CAPTURECOUNT, &groups);
    if (groups > 9)
        return conf_scalar_error(ctx, kn, "locations", "\"%s\": %u capture groups; $1 to $9 "
                                 "reach 9 (use (?:...) for the others)", r->pattern, groups);
    size_t jitsize = 0;
    if (pcre2_jit_compile(r->re, PCRE2_JIT_COMPLETE) == 0 &&
        pcre2_pattern_info(r->re, PCRE2_INFO_JITSIZE, &jitsize) == 0 && jitsize > 0)
        r->jit = 1;
    /* The literal the matcher compares first. PCRE2 must agree that the
     * regex is anchored and starts with that byte, or none is used. */
    if (!r->caseless) {
        if ((r->lit = malloc(r->text_len)) == NULL)
            return conf_scalar_error(ctx, kn, "locations", "out of memory");
        r->lit_len = rule_pattern_regex_prefix(r->text, r->text_len, r->lit);
        uint32_t all = 0, type = 0, first = 0;
        pcre2_pattern_info(r->re, PCRE2_INFO_ALLOPTIONS, &all);
        pcre2_pattern_info(r->re, PCRE2_INFO_FIRSTCODETYPE, &type);
        pcre2_pattern_info(r->re, PCRE2_INFO_FIRSTCODEUNIT, &first);
        if (!(all & PCRE2_ANCHORED) || type != 1 || first != (unsigned char)r->lit[0])
            r->lit_len = 0;
    }
    return 0;
}

/* What a rule may not combine, and what it says about the file cache. */
static int conf_rules__check(conf_ctx_t *ctx, yaml_node_t *kn, conf_rule_t *r)
{
    static const char *const files[] = { "root", "alias", "index", "autoindex", "gzip_static",
                                         "cache_control", "error_pages", "compress", NULL };
    conf_t *c = r->conf;
    for (size_t i = 0; files[i] != NULL; i++)
        r->own_files |= conf_rule_sets(r, files[i]);
    if (conf_rule_sets(r, "alias") && conf_rule_sets(r, "root"))
        return conf_scalar_error(ctx, kn, "locations", "\"%s\": alias and root together (alias "
                                 "replaces the matched prefix, root keeps it: choose one)",
                                 r->pattern);
    if (c->alias != NULL && r->kind != CONF_RULE_PREFIX && r->kind != CONF_RULE_PREFIX_STOP)
        return conf_scalar_error(ctx, kn, "locations", "\"%s\": alias is for prefix locations "
                                 "(\"/prefix/\" or \"^~ /prefix/\"); use root here", r->pattern);
    if (c->return_code != 0 && c->redirect_to != NULL)
        return conf_scalar_error(ctx, kn, "locations", "\"%s\": return and redirect together",
                                 r->pattern);
    if (c->num_try_files > 0 && (c->return_code != 0 || c->redirect_to != NULL))
        return conf_scalar_error(ctx, kn, "locations", "\"%s\": try_files with %s (the %s "
                                 "would always answer first)", r->pattern,
                                 c->return_code ? "return" : "redirect",
                                 c->return_code ? "return" : "redirect");
    if (c->alias != NULL) {
        /* The matched prefix is replaced by the directory, so both end in a
         * slash or neither does: "/dl/" -> "/srv/files/". Stored with one. */
        size_t n = strlen(c->alias);
        if (n == 0 || c->alias[n - 1] != '/') {
            char *a = malloc(n + 2);
            if (a == NULL)
                return conf_scalar_error(ctx, kn, "locations", "out of memory");
            memcpy(a, c->alias, n);
            a[n] = '/';
            a[n + 1] = '\0';
            free(c->alias);
            c->alias = a;
        }
        /* The file cache serves from its conf's root: the alias is it. */
        free(c->root);
        if ((c->root = strdup(c->alias)) == NULL)
            return conf_scalar_error(ctx, kn, "locations", "out of memory");
        size_t rl = strlen(c->root);
        if (rl > 1)
            c->root[rl - 1] = '\0'; /* roots are kept without their slash */
    }
    if (c->rule_cache_control != NULL) {
        /* Every file of the rule gets it: the map's "default" entry alone. */
        conf__map_free(&c->cache_control);
        if ((c->cache_control.items = calloc(1, sizeof(conf_pair_t))) == NULL ||
            (c->cache_control.items[0].key = strdup("default")) == NULL ||
            (c->cache_control.items[0].value = strdup(c->rule_cache_control)) == NULL) {
            c->cache_control.n = c->cache_control.items != NULL;
            return conf_scalar_error(ctx, kn, "locations", "out of memory");
        }
        c->cache_control.n = 1;
    }
    return 0;
}

static int conf_rules__cmp_text(const conf_rule_t *a, const conf_rule_t *b)
{
    size_t n = a->text_len < b->text_len ? a->text_len : b->text_len;
    int d = memcmp(a->text, b->text, n);
    return d != 0 ? d : (a->text_len > b->text_len) - (a->text_len < b->text_len);
}

static size_t conf_rules__bucket(const conf_rule_t *r)
{
    return r->text_len >= 2 ? (unsigned char)r->text[1] : 256;
}

/* The order the matcher reads: insertion sorts (a few hundred rules at
 * most, once per load), so equal keys stay in file order. */
static int conf_rules__index(conf_rules_t *rs)
{
    for (size_t i = 0; i < rs->n; i++) {
        const conf_rule_t *r = &rs->items[i];
        size_t j;
        switch (r->kind) {
        case CONF_RULE_EXACT:
            for (j = rs->nexact; j > 0 && conf_rules__cmp_text(&rs->items[rs->exact[j - 1]], r) > 0; j--)
                rs->exact[j] = rs->exact[j - 1];
            rs->exact[j] = i;
            rs->nexact++;
            break;
        case CONF_RULE_PREFIX:
        case CONF_RULE_PREFIX_STOP:
            for (j = rs->nprefix; j > 0 && rs->items[rs->prefix[j - 1]].text_len < r->text_len; j--)
                rs->prefix[j] = rs->prefix[j - 1];
            rs->prefix[j] = i;
            rs->nprefix++;
            break;
        case CONF_RULE_REGEX:
            rs->regex[rs->nregex++] = i;
            break;
        default:
            break;
        }
    }
    /* A stable counting sort of the longest-first prefixes by their second
     * byte: each bucket stays longest first. */
    size_t count[258] = {0};
    for (size_t i = 0; i < rs->nprefix; i++)
        count[conf_rules__bucket(&rs->items[rs->prefix[i]]) + 1]++;
    for (size_t k = 1; k < 258; k++)
        count[k] += count[k - 1];
    memcpy(rs->pstart, count, sizeof(rs->pstart));
    size_t *sorted = calloc(rs->nprefix ? rs->nprefix : 1, sizeof(size_t));
    if (sorted == NULL)
        return -1;
    for (size_t i = 0; i < rs->nprefix; i++)
        sorted[count[conf_rules__bucket(&rs->items[rs->prefix[i]])]++] = rs->prefix[i];
    free(rs->prefix);
    rs->prefix = sorted;
    return 0;
}

/* Two rules of the same form and text: the second could never be chosen
 * (or, for ^~ against plain, nginx refuses it as a duplicate too). */
static int conf_rules__duplicate(conf_ctx_t *ctx, yaml_node_t *kn, const conf_rules_t *rs,
                                 const conf_rule_t *r)
{
    for (size_t i = 0; i + 1 < rs->n; i++) {
        const conf_rule_t *o = &rs->items[i];
        int prefixes = (o->kind == CONF_RULE_PREFIX || o->kind == CONF_RULE_PREFIX_STOP) &&
                       (r->kind == CONF_RULE_PREFIX || r->kind == CONF_RULE_PREFIX_STOP);
        if ((o->kind == r->kind || prefixes) && o->caseless == r->caseless &&
            o->text_len == r->text_len && memcmp(o->text, r->text, r->text_len) == 0)
            return conf_scalar_error(ctx, kn, "locations", "\"%s\" is the same location as "
                                     "\"%s\" on line %u", r->pattern, o->pattern, o->line);
    }
    return 0;
}

static int conf_rules__one(conf_ctx_t *ctx, conf_t *host, conf_rules_t *rs, yaml_node_t *kn,
                           yaml_node_t *v)
{
    const char *why;
    rule_pattern_t p;
    if (kn->type != YAML_SCALAR_NODE)
        return conf_scalar_error(ctx, kn, "locations", "a pattern is a string such as \"/assets/\"");
    const char *key = (const char *)kn->data.scalar.value;
    size_t klen = kn->data.scalar.length;
    if (rule_pattern_parse(key, klen, &p, &why) < 0)
        return conf_scalar_error(ctx, kn, "locations", "\"%.*s\": %s", (int)(klen > 200 ? 200 : klen),
                                 key, why);
    if (v->type != YAML_MAPPING_NODE) {
        char keys[512];
        conf__keys_list(CONF_SCOPE_RULE, keys, sizeof(keys));
        return conf_scalar_error(ctx, v, "locations", "\"%s\": expected a mapping of rule keys "
                                 "(%s)", key, keys);
    }
    conf_rule_t *r = &rs->items[rs->n++];
    r->kind = (conf_rule_kind_t)p.kind;
    r->caseless = p.caseless;
    r->line = (unsigned)kn->start_mark.line + 1;
    r->named_target = -1;
    if ((r->pattern = strndup(key, klen)) == NULL || (r->text = strndup(key + p.off, p.len)) == NULL ||
        (r->conf = calloc(1, sizeof(conf_t))) == NULL ||
        conf__copy_scope(r->conf, host, CONF_SCOPE_HOST) < 0)
        return conf_scalar_error(ctx, kn, "locations", "out of memory");
    r->text_len = p.len;
    if (conf_rules__duplicate(ctx, kn, rs, r) < 0)
        return -1;
    if (r->kind == CONF_RULE_REGEX && conf_rules__compile(ctx, kn, r) < 0)
        return -1;

    char prefix[256];
    const char *outer = ctx->prefix;
    unsigned char *outer_set = ctx->set;
    snprintf(prefix, sizeof(prefix), "%slocation \"%.160s\": ", outer, key);
    ctx->prefix = prefix;
    ctx->set = r->set;
    int rc = conf_walk_mapping(ctx, v, CONF_SCOPE_RULE, "a location", (char *)r->conf);
    if (rc == 0)
        rc = conf_rules__check(ctx, kn, r);
    ctx->prefix = outer;
    ctx->set = outer_set;
    return rc;
}

/* try_files ... @name: the named location must exist. */
static int conf_rules__link(conf_ctx_t *ctx, yaml_node_t *m, conf_rules_t *rs)
{
    for (size_t i = 0; i < rs->n; i++) {
        conf_rule_t *r = &rs->items[i];
        const conf_t *c = r->conf;
        if (c->num_try_files == 0 || c->try_files[c->num_try_files - 1][0] != '@')
            continue;
        const char *name = c->try_files[c->num_try_files - 1];
        for (size_t j = 0; j < rs->n && r->named_target < 0; j++)
            if (rs->items[j].kind == CONF_RULE_NAMED && strcmp(rs->items[j].text, name) == 0)
                r->named_target = (int)j;
        if (r->named_target < 0) {
            yaml_node_t *kn = yaml_document_get_node(ctx->doc, m->data.mapping.pairs.start[i].key);
            return conf_scalar_error(ctx, kn, "locations", "\"%s\": try_files names %s, which "
                                     "is not a location of this host", r->pattern, name);
        }
    }
    return 0;
}

int conf_rules_parse(conf_ctx_t *ctx, conf_t *conf)
{
    yaml_node_t *m = ctx->locations;
    ctx->locations = NULL;
    if (conf->redirect_map_path != NULL) {
        char err[REDIRECT_MAP_ERR_LEN];
        if ((conf->redirect_map = redirect_map_load(conf->redirect_map_path, err)) == NULL) {
            snprintf(ctx->err, CONF_ERR_LEN, "%.200s:%u: %.60sredirect_map: %.200s", ctx->file,
                     conf->redirect_map_line, ctx->prefix, err);
            return -1;
        }
    }
    if (m == NULL)
        return 0;
    if (m->type != YAML_MAPPING_NODE)
        return conf_scalar_error(ctx, m, "locations", "expected a mapping of patterns to rules, "
                                 "such as {\"/assets/\": {cache_control: \"max-age=86400\"}}");
    size_t n = (size_t)(m->data.mapping.pairs.top - m->data.mapping.pairs.start);
    if (n > CONF_RULES_MAX)
        return conf_scalar_error(ctx, m, "locations", "more than %d locations", CONF_RULES_MAX);
    conf_rules_t *rs = calloc(1, sizeof(*rs));
    if (rs == NULL)
        return conf_scalar_error(ctx, m, "locations", "out of memory");
    conf->locations = rs;
    size_t cap = n ? n : 1;
    if ((rs->items = calloc(cap, sizeof(*rs->items))) == NULL ||
        (rs->exact = calloc(cap, sizeof(size_t))) == NULL ||
        (rs->prefix = calloc(cap, sizeof(size_t))) == NULL ||
        (rs->regex = calloc(cap, sizeof(size_t))) == NULL)
        return conf_scalar_error(ctx, m, "locations", "out of memory");
    for (yaml_node_pair_t *pair = m->data.mapping.pairs.start; pair < m->data.mapping.pairs.top;
         pair++) {
        yaml_node_t *kn = yaml_document_get_node(ctx->doc, pair->key);
        yaml_node_t *v = yaml_document_get_node(ctx->doc, pair->value);
        if (conf_rules__one(ctx, conf, rs, kn, v) < 0)
            return -1;
    }
    if (conf_rules__link(ctx, m, rs) < 0)
        return -1;
    if (conf_rules__index(rs) < 0)
        return conf_scalar_error(ctx, m, "locations", "out of memory");
    return 0;
}
