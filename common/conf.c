/*
 * conf: see conf.h.
 *
 * The file is loaded as a libyaml document and walked as one mapping; every
 * node carries its line, so each error can name "file:line: key: problem".
 * Which keys exist, and what each may hold, is the table in conf_keys.c:
 * this file only knows the kinds of value (bool, int, size, duration, path,
 * string, list, map, enum, section) and applies a row to a node. A conf_t
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
#include "conf_value.h"

typedef struct {
    const char *file;
    char *err;
    yaml_document_t *doc;
    const char *base;   /* relative paths are resolved against this */
    const char *prefix; /* "" at the top, "status." inside status */
} conf_ctx_t;

static int conf__error(conf_ctx_t *ctx, const yaml_node_t *node, const char *key,
                       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int conf__error(conf_ctx_t *ctx, const yaml_node_t *node, const char *key,
                       const char *fmt, ...)
{
    char msg[CONF_ERR_LEN / 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(ctx->err, CONF_ERR_LEN, "%s:%lu: %s%s: %s", ctx->file,
             (unsigned long)(node ? node->start_mark.line + 1 : 0), ctx->prefix, key, msg);
    return -1;
}

static char *conf__abspath(const char *base, const char *path)
{
    if (path[0] == '/')
        return strdup(path);
    while (path[0] == '.' && path[1] == '/')
        path += 2;
    char cwd[PATH_MAX];
    if (base != NULL)
        snprintf(cwd, sizeof(cwd), "%s", base);
    else if (getcwd(cwd, sizeof(cwd)) == NULL)
        return NULL;
    size_t n = strlen(cwd) + 1 + strlen(path) + 1;
    char *out = malloc(n);
    if (out == NULL)
        return NULL;
    if (strcmp(path, ".") == 0 || path[0] == '\0')
        snprintf(out, n, "%s", cwd);
    else
        snprintf(out, n, "%s%s%s", cwd, strcmp(cwd, "/") == 0 ? "" : "/", path);
    return out;
}

/* Opens the config file for reading, or says why not. Non-blocking, so a
 * FIFO cannot hang `drover -t`; then only a regular file is accepted. */
static FILE *conf__open(const char *path, char *err)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, CONF_ERR_LEN, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    const char *what = NULL;
    if (fstat(fd, &st) < 0) {
        snprintf(err, CONF_ERR_LEN, "%s: fstat: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    if (S_ISDIR(st.st_mode))
        what = "a directory";
    else if (S_ISFIFO(st.st_mode))
        what = "a FIFO";
    else if (S_ISSOCK(st.st_mode))
        what = "a socket";
    else if (!S_ISREG(st.st_mode))
        what = "a device";
    if (what != NULL) {
        snprintf(err, CONF_ERR_LEN, "%s: is %s, not a config file (expected a regular file)",
                 path, what);
        close(fd);
        return NULL;
    }
    FILE *f = fdopen(fd, "rb");
    if (f == NULL) {
        snprintf(err, CONF_ERR_LEN, "%s: fdopen: %s", path, strerror(errno));
        close(fd);
    }
    return f;
}

static int conf__cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* --- scalars ------------------------------------------------------------- */

static int conf__scalar(conf_ctx_t *ctx, yaml_node_t *v, const char *key, const char **out)
{
    if (v->type != YAML_SCALAR_NODE)
        return conf__error(ctx, v, key, "expected a single value, not a %s",
                           v->type == YAML_SEQUENCE_NODE ? "list" : "mapping");
    const char *s = (const char *)v->data.scalar.value;
    if (v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
        (s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0))
        return conf__error(ctx, v, key, "expected a value");
    *out = s;
    return 0;
}

/* Numbers and booleans are plain scalars: `workers: "2"` is the string
 * "2", and saying so is clearer than guessing what was meant. */
#define CONF__QUOTES "(quotes make a string)"

static int conf__set_path(conf_ctx_t *ctx, const conf_key_t *k, yaml_node_t *v, const char *s,
                          int quoted, char **out)
{
    char *p;
    if ((k->flags & CONF_F_OFF) && (!strcmp(s, "off") || (!quoted && !strcmp(s, "false")))) {
        /* "off", quoted or not, turns it off; a file named off is "./off". */
        p = NULL;
    } else if ((k->flags & CONF_F_STDERR) && !strcmp(s, "stderr")) {
        if ((p = strdup(s)) == NULL)
            return conf__error(ctx, v, k->name, "out of memory");
    } else {
        if ((p = conf__abspath(ctx->base, s)) == NULL)
            return conf__error(ctx, v, k->name, "cannot resolve \"%s\": %s", s, strerror(errno));
        size_t n = strlen(p);
        while (n > 1 && p[n - 1] == '/')
            p[--n] = '\0';
    }
    free(*out);
    *out = p;
    return 0;
}

/* Applies a scalar row to the text s: from the file (v is its node) or
 * from the row's default (v is NULL, s is k->def). */
static int conf__set(conf_ctx_t *ctx, const conf_key_t *k, yaml_node_t *v, const char *s,
                     int quoted, char *base)
{
    void *at = base + k->offset;
    const char *name = k->name;
    char lo[32], hi[32];
    switch (k->kind) {
    case CONF_KIND_BOOL: {
        int b;
        if (quoted)
            return conf__error(ctx, v, name, "expected true or false, got the string \"%s\" "
                               CONF__QUOTES, s);
        if (conf_value_bool(s, &b) < 0)
            return conf__error(ctx, v, name, "expected true or false, got \"%s\"", s);
        *(int *)at = b;
        return 0;
    }
    case CONF_KIND_INT: {
        long n;
        const char *or_auto = (k->flags & CONF_F_AUTO) ? " or \"auto\"" : "";
        if ((k->flags & CONF_F_AUTO) && !strcmp(s, "auto")) {
            *(int *)at = conf__cpus();
            return 0;
        }
        if (quoted)
            return conf__error(ctx, v, name, "expected a number%s, got the string \"%s\" "
                               CONF__QUOTES, or_auto, s);
        if (conf_value_int(s, &n) < 0)
            return conf__error(ctx, v, name, "expected a number%s, got \"%s\"", or_auto, s);
        if (n < (long)k->min || n > (long)k->max)
            return conf__error(ctx, v, name, "%ld is out of range %ld..%ld", n, (long)k->min,
                               (long)k->max);
        *(int *)at = (int)n;
        return 0;
    }
    case CONF_KIND_SIZE: {
        size_t n;
        if (conf_value_size(s, &n) < 0)
            return conf__error(ctx, v, name,
                               "expected a size such as 8192, \"8k\" or \"1m\", got \"%s\"", s);
        if (n < (size_t)k->min || n > (size_t)k->max)
            return conf__error(ctx, v, name, "%s is out of range %s..%s bytes", s,
                               conf_value_size_str((size_t)k->min, lo, sizeof(lo)),
                               conf_value_size_str((size_t)k->max, hi, sizeof(hi)));
        *(size_t *)at = n;
        return 0;
    }
    case CONF_KIND_DURATION: {
        double d;
        if (conf_value_duration(s, &d) < 0)
            return conf__error(ctx, v, name, "expected a duration such as 30, \"500ms\", "
                               "\"15s\" or \"2m\", got \"%s\"", s);
        if (d < k->min || d > k->max)
            return conf__error(ctx, v, name, "\"%s\" is out of range %s..%s", s,
                               conf_value_duration_str(k->min, lo, sizeof(lo)),
                               conf_value_duration_str(k->max, hi, sizeof(hi)));
        *(double *)at = d;
        return 0;
    }
    case CONF_KIND_ENUM: {
        int i;
        if (conf_value_enum(s, k->names, &i) < 0) {
            char list[256];
            size_t n = 0;
            for (int j = 0; k->names[j] != NULL && n < sizeof(list); j++)
                n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s",
                                      j == 0 ? "" : k->names[j + 1] == NULL ? " or " : ", ",
                                      k->names[j]);
            return conf__error(ctx, v, name, "expected %s, got \"%s\"", list, s);
        }
        *(int *)at = i;
        return 0;
    }
    case CONF_KIND_PATH:
        return conf__set_path(ctx, k, v, s, quoted, at);
    case CONF_KIND_STRING: {
        if (k->check != NULL && !k->check(s))
            return conf__error(ctx, v, name, "expected %s, got \"%s\"", k->expected, s);
        char *p = strdup(s);
        if (p == NULL)
            return conf__error(ctx, v, name, "out of memory");
        free(*(char **)at);
        *(char **)at = p;
        if (k->line_offset != 0 && v != NULL)
            *(unsigned *)(void *)(base + k->line_offset) = (unsigned)v->start_mark.line + 1;
        return 0;
    }
    default:
        return conf__error(ctx, v, name, "not a single value");
    }
}

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
    if (*n == k->max_items)
        return conf__error(ctx, v, k->name, "more than %zu entries", k->max_items);
    if (lk->parse(s, item) < 0)
        return conf__error(ctx, v, k->name, "expected %s, got \"%s\"", lk->expected, s);
    for (size_t j = 0; lk->same != NULL && j < *n; j++)
        if (lk->same(at + j * lk->size, item))
            return conf__error(ctx, v, k->name, "\"%s\" is listed twice", s);
    if (lk->keep != NULL && lk->keep(item, s) < 0)
        return conf__error(ctx, v, k->name, "out of memory");
    (*n)++;
    return 0;
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
        return conf__error(ctx, v, k->name, "more than %zu entries", k->max_items);
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
        return conf__error(ctx, v, k->name, "%s", why);
    for (size_t j = 0; lk->same != NULL && j + 1 < *n; j++)
        if (lk->same(at + j * lk->size, item))
            return conf__error(ctx, v, k->name, "this entry is listed twice");
    return 0;
}

static int conf__list(conf_ctx_t *ctx, const conf_key_t *k, yaml_node_t *v, char *base)
{
    if (v->type != YAML_SEQUENCE_NODE)
        return conf__error(ctx, v, k->name, "expected a list such as [a, b], not a %s",
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
            return conf__error(ctx, item, k->name, "expected a list of values");
        if (conf__list_add(ctx, k, item, (const char *)item->data.scalar.value, base) < 0)
            return -1;
    }
    if (*(size_t *)(void *)(base + k->count_offset) == 0)
        return conf__error(ctx, v, k->name, "expected at least one entry");
    return 0;
}

static int conf__map(conf_ctx_t *ctx, const conf_key_t *k, yaml_node_t *v, conf_map_t *m)
{
    const conf_map_kind_t *kind = k->map;
    const char *key = k->name;
    if (v->type != YAML_MAPPING_NODE)
        return conf__error(ctx, v, key, "expected a mapping such as %s", kind->example);
    conf__map_free(m);
    size_t n = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
    if (n > CONF_MAX_MAP)
        return conf__error(ctx, v, key, "more than %d entries", CONF_MAX_MAP);
    m->items = calloc(n ? n : 1, sizeof(*m->items));
    if (m->items == NULL)
        return conf__error(ctx, v, key, "out of memory");
    for (yaml_node_pair_t *pair = v->data.mapping.pairs.start; pair < v->data.mapping.pairs.top;
         pair++) {
        yaml_node_t *kn = yaml_document_get_node(ctx->doc, pair->key);
        yaml_node_t *val = yaml_document_get_node(ctx->doc, pair->value);
        if (kn->type != YAML_SCALAR_NODE)
            return conf__error(ctx, kn, key, "keys must be plain names");
        const char *ks = (const char *)kn->data.scalar.value;
        if (!kind->key_ok(ks))
            return conf__error(ctx, kn, key, "\"%s\" is not %s", ks, kind->key_what);
        if (conf_map_get(m, ks, strlen(ks)) != NULL)
            return conf__error(ctx, kn, key, "\"%s\" is set twice", ks);
        const char *vs;
        if (conf__scalar(ctx, val, key, &vs) < 0)
            return -1;
        if (!kind->value_ok(vs))
            return conf__error(ctx, val, key, "%s: \"%s\" is not %s", ks, vs, kind->value_what);
        conf_pair_t *p = &m->items[m->n];
        p->key = strdup(ks);
        p->value = strdup(vs);
        if (p->key == NULL || p->value == NULL) {
            free(p->key);
            free(p->value);
            return conf__error(ctx, v, key, "out of memory");
        }
        for (char *q = p->key; *q; q++)
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
            for (char *s = strtok_r(buf, " ", &save); s != NULL; s = strtok_r(NULL, " ", &save))
                if (conf__list_add(ctx, k, NULL, s, base) < 0)
                    return -1;
        } else if (conf__set(ctx, k, NULL, k->def, 0, base) < 0) {
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
        return conf__error(ctx, v, k->name, "expected a mapping (keys: %s)", keys);
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
            return conf__error(ctx, v, k->name, "%s is missing", in->name);
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
    default:
        if (conf__scalar(ctx, v, k->name, &s) < 0)
            return -1;
        return conf__set(ctx, k, v, s, v->data.scalar.style != YAML_PLAIN_SCALAR_STYLE, base);
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
            return conf__error(ctx, kn, "?", "keys must be plain names");
        const char *key = (const char *)kn->data.scalar.value;
        for (size_t i = 0; i < nseen; i++)
            if (strcmp(seen[i], key) == 0)
                return conf__error(ctx, kn, key, "set twice");
        if (nseen < sizeof(seen) / sizeof(seen[0]))
            seen[nseen++] = key;
        const conf_key_t *k = conf__key_find(key, scope);
        if (k == NULL) {
            char keys[256];
            if (where == NULL)
                return conf__error(ctx, kn, key, "unknown key");
            conf__keys_list(scope, keys, sizeof(keys));
            return conf__error(ctx, kn, key, "unknown key in %s (expected %s)", where, keys);
        }
        if (conf__value(ctx, k, v, base) < 0)
            return -1;
    }
    return 0;
}

/* --- conf_t -------------------------------------------------------------- */

static conf_t *conf__defaults(const char *base, char *err)
{
    conf_ctx_t ctx = { "(defaults)", err, NULL, base, "" };
    conf_t *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->base = base ? strdup(base) : conf__abspath(NULL, ".");
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
    FILE *f = conf__open(path, err);
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
                        out = conf__abspath(NULL, (const char *)v->data.scalar.value);
                    }
                }
            }
            yaml_document_delete(&doc);
        }
        yaml_parser_delete(&parser);
    }
    if (f != NULL)
        fclose(f);
    return out != NULL ? out : conf__abspath(NULL, "drover.pid");
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
    conf_ctx_t ctx = { path, err, &doc, base, "" };

    err[0] = '\0';
    f = conf__open(path, err);
    if (f == NULL)
        goto fail;
    c = conf__defaults(base, err);
    if (c == NULL || (c->file = conf__abspath(base, path)) == NULL) {
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
