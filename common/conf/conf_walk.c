/*
 * conf_walk: see conf_walk.h.
 *
 * Lists (whose items may be mappings of their own scope, as listen entries
 * are), maps and sections are walked here; single values go to
 * conf_scalar.c. Keys whose value is read later, once the mapping around
 * them is whole (hosts:, locations:), are only noted in the context.
 */
#include "conf_walk.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf_keys.h"
#include "conf_scalar.h"
#include "conf_suggest.h"
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
    int r = conf_walk_defaults(ctx, item, lk->item_scope);
    if (r == 0)
        r = conf_walk_mapping(ctx, v, lk->item_scope, k->name, item);
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
int conf_walk_defaults(conf_ctx_t *ctx, char *base, unsigned scope)
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
    if (conf_walk_defaults(ctx, base, k->inner) < 0)
        return -1;
    char prefix[64];
    const char *outer = ctx->prefix;
    snprintf(prefix, sizeof(prefix), "%s%s.", outer, k->name);
    ctx->prefix = prefix;
    int r = conf_walk_mapping(ctx, v, k->inner, k->name, base);
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
    case CONF_KIND_LOCATIONS:
        ctx->locations = v;
        return 0;
    case CONF_KIND_NODE:
        return k->node(ctx, k, v, base);
    default:
        if (conf_scalar_get(ctx, v, k->name, &s) < 0)
            return -1;
        return conf_scalar_set(ctx, k, v, s, v->data.scalar.style != YAML_PLAIN_SCALAR_STYLE, base);
    }
}

/* Reads mapping m, whose keys must be rows of scope; where names it in
 * errors (NULL at the top level). */
int conf_walk_mapping(conf_ctx_t *ctx, yaml_node_t *m, unsigned scope, const char *where,
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
            char keys[256], hint[96] = "";
            const char *near = conf_suggest_key(key, scope);
            if (near != NULL)
                snprintf(hint, sizeof(hint), ": did you mean %s?", near);
            if (where == NULL)
                return conf_scalar_error(ctx, kn, key, "unknown key%s", hint);
            conf__keys_list(scope, keys, sizeof(keys));
            return conf_scalar_error(ctx, kn, key, "unknown key in %s%s (expected %s)", where, hint,
                                     keys);
        }
        if (conf__value(ctx, k, v, base) < 0)
            return -1;
        size_t row = (size_t)(k - conf__keys);
        if (ctx->set != NULL && row < 8 * sizeof(((conf_host_t *)0)->set))
            ctx->set[row / 8] |= (unsigned char)(1u << (row % 8));
    }
    return 0;
}


const char *conf_map_get(const conf_map_t *m, const char *key, size_t len)
{
    for (size_t i = 0; i < m->n; i++)
        if (strncasecmp(m->items[i].key, key, len) == 0 && m->items[i].key[len] == '\0')
            return m->items[i].value;
    return NULL;
}
