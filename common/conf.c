/*
 * conf: see conf.h.
 *
 * The file is loaded as a libyaml document and walked as one mapping; every
 * node carries its line, so each error can name "file:line: key: problem".
 * A conf_t is built in a zeroed struct and either returned whole or freed
 * through the single fail path.
 */
#include "conf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <yaml.h>

#include "mime.h"
#include "path.h"

typedef struct {
    const char *file;
    char *err;
    yaml_document_t *doc;
    const char *base;   /* relative paths are resolved against this */
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
    snprintf(ctx->err, CONF_ERR_LEN, "%s:%lu: %s: %s", ctx->file,
             (unsigned long)(node ? node->start_mark.line + 1 : 0), key, msg);
    return -1;
}

int conf_parse_duration(const char *s, double *seconds)
{
    /* digits [ "." digits ] [ ms | s | m | h | d ]: no sign, exponent,
     * hex, inf or nan, which strtod would all take. */
    if (s == NULL || *s < '0' || *s > '9')
        return -1;
    double v = 0, scale = 1;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; p++)
        v = v * 10 + (*p - '0');
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return -1;
        for (; *p >= '0' && *p <= '9'; p++) {
            scale /= 10;
            v += (*p - '0') * scale;
        }
    }
    double mult;
    if (*p == '\0' || strcmp(p, "s") == 0)
        mult = 1;
    else if (strcmp(p, "ms") == 0)
        mult = 0.001;
    else if (strcmp(p, "m") == 0)
        mult = 60;
    else if (strcmp(p, "h") == 0)
        mult = 3600;
    else if (strcmp(p, "d") == 0)
        mult = 86400;
    else
        return -1;
    if (v > 1e12)
        return -1;
    *seconds = v * mult;
    return 0;
}

int conf_parse_size(const char *s, size_t *bytes)
{
    if (s == NULL || *s < '0' || *s > '9')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s)
        return -1;
    unsigned long long mult;
    if (*end == '\0')
        mult = 1;
    else if (strcasecmp(end, "k") == 0)
        mult = 1024ULL;
    else if (strcasecmp(end, "m") == 0)
        mult = 1024ULL * 1024;
    else if (strcasecmp(end, "g") == 0)
        mult = 1024ULL * 1024 * 1024;
    else
        return -1;
    if (v > SIZE_MAX / mult)
        return -1;
    *bytes = (size_t)(v * mult);
    return 0;
}

int conf_parse_listen(const char *s, conf_listen_t *l)
{
    memset(l, 0, sizeof(*l));
    const char *colon;
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (rb == NULL || rb[1] != ':' || (size_t)(rb - s - 1) >= sizeof(l->host) || rb == s + 1)
            return -1;
        memcpy(l->host, s + 1, (size_t)(rb - s - 1));
        struct in6_addr a6;
        if (inet_pton(AF_INET6, l->host, &a6) != 1)
            return -1;
        l->family = AF_INET6;
        colon = rb + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL || (size_t)(colon - s) >= sizeof(l->host))
            return -1;
        memcpy(l->host, s, (size_t)(colon - s));
        l->family = AF_INET;
        if (l->host[0] != '\0') {
            struct in_addr a4;
            if (strcmp(l->host, "localhost") == 0)
                strcpy(l->host, "127.0.0.1");
            else if (strcmp(l->host, "*") == 0)
                l->host[0] = '\0';
            if (l->host[0] != '\0' && inet_pton(AF_INET, l->host, &a4) != 1)
                return -1;
        }
    }
    const char *port = colon + 1;
    if (*port == '\0' || strlen(port) > 5)
        return -1;
    int p = 0;
    for (const char *c = port; *c; c++) {
        if (*c < '0' || *c > '9')
            return -1;
        p = p * 10 + (*c - '0');
    }
    if (p < 1 || p > 65535)
        return -1;
    l->port = p;
    return 0;
}

int conf_parse_cidr(const char *s, conf_cidr_t *c)
{
    char host[64];
    const char *slash = strchr(s, '/');
    size_t hlen = slash ? (size_t)(slash - s) : strlen(s);
    if (hlen == 0 || hlen >= sizeof(host))
        return -1;
    memcpy(host, s, hlen);
    host[hlen] = '\0';
    memset(c, 0, sizeof(*c));
    if (inet_pton(AF_INET, host, c->addr) == 1) {
        c->family = AF_INET;
        c->bits = 32;
    } else if (inet_pton(AF_INET6, host, c->addr) == 1) {
        c->family = AF_INET6;
        c->bits = 128;
    } else {
        return -1;
    }
    if (slash != NULL) {
        char *end;
        long bits = strtol(slash + 1, &end, 10);
        if (slash[1] == '\0' || *end != '\0' || bits < 0 || bits > c->bits)
            return -1;
        c->bits = (int)bits;
    }
    return 0;
}

int conf_cidr_match(const conf_cidr_t *list, size_t n, int family, const void *addr)
{
    const unsigned char *a = addr;
    for (size_t i = 0; i < n; i++) {
        if (list[i].family != family)
            continue;
        int bits = list[i].bits, k = 0;
        for (; bits >= 8; bits -= 8, k++)
            if (a[k] != list[i].addr[k])
                break;
        if (bits >= 8)
            continue;
        unsigned char mask = (unsigned char)(0xff << (8 - bits));
        if (bits == 0 || (a[k] & mask) == (list[i].addr[k] & mask))
            return 1;
    }
    return 0;
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

static conf_t *conf__defaults(const char *base);

conf_t *conf_defaults(void)
{
    return conf__defaults(NULL);
}

static conf_t *conf__defaults(const char *base)
{
    conf_t *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    conf_parse_listen("0.0.0.0:8080", &c->listen[0]);
    c->listen[0].spec = strdup("0.0.0.0:8080");
    c->num_listen = 1;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    c->workers = n > 0 ? (int)n : 1;
    c->root = conf__abspath(base, "www");
    c->index[0] = strdup("index.html");
    c->num_index = 1;
    c->base = base ? strdup(base) : conf__abspath(NULL, ".");
    c->pid_file = conf__abspath(base, "drover.pid");
    c->error_log = strdup("stderr");
    c->log_level = LOG_LEVEL_INFO;
    c->worker_connections = 4096;
    c->keepalive_requests = 10000;
    c->keepalive_timeout = 15;
    c->client_header_timeout = 10;
    c->send_timeout = 30;
    c->shutdown_timeout = 30;
    c->worker_timeout = 30;
    c->max_header_size = 8192;
    c->max_body_size = 1024 * 1024;
    c->gzip_static = 1;
    c->defer_accept = 1;
    if (c->listen[0].spec == NULL || c->base == NULL || c->root == NULL || c->index[0] == NULL ||
        c->pid_file == NULL || c->error_log == NULL) {
        conf_free(c);
        return NULL;
    }
    return c;
}

char *conf_pid_file(const char *path)
{
    /* Read only the pid_file key, leniently: `drover -s stop` must find a
     * running master even when the file on disk no longer validates. */
    char *out = NULL;
    FILE *f = fopen(path, "rb");
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

static void conf__map_free(conf_map_t *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->items[i].key);
        free(m->items[i].value);
    }
    free(m->items);
    m->items = NULL;
    m->n = 0;
}

const char *conf_map_get(const conf_map_t *m, const char *key, size_t len)
{
    for (size_t i = 0; i < m->n; i++)
        if (strncasecmp(m->items[i].key, key, len) == 0 && m->items[i].key[len] == '\0')
            return m->items[i].value;
    return NULL;
}

void conf_free(conf_t *c)
{
    if (c == NULL)
        return;
    free(c->file);
    free(c->base);
    for (size_t i = 0; i < CONF_MAX_LISTEN; i++)
        free(c->listen[i].spec);
    free(c->root);
    for (size_t i = 0; i < CONF_MAX_INDEX; i++)
        free(c->index[i]);
    free(c->pid_file);
    free(c->error_log);
    free(c->access_log);
    free(c->user);
    free(c->group);
    free(c->status_path);
    conf__map_free(&c->cache_control);
    conf__map_free(&c->error_pages);
    conf__map_free(&c->mime_types);
    free(c);
}

/* --- typed value readers ------------------------------------------------ */

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

static int conf__int(conf_ctx_t *ctx, yaml_node_t *v, const char *key, long min, long max,
                     int *out)
{
    const char *s;
    if (conf__scalar(ctx, v, key, &s) < 0)
        return -1;
    char *end;
    errno = 0;
    long n = strtol(s, &end, 10);
    if (v->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || errno != 0 || end == s || *end != '\0')
        return conf__error(ctx, v, key, "expected a number, got \"%s\"", s);
    if (n < min || n > max)
        return conf__error(ctx, v, key, "%ld is out of range (%ld to %ld)", n, min, max);
    *out = (int)n;
    return 0;
}

static int conf__bool(conf_ctx_t *ctx, yaml_node_t *v, const char *key, int *out)
{
    const char *s;
    if (conf__scalar(ctx, v, key, &s) < 0)
        return -1;
    if (v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
        if (!strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcasecmp(s, "on")) {
            *out = 1;
            return 0;
        }
        if (!strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcasecmp(s, "off")) {
            *out = 0;
            return 0;
        }
    }
    return conf__error(ctx, v, key, "expected true or false, got \"%s\"", s);
}

static int conf__duration(conf_ctx_t *ctx, yaml_node_t *v, const char *key, double min,
                          double *out)
{
    const char *s;
    if (conf__scalar(ctx, v, key, &s) < 0)
        return -1;
    double d;
    if (conf_parse_duration(s, &d) < 0)
        return conf__error(ctx, v, key,
                           "expected a duration such as 30, \"500ms\", \"15s\" or \"2m\", got \"%s\"", s);
    if (d < min || d > 86400 * 365)
        return conf__error(ctx, v, key, "\"%s\" is out of range", s);
    *out = d;
    return 0;
}

static int conf__size(conf_ctx_t *ctx, yaml_node_t *v, const char *key, size_t min, size_t max,
                      size_t *out)
{
    const char *s;
    if (conf__scalar(ctx, v, key, &s) < 0)
        return -1;
    size_t n;
    if (conf_parse_size(s, &n) < 0)
        return conf__error(ctx, v, key, "expected a size such as 8192, \"8k\" or \"1m\", got \"%s\"", s);
    if (n < min || n > max)
        return conf__error(ctx, v, key, "%s is out of range (%zu to %zu bytes)", s, min, max);
    *out = n;
    return 0;
}

static int conf__path(conf_ctx_t *ctx, yaml_node_t *v, const char *key, char **out)
{
    const char *s;
    if (conf__scalar(ctx, v, key, &s) < 0)
        return -1;
    char *p = conf__abspath(ctx->base, s);
    if (p == NULL)
        return conf__error(ctx, v, key, "cannot resolve \"%s\": %s", s, strerror(errno));
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
        p[--n] = '\0';
    free(*out);
    *out = p;
    return 0;
}

static int conf__string(conf_ctx_t *ctx, yaml_node_t *v, const char *key, char **out)
{
    const char *s;
    if (conf__scalar(ctx, v, key, &s) < 0)
        return -1;
    char *p = strdup(s);
    if (p == NULL)
        return conf__error(ctx, v, key, "out of memory");
    free(*out);
    *out = p;
    return 0;
}

/* Collects the items of a list of scalars. */
static int conf__list(conf_ctx_t *ctx, yaml_node_t *v, const char *key, size_t max,
                      yaml_node_t **items, size_t *n)
{
    *n = 0;
    if (v->type != YAML_SEQUENCE_NODE)
        return conf__error(ctx, v, key, "expected a list such as [a, b], not a %s",
                           v->type == YAML_SCALAR_NODE ? "single value" : "mapping");
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
         it++) {
        if (*n == max)
            return conf__error(ctx, v, key, "more than %zu entries", max);
        yaml_node_t *item = yaml_document_get_node(ctx->doc, *it);
        if (item->type != YAML_SCALAR_NODE)
            return conf__error(ctx, item, key, "expected a list of values");
        items[(*n)++] = item;
    }
    if (*n == 0)
        return conf__error(ctx, v, key, "expected at least one entry");
    return 0;
}

static int conf__listen(conf_ctx_t *ctx, yaml_node_t *v, conf_t *c)
{
    yaml_node_t *items[CONF_MAX_LISTEN];
    size_t n;
    if (conf__list(ctx, v, "listen", CONF_MAX_LISTEN, items, &n) < 0)
        return -1;
    for (size_t i = 0; i < CONF_MAX_LISTEN; i++) {
        free(c->listen[i].spec);
        c->listen[i].spec = NULL;
    }
    for (size_t i = 0; i < n; i++) {
        const char *s = (const char *)items[i]->data.scalar.value;
        if (conf_parse_listen(s, &c->listen[i]) < 0)
            return conf__error(ctx, items[i], "listen",
                               "expected \"host:port\", \"[v6]:port\" or \":port\", got \"%s\"", s);
        for (size_t j = 0; j < i; j++)
            if (c->listen[j].port == c->listen[i].port && c->listen[j].family == c->listen[i].family &&
                strcmp(c->listen[j].host, c->listen[i].host) == 0)
                return conf__error(ctx, items[i], "listen", "\"%s\" is listed twice", s);
        c->listen[i].spec = strdup(s);
        if (c->listen[i].spec == NULL)
            return conf__error(ctx, items[i], "listen", "out of memory");
    }
    c->num_listen = n;
    return 0;
}

static int conf__index(conf_ctx_t *ctx, yaml_node_t *v, conf_t *c)
{
    yaml_node_t *items[CONF_MAX_INDEX];
    size_t n;
    if (conf__list(ctx, v, "index", CONF_MAX_INDEX, items, &n) < 0)
        return -1;
    for (size_t i = 0; i < CONF_MAX_INDEX; i++) {
        free(c->index[i]);
        c->index[i] = NULL;
    }
    for (size_t i = 0; i < n; i++) {
        const char *s = (const char *)items[i]->data.scalar.value;
        if (s[0] == '\0' || strchr(s, '/') != NULL || s[0] == '.')
            return conf__error(ctx, items[i], "index", "\"%s\" must be a plain file name", s);
        c->index[i] = strdup(s);
        if (c->index[i] == NULL)
            return conf__error(ctx, items[i], "index", "out of memory");
    }
    c->num_index = n;
    return 0;
}

/* status: {path: /status, allow: [127.0.0.1, "::1", 10.0.0.0/8]} */
static int conf__status(conf_ctx_t *ctx, yaml_node_t *v, conf_t *c)
{
    if (v->type != YAML_MAPPING_NODE)
        return conf__error(ctx, v, "status", "expected a mapping with path and allow");
    int have_allow = 0;
    for (yaml_node_pair_t *pair = v->data.mapping.pairs.start; pair < v->data.mapping.pairs.top;
         pair++) {
        yaml_node_t *k = yaml_document_get_node(ctx->doc, pair->key);
        yaml_node_t *val = yaml_document_get_node(ctx->doc, pair->value);
        const char *key = k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value : "?";
        if (strcmp(key, "path") == 0) {
            const char *s;
            if (conf__scalar(ctx, val, "status.path", &s) < 0)
                return -1;
            if (s[0] != '/' || strpbrk(s, " ?#%") != NULL)
                return conf__error(ctx, val, "status.path",
                                   "expected an absolute URL path such as /status, got \"%s\"", s);
            if (conf__string(ctx, val, "status.path", &c->status_path) < 0)
                return -1;
        } else if (strcmp(key, "allow") == 0) {
            yaml_node_t *items[CONF_MAX_ALLOW];
            size_t n;
            if (conf__list(ctx, val, "status.allow", CONF_MAX_ALLOW, items, &n) < 0)
                return -1;
            for (size_t i = 0; i < n; i++) {
                const char *s = (const char *)items[i]->data.scalar.value;
                if (conf_parse_cidr(s, &c->status_allow[i]) < 0)
                    return conf__error(ctx, items[i], "status.allow",
                                       "expected an address or network such as 127.0.0.1 or "
                                       "10.0.0.0/8, got \"%s\"", s);
            }
            c->num_status_allow = n;
            have_allow = 1;
        } else {
            return conf__error(ctx, k, key, "unknown key in status (expected path or allow)");
        }
    }
    if (c->status_path == NULL)
        return conf__error(ctx, v, "status", "path is missing");
    if (!have_allow) {
        /* Loopback only unless told otherwise: the page shows pids and load. */
        conf_parse_cidr("127.0.0.1", &c->status_allow[0]);
        conf_parse_cidr("::1", &c->status_allow[1]);
        c->num_status_allow = 2;
    }
    return 0;
}

/* --- mappings: cache_control, error_pages, mime_types --------------------- */

/* A file extension, as mime_extension() finds it: 1 to MIME_EXT_MAX
 * letters, digits, '_', '+' or '-'. */
static int conf__is_extension(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > MIME_EXT_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '+' && s[i] != '-')
            return 0;
    return 1;
}

/* What may go into a response header line as a whole value: visible
 * ASCII and inner spaces only, so no value can end the line early. */
static int conf__is_header_value(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max || s[0] == ' ' || s[n - 1] == ' ')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] > 0x7e)
            return 0;
    return 1;
}

static int conf__is_cache_control(const char *s)
{
    return conf__is_header_value(s, 256);
}

/* type "/" subtype [ parameters ], tokens around the slash. */
static int conf__is_media_type(const char *s)
{
    static const char tspecial[] = "()<>@,;:\\\"/[]?={} \t";
    if (!conf__is_header_value(s, 127))
        return 0;
    size_t i = 0;
    while (s[i] != '\0' && strchr(tspecial, s[i]) == NULL)
        i++;
    if (i == 0 || s[i] != '/')
        return 0;
    size_t j = ++i;
    while (s[i] != '\0' && strchr(tspecial, s[i]) == NULL)
        i++;
    return i > j && (s[i] == '\0' || s[i] == ';' || s[i] == ' ');
}

static int conf__is_error_status(const char *s)
{
    return strlen(s) == 3 && s[0] >= '4' && s[0] <= '5' && isdigit((unsigned char)s[1]) &&
           isdigit((unsigned char)s[2]);
}

/* A path under root, already in the form path_normalize() gives (the file
 * cache is keyed by it), not a directory, no dotfile. */
static int conf__is_page_path(const char *s)
{
    char norm[1024];
    size_t n = strlen(s);
    if (n < 2 || n >= sizeof(norm) || s[0] != '/' || s[n - 1] == '/')
        return 0;
    ssize_t r = path_normalize(s, n, norm, sizeof(norm));
    return r == (ssize_t)n && memcmp(norm, s, n) == 0 && !path_has_dotfile(s, n);
}

typedef struct {
    int (*key_ok)(const char *);
    const char *key_what;
    int (*value_ok)(const char *);
    const char *value_what;
    const char *example;
} conf__map_kind_t;

static int conf__map(conf_ctx_t *ctx, yaml_node_t *v, const char *key, const conf__map_kind_t *kind,
                     conf_map_t *m)
{
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
        yaml_node_t *k = yaml_document_get_node(ctx->doc, pair->key);
        yaml_node_t *val = yaml_document_get_node(ctx->doc, pair->value);
        if (k->type != YAML_SCALAR_NODE)
            return conf__error(ctx, k, key, "keys must be plain names");
        const char *ks = (const char *)k->data.scalar.value;
        if (!kind->key_ok(ks))
            return conf__error(ctx, k, key, "\"%s\" is not %s", ks, kind->key_what);
        if (conf_map_get(m, ks, strlen(ks)) != NULL)
            return conf__error(ctx, k, key, "\"%s\" is set twice", ks);
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

static const conf__map_kind_t conf__cache_control_kind = {
    conf__is_extension, "a file extension (or default)",
    conf__is_cache_control, "a Cache-Control value (printable ASCII, up to 256 bytes)",
    "{default: \"max-age=60\", html: no-cache}",
};
static const conf__map_kind_t conf__error_pages_kind = {
    conf__is_error_status, "a status from 400 to 599",
    conf__is_page_path, "a normalised path under root such as /404.html (no dotfiles)",
    "{404: /404.html, 500: /50x.html}",
};
static const conf__map_kind_t conf__mime_types_kind = {
    conf__is_extension, "a file extension",
    conf__is_media_type, "a media type such as text/markdown (printable ASCII, up to 127 bytes)",
    "{md: text/markdown}",
};

static int conf__key(conf_ctx_t *ctx, const char *k, yaml_node_t *v, conf_t *c)
{
    const char *s;
    if (!strcmp(k, "listen"))
        return conf__listen(ctx, v, c);
    if (!strcmp(k, "workers")) {
        if (v->type == YAML_SCALAR_NODE && !strcmp((const char *)v->data.scalar.value, "auto")) {
            long n = sysconf(_SC_NPROCESSORS_ONLN);
            c->workers = n > 0 ? (int)n : 1;
            return 0;
        }
        if (conf__scalar(ctx, v, k, &s) < 0)
            return -1;
        char *end;
        (void)strtol(s, &end, 10);
        if (v->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || end == s || *end != '\0')
            return conf__error(ctx, v, k, "expected a number or \"auto\", got \"%s\"", s);
        return conf__int(ctx, v, k, 1, 512, &c->workers);
    }
    if (!strcmp(k, "root"))
        return conf__path(ctx, v, k, &c->root);
    if (!strcmp(k, "index"))
        return conf__index(ctx, v, c);
    if (!strcmp(k, "daemon"))
        return conf__bool(ctx, v, k, &c->daemon);
    if (!strcmp(k, "pid_file"))
        return conf__path(ctx, v, k, &c->pid_file);
    if (!strcmp(k, "error_log")) {
        if (conf__scalar(ctx, v, k, &s) < 0)
            return -1;
        return strcmp(s, "stderr") == 0 ? conf__string(ctx, v, k, &c->error_log)
                                        : conf__path(ctx, v, k, &c->error_log);
    }
    if (!strcmp(k, "log_level")) {
        static const char *const names[] = { "debug", "info", "warn", "error" };
        if (conf__scalar(ctx, v, k, &s) < 0)
            return -1;
        for (int i = 0; i < 4; i++)
            if (!strcmp(s, names[i])) {
                c->log_level = (log_level_t)i;
                return 0;
            }
        return conf__error(ctx, v, k, "expected debug, info, warn or error, got \"%s\"", s);
    }
    if (!strcmp(k, "access_log")) {
        if (conf__scalar(ctx, v, k, &s) < 0)
            return -1;
        /* "off", quoted or not, turns it off; a file named off is "./off". */
        if (!strcmp(s, "off") ||
            (v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !strcmp(s, "false"))) {
            free(c->access_log);
            c->access_log = NULL;
            return 0;
        }
        return conf__path(ctx, v, k, &c->access_log);
    }
    if (!strcmp(k, "user")) {
        c->user_line = (unsigned)v->start_mark.line + 1;
        return conf__string(ctx, v, k, &c->user);
    }
    if (!strcmp(k, "group")) {
        c->group_line = (unsigned)v->start_mark.line + 1;
        return conf__string(ctx, v, k, &c->group);
    }
    if (!strcmp(k, "worker_connections"))
        return conf__int(ctx, v, k, 1, 1048576, &c->worker_connections);
    if (!strcmp(k, "keepalive_requests"))
        return conf__int(ctx, v, k, 1, INT_MAX, &c->keepalive_requests);
    if (!strcmp(k, "keepalive_timeout"))
        return conf__duration(ctx, v, k, 0, &c->keepalive_timeout);
    if (!strcmp(k, "client_header_timeout"))
        return conf__duration(ctx, v, k, 0.001, &c->client_header_timeout);
    if (!strcmp(k, "send_timeout"))
        return conf__duration(ctx, v, k, 0.001, &c->send_timeout);
    if (!strcmp(k, "shutdown_timeout"))
        return conf__duration(ctx, v, k, 0, &c->shutdown_timeout);
    if (!strcmp(k, "worker_timeout"))
        return conf__duration(ctx, v, k, 1, &c->worker_timeout);
    if (!strcmp(k, "max_header_size"))
        return conf__size(ctx, v, k, 1024, 1024 * 1024, &c->max_header_size);
    if (!strcmp(k, "max_body_size"))
        return conf__size(ctx, v, k, 0, (size_t)1 << 40, &c->max_body_size);
    if (!strcmp(k, "defer_accept"))
        return conf__bool(ctx, v, k, &c->defer_accept);
    if (!strcmp(k, "worker_max_requests"))
        return conf__int(ctx, v, k, 0, INT_MAX, &c->worker_max_requests);
    if (!strcmp(k, "status"))
        return conf__status(ctx, v, c);
    if (!strcmp(k, "gzip_static"))
        return conf__bool(ctx, v, k, &c->gzip_static);
    if (!strcmp(k, "autoindex"))
        return conf__bool(ctx, v, k, &c->autoindex);
    if (!strcmp(k, "cache_control"))
        return conf__map(ctx, v, k, &conf__cache_control_kind, &c->cache_control);
    if (!strcmp(k, "error_pages"))
        return conf__map(ctx, v, k, &conf__error_pages_kind, &c->error_pages);
    if (!strcmp(k, "mime_types"))
        return conf__map(ctx, v, k, &conf__mime_types_kind, &c->mime_types);
    return conf__error(ctx, v, k, "unknown key");
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
    conf_ctx_t ctx = { path, err, &doc, base };

    err[0] = '\0';
    f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, CONF_ERR_LEN, "%s: cannot open: %s", path, strerror(errno));
        goto fail;
    }
    c = conf__defaults(base);
    if (c == NULL || (c->file = conf__abspath(base, path)) == NULL) {
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

    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root == NULL)
        goto done; /* an empty file: every default */
    if (root->type != YAML_MAPPING_NODE) {
        snprintf(err, CONF_ERR_LEN, "%s:%lu: expected a mapping of keys to values", path,
                 (unsigned long)root->start_mark.line + 1);
        goto fail;
    }
    const char *seen[64];
    size_t nseen = 0;
    for (yaml_node_pair_t *pair = root->data.mapping.pairs.start;
         pair < root->data.mapping.pairs.top; pair++) {
        yaml_node_t *k = yaml_document_get_node(&doc, pair->key);
        yaml_node_t *v = yaml_document_get_node(&doc, pair->value);
        if (k->type != YAML_SCALAR_NODE) {
            conf__error(&ctx, k, "?", "keys must be plain names");
            goto fail;
        }
        const char *key = (const char *)k->data.scalar.value;
        for (size_t i = 0; i < nseen; i++)
            if (strcmp(seen[i], key) == 0) {
                conf__error(&ctx, k, key, "set twice");
                goto fail;
            }
        if (nseen < sizeof(seen) / sizeof(seen[0]))
            seen[nseen++] = key;
        if (conf__key(&ctx, key, v, c) < 0)
            goto fail;
    }

done:
    if (doc_ok)
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
