/*
 * conf_health: see conf_health.h.
 */
#include "conf_health.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_keys.h"
#include "conf_scalar.h"
#include "conf_value.h"

/* The path goes into the check's request line as it is: an absolute path
 * (and query) of visible ASCII, nothing a request line could not carry. */
static const char *conf_health__bad_path(const char *s)
{
    if (s[0] != '/')
        return "must start with '/'";
    if (strlen(s) > CONF_HEALTH_PATH_MAX)
        return "is longer than 1024 bytes";
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || *p == '#')
            return "has a space, a control character, '#' or a byte outside ASCII";
    return NULL;
}

int conf_health_parse(void *vctx, void *node, conf_health_t *h)
{
    conf_ctx_t *ctx = vctx;
    yaml_node_t *v = node;
    conf_health_free(h);
    h->interval = 5;
    h->timeout = 2;
    h->fails = 1;
    h->passes = 1;
    if (v->type != YAML_MAPPING_NODE)
        return conf_scalar_error(ctx, v, "health", "expected a mapping such as {path: /healthz, "
                                 "interval: 5s}");
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(ctx->doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(ctx->doc, p->value);
        const char *k = kn->type == YAML_SCALAR_NODE ? (const char *)kn->data.scalar.value : "?";
        const char *t, *why;
        long n;
        double d;
        if (strcmp(k, "path") != 0 && strcmp(k, "interval") != 0 && strcmp(k, "timeout") != 0 &&
            strcmp(k, "fails") != 0 && strcmp(k, "passes") != 0)
            return conf_scalar_error(ctx, kn, "health", "unknown key \"%s\" (path, interval, "
                                     "timeout, fails, passes)", k);
        char key[32];
        snprintf(key, sizeof(key), "health.%s", k);
        if (conf_scalar_get(ctx, vn, key, &t) < 0)
            return -1;
        if (strcmp(k, "path") == 0) {
            if ((why = conf_health__bad_path(t)) != NULL)
                return conf_scalar_error(ctx, vn, key, "\"%.200s\" %s", t, why);
            free(h->path);
            if ((h->path = strdup(t)) == NULL)
                return conf_scalar_error(ctx, vn, key, "out of memory");
        } else if (strcmp(k, "interval") == 0 || strcmp(k, "timeout") == 0) {
            double least = k[0] == 'i' ? CONF_HEALTH_MIN_INTERVAL : 0.001;
            if (conf_value_duration(t, &d) < 0 || d < least || d > 86400)
                return conf_scalar_error(ctx, vn, key, "expected a duration from %s to 1d such "
                                         "as 5s, got \"%s\"", k[0] == 'i' ? "100ms" : "1ms", t);
            *(k[0] == 'i' ? &h->interval : &h->timeout) = d;
        } else {
            if (conf_value_int(t, &n) < 0 || n < 1 || n > 100)
                return conf_scalar_error(ctx, vn, key, "expected 1 to 100, got \"%s\"", t);
            *(k[0] == 'f' ? &h->fails : &h->passes) = (int)n;
        }
    }
    if (h->path == NULL)
        return conf_scalar_error(ctx, v, "health", "path is required, such as {path: /healthz}");
    return 0;
}

void conf_health_print(FILE *out, const conf_health_t *h, const char *indent)
{
    char a[64], b[64];
    if (h->path == NULL)
        return;
    fprintf(out, "%shealth: {path: ", indent);
    conf__print_quoted(out, h->path);
    fprintf(out, ", interval: %s, timeout: %s, fails: %d, passes: %d}\n",
            conf_value_duration_str(h->interval, a, sizeof(a)),
            conf_value_duration_str(h->timeout, b, sizeof(b)), h->fails, h->passes);
}

void conf_health_free(conf_health_t *h)
{
    free(h->path);
    h->path = NULL;
}
