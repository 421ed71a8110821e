/*
 * conf_upstreams: see conf_upstreams.h.
 */
#include "conf_upstreams.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "conf_keys.h"
#include "conf_rules.h"
#include "conf_scalar.h"
#include "conf_value.h"

#define CONF_UPSTREAMS_URL_MAX 2048

static int conf_upstreams__is_name(const char *s)
{
    if (s[0] == '\0' || strlen(s) > 64)
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-' || *p == '.'))
            return 0;
    return 1;
}

/* The numeric "a.b.c.d:port" or "[v6]:port" of a resolved address. */
static char *conf_upstreams__numeric(const struct sockaddr_storage *ss)
{
    char ip[INET6_ADDRSTRLEN], out[INET6_ADDRSTRLEN + 9];
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)(const void *)ss;
        inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
        snprintf(out, sizeof(out), "[%s]:%u", ip, (unsigned)ntohs(a->sin6_port));
    } else {
        const struct sockaddr_in *a = (const struct sockaddr_in *)(const void *)ss;
        inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
        snprintf(out, sizeof(out), "%s:%u", ip, (unsigned)ntohs(a->sin_port));
    }
    return strdup(out);
}

int conf_upstreams_address(const char *spec, conf_upstream_server_t *out, size_t room, size_t *n,
                           const char **why)
{
    conf_upstream_server_t *s = out;
    *n = 0;
    if (room == 0) {
        *why = "too many servers";
        return -1;
    }
    memset(&s->addr, 0, sizeof(s->addr));
    if (strncmp(spec, "unix:", 5) == 0) {
        struct sockaddr_un *un = (struct sockaddr_un *)(void *)&s->addr;
        const char *path = spec + 5;
        if (path[0] != '/') {
            *why = "a unix socket is \"unix:/absolute/path\"";
            return -1;
        }
        if (strlen(path) >= sizeof(un->sun_path)) {
            *why = "the unix socket path is longer than 107 bytes";
            return -1;
        }
        un->sun_family = AF_UNIX;
        strcpy(un->sun_path, path);
        s->addr_len = (socklen_t)sizeof(*un);
        *n = 1;
        return 0;
    }
    char host[256];
    const char *colon;
    if (spec[0] == '[') {
        const char *rb = strchr(spec, ']');
        if (rb == NULL || rb[1] != ':' || rb == spec + 1 || (size_t)(rb - spec - 1) >= sizeof(host))
            goto bad;
        memcpy(host, spec + 1, (size_t)(rb - spec - 1));
        host[rb - spec - 1] = '\0';
        colon = rb + 1;
    } else {
        colon = strrchr(spec, ':');
        if (colon == NULL || colon == spec || (size_t)(colon - spec) >= sizeof(host))
            goto bad;
        memcpy(host, spec, (size_t)(colon - spec));
        host[colon - spec] = '\0';
        if (strchr(host, ':') != NULL)
            goto bad; /* an IPv6 address goes in brackets */
    }
    const char *port = colon + 1;
    long p = 0;
    if (port[0] == '\0' || strlen(port) > 5)
        goto bad;
    for (const char *c = port; *c; c++) {
        if (*c < '0' || *c > '9')
            goto bad;
        p = p * 10 + (*c - '0');
    }
    if (p < 1 || p > 65535)
        goto bad;
    /* Resolved now, once: the worker's loop never blocks on DNS. */
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0 || res == NULL) {
        *why = rc == EAI_NONAME ? "the name does not resolve"
                                                    : "the name cannot be resolved now";
        if (res != NULL)
            freeaddrinfo(res);
        return -1;
    }
    /* Every address of the name is a server, as nginx makes them. */
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        if (ai->ai_addrlen > sizeof(s->addr))
            continue;
        int seen = 0;
        for (size_t i = 0; i < *n && !seen; i++)
            seen = out[i].addr_len == ai->ai_addrlen && memcmp(&out[i].addr, ai->ai_addr,
                                                                ai->ai_addrlen) == 0;
        if (seen)
            continue;
        if (*n == room) {
            freeaddrinfo(res);
            *why = "the name has more addresses than there is room for servers (64)";
            return -1;
        }
        s = &out[*n];
        memset(&s->addr, 0, sizeof(s->addr));
        memcpy(&s->addr, ai->ai_addr, ai->ai_addrlen);
        s->addr_len = ai->ai_addrlen;
        (*n)++;
    }
    freeaddrinfo(res);
    if (*n == 0) {
        *why = "the name has no address drover can use";
        return -1;
    }
    return 0;
bad:
    *why = "expected \"host:port\", \"[v6]:port\" or \"unix:/path\"";
    return -1;
}

static void conf_upstreams__defaults(conf_upstream_t *u)
{
    u->keepalive = 16;
    u->connect_timeout = 5;
    u->read_timeout = 60;
    u->send_timeout = 60;
    /* nginx closes a tunnel after proxy_read_timeout (60s) without bytes
     * from the upstream, the most met WebSocket surprise behind it (every
     * guide raises it); h2o's websocket timeout is 300s. Five minutes is
     * over any usual ping interval (20-30s) and still reaps dead peers. */
    u->tunnel_timeout = 300;
    u->max_fails = 1;
    u->fail_timeout = 10;
}

static conf_upstream_t *conf_upstreams__add(conf_upstreams_t *us)
{
    if (us->n == us->cap) {
        size_t cap = us->cap ? us->cap * 2 : 4;
        conf_upstream_t *items = realloc(us->items, cap * sizeof(*items));
        if (items == NULL)
            return NULL;
        us->items = items;
        us->cap = cap;
    }
    conf_upstream_t *u = &us->items[us->n++];
    memset(u, 0, sizeof(*u));
    conf_upstreams__defaults(u);
    return u;
}

/* The n servers from u->servers[u->nservers] that spec resolved to get
 * their names: spec itself for one; for several (a DNS name with more
 * than one address), each its numeric address, so the log, /metrics and
 * health tell them apart; all keep spec as their Host. */
static int conf_upstreams__named(conf_upstream_t *u, const char *spec, size_t n, int weight,
                                 int backup)
{
    for (size_t i = 0; i < n; i++) {
        conf_upstream_server_t *s = &u->servers[u->nservers];
        s->weight = weight;
        s->backup = backup;
        s->spec = n == 1 ? strdup(spec) : conf_upstreams__numeric(&s->addr);
        s->host = strdup(spec);
        s->expansion = i == 0 ? (int)n : 0;
        u->nservers++; /* freed with the rest, filled or not */
        if (s->spec == NULL || s->host == NULL)
            return -1;
    }
    return 0;
}

/* A server: "addr" or {address, weight, backup}. */
static int conf_upstreams__server(conf_ctx_t *ctx, yaml_node_t *v, conf_upstream_t *u)
{
    conf_upstream_server_t *s = &u->servers[u->nservers];
    const char *spec = NULL, *why, *t;
    s->weight = 1;
    s->backup = 0;
    if (v->type == YAML_SCALAR_NODE) {
        spec = (const char *)v->data.scalar.value;
    } else if (v->type == YAML_MAPPING_NODE) {
        for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
            yaml_node_t *kn = yaml_document_get_node(ctx->doc, p->key);
            yaml_node_t *vn = yaml_document_get_node(ctx->doc, p->value);
            const char *k = kn->type == YAML_SCALAR_NODE ? (const char *)kn->data.scalar.value : "?";
            if (conf_scalar_get(ctx, vn, "servers", &t) < 0)
                return -1;
            long n;
            if (strcmp(k, "address") == 0) {
                spec = t;
            } else if (strcmp(k, "weight") == 0) {
                if (conf_value_int(t, &n) < 0 || n < 1 || n > 100)
                    return conf_scalar_error(ctx, vn, "servers", "weight: expected 1 to 100, "
                                             "got \"%s\"", t);
                s->weight = (int)n;
            } else if (strcmp(k, "backup") == 0) {
                if (conf_value_bool(t, &s->backup) < 0)
                    return conf_scalar_error(ctx, vn, "servers", "backup: expected true or "
                                             "false, got \"%s\"", t);
            } else {
                return conf_scalar_error(ctx, kn, "servers", "unknown key \"%s\" (address, "
                                         "weight, backup)", k);
            }
        }
        if (spec == NULL)
            return conf_scalar_error(ctx, v, "servers", "a server mapping needs address");
    } else {
        return conf_scalar_error(ctx, v, "servers", "expected \"host:port\", \"unix:/path\" or "
                                 "{address, weight, backup}");
    }
    size_t n;
    if (conf_upstreams_address(spec, s, CONF_UPSTREAM_SERVERS_MAX - u->nservers, &n, &why) < 0)
        return conf_scalar_error(ctx, v, "servers", "\"%s\": %s", spec, why);
    if (conf_upstreams__named(u, spec, n, s->weight, s->backup) < 0)
        return conf_scalar_error(ctx, v, "servers", "out of memory");
    return 0;
}

static int conf_upstreams__duration(conf_ctx_t *ctx, yaml_node_t *vn, const char *k,
                                    const char *t, double *out)
{
    if (conf_value_duration(t, out) < 0 || *out < 0.001 || *out > 86400)
        return conf_scalar_error(ctx, vn, k, "expected a duration from 1ms to 1d such as 5s, "
                                 "got \"%s\"", t);
    return 0;
}

static int conf_upstreams__one(conf_ctx_t *ctx, yaml_node_t *kn, yaml_node_t *v,
                               conf_upstreams_t *us)
{
    const char *name = (const char *)kn->data.scalar.value;
    if (kn->type != YAML_SCALAR_NODE || !conf_upstreams__is_name(name))
        return conf_scalar_error(ctx, kn, "upstreams", "a name is letters, digits, '_', '-' "
                                 "and '.', such as app");
    for (size_t i = 0; i < us->n; i++)
        if (strcmp(us->items[i].name, name) == 0)
            return conf_scalar_error(ctx, kn, "upstreams", "\"%s\" is defined twice", name);
    if (v->type != YAML_MAPPING_NODE)
        return conf_scalar_error(ctx, v, "upstreams", "\"%s\": expected a mapping with servers",
                                 name);
    conf_upstream_t *u = conf_upstreams__add(us);
    if (u == NULL || (u->name = strdup(name)) == NULL)
        return conf_scalar_error(ctx, kn, "upstreams", "out of memory");
    u->line = (unsigned)kn->start_mark.line + 1;
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(ctx->doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(ctx->doc, p->value);
        const char *key = k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value : "?";
        const char *t;
        long n;
        if (strcmp(key, "servers") == 0) {
            if (vn->type == YAML_SCALAR_NODE)
                return conf_scalar_error(ctx, vn, "servers", "expected a list such as "
                                         "[\"127.0.0.1:9000\"]");
            if (vn->type != YAML_SEQUENCE_NODE)
                return conf_scalar_error(ctx, vn, "servers", "expected a list of servers");
            for (yaml_node_item_t *it = vn->data.sequence.items.start;
                 it < vn->data.sequence.items.top; it++) {
                if (u->nservers == CONF_UPSTREAM_SERVERS_MAX)
                    return conf_scalar_error(ctx, vn, "servers", "more than %d servers",
                                             CONF_UPSTREAM_SERVERS_MAX);
                if (conf_upstreams__server(ctx, yaml_document_get_node(ctx->doc, *it), u) < 0)
                    return -1;
            }
            continue;
        }
        if (strcmp(key, "health") == 0) {
            if (conf_health_parse(ctx, vn, &u->health) < 0)
                return -1;
            continue;
        }
        if (conf_scalar_get(ctx, vn, key, &t) < 0)
            return -1;
        if (strcmp(key, "keepalive") == 0 || strcmp(key, "max_fails") == 0) {
            if (conf_value_int(t, &n) < 0 || n < 0 || n > 10000)
                return conf_scalar_error(ctx, vn, key, "expected 0 to 10000, got \"%s\"", t);
            *(key[0] == 'k' ? &u->keepalive : &u->max_fails) = (int)n;
        } else if (strcmp(key, "connect_timeout") == 0) {
            if (conf_upstreams__duration(ctx, vn, key, t, &u->connect_timeout) < 0)
                return -1;
        } else if (strcmp(key, "read_timeout") == 0) {
            if (conf_upstreams__duration(ctx, vn, key, t, &u->read_timeout) < 0)
                return -1;
        } else if (strcmp(key, "send_timeout") == 0) {
            if (conf_upstreams__duration(ctx, vn, key, t, &u->send_timeout) < 0)
                return -1;
        } else if (strcmp(key, "fail_timeout") == 0) {
            if (conf_upstreams__duration(ctx, vn, key, t, &u->fail_timeout) < 0)
                return -1;
        } else if (strcmp(key, "tunnel_timeout") == 0) {
            if (conf_upstreams__duration(ctx, vn, key, t, &u->tunnel_timeout) < 0)
                return -1;
        } else {
            return conf_scalar_error(ctx, k, "upstreams", "\"%s\": unknown key \"%s\" (servers, "
                                     "keepalive, connect_timeout, read_timeout, send_timeout, "
                                     "max_fails, fail_timeout, tunnel_timeout, health)", name, key);
        }
    }
    if (u->nservers == 0)
        return conf_scalar_error(ctx, kn, "upstreams", "\"%s\": servers is empty or missing",
                                 name);
    int primary = 0;
    for (size_t i = 0; i < u->nservers; i++)
        primary += !u->servers[i].backup;
    if (primary == 0)
        return conf_scalar_error(ctx, kn, "upstreams", "\"%s\": every server is a backup", name);
    return 0;
}

int conf_upstreams_parse(void *vctx, const void *row, void *value, char *base)
{
    conf_ctx_t *ctx = vctx;
    yaml_node_t *v = value;
    conf_t *c = (conf_t *)(void *)base;
    (void)row;
    if (v->type != YAML_MAPPING_NODE)
        return conf_scalar_error(ctx, v, "upstreams", "expected a mapping of names to "
                                 "{servers: [...]}");
    conf_upstreams_free(&c->upstreams, "upstreams");
    if ((c->upstreams = calloc(1, sizeof(*c->upstreams))) == NULL)
        return conf_scalar_error(ctx, v, "upstreams", "out of memory");
    if ((size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start) > CONF_UPSTREAMS_MAX)
        return conf_scalar_error(ctx, v, "upstreams", "more than %d upstreams", CONF_UPSTREAMS_MAX);
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++)
        if (conf_upstreams__one(ctx, yaml_document_get_node(ctx->doc, p->key),
                                yaml_document_get_node(ctx->doc, p->value), c->upstreams) < 0)
            return -1;
    return 0;
}

int conf_upstreams_proxy(void *vctx, const void *row, void *value, char *base)
{
    conf_ctx_t *ctx = vctx;
    yaml_node_t *v = value;
    conf_t *c = (conf_t *)(void *)base;
    const char *s;
    (void)row;
    if (conf_scalar_get(ctx, v, "proxy", &s) < 0)
        return -1;
    size_t n = strlen(s);
    if (strncmp(s, "https://", 8) == 0)
        return conf_scalar_error(ctx, v, "proxy", "\"%s\": an https upstream is not supported "
                                 "yet: use http:// or a unix socket", s);
    if (strncmp(s, "http://", 7) == 0) {
        if (n > CONF_UPSTREAMS_URL_MAX)
            return conf_scalar_error(ctx, v, "proxy", "the URL is longer than %d bytes",
                                     CONF_UPSTREAMS_URL_MAX);
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f || s[i] == '?' ||
                s[i] == '#')
                return conf_scalar_error(ctx, v, "proxy", "\"%s\": a URL has no spaces, control "
                                         "characters, query or fragment", s);
        const char *auth = s + 7, *slash = strchr(auth, '/');
        size_t alen = slash ? (size_t)(slash - auth) : strlen(auth);
        char spec[300];
        const char *why;
        conf_upstream_server_t probe[CONF_UPSTREAM_SERVERS_MAX]; /* checked now, kept at link */
        size_t got;
        if (alen == 0 || alen >= sizeof(spec))
            return conf_scalar_error(ctx, v, "proxy", "\"%s\": expected http://host:port/path",
                                     s);
        memcpy(spec, auth, alen);
        spec[alen] = '\0';
        /* No port: 80, as in the URL's scheme. */
        int bracket = spec[0] == '[';
        const char *colon = bracket ? strstr(spec, "]:") : strchr(spec, ':');
        if (colon == NULL && alen + 3 < sizeof(spec))
            strcat(spec, ":80");
        if (conf_upstreams_address(spec, probe, CONF_UPSTREAM_SERVERS_MAX, &got, &why) < 0)
            return conf_scalar_error(ctx, v, "proxy", "\"%s\": %s", s, why);
    } else if (!conf_upstreams__is_name(s)) {
        return conf_scalar_error(ctx, v, "proxy", "\"%s\": expected the name of an upstream or "
                                 "a URL such as http://127.0.0.1:9000/", s);
    }
    free(c->proxy);
    if ((c->proxy = strdup(s)) == NULL)
        return conf_scalar_error(ctx, v, "proxy", "out of memory");
    c->proxy_line = (unsigned)v->start_mark.line + 1;
    return 0;
}

/* The upstream of one rule's proxy, or -1 with err. */
static int conf_upstreams__link_one(conf_t *top, conf_t *rc, const char *pattern, char *err)
{
    conf_upstreams_t *us = top->upstreams;
    const char *s = rc->proxy;
    free(rc->proxy_uri);
    rc->proxy_uri = NULL;
    if (strncmp(s, "http://", 7) != 0) {
        for (size_t i = 0; us != NULL && i < us->n; i++)
            if (!us->items[i].implicit && strcmp(us->items[i].name, s) == 0) {
                rc->proxy_upstream = (int)i;
                return 0;
            }
        snprintf(err, CONF_ERR_LEN, "%.200s:%u: location \"%.160s\": proxy: no upstream named "
                 "\"%.64s\" (upstreams: defines them)", top->file, rc->proxy_line, pattern, s);
        return -1;
    }
    const char *auth = s + 7, *slash = strchr(auth, '/');
    size_t alen = slash ? (size_t)(slash - auth) : strlen(auth);
    char spec[300];
    memcpy(spec, auth, alen);
    spec[alen] = '\0';
    int bracket = spec[0] == '[';
    if ((bracket ? strstr(spec, "]:") : strchr(spec, ':')) == NULL)
        strcat(spec, ":80");
    if (slash != NULL && (rc->proxy_uri = strdup(slash)) == NULL)
        goto nomem;
    if (us == NULL && (us = top->upstreams = calloc(1, sizeof(*us))) == NULL)
        goto nomem;
    for (size_t i = 0; i < us->n; i++)
        if (us->items[i].implicit && strcmp(us->items[i].name, spec) == 0) {
            rc->proxy_upstream = (int)i;
            return 0;
        }
    conf_upstream_t *u = conf_upstreams__add(us);
    if (u == NULL)
        goto nomem;
    u->implicit = 1;
    u->line = rc->proxy_line;
    const char *why;
    size_t n;
    if ((u->name = strdup(spec)) == NULL)
        goto nomem;
    if (conf_upstreams_address(spec, u->servers, CONF_UPSTREAM_SERVERS_MAX, &n, &why) < 0) {
        snprintf(err, CONF_ERR_LEN, "%.120s:%u: location \"%.80s\": proxy: \"%.80s\": %.60s",
                 top->file, rc->proxy_line, pattern, s, why);
        return -1;
    }
    if (conf_upstreams__named(u, spec, n, 1, 0) < 0)
        goto nomem;
    rc->proxy_upstream = (int)(us->n - 1);
    return 0;
nomem:
    snprintf(err, CONF_ERR_LEN, "%.200s:%u: proxy: out of memory", top->file, rc->proxy_line);
    return -1;
}

static int conf_upstreams__link_rules(conf_t *top, conf_t *c, char *err)
{
    conf_rules_t *rs = c->locations;
    for (size_t i = 0; rs != NULL && i < rs->n; i++)
        if (rs->items[i].conf->proxy != NULL &&
            conf_upstreams__link_one(top, rs->items[i].conf, rs->items[i].pattern, err) < 0)
            return -1;
    return 0;
}

int conf_upstreams_link(conf_t *top, char *err)
{
    if (conf_upstreams__link_rules(top, top, err) < 0)
        return -1;
    for (size_t i = 0; i < top->num_hosts; i++)
        if (conf_upstreams__link_rules(top, top->hosts[i].conf, err) < 0)
            return -1;
    return 0;
}

void conf_upstreams_print(FILE *out, const char *name, const void *at, const char *indent)
{
    const conf_upstreams_t *us = *(conf_upstreams_t *const *)at;
    (void)name;
    (void)indent; /* top level only */
    size_t shown = 0;
    for (size_t i = 0; us != NULL && i < us->n; i++)
        shown += !us->items[i].implicit;
    if (shown == 0) {
        fputs("upstreams: {}\n", out);
        return;
    }
    fputs("upstreams:\n", out);
    for (size_t i = 0; i < us->n; i++) {
        const conf_upstream_t *u = &us->items[i];
        char a[64], b[64], d[64], e[64], f[64];
        if (u->implicit)
            continue;
        fprintf(out, "  %s:  # line %u\n    servers: [", u->name, u->line);
        /* A name as written, once, so the output reads back the same (the
         * Host a request without one gets is the name); what it resolved
         * to follows in a comment. */
        int many = 0;
        for (size_t j = 0, first = 1; j < u->nservers; j++) {
            const conf_upstream_server_t *s = &u->servers[j];
            if (s->expansion == 0)
                continue;
            many |= s->expansion > 1;
            fputs(first ? "" : ", ", out);
            first = 0;
            fputs("{address: ", out);
            conf__print_quoted(out, s->expansion > 1 ? s->host : s->spec);
            fprintf(out, ", weight: %d, backup: %s}", s->weight, s->backup ? "true" : "false");
        }
        fputs("]\n", out);
        for (size_t j = 0; many && j < u->nservers; j++) {
            const conf_upstream_server_t *s = &u->servers[j];
            if (s->expansion > 1)
                fprintf(out, "    # %s: ", s->host);
            else if (s->expansion == 1)
                continue;
            fprintf(out, "%s%s", s->spec,
                    j + 1 < u->nservers && u->servers[j + 1].expansion == 0 ? ", " : "\n");
        }
        fprintf(out, "    keepalive: %d\n    connect_timeout: %s\n    read_timeout: %s\n"
                "    send_timeout: %s\n    max_fails: %d\n    fail_timeout: %s\n"
                "    tunnel_timeout: %s\n",
                u->keepalive, conf_value_duration_str(u->connect_timeout, a, sizeof(a)),
                conf_value_duration_str(u->read_timeout, b, sizeof(b)),
                conf_value_duration_str(u->send_timeout, d, sizeof(d)), u->max_fails,
                conf_value_duration_str(u->fail_timeout, e, sizeof(e)),
                conf_value_duration_str(u->tunnel_timeout, f, sizeof(f)));
        conf_health_print(out, &u->health, "    ");
    }
}

void conf_upstreams_free(void *at, const char *name)
{
    conf_upstreams_t *us = *(conf_upstreams_t **)at;
    (void)name;
    if (us == NULL)
        return;
    for (size_t i = 0; i < us->n; i++) {
        free(us->items[i].name);
        for (size_t j = 0; j < us->items[i].nservers; j++) {
            free(us->items[i].servers[j].spec);
            free(us->items[i].servers[j].host);
        }
        conf_health_free(&us->items[i].health);
    }
    free(us->items);
    free(us);
    *(conf_upstreams_t **)at = NULL;
}

void conf_upstreams_proxy_print(FILE *out, const char *name, const void *at, const char *indent)
{
    fprintf(out, "%s%s: ", indent, name);
    conf__print_quoted(out, *(char *const *)at);
    fputc('\n', out);
}

/* proxy_uri goes with the rule's other values (conf_rules.c). */
void conf_upstreams_proxy_free(void *at, const char *name)
{
    (void)name;
    free(*(char **)at);
    *(char **)at = NULL;
}
