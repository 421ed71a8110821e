/*
 * conf_access: see conf_access.h.
 */
#include "conf_access.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf_rules.h"
#include "conf_scalar.h"
#include "conf_value.h"
#include "htpasswd.h"
#include "siphash.h"

#define CONF_ACCESS_REALM_MAX 128

/* A YAML double-quoted scalar (what conf_print writes for strings). */
static void conf_access__quoted(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(out, "\\x%02x", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

/* A plain "off" (or false): the key is switched off, which is how a
 * location drops what it would inherit from its host. */
static int conf_access__off(const yaml_node_t *v)
{
    const char *s = (const char *)v->data.scalar.value;
    return v->type == YAML_SCALAR_NODE && (strcmp(s, "off") == 0 || strcmp(s, "false") == 0);
}

/* An integer in [lo, hi], or -1. */
static long conf_access__int(const char *s, long lo, long hi)
{
    char *end;
    long n = strtol(s, &end, 10);
    if (s[0] < '0' || s[0] > '9' || *end != '\0' || n < lo || n > hi)
        return -1;
    return n;
}

static void conf_access__drop(void **at, const char *name);

/* Replaces what base + row's offset holds (an inherited value) with fresh. */
static void conf_access__set(const void *row, char *base, void *fresh)
{
    const conf_key_t *k = row;
    void **at = (void **)(void *)(base + k->offset);
    conf_access__drop(at, k->name);
    *at = fresh;
}

static int conf_access__token(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return 0;
    return strspn(s, "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") == n;
}

/* The mapping pairs of v, each as its key's text and the scalar's text;
 * every reader below walks its keys the same way. */
#define CONF_ACCESS__EACH(ctx, v, k, kn, vn)                                                     \
    for (yaml_node_pair_t *p_ = (v)->data.mapping.pairs.start; p_ < (v)->data.mapping.pairs.top; \
         p_++)                                                                                     \
        for (yaml_node_t *kn = yaml_document_get_node((ctx)->doc, p_->key),                       \
                         *vn = yaml_document_get_node((ctx)->doc, p_->value);                     \
             kn != NULL; kn = NULL)                                                                \
            for (const char *k = kn->type == YAML_SCALAR_NODE ? (const char *)kn->data.scalar.value \
                                                               : "?";                             \
                 k != NULL; k = NULL)

int conf_access_real_ip(void *vctx, const void *row, void *value, char *base)
{
    conf_ctx_t *ctx = vctx;
    yaml_node_t *v = value;
    if (conf_access__off(v)) {
        conf_access__set(row, base, NULL);
        return 0;
    }
    if (v->type != YAML_MAPPING_NODE)
        return conf_scalar_error(ctx, v, "real_ip", "expected {header: X-Forwarded-For, "
                                 "trusted: [10.0.0.0/8]} or off");
    conf_real_ip_t *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return conf_scalar_error(ctx, v, "real_ip", "out of memory");
    r->refs = 1;
    conf_access__set(row, base, r);
    const char *s;
    CONF_ACCESS__EACH(ctx, v, k, kn, vn) {
        if (strcmp(k, "header") == 0) {
            if (conf_scalar_get(ctx, vn, "real_ip", &s) < 0)
                return -1;
            if (!conf_access__token(s))
                return conf_scalar_error(ctx, vn, "real_ip", "header: \"%s\" is not a header "
                                         "name such as X-Forwarded-For", s);
            free(r->header);
            if ((r->header = strdup(s)) == NULL)
                return conf_scalar_error(ctx, vn, "real_ip", "out of memory");
            r->forwarded = strcasecmp(s, "forwarded") == 0;
        } else if (strcmp(k, "trusted") == 0) {
            if (vn->type == YAML_SCALAR_NODE) {
                if (conf_value_cidr((const char *)vn->data.scalar.value, &r->trusted[0]) < 0)
                    return conf_scalar_error(ctx, vn, "real_ip", "trusted: \"%s\" is not an "
                                             "address or network such as 10.0.0.0/8",
                                             (const char *)vn->data.scalar.value);
                r->num_trusted = 1;
                continue;
            }
            if (vn->type != YAML_SEQUENCE_NODE)
                return conf_scalar_error(ctx, vn, "real_ip", "trusted: expected a list of "
                                         "addresses or networks");
            r->num_trusted = 0;
            for (yaml_node_item_t *it = vn->data.sequence.items.start;
                 it < vn->data.sequence.items.top; it++) {
                yaml_node_t *item = yaml_document_get_node(ctx->doc, *it);
                if (conf_scalar_get(ctx, item, "real_ip", &s) < 0)
                    return -1;
                if (r->num_trusted == CONF_MAX_ALLOW)
                    return conf_scalar_error(ctx, item, "real_ip", "trusted: more than %d "
                                             "entries", CONF_MAX_ALLOW);
                if (conf_value_cidr(s, &r->trusted[r->num_trusted]) < 0)
                    return conf_scalar_error(ctx, item, "real_ip", "trusted: \"%s\" is not an "
                                             "address or network such as 10.0.0.0/8", s);
                r->num_trusted++;
            }
        } else {
            return conf_scalar_error(ctx, kn, "real_ip", "unknown key %s (expected header or "
                                     "trusted)", k);
        }
    }
    /* Without it every client could name its own address. */
    if (r->num_trusted == 0)
        return conf_scalar_error(ctx, v, "real_ip", "trusted is missing: the proxies whose "
                                 "header is believed must be listed");
    if (r->header == NULL && (r->header = strdup("X-Forwarded-For")) == NULL)
        return conf_scalar_error(ctx, v, "real_ip", "out of memory");
    return 0;
}

/* The realm goes out inside a quoted-string: no quote, backslash or
 * control character. */
static int conf_access__is_realm(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > CONF_ACCESS_REALM_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f || s[i] == '"' || s[i] == '\\')
            return 0;
    return 1;
}

int conf_access_auth(void *vctx, const void *row, void *value, char *base)
{
    conf_ctx_t *ctx = vctx;
    yaml_node_t *v = value, *file_node = NULL;
    if (conf_access__off(v)) {
        conf_access__set(row, base, NULL);
        return 0;
    }
    if (v->type != YAML_MAPPING_NODE)
        return conf_scalar_error(ctx, v, "auth", "expected {realm: \"Staff only\", htpasswd: "
                                 "FILE} or off");
    conf_auth_t *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return conf_scalar_error(ctx, v, "auth", "out of memory");
    a->refs = 1;
    conf_access__set(row, base, a);
    const char *s;
    CONF_ACCESS__EACH(ctx, v, k, kn, vn) {
        if (conf_scalar_get(ctx, vn, "auth", &s) < 0)
            return -1;
        if (strcmp(k, "realm") == 0) {
            if (!conf_access__is_realm(s))
                return conf_scalar_error(ctx, vn, "auth", "realm: expected up to %d printable "
                                         "characters without \" or \\", CONF_ACCESS_REALM_MAX);
            free(a->realm);
            if ((a->realm = strdup(s)) == NULL)
                return conf_scalar_error(ctx, vn, "auth", "out of memory");
        } else if (strcmp(k, "htpasswd") == 0) {
            free(a->file);
            if (s[0] == '\0' || (a->file = conf_scalar_abspath(ctx->base, s)) == NULL)
                return conf_scalar_error(ctx, vn, "auth", "htpasswd: expected a file");
            file_node = vn;
        } else {
            return conf_scalar_error(ctx, kn, "auth", "unknown key %s (expected realm or "
                                     "htpasswd)", k);
        }
    }
    if (a->file == NULL)
        return conf_scalar_error(ctx, v, "auth", "htpasswd is missing");
    if (a->realm == NULL && (a->realm = strdup("Restricted")) == NULL)
        return conf_scalar_error(ctx, v, "auth", "out of memory");
    char err[HTPASSWD_ERR_LEN];
    if ((a->users = htpasswd_load(a->file, err, sizeof(err))) == NULL) {
        /* "line N: ..." is a line of the password file: name it. */
        if (strncmp(err, "line ", 5) == 0)
            return conf_scalar_error(ctx, file_node, "auth", "htpasswd: %s:%s", a->file, err + 5);
        return conf_scalar_error(ctx, file_node, "auth", "htpasswd: %s", err);
    }
    return 0;
}

/* "10/s", "10r/s", "600/m": requests per second. */
static int conf_access__rate(const char *s, double *rate, int *per_minute)
{
    char *end;
    long n = strtol(s, &end, 10);
    if (s[0] < '0' || s[0] > '9' || n < 1 || n > 1000000)
        return -1;
    if (*end == 'r')
        end++;
    if (strcmp(end, "/s") == 0) {
        *rate = (double)n;
        *per_minute = 0;
    } else if (strcmp(end, "/m") == 0) {
        *rate = (double)n / 60.0;
        *per_minute = 1;
    } else {
        return -1;
    }
    return 0;
}

static int conf_access__limit(conf_ctx_t *ctx, const void *row, yaml_node_t *v, char *base, int conn)
{
    const char *name = conn ? "limit_conn" : "limit_req";
    if (conf_access__off(v)) {
        conf_access__set(row, base, NULL);
        return 0;
    }
    if (v->type != YAML_MAPPING_NODE)
        return conf_scalar_error(ctx, v, name, conn ? "expected {max: 20, key: client} or off"
                                 : "expected {rate: 10/s, burst: 20, key: client} or off");
    conf_limit_t *l = calloc(1, sizeof(*l));
    if (l == NULL)
        return conf_scalar_error(ctx, v, name, "out of memory");
    l->refs = 1;
    l->conn = conn;
    l->status = 429;
    conf_access__set(row, base, l);
    const char *s;
    long n;
    CONF_ACCESS__EACH(ctx, v, k, kn, vn) {
        if (conf_scalar_get(ctx, vn, name, &s) < 0)
            return -1;
        if (!conn && strcmp(k, "rate") == 0) {
            if (conf_access__rate(s, &l->rate, &l->per_minute) < 0)
                return conf_scalar_error(ctx, vn, name, "rate: \"%s\" is not a rate such as "
                                         "10/s or 600/m (1 to 1000000)", s);
        } else if (!conn && strcmp(k, "burst") == 0) {
            if ((n = conf_access__int(s, 0, 1000000)) < 0)
                return conf_scalar_error(ctx, vn, name, "burst: expected 0 to 1000000, got "
                                         "\"%s\"", s);
            l->burst = (int)n;
        } else if (conn && strcmp(k, "max") == 0) {
            if ((n = conf_access__int(s, 1, 1000000)) < 0)
                return conf_scalar_error(ctx, vn, name, "max: expected 1 to 1000000, got "
                                         "\"%s\"", s);
            l->max = (int)n;
        } else if (strcmp(k, "key") == 0) {
            if (strcmp(s, "client") != 0)
                return conf_scalar_error(ctx, vn, name, "key: only client (the client's "
                                         "address) is known, got \"%s\"", s);
        } else if (strcmp(k, "status") == 0) {
            if ((n = conf_access__int(s, 400, 599)) < 0)
                return conf_scalar_error(ctx, vn, name, "status: expected 400 to 599, got "
                                         "\"%s\"", s);
            l->status = (int)n;
        } else {
            return conf_scalar_error(ctx, kn, name, conn ? "unknown key %s (expected max, key "
                                     "or status)" : "unknown key %s (expected rate, burst, key "
                                     "or status)", k);
        }
    }
    if (!conn && l->rate == 0)
        return conf_scalar_error(ctx, v, name, "rate is missing");
    if (conn && l->max == 0)
        return conf_scalar_error(ctx, v, name, "max is missing");
    return 0;
}

int conf_access_limit_req(void *ctx, const void *row, void *value, char *base)
{
    return conf_access__limit(ctx, row, value, base, 0);
}

int conf_access_limit_conn(void *ctx, const void *row, void *value, char *base)
{
    return conf_access__limit(ctx, row, value, base, 1);
}

int conf_access_copy(void *dst, const void *src)
{
    int *refs = *(int *const *)src;
    *(int **)dst = refs;
    if (refs != NULL)
        (*refs)++;
    return 0;
}

static void conf_access__drop(void **at, const char *name)
{
    int *refs = *at;
    *at = NULL;
    if (refs == NULL || --*refs > 0)
        return;
    if (strcmp(name, "real_ip") == 0) {
        free(((conf_real_ip_t *)(void *)refs)->header);
    } else if (strcmp(name, "auth") == 0) {
        conf_auth_t *a = (conf_auth_t *)(void *)refs;
        free(a->realm);
        free(a->file);
        htpasswd_free(a->users);
    }
    free(refs);
}

void conf_access_free(void *at, const char *name)
{
    conf_access__drop(at, name);
}

void conf_access_print(FILE *out, const char *name, const void *at, const char *indent)
{
    const void *p = *(const void *const *)at;
    char buf[64];
    fprintf(out, "%s%s: ", indent, name);
    if (p == NULL) {
        fputs("off\n", out);
    } else if (strcmp(name, "real_ip") == 0) {
        const conf_real_ip_t *r = p;
        fputs("{header: ", out);
        conf_access__quoted(out, r->header);
        fputs(", trusted: [", out);
        for (size_t i = 0; i < r->num_trusted; i++) {
            fputs(i > 0 ? ", " : "", out);
            conf_access__quoted(out, conf_value_cidr_str(&r->trusted[i], buf, sizeof(buf)));
        }
        fputs("]}\n", out);
    } else if (strcmp(name, "auth") == 0) {
        const conf_auth_t *a = p;
        fputs("{realm: ", out);
        conf_access__quoted(out, a->realm);
        fputs(", htpasswd: ", out);
        conf_access__quoted(out, a->file);
        fputs("}\n", out);
    } else {
        const conf_limit_t *l = p;
        if (l->conn)
            fprintf(out, "{max: %d, key: client, status: %d}\n", l->max, l->status);
        else
            fprintf(out, "{rate: %.0f/%c, burst: %d, key: client, status: %d}\n",
                    l->per_minute ? l->rate * 60.0 : l->rate, l->per_minute ? 'm' : 's',
                    l->burst, l->status);
    }
}

/* The first conf_t to reach a limit is the one that wrote it: the walk
 * goes top level, then each host before its locations, the order in which
 * they inherit. */
static void conf_access__zone(conf_limit_t *l, const char *host, const char *location)
{
    if (l == NULL || l->zone != 0)
        return;
    static const uint64_t key[2] = { 0x6c696d6974736f6eULL, 0x64726f7665727a6fULL };
    char buf[1024];
    int n = snprintf(buf, sizeof(buf), "%d\n%s\n%s", l->conn, host, location);
    l->zone = siphash_24(key, buf, n > 0 ? (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1 : 0);
    if (l->zone == 0)
        l->zone = 1;
    snprintf(l->where, sizeof(l->where), "%s%s%s%s", host[0] ? "host " : "top level", host,
             location[0] ? ", location " : "", location);
}

static void conf_access__zones_of(conf_t *c, const char *host)
{
    conf_access__zone(c->limit_req, host, "");
    conf_access__zone(c->limit_conn, host, "");
    conf_rules_t *rs = c->locations;
    for (size_t i = 0; rs != NULL && i < rs->n; i++) {
        conf_access__zone(rs->items[i].conf->limit_req, host, rs->items[i].pattern);
        conf_access__zone(rs->items[i].conf->limit_conn, host, rs->items[i].pattern);
    }
}

void conf_access_zones(conf_t *conf)
{
    conf_access__zones_of(conf, "");
    for (size_t i = 0; i < conf->num_hosts; i++)
        conf_access__zones_of(conf->hosts[i].conf, conf->hosts[i].name);
}

static int conf_access__counts_of(const conf_t *c)
{
    if (c->limit_req != NULL || c->limit_conn != NULL || c->auth != NULL)
        return 1;
    const conf_rules_t *rs = c->locations;
    for (size_t i = 0; rs != NULL && i < rs->n; i++) {
        const conf_t *l = rs->items[i].conf;
        if (l->limit_req != NULL || l->limit_conn != NULL || l->auth != NULL)
            return 1;
    }
    return 0;
}

int conf_access_counts(const conf_t *conf)
{
    if (conf_access__counts_of(conf))
        return 1;
    for (size_t i = 0; i < conf->num_hosts; i++)
        if (conf_access__counts_of(conf->hosts[i].conf))
            return 1;
    return 0;
}
