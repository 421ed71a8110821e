/*
 * conf_rule_keys: see conf_rule_keys.h.
 */
#include "conf_rule_keys.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf_keys.h"
#include "conf_scalar.h"
#include "conf_value.h"
#include "http_parser.h"
#include "str.h"

#define CONF_RULE_URL_MAX 2048
#define CONF_RULE_BODY_MAX 65536

int conf_rule_keys_is_redirect_code(long code)
{
    return code == 301 || code == 302 || code == 303 || code == 307 || code == 308;
}

/* A plain scalar that YAML reads as null: ~, null, or nothing. */
static int conf_rule__is_null(const yaml_node_t *v)
{
    const char *s = (const char *)v->data.scalar.value;
    return v->type == YAML_SCALAR_NODE && v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
           (s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0);
}

/* An integer in [lo, hi] written as a plain scalar, or -1. */
static long conf_rule__code(const char *s, long lo, long hi)
{
    char *end;
    long n = strtol(s, &end, 10);
    if (s[0] < '0' || s[0] > '9' || *end != '\0' || n < lo || n > hi)
        return -1;
    return n;
}

/* Printable ASCII without spaces: what a Location (or a try_files entry)
 * can carry without breaking the header line it goes out on. */
static int conf_rule__is_url(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > CONF_RULE_URL_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            return 0;
    return 1;
}

static int conf_rule__strdup(conf_ctx_t *ctx, yaml_node_t *v, const char *key, const char *s,
                             char **out)
{
    free(*out);
    if ((*out = strdup(s)) == NULL)
        return conf_scalar_error(ctx, v, key, "out of memory");
    return 0;
}

int conf_rule_keys_try_files(void *vctx, const void *row, void *value, char *base)
{
    conf_ctx_t *ctx = vctx;
    yaml_node_t *v = value;
    conf_t *c = (conf_t *)(void *)base;
    (void)row;
    if (v->type != YAML_SEQUENCE_NODE || v->data.sequence.items.top == v->data.sequence.items.start)
        return conf_scalar_error(ctx, v, "try_files", "expected a list of at least one entry, "
                                 "such as [$uri, $uri/, /index.html]");
    size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (n > CONF_MAX_TRY_FILES)
        return conf_scalar_error(ctx, v, "try_files", "more than %d entries", CONF_MAX_TRY_FILES);
    for (size_t i = 0; i < c->num_try_files; i++)
        free(c->try_files[i]);
    c->num_try_files = 0;
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *item = yaml_document_get_node(ctx->doc, v->data.sequence.items.start[i]);
        const char *s;
        if (conf_scalar_get(ctx, item, "try_files", &s) < 0)
            return -1;
        int last = i + 1 == n;
        if (s[0] == '=') {
            if (!last || conf_rule__code(s + 1, 200, 599) < 0)
                return conf_scalar_error(ctx, item, "try_files", "\"%s\": =CODE (such as =404) "
                                         "is only the last entry, with a code from 200 to 599", s);
        } else if (s[0] == '@') {
            if (!last || s[1] == '\0')
                return conf_scalar_error(ctx, item, "try_files", "\"%s\": a named location "
                                         "(@name) is only the last entry", s);
        } else if (s[0] != '/' && s[0] != '$') {
            return conf_scalar_error(ctx, item, "try_files", "\"%s\": expected a path such as "
                                     "$uri, $uri.html, $uri/ or /index.html", s);
        }
        if (!conf_rule__is_url(s))
            return conf_scalar_error(ctx, item, "try_files", "\"%s\": spaces and control "
                                     "characters cannot be in a path", s);
        if ((c->try_files[i] = strdup(s)) == NULL)
            return conf_scalar_error(ctx, item, "try_files", "out of memory");
        c->num_try_files++;
    }
    return 0;
}

int conf_rule_keys_return(void *vctx, const void *row, void *value, char *base)
{
    conf_ctx_t *ctx = vctx;
    yaml_node_t *v = value;
    conf_t *c = (conf_t *)(void *)base;
    const char *s;
    (void)row;
    if (v->type == YAML_SCALAR_NODE) {
        if (conf_scalar_get(ctx, v, "return", &s) < 0)
            return -1;
        if ((c->return_code = (int)conf_rule__code(s, 200, 599)) < 0)
            return conf_scalar_error(ctx, v, "return", "expected a status code from 200 to 599 "
                                     "or {code, body, type}, got \"%s\"", s);
        return 0;
    }
    if (v->type != YAML_MAPPING_NODE)
        return conf_scalar_error(ctx, v, "return", "expected a status code or {code, body, type}");
    c->return_code = 0;
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(ctx->doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(ctx->doc, p->value);
        const char *k = kn->type == YAML_SCALAR_NODE ? (const char *)kn->data.scalar.value : "?";
        if (conf_scalar_get(ctx, vn, "return", &s) < 0)
            return -1;
        if (strcmp(k, "code") == 0) {
            if ((c->return_code = (int)conf_rule__code(s, 200, 599)) < 0)
                return conf_scalar_error(ctx, vn, "return", "code: expected a status code from "
                                         "200 to 599, got \"%s\"", s);
        } else if (strcmp(k, "body") == 0) {
            if (strlen(s) > CONF_RULE_BODY_MAX)
                return conf_scalar_error(ctx, vn, "return", "body: longer than %d bytes",
                                         CONF_RULE_BODY_MAX);
            if (conf_rule__strdup(ctx, vn, "return", s, &c->return_body) < 0)
                return -1;
        } else if (strcmp(k, "type") == 0) {
            if (!conf_value_is_media_type(s))
                return conf_scalar_error(ctx, vn, "return", "type: \"%s\" is not a media type "
                                         "such as text/plain", s);
            if (conf_rule__strdup(ctx, vn, "return", s, &c->return_type) < 0)
                return -1;
        } else {
            return conf_scalar_error(ctx, kn, "return", "unknown key %s (expected code, body "
                                     "or type)", k);
        }
    }
    if (c->return_code == 0)
        return conf_scalar_error(ctx, v, "return", "code is missing");
    return 0;
}

int conf_rule_keys_redirect(void *vctx, const void *row, void *value, char *base)
{
    conf_ctx_t *ctx = vctx;
    yaml_node_t *v = value, *at = v;
    conf_t *c = (conf_t *)(void *)base;
    const char *to = NULL, *s;
    long code = 301;
    (void)row;
    if (v->type == YAML_SCALAR_NODE) {
        if (conf_scalar_get(ctx, v, "redirect", &to) < 0)
            return -1;
    } else if (v->type == YAML_MAPPING_NODE) {
        for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
            yaml_node_t *kn = yaml_document_get_node(ctx->doc, p->key);
            yaml_node_t *vn = yaml_document_get_node(ctx->doc, p->value);
            const char *k = kn->type == YAML_SCALAR_NODE ? (const char *)kn->data.scalar.value : "?";
            if (conf_scalar_get(ctx, vn, "redirect", &s) < 0)
                return -1;
            if (strcmp(k, "to") == 0) {
                to = s;
                at = vn;
            } else if (strcmp(k, "code") == 0) {
                code = conf_rule__code(s, 100, 999);
                if (!conf_rule_keys_is_redirect_code(code))
                    return conf_scalar_error(ctx, vn, "redirect", "code: %s is not a redirect "
                                             "code (301, 302, 303, 307 or 308)", s);
            } else {
                return conf_scalar_error(ctx, kn, "redirect", "unknown key %s (expected to or "
                                         "code)", k);
            }
        }
        if (to == NULL)
            return conf_scalar_error(ctx, v, "redirect", "to is missing");
    } else {
        return conf_scalar_error(ctx, v, "redirect", "expected a URL or {to, code}");
    }
    if (!conf_rule__is_url(to))
        return conf_scalar_error(ctx, at, "redirect", "\"%s\" is not a URL or path (printable, "
                                 "no spaces, up to %d bytes)", to, CONF_RULE_URL_MAX);
    c->redirect_code = (int)code;
    return conf_rule__strdup(ctx, at, "redirect", to, &c->redirect_to);
}

int conf_rule_keys_headers(void *vctx, const void *row, void *value, char *base)
{
    conf_ctx_t *ctx = vctx;
    yaml_node_t *v = value;
    conf_t *c = (conf_t *)(void *)base;
    conf_map_t *m = &c->rule_headers;
    (void)row;
    if (v->type != YAML_MAPPING_NODE)
        return conf_scalar_error(ctx, v, "headers", "expected a mapping such as "
                                 "{X-Frame-Options: DENY, X-Powered-By: null}");
    conf__map_free(m);
    size_t n = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
    if (n > CONF_MAX_MAP)
        return conf_scalar_error(ctx, v, "headers", "more than %d entries", CONF_MAX_MAP);
    if ((m->items = calloc(n ? n : 1, sizeof(*m->items))) == NULL)
        return conf_scalar_error(ctx, v, "headers", "out of memory");
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(ctx->doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(ctx->doc, p->value);
        const char *k = kn->type == YAML_SCALAR_NODE ? (const char *)kn->data.scalar.value : "";
        const char *s = "";
        if (!conf_value_is_extra_header(k))
            return conf_scalar_error(ctx, kn, "headers", "\"%s\" is not a header name (a token; "
                                     "not Content-Length, Transfer-Encoding, Connection, "
                                     "Keep-Alive, Upgrade, Date or Server)", k);
        if (conf_map_get(m, k, strlen(k)) != NULL)
            return conf_scalar_error(ctx, kn, "headers", "\"%s\" is set twice", k);
        if (!conf_rule__is_null(vn)) {
            if (conf_scalar_get(ctx, vn, "headers", &s) < 0)
                return -1;
            if (!conf_value_is_header_value(s, 1024))
                return conf_scalar_error(ctx, vn, "headers", "%s: \"%s\" is not a header value "
                                         "(printable ASCII, up to 1024 bytes; null removes it)",
                                         k, s);
        }
        conf_pair_t *pair = &m->items[m->n];
        if ((pair->key = strdup(k)) == NULL || (pair->value = strdup(s)) == NULL) {
            free(pair->key);
            pair->key = NULL;
            return conf_scalar_error(ctx, v, "headers", "out of memory");
        }
        m->n++;
    }
    return 0;
}

int conf_rule_keys_methods(void *vctx, const void *row, void *value, char *base)
{
    conf_ctx_t *ctx = vctx;
    yaml_node_t *v = value;
    conf_t *c = (conf_t *)(void *)base;
    (void)row;
    if (v->type != YAML_SEQUENCE_NODE || v->data.sequence.items.top == v->data.sequence.items.start)
        return conf_scalar_error(ctx, v, "methods", "expected a list such as [GET, HEAD]");
    c->methods = 0;
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
        yaml_node_t *item = yaml_document_get_node(ctx->doc, *it);
        const char *s;
        if (conf_scalar_get(ctx, item, "methods", &s) < 0)
            return -1;
        http_method_t m = http_method_lookup(str_make(s, strlen(s)));
        if (m == HTTP_METHOD_UNKNOWN)
            return conf_scalar_error(ctx, item, "methods", "\"%s\" is not a method drover knows "
                                     "(GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS...)", s);
        if (c->methods & (1u << m))
            return conf_scalar_error(ctx, item, "methods", "%s is listed twice", s);
        c->methods |= 1u << m;
    }
    return 0;
}
