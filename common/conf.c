/*
 * conf: see conf.h.
 *
 * The file is loaded as a libyaml document and walked as one mapping; every
 * node carries its line, so each error can name "file:line: key: problem".
 * Which keys exist, and what each may hold, is the table in conf_keys.c:
 * this file walks mappings, lists (whose items may be mappings of their own
 * scope, as listen entries are), maps and sections, and hands single values
 * to conf_scalar.c (bool, int, size, duration, path, string, enum). A conf_t
 * is built in a zeroed struct and either returned whole or freed through
 * the single fail path.
 */
#include "conf.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "conf_keys.h"
#include "conf_scalar.h"
#include "conf_value.h"
#include "vhost.h"


/* --- lists, mappings, sections ------------------------------------------ */

static void conf__list_clear(const conf_key_t *k, char *base)
{
    char *at = base + k->offset;
    for (size_t j = 0; k->list->free != NULL && j < k->max_items; j++)
        k->list->free(at + j * k->list->size);
    memset(at, 0, k->max_items * k->list->size);
    *(size_t *)(void *)(base + k->count_offset) = 0;
}

/* Adds s as the next item of list row k. */
static int conf__list_add(conf_ctx_t *ctx, const conf_key_t *k, yaml_node_t *v, const char *s,
                          char *base)
{
    const conf_list_kind_t *lk = k->list;
    size_t *n = (size_t *)(void *)(base + k->count_offset);
    char *at = base + k->offset, *item = at + *n * lk->size;
    char *abs = NULL;
    int r = -1;
    if (*n == k->max_items)
        return conf_scalar_error(ctx, v, k->name, "more than %zu entries", k->max_items);
    if (lk->paths && s[0] != '\0') {
        if ((abs = conf_scalar_abspath(ctx->base, s)) == NULL)
            return conf_scalar_error(ctx, v, k->name, "cannot resolve \"%s\": %s", s, strerror(errno));
        s = abs;
    }
    if (lk->parse(s, item) < 0) {
        conf_scalar_error(ctx, v, k->name, "expected %s, got \"%s\"", lk->expected, s);
        goto fail;
    }
    for (size_t j = 0; lk->same != NULL && j < *n; j++)
        if (lk->same(at + j * lk->size, item)) {
            conf_scalar_error(ctx, v, k->name, "\"%s\" is listed twice", s);
            goto fail;
        }
    if (lk->keep != NULL && lk->keep(item, s) < 0) {
        conf_scalar_error(ctx, v, k->name, "out of memory");
        goto fail;
    }
    (*n)++;
    r = 0;
fail:
    free(abs);
    return r;
}

static int conf__mapping(conf_ctx_t *ctx, yaml_node_t *m, unsigned scope, const char *where,
                         char *base);
static int conf__defaults_scope(conf_ctx_t *ctx, char *base, unsigned scope);
static int conf__required(conf_ctx_t *ctx, const conf_key_t *k, yaml_node_t *v, char *base,
                          unsigned scope);

/* An item written as a mapping ({address: ..., tls: true}): its keys are
 * the rows of the list's item scope, stored into the item itself. */
static int conf__list_add_mapping(conf_ctx_t *ctx, const conf_key_t *k, yaml_node_t *v,
                                  char *base)
{
    const conf_list_kind_t *lk = k->list;
    size_t *n = (size_t *)(void *)(base + k->count_offset);
    char *at = base + k->offset, *item = at + *n * lk->size;
    const char *why = NULL;
    if (*n == k->max_items)
        return conf_scalar_error(ctx, v, k->name, "more than %zu entries", k->max_items);
    /* Counted before parsing, so conf__free_scope() frees a half-read item. */
    memset(item, 0, lk->size);
    (*n)++;
    char prefix[64];
    const char *outer = ctx->prefix;
    snprintf(prefix, sizeof(prefix), "%s%s.", outer, k->name);
    ctx->prefix = prefix;
    int r = conf__defaults_scope(ctx, item, lk->item_scope);
    if (r == 0)
        r = conf__mapping(ctx, v, lk->item_scope, k->name, item);
    ctx->prefix = outer;
    if (r < 0 || conf__required(ctx, k, v, item, lk->item_scope) < 0)
        return -1;
    if (lk->finish != NULL && lk->finish(item, &why) < 0)
        return conf_scalar_error(ctx, v, k->name, "%s", why);
    for (size_t j = 0; lk->same != NULL && j + 1 < *n; j++)
        if (lk->same(at + j * lk->size, item))
            return conf_scalar_error(ctx, v, k->name, "this entry is listed twice");
    return 0;
}

static int conf__list(conf_ctx_t *ctx, const conf_key_t *k, yaml_node_t *v, char *base)
{
    if (v->type == YAML_SCALAR_NODE && (k->flags & CONF_F_NONE)) {
        /* none, or one value standing for a list of one. */
        const char *one;
        if (conf_scalar_get(ctx, v, k->name, &one) < 0)
            return -1;
        conf__list_clear(k, base);
        return strcmp(one, "none") == 0 ? 0 : conf__list_add(ctx, k, v, one, base);
    }
    if (v->type != YAML_SEQUENCE_NODE)
        return conf_scalar_error(ctx, v, k->name, "expected a list such as [a, b], not a %s",
                           v->type == YAML_SCALAR_NODE ? "single value" : "mapping");
    conf__list_clear(k, base);
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
         it++) {
        yaml_node_t *item = yaml_document_get_node(ctx->doc, *it);
        if (item->type == YAML_MAPPING_NODE && k->list->item_scope != 0) {
            if (conf__list_add_mapping(ctx, k, item, base) < 0)
                return -1;
            continue;
        }
        if (item->type != YAML_SCALAR_NODE)
            return conf_scalar_error(ctx, item, k->name, "expected a list of values");
        if (conf__list_add(ctx, k, item, (const char *)item->data.scalar.value, base) < 0)
            return -1;
    }
    if (*(size_t *)(void *)(base + k->count_offset) == 0)
        return conf_scalar_error(ctx, v, k->name, "expected at least one entry");
    return 0;
}

static int conf__map(conf_ctx_t *ctx, const conf_key_t *k, yaml_node_t *v, conf_map_t *m)
{
    const conf_map_kind_t *kind = k->map;
    const char *key = k->name;
    if (v->type != YAML_MAPPING_NODE)
        return conf_scalar_error(ctx, v, key, "expected a mapping such as %s", kind->example);
    conf__map_free(m);
    size_t n = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
    if (n > CONF_MAX_MAP)
        return conf_scalar_error(ctx, v, key, "more than %d entries", CONF_MAX_MAP);
    m->items = calloc(n ? n : 1, sizeof(*m->items));
    if (m->items == NULL)
        return conf_scalar_error(ctx, v, key, "out of memory");
    for (yaml_node_pair_t *pair = v->data.mapping.pairs.start; pair < v->data.mapping.pairs.top;
         pair++) {
        yaml_node_t *kn = yaml_document_get_node(ctx->doc, pair->key);
        yaml_node_t *val = yaml_document_get_node(ctx->doc, pair->value);
        if (kn->type != YAML_SCALAR_NODE)
            return conf_scalar_error(ctx, kn, key, "keys must be plain names");
        const char *ks = (const char *)kn->data.scalar.value;
        if (!kind->key_ok(ks))
            return conf_scalar_error(ctx, kn, key, "\"%s\" is not %s", ks, kind->key_what);
        if (conf_map_get(m, ks, strlen(ks)) != NULL)
            return conf_scalar_error(ctx, kn, key, "\"%s\" is set twice", ks);
        const char *vs;
        if (conf_scalar_get(ctx, val, key, &vs) < 0)
            return -1;
        if (!kind->value_ok(vs))
            return conf_scalar_error(ctx, val, key, "%s: \"%s\" is not %s", ks, vs, kind->value_what);
        conf_pair_t *p = &m->items[m->n];
        p->key = strdup(ks);
        p->value = strdup(vs);
        if (p->key == NULL || p->value == NULL) {
            free(p->key);
            free(p->value);
            return conf_scalar_error(ctx, v, key, "out of memory");
        }
        for (char *q = p->key; *q && !kind->keep_case; q++)
            *q = (char)tolower((unsigned char)*q);
        m->n++;
    }
    return 0;
}

/* Applies the default of every row of scope to base. */
static int conf__defaults_scope(conf_ctx_t *ctx, char *base, unsigned scope)
{
    for (size_t i = 0; i < conf__num_keys; i++) {
        const conf_key_t *k = &conf__keys[i];
        if (!(k->scope & scope) || k->def == NULL)
            continue;
        if (k->kind == CONF_KIND_LIST) {
            /* Items separated by spaces: "127.0.0.1 ::1". */
            char buf[256], *save = NULL;
            snprintf(buf, sizeof(buf), "%s", k->def);
            conf__list_clear(k, base);
            if ((k->flags & CONF_F_NONE) && strcmp(buf, "none") == 0)
                continue;
            for (char *s = strtok_r(buf, " ", &save); s != NULL; s = strtok_r(NULL, " ", &save))
                if (conf__list_add(ctx, k, NULL, s, base) < 0)
                    return -1;
        } else if (conf_scalar_set(ctx, k, NULL, k->def, 0, base) < 0) {
            return -1;
        }
    }
    return 0;
}

static int conf__section(conf_ctx_t *ctx, const conf_key_t *k, yaml_node_t *v, char *base)
{
    char keys[256];
    conf__keys_list(k->inner, keys, sizeof(keys));
    if (v->type != YAML_MAPPING_NODE)
        return conf_scalar_error(ctx, v, k->name, "expected a mapping (keys: %s)", keys);
    if (conf__defaults_scope(ctx, base, k->inner) < 0)
        return -1;
    char prefix[64];
    const char *outer = ctx->prefix;
    snprintf(prefix, sizeof(prefix), "%s%s.", outer, k->name);
    ctx->prefix = prefix;
    int r = conf__mapping(ctx, v, k->inner, k->name, base);
    ctx->prefix = outer;
    if (r < 0)
        return -1;
    return conf__required(ctx, k, v, base, k->inner);
}

/* Every required row of scope was given in the mapping v of key k. */
static int conf__required(conf_ctx_t *ctx, const conf_key_t *k, yaml_node_t *v, char *base,
                          unsigned scope)
{
    for (size_t i = 0; i < conf__num_keys; i++) {
        const conf_key_t *in = &conf__keys[i];
        if ((in->scope & scope) && (in->flags & CONF_F_REQUIRED) &&
            *(char **)(void *)(base + in->offset) == NULL)
            return conf_scalar_error(ctx, v, k->name, "%s is missing", in->name);
    }
    return 0;
}

static int conf__value(conf_ctx_t *ctx, const conf_key_t *k, yaml_node_t *v, char *base)
{
    const char *s;
    switch (k->kind) {
    case CONF_KIND_LIST:
        return conf__list(ctx, k, v, base);
    case CONF_KIND_MAP:
        return conf__map(ctx, k, v, (conf_map_t *)(void *)(base + k->offset));
    case CONF_KIND_SECTION:
        return conf__section(ctx, k, v, base);
    case CONF_KIND_HOSTS:
        ctx->hosts = v;
        return 0;
    default:
        if (conf_scalar_get(ctx, v, k->name, &s) < 0)
            return -1;
        return conf_scalar_set(ctx, k, v, s, v->data.scalar.style != YAML_PLAIN_SCALAR_STYLE, base);
    }
}

/* Reads mapping m, whose keys must be rows of scope; where names it in
 * errors (NULL at the top level). */
static int conf__mapping(conf_ctx_t *ctx, yaml_node_t *m, unsigned scope, const char *where,
                         char *base)
{
    const char *seen[64];
    size_t nseen = 0;
    for (yaml_node_pair_t *pair = m->data.mapping.pairs.start; pair < m->data.mapping.pairs.top;
         pair++) {
        yaml_node_t *kn = yaml_document_get_node(ctx->doc, pair->key);
        yaml_node_t *v = yaml_document_get_node(ctx->doc, pair->value);
        if (kn->type != YAML_SCALAR_NODE)
            return conf_scalar_error(ctx, kn, "?", "keys must be plain names");
        const char *key = (const char *)kn->data.scalar.value;
        for (size_t i = 0; i < nseen; i++)
            if (strcmp(seen[i], key) == 0)
                return conf_scalar_error(ctx, kn, key, "set twice");
        if (nseen < sizeof(seen) / sizeof(seen[0]))
            seen[nseen++] = key;
        const conf_key_t *k = conf__key_find(key, scope);
        if (k == NULL) {
            char keys[256];
            if (where == NULL)
                return conf_scalar_error(ctx, kn, key, "unknown key");
            conf__keys_list(scope, keys, sizeof(keys));
            return conf_scalar_error(ctx, kn, key, "unknown key in %s (expected %s)", where, keys);
        }
        if (conf__value(ctx, k, v, base) < 0)
            return -1;
        size_t row = (size_t)(k - conf__keys);
        if (ctx->set != NULL && row < 8 * sizeof(((conf_host_t *)0)->set))
            ctx->set[row / 8] |= (unsigned char)(1u << (row % 8));
    }
    return 0;
}

/* Adds name (on line) for host i to the table: a name seen before is an
 * error naming both lines. */
static int conf__host_name(conf_ctx_t *ctx, conf_t *c, yaml_node_t *node, const char *name,
                           size_t i)
{
    unsigned line = (unsigned)node->start_mark.line + 1, dup_line;
    int dup_host;
    int r = vhost_table_add(c->vhosts, name, (int)i, line, &dup_line, &dup_host);
    if (r < 0)
        return conf_scalar_error(ctx, node, "hosts", "out of memory");
    if (r > 0)
        return conf_scalar_error(ctx, node, "hosts", "\"%s\" (line %u) is already a name of host "
                                 "\"%s\" (line %u)", name, line, c->hosts[dup_host].name, dup_line);
    return 0;
}

/* hosts: each entry a conf_t that starts as a copy of the top level's
 * per-host keys, then reads its own mapping over it (conf_hosts.c). */
static int conf__hosts(conf_ctx_t *ctx, yaml_node_t *v, conf_t *c)
{
    char keys[256], prefix[VHOST_NAME_MAX + 16];
    conf__keys_list(CONF_SCOPE_HOST, keys, sizeof(keys));
    if (v->type != YAML_MAPPING_NODE)
        return conf_scalar_error(ctx, v, "hosts", "expected a mapping of host names to {%s}", keys);
    size_t n = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
    if (n > CONF_MAX_HOSTS)
        return conf_scalar_error(ctx, v, "hosts", "more than %d hosts", CONF_MAX_HOSTS);
    if ((c->hosts = calloc(n ? n : 1, sizeof(*c->hosts))) == NULL ||
        (c->vhosts = vhost_table_new(n * 2)) == NULL)
        return conf_scalar_error(ctx, v, "hosts", "out of memory");
    for (yaml_node_pair_t *pair = v->data.mapping.pairs.start; pair < v->data.mapping.pairs.top;
         pair++) {
        yaml_node_t *kn = yaml_document_get_node(ctx->doc, pair->key);
        yaml_node_t *hv = yaml_document_get_node(ctx->doc, pair->value);
        const char *name = (const char *)kn->data.scalar.value;
        if (kn->type != YAML_SCALAR_NODE || !vhost_name_ok(name))
            return conf_scalar_error(ctx, kn, "hosts", "\"%s\" is not a host name such as "
                                     "example.com or *.example.com",
                                     kn->type == YAML_SCALAR_NODE ? name : "?");
        if (hv->type != YAML_MAPPING_NODE)
            return conf_scalar_error(ctx, hv, "hosts", "host %s: expected a mapping (keys: %s)",
                                     name, keys);
        conf_host_t *h = &c->hosts[c->num_hosts];
        h->line = (unsigned)kn->start_mark.line + 1;
        if ((h->name = strdup(name)) == NULL || (h->conf = calloc(1, sizeof(conf_t))) == NULL ||
            conf__copy_scope(h->conf, c, CONF_SCOPE_HOST) < 0)
            return conf_scalar_error(ctx, kn, "hosts", "out of memory");
        c->num_hosts++;
        if (conf__host_name(ctx, c, kn, name, c->num_hosts - 1) < 0)
            return -1;
        snprintf(prefix, sizeof(prefix), "host %s: ", name);
        ctx->prefix = prefix;
        ctx->set = h->set;
        int r = conf__mapping(ctx, hv, CONF_SCOPE_HOST, "a host", (char *)h->conf);
        ctx->prefix = "";
        ctx->set = NULL;
        if (r < 0)
            return -1;
        /* The aliases again, from their nodes: the table wants their lines. */
        for (yaml_node_pair_t *p = hv->data.mapping.pairs.start; p < hv->data.mapping.pairs.top; p++) {
            yaml_node_t *an = yaml_document_get_node(ctx->doc, p->key);
            yaml_node_t *av = yaml_document_get_node(ctx->doc, p->value);
            if (strcmp((const char *)an->data.scalar.value, "aliases") != 0)
                continue;
            for (yaml_node_item_t *it = av->data.sequence.items.start; it < av->data.sequence.items.top; it++) {
                yaml_node_t *item = yaml_document_get_node(ctx->doc, *it);
                if (conf__host_name(ctx, c, item, (const char *)item->data.scalar.value, c->num_hosts - 1) < 0)
                    return -1;
            }
        }
        if (h->conf->tls_cert != NULL && c->tls_ciphers == NULL)
            return conf_scalar_error(ctx, kn, "hosts", "host %s: tls: needs the top-level tls "
                                     "section (its certificates answer clients without SNI)", name);
        const char *tls[2] = { h->conf->tls_cert, h->conf->tls_key };
        for (size_t j = 0; j < 2; j++)
            if (tls[j] != NULL && access(tls[j], R_OK) < 0)
                return conf_scalar_error(ctx, kn, "hosts", "host %s: tls: %s: %s", name,
                                         tls[j], strerror(errno));
    }
    return 0;
}

/* --- conf_t -------------------------------------------------------------- */

static conf_t *conf__defaults(const char *base, char *err)
{
    conf_ctx_t ctx = { "(defaults)", err, NULL, base, "", NULL, NULL };
    conf_t *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->base = base ? strdup(base) : conf_scalar_abspath(NULL, ".");
    if (c->base == NULL || conf__defaults_scope(&ctx, (char *)c, CONF_SCOPE_TOP) < 0) {
        conf_free(c);
        return NULL;
    }
    return c;
}

conf_t *conf_defaults(void)
{
    char err[CONF_ERR_LEN];
    return conf__defaults(NULL, err);
}

void conf_free(conf_t *c)
{
    if (c == NULL)
        return;
    free(c->file);
    free(c->base);
    conf__free_scope(c, CONF_SCOPE_ALL);
    conf_hosts_free(c);
    free(c);
}

const char *conf_map_get(const conf_map_t *m, const char *key, size_t len)
{
    for (size_t i = 0; i < m->n; i++)
        if (strncasecmp(m->items[i].key, key, len) == 0 && m->items[i].key[len] == '\0')
            return m->items[i].value;
    return NULL;
}

char *conf_pid_file(const char *path)
{
    /* Read only the pid_file key, leniently: `drover -s stop` must find a
     * running master even when the file on disk no longer validates. */
    char *out = NULL, err[CONF_ERR_LEN];
    FILE *f = conf_scalar_open(path, err);
    yaml_parser_t parser;
    yaml_document_t doc;
    if (f != NULL && yaml_parser_initialize(&parser)) {
        yaml_parser_set_input_file(&parser, f);
        if (yaml_parser_load(&parser, &doc)) {
            yaml_node_t *root = yaml_document_get_root_node(&doc);
            if (root != NULL && root->type == YAML_MAPPING_NODE) {
                for (yaml_node_pair_t *pair = root->data.mapping.pairs.start;
                     pair < root->data.mapping.pairs.top; pair++) {
                    yaml_node_t *k = yaml_document_get_node(&doc, pair->key);
                    yaml_node_t *v = yaml_document_get_node(&doc, pair->value);
                    if (k->type == YAML_SCALAR_NODE && v->type == YAML_SCALAR_NODE &&
                        strcmp((const char *)k->data.scalar.value, "pid_file") == 0) {
                        free(out);
                        out = conf_scalar_abspath(NULL, (const char *)v->data.scalar.value);
                    }
                }
            }
            yaml_document_delete(&doc);
        }
        yaml_parser_delete(&parser);
    }
    if (f != NULL)
        fclose(f);
    return out != NULL ? out : conf_scalar_abspath(NULL, "drover.pid");
}

/* Checks across keys: an HTTPS listener needs a certificate. */
static int conf__check_tls(const conf_t *c, const char *path, char *err)
{
    for (size_t i = 0; i < c->num_listen; i++)
        if (c->listen[i].tls && c->num_tls_certs == 0) {
            snprintf(err, CONF_ERR_LEN, "%s:%u: listen: %s has tls: true but %s", path,
                     c->listen[i].line, c->listen[i].spec,
                     c->tls_ciphers == NULL ? "there is no tls section with certificates"
                                            : "tls.certificates is empty");
            return -1;
        }
    return 0;
}

conf_t *conf_load(const char *path, char *err)
{
    return conf_load_at(path, NULL, err);
}

conf_t *conf_load_at(const char *path, const char *base, char *err)
{
    conf_t *c = NULL;
    FILE *f = NULL;
    yaml_parser_t parser;
    yaml_document_t doc;
    int parser_ok = 0, doc_ok = 0;
    conf_ctx_t ctx = { path, err, &doc, base, "", NULL, NULL };

    err[0] = '\0';
    f = conf_scalar_open(path, err);
    if (f == NULL)
        goto fail;
    c = conf__defaults(base, err);
    if (c == NULL || (c->file = conf_scalar_abspath(base, path)) == NULL) {
        if (c == NULL && err[0] != '\0')
            goto fail;
        snprintf(err, CONF_ERR_LEN, "%s: out of memory", path);
        goto fail;
    }
    if (!yaml_parser_initialize(&parser)) {
        snprintf(err, CONF_ERR_LEN, "%s: cannot initialise the YAML parser", path);
        goto fail;
    }
    parser_ok = 1;
    yaml_parser_set_input_file(&parser, f);
    if (!yaml_parser_load(&parser, &doc)) {
        snprintf(err, CONF_ERR_LEN, "%s:%lu: YAML syntax error: %s%s%s", path,
                 (unsigned long)parser.problem_mark.line + 1,
                 parser.problem ? parser.problem : "unknown problem",
                 parser.context ? " " : "", parser.context ? parser.context : "");
        goto fail;
    }
    doc_ok = 1;

    /* SPEC: an empty document is an error. Accepting it would mean "every
     * default", which is never what an empty or truncated file was for. */
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    const char *s;
    if (root == NULL ||
        (root->type == YAML_MAPPING_NODE &&
         root->data.mapping.pairs.top == root->data.mapping.pairs.start) ||
        (root->type == YAML_SCALAR_NODE && root->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
         ((s = (const char *)root->data.scalar.value)[0] == '\0' || !strcmp(s, "~") ||
          !strcmp(s, "null")))) {
        snprintf(err, CONF_ERR_LEN, "%s: the config is empty (no keys); an empty file is "
                 "refused rather than read as every default: write at least listen", path);
        goto fail;
    }
    if (root->type != YAML_MAPPING_NODE) {
        snprintf(err, CONF_ERR_LEN, "%s:%lu: expected a mapping of keys to values", path,
                 (unsigned long)root->start_mark.line + 1);
        goto fail;
    }
    if (conf__mapping(&ctx, root, CONF_SCOPE_TOP, NULL, (char *)c) < 0)
        goto fail;
    if (ctx.hosts != NULL && conf__hosts(&ctx, ctx.hosts, c) < 0)
        goto fail;
    if (conf__check_tls(c, path, err) < 0)
        goto fail;

    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    fclose(f);
    return c;

fail:
    if (doc_ok)
        yaml_document_delete(&doc);
    if (parser_ok)
        yaml_parser_delete(&parser);
    if (f != NULL)
        fclose(f);
    conf_free(c);
    return NULL;
}
