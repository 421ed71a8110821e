/*
 * conf_compress: see conf_compress.h.
 */
#include "conf_compress.h"

#include <ctype.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf_keys.h"
#include "conf_scalar.h"
#include "conf_value.h"

#define CONF_COMPRESS_TYPES_MAX 32

static const char *const conf_compress__names[CONF_CODINGS] = { NULL, "gzip", "br", "zstd" };
/* Levels a codec accepts: libdeflate 1..12, brotli 0..11, zstd 1..22. */
static const int conf_compress__max[CONF_CODINGS] = { 0, 12, 11, 22 };
static const int conf_compress__min[CONF_CODINGS] = { 0, 1, 0, 1 };

const char *conf_compress_coding_name(int coding)
{
    return coding > 0 && coding < CONF_CODINGS ? conf_compress__names[coding] : NULL;
}

static int conf_compress__coding(const char *s)
{
    for (int c = 1; c < CONF_CODINGS; c++)
        if (strcasecmp(s, conf_compress__names[c]) == 0)
            return c;
    return 0;
}

void conf_compress_defaults(conf_compress_t *z)
{
    memset(z, 0, sizeof(*z));
    z->num_encodings = 3;
    z->encodings[0] = CONF_CODING_ZSTD;
    z->encodings[1] = CONF_CODING_BR;
    z->encodings[2] = CONF_CODING_GZIP;
    z->level[CONF_CODING_GZIP] = 9;
    z->level[CONF_CODING_BR] = 11;
    z->level[CONF_CODING_ZSTD] = 19;
    z->min_size = 256;
    z->cache_max = (size_t)512 << 20;
}

int conf_compress_copy(void *dst, const void *src)
{
    conf_compress_t *d = dst;
    const conf_compress_t *s = src;
    *d = *s;
    d->types = d->cache_path = NULL;
    if (s->types != NULL && (d->types = strdup(s->types)) == NULL)
        return -1;
    if (s->cache_path != NULL && (d->cache_path = strdup(s->cache_path)) == NULL)
        return -1;
    return 0;
}

void conf_compress_release(void *at, const char *name)
{
    (void)name;
    conf_compress_t *z = at;
    free(z->types);
    free(z->cache_path);
    z->types = z->cache_path = NULL;
}

int conf_compress_finish(conf_t *c)
{
    if (c->compress.cache_path != NULL)
        return 0;
    char *pid = strdup(c->pid_file != NULL ? c->pid_file : "/tmp/drover.pid");
    if (pid == NULL)
        return -1;
    const char *dir = dirname(pid);
    size_t n = strlen(dir) + sizeof("/drover-cache");
    c->compress.cache_path = malloc(n);
    if (c->compress.cache_path != NULL)
        snprintf(c->compress.cache_path, n, "%s/drover-cache", strcmp(dir, "/") ? dir : "");
    free(pid);
    return c->compress.cache_path != NULL ? 0 : -1;
}

int conf_compress_type_ok(const conf_compress_t *z, const char *type)
{
    const char *list = z->types != NULL ? z->types : CONF_COMPRESS_TYPES;
    size_t n = strcspn(type, "; \t");
    const char *slash = memchr(type, '/', n);
    if (slash == NULL || n == 0 || n > 127)
        return 0;
    char want[160];
    for (size_t i = 0; i < n; i++)
        want[i] = (char)tolower((unsigned char)type[i]);
    /* " type/sub " exactly, or " type/" and a star */
    char exact[160], any[160];
    snprintf(exact, sizeof(exact), " %.*s ", (int)n, want);
    snprintf(any, sizeof(any), " %.*s* ", (int)(slash - type + 1), want);
    return strstr(list, exact) != NULL || strstr(list, any) != NULL;
}

/* type/subtype, or type/ and a star; tokens only. */
static int conf_compress__is_type(const char *s)
{
    const char *slash = strchr(s, '/');
    size_t n = strlen(s);
    if (slash == NULL || slash == s || n > 100 || slash[1] == '\0')
        return 0;
    if (strcmp(slash + 1, "*") == 0)
        return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-+.") ==
               (size_t)(slash - s);
    return conf_value_is_media_type(s) && strchr(s, ';') == NULL && strchr(s, ' ') == NULL &&
           strchr(slash + 1, '/') == NULL;
}

static int conf_compress__list(conf_ctx_t *ctx, yaml_node_t *v, const char *key,
                               yaml_node_item_t **start, size_t *n)
{
    if (v->type != YAML_SEQUENCE_NODE || v->data.sequence.items.top == v->data.sequence.items.start)
        return conf_scalar_error(ctx, v, "compress", "%s: expected a list of at least one entry",
                                 key);
    *start = v->data.sequence.items.start;
    *n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    return 0;
}

static int conf_compress__encodings(conf_ctx_t *ctx, yaml_node_t *v, conf_compress_t *z)
{
    yaml_node_item_t *it = NULL;
    size_t n = 0;
    const char *s;
    if (conf_compress__list(ctx, v, "encodings", &it, &n) < 0)
        return -1;
    if (n > CONF_CODINGS - 1)
        return conf_scalar_error(ctx, v, "compress", "encodings: at most zstd, br and gzip");
    z->num_encodings = 0;
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *item = yaml_document_get_node(ctx->doc, it[i]);
        if (conf_scalar_get(ctx, item, "compress", &s) < 0)
            return -1;
        int c = conf_compress__coding(s);
        if (c == 0)
            return conf_scalar_error(ctx, item, "compress", "encodings: \"%s\" is not zstd, br "
                                     "or gzip", s);
        for (int j = 0; j < z->num_encodings; j++)
            if (z->encodings[j] == c)
                return conf_scalar_error(ctx, item, "compress", "encodings: \"%s\" twice", s);
        z->encodings[z->num_encodings++] = c;
    }
    return 0;
}

static int conf_compress__types(conf_ctx_t *ctx, yaml_node_t *v, conf_compress_t *z)
{
    yaml_node_item_t *it = NULL;
    size_t n = 0, len;
    const char *s;
    if (conf_compress__list(ctx, v, "types", &it, &n) < 0)
        return -1;
    if (n > CONF_COMPRESS_TYPES_MAX)
        return conf_scalar_error(ctx, v, "compress", "types: more than %d entries",
                                 CONF_COMPRESS_TYPES_MAX);
    char *out = malloc(n * 104 + 2);
    if (out == NULL)
        return conf_scalar_error(ctx, v, "compress", "out of memory");
    out[0] = ' ';
    out[1] = '\0';
    len = 1;
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *item = yaml_document_get_node(ctx->doc, it[i]);
        if (conf_scalar_get(ctx, item, "compress", &s) < 0 || !conf_compress__is_type(s)) {
            if (!ctx->err[0] || conf_compress__is_type(s) == 0)
                conf_scalar_error(ctx, item, "compress", "types: \"%s\" is not a media type "
                                  "such as text/html or text/*", s ? s : "?");
            free(out);
            return -1;
        }
        for (const char *p = s; *p; p++)
            out[len++] = (char)tolower((unsigned char)*p);
        out[len++] = ' ';
        out[len] = '\0';
    }
    free(z->types);
    z->types = out;
    return 0;
}

static int conf_compress__levels(conf_ctx_t *ctx, yaml_node_t *v, conf_compress_t *z)
{
    if (v->type != YAML_MAPPING_NODE)
        return conf_scalar_error(ctx, v, "compress", "level: expected {gzip: 9, br: 11, zstd: 19}");
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(ctx->doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(ctx->doc, p->value);
        const char *k, *s;
        if (conf_scalar_get(ctx, kn, "compress", &k) < 0 || conf_scalar_get(ctx, vn, "compress", &s) < 0)
            return -1;
        int c = conf_compress__coding(k);
        if (c == 0)
            return conf_scalar_error(ctx, kn, "compress", "level: \"%s\" is not zstd, br or gzip", k);
        char *end;
        long l = strtol(s, &end, 10);
        if (s[0] < '0' || s[0] > '9' || *end != '\0' || l < conf_compress__min[c] ||
            l > conf_compress__max[c])
            return conf_scalar_error(ctx, vn, "compress", "level: %s: expected a number from %d "
                                     "to %d, got \"%s\"", k, conf_compress__min[c],
                                     conf_compress__max[c], s);
        z->level[c] = (int)l;
    }
    return 0;
}

static int conf_compress__cache(conf_ctx_t *ctx, yaml_node_t *v, conf_compress_t *z)
{
    if (ctx->prefix[0] != '\0')
        return conf_scalar_error(ctx, v, "compress", "cache: only at the top level (one cache "
                                 "directory serves every host)");
    if (v->type != YAML_MAPPING_NODE)
        return conf_scalar_error(ctx, v, "compress", "cache: expected {path, max_size}");
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(ctx->doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(ctx->doc, p->value);
        const char *k, *s;
        if (conf_scalar_get(ctx, kn, "compress", &k) < 0 || conf_scalar_get(ctx, vn, "compress", &s) < 0)
            return -1;
        if (strcmp(k, "path") == 0) {
            if (s[0] == '\0')
                return conf_scalar_error(ctx, vn, "compress", "cache: path: expected a directory");
            free(z->cache_path);
            if ((z->cache_path = conf_scalar_abspath(ctx->base, s)) == NULL)
                return conf_scalar_error(ctx, vn, "compress", "out of memory");
        } else if (strcmp(k, "max_size") == 0) {
            if (conf_value_size(s, &z->cache_max) < 0 || z->cache_max < 65536)
                return conf_scalar_error(ctx, vn, "compress", "cache: max_size: expected a size "
                                         "of at least 64k such as 512m, got \"%s\"", s);
        } else {
            return conf_scalar_error(ctx, kn, "compress", "cache: unknown key \"%s\" (expected "
                                     "path or max_size)", k);
        }
    }
    return 0;
}

int conf_compress_node(void *vctx, const void *row, void *value, char *base)
{
    conf_ctx_t *ctx = vctx;
    yaml_node_t *v = value;
    conf_compress_t *z = &((conf_t *)(void *)base)->compress;
    const char *s;
    (void)row;
    if (v->type == YAML_SCALAR_NODE) {
        if (conf_scalar_get(ctx, v, "compress", &s) < 0)
            return -1;
        if (strcmp(s, "off") == 0 || strcmp(s, "false") == 0)
            z->on = 0;
        else if (strcmp(s, "on") == 0 || strcmp(s, "true") == 0)
            z->on = 1;
        else
            return conf_scalar_error(ctx, v, "compress", "expected off, on or {encodings, types, "
                                     "min_size, level, cache}, got \"%s\"", s);
        return 0;
    }
    if (v->type != YAML_MAPPING_NODE)
        return conf_scalar_error(ctx, v, "compress", "expected off, on or {encodings, types, "
                                 "min_size, level, cache}");
    z->on = 1;
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(ctx->doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(ctx->doc, p->value);
        const char *k;
        int r;
        if (conf_scalar_get(ctx, kn, "compress", &k) < 0)
            return -1;
        if (strcmp(k, "encodings") == 0) {
            r = conf_compress__encodings(ctx, vn, z);
        } else if (strcmp(k, "types") == 0) {
            r = conf_compress__types(ctx, vn, z);
        } else if (strcmp(k, "level") == 0) {
            r = conf_compress__levels(ctx, vn, z);
        } else if (strcmp(k, "cache") == 0) {
            r = conf_compress__cache(ctx, vn, z);
        } else if (strcmp(k, "min_size") == 0) {
            if ((r = conf_scalar_get(ctx, vn, "compress", &s)) == 0 &&
                (conf_value_size(s, &z->min_size) < 0 || z->min_size > ((size_t)1 << 30)))
                r = conf_scalar_error(ctx, vn, "compress", "min_size: expected a size such as "
                                      "256 or 1k, got \"%s\"", s);
        } else {
            r = conf_scalar_error(ctx, kn, "compress", "unknown key \"%s\" (expected encodings, "
                                  "types, min_size, level or cache)", k);
        }
        if (r < 0)
            return -1;
    }
    return 0;
}

void conf_compress_print(FILE *out, const conf_compress_t *z, int top)
{
    char buf[64];
    if (!z->on) {
        fputs("off\n", out);
        return;
    }
    fputs("{encodings: [", out);
    for (int i = 0; i < z->num_encodings; i++)
        fprintf(out, "%s%s", i ? ", " : "", conf_compress__names[z->encodings[i]]);
    fputs("], types: [", out);
    const char *t = z->types != NULL ? z->types : CONF_COMPRESS_TYPES;
    int first = 1;
    for (const char *p = t; *p;) {
        while (*p == ' ')
            p++;
        size_t n = strcspn(p, " ");
        if (n == 0)
            break;
        fprintf(out, "%s\"%.*s\"", first ? "" : ", ", (int)n, p);
        first = 0;
        p += n;
    }
    fprintf(out, "], min_size: %s, level: {gzip: %d, br: %d, zstd: %d}",
            conf_value_size_str(z->min_size, buf, sizeof(buf)), z->level[CONF_CODING_GZIP],
            z->level[CONF_CODING_BR], z->level[CONF_CODING_ZSTD]);
    if (top && z->cache_path != NULL) {
        fputs(", cache: {path: ", out);
        conf__print_quoted(out, z->cache_path);
        fprintf(out, ", max_size: %s}", conf_value_size_str(z->cache_max, buf, sizeof(buf)));
    }
    fputs("}\n", out);
}
