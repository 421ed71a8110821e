/*
 * conf_keys: the table of every configuration key (see conf_keys.h), and
 * the walks over it: find a row, list a scope's keys, free and copy a
 * scope's values (and the quoting of strings that every printer uses).
 *
 * Adding a key is a row here, a field in conf_t (conf.h) and its
 * documentation (README, etc/drover.8, etc/drover.yaml); the loader, the
 * defaults, the freeing and `drover -T` need nothing else. What an item of
 * a list key or an entry of a mapping key must be is in conf_items.c.
 */
#include "conf_keys.h"
#include "conf_items.h"
#include "conf_rule_keys.h"
#include "conf_upstreams.h"
#include "conf_access.h"
#include "conf_compress.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf_value.h"

/* --- the checks of string and enum rows ------------------------------------ */

static int conf__is_hsts(const char *s)
{
    return conf_value_is_header_value(s, 256);
}

static int conf__is_ciphers(const char *s)
{
    return s[0] != '\0' && strlen(s) < 1024 && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
           "abcdefghijklmnopqrstuvwxyz0123456789-_:+!@=,. ") == strlen(s);
}

static const char *const conf__tls_versions[] = { "1.2", "1.3", NULL };

/* http:// or https://, then something, and nothing that would break a
 * Location line. */
static int conf__is_redirect(const char *s)
{
    if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0)
        return 0;
    if (strlen(s) <= (s[4] == 's' ? 8u : 7u) || strlen(s) > 1024)
        return 0;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return 0;
    return 1;
}

static const char *const conf__log_formats[] = { "combined", "vhost_combined", "json", NULL };

static const char *const conf__log_levels[] = { "debug", "info", "warn", "error", NULL };

/* A location's cache_control: one header value. */
static int conf__is_header_value(const char *s)
{
    return conf_value_is_header_value(s, 1024);
}

/* --- the table ---------------------------------------------------------------- */

#define TOP CONF_SCOPE_TOP
#define HOST CONF_SCOPE_HOST
#define RULE CONF_SCOPE_RULE
#define AT(field) offsetof(conf_t, field)
#define LAT(field) offsetof(conf_listen_t, field)
#define LISTEN CONF_SCOPE_LISTEN
#define TLS CONF_SCOPE_TLS
#define CERT_AT(field) offsetof(conf_tls_cert_t, field)
#define YEAR (86400.0 * 365)

const conf_key_t conf__keys[] = {
    { "listen", CONF_KIND_LIST, TOP, AT(listen), "0.0.0.0:8080", .list = &conf_items_listen,
      .max_items = CONF_MAX_LISTEN, .count_offset = AT(num_listen),
      .doc = "addresses to listen on: host:port, [v6]:port or :port, or "
              "{address, tls, redirect_https, proxy_protocol}" },
    { "address", CONF_KIND_STRING, LISTEN, LAT(spec), NULL, .flags = CONF_F_REQUIRED,
      .line_offset = LAT(line), .doc = "host:port, [v6]:port or :port" },
    { "tls", CONF_KIND_BOOL, LISTEN, LAT(tls), "false", .doc = "HTTPS on this address" },
    { "redirect_https", CONF_KIND_BOOL, LISTEN, LAT(redirect_https), "false",
      .doc = "every request: 301 to https://host/path?query" },
    { "proxy_protocol", CONF_KIND_BOOL, LISTEN, LAT(proxy_protocol), "false",
      .doc = "connections start with a PROXY protocol header" },
    { "workers", CONF_KIND_INT, TOP, AT(workers), "auto", 1, 512, CONF_F_AUTO,
      .doc = "worker processes (auto: one per CPU)" },
    { "root", CONF_KIND_PATH, TOP | HOST | RULE, AT(root), "www", .doc = "document root" },
    { "index", CONF_KIND_LIST, TOP | HOST | RULE, AT(index), "index.html", .list = &conf_items_index,
      .max_items = CONF_MAX_INDEX, .count_offset = AT(num_index),
      .doc = "index files tried for a directory" },
    { "daemon", CONF_KIND_BOOL, TOP, AT(daemon), "false", .doc = "detach from the terminal" },
    { "pid_file", CONF_KIND_PATH, TOP, AT(pid_file), "drover.pid", .doc = "the master's pid" },
    { "error_log", CONF_KIND_PATH, TOP, AT(error_log), "stderr", .flags = CONF_F_STDERR,
      .doc = "stderr or a path" },
    { "log_level", CONF_KIND_ENUM, TOP, AT(log_level), "info", .names = conf__log_levels,
      .doc = "debug, info, warn or error" },
    { "access_log", CONF_KIND_PATH, TOP | HOST | RULE, AT(access_log), "off", .flags = CONF_F_OFF,
      .doc = "a path, or off" },
    { "user", CONF_KIND_STRING, TOP, AT(user), NULL, .line_offset = AT(user_line),
      .doc = "drop privileges to this user when started as root" },
    { "group", CONF_KIND_STRING, TOP, AT(group), NULL, .line_offset = AT(group_line),
      .doc = "and to this group" },
    { "worker_connections", CONF_KIND_INT, TOP, AT(worker_connections), "4096", 1, 1048576,
      .doc = "open connections per worker" },
    { "keepalive_timeout", CONF_KIND_DURATION, TOP, AT(keepalive_timeout), "15s", 0, YEAR,
      .doc = "idle keep-alive lifetime" },
    { "keepalive_requests", CONF_KIND_INT, TOP, AT(keepalive_requests), "10000", 1, INT_MAX,
      .doc = "requests per connection" },
    { "client_header_timeout", CONF_KIND_DURATION, TOP, AT(client_header_timeout), "10s",
      0.001, YEAR, .doc = "time to receive a whole request head" },
    { "client_body_timeout", CONF_KIND_DURATION, TOP, AT(client_body_timeout), "10s", 0.001,
      YEAR, .doc = "longest gap between two reads of a request body" },
    { "send_timeout", CONF_KIND_DURATION, TOP, AT(send_timeout), "30s", 0.001, YEAR,
      .doc = "a response may stall this long" },
    { "shutdown_timeout", CONF_KIND_DURATION, TOP, AT(shutdown_timeout), "30s", 0, YEAR,
      .doc = "drain limit for stop and reload" },
    { "worker_timeout", CONF_KIND_DURATION, TOP, AT(worker_timeout), "30s", 1, YEAR,
      .doc = "heartbeat limit of a worker" },
    { "max_header_size", CONF_KIND_SIZE, TOP, AT(max_header_size), "8k", 1024, 1024 * 1024,
      .doc = "largest request head" },
    { "max_body_size", CONF_KIND_SIZE, TOP, AT(max_body_size), "1m", 0, (double)((size_t)1 << 40),
      .doc = "largest request body (413 above)" },
    { "http2", CONF_KIND_BOOL, TOP, AT(http2), "true",
      .doc = "offer HTTP/2 (h2) by ALPN on TLS listeners" },
    { "http2_cleartext", CONF_KIND_BOOL, TOP, AT(http2_cleartext), "false",
      .doc = "plain listeners also take HTTP/2 with prior knowledge (h2c)" },
    { "http2_max_streams", CONF_KIND_INT, TOP, AT(http2_max_streams), "128", 1, 65536,
      .doc = "concurrent streams per HTTP/2 connection" },
    { "gzip_static", CONF_KIND_BOOL, TOP | HOST | RULE, AT(gzip_static), "true",
      .doc = "serve file.gz (and file.br) to clients that accept it" },
    { "autoindex", CONF_KIND_BOOL, TOP | HOST | RULE, AT(autoindex), "false",
      .doc = "list directories without an index file" },
    { "worker_max_requests", CONF_KIND_INT, TOP, AT(worker_max_requests), "0", 0, INT_MAX,
      .doc = "recycle a worker after about this many requests (0: never)" },
    { "defer_accept", CONF_KIND_BOOL, TOP, AT(defer_accept), "true",
      .doc = "TCP_DEFER_ACCEPT on the listeners" },
    { "server_tokens", CONF_KIND_BOOL, TOP, AT(server_tokens), "false",
      .doc = "Server: drover/VERSION instead of Server: drover" },
    { "status", CONF_KIND_SECTION, TOP, AT(status_path), NULL, .inner = CONF_SCOPE_STATUS,
      .doc = "the master's status as JSON: {path, allow}" },
    { "path", CONF_KIND_STRING, CONF_SCOPE_STATUS, AT(status_path), NULL,
      .flags = CONF_F_REQUIRED, .check = conf_value_is_url_path,
      .expected = "an absolute URL path such as /status" },
    /* Loopback only unless told otherwise: the page shows pids and load. */
    { "allow", CONF_KIND_LIST, CONF_SCOPE_STATUS, AT(status_allow), "127.0.0.1 ::1",
      .list = &conf_items_cidr, .max_items = CONF_MAX_ALLOW,
      .count_offset = AT(num_status_allow) },
    { "metrics", CONF_KIND_SECTION, TOP, AT(metrics_path), NULL, .inner = CONF_SCOPE_METRICS,
      .doc = "Prometheus metrics: {path, allow}" },
    { "path", CONF_KIND_STRING, CONF_SCOPE_METRICS, AT(metrics_path), NULL,
      .flags = CONF_F_REQUIRED, .check = conf_value_is_url_path,
      .expected = "an absolute URL path such as /metrics" },
    /* Loopback only unless told otherwise, like status. */
    { "allow", CONF_KIND_LIST, CONF_SCOPE_METRICS, AT(metrics_allow), "127.0.0.1 ::1",
      .list = &conf_items_cidr, .max_items = CONF_MAX_ALLOW,
      .count_offset = AT(num_metrics_allow) },
    /* Loopback by default: a PROXY header from anyone else would let any
     * client choose the address it is logged and allowed as. */
    { "proxy_trusted", CONF_KIND_LIST, TOP, AT(proxy_trusted), "127.0.0.1 ::1",
      .list = &conf_items_cidr, .max_items = CONF_MAX_ALLOW,
      .count_offset = AT(num_proxy_trusted),
      .doc = "addresses/networks allowed to send a PROXY protocol header" },
    { "tls", CONF_KIND_SECTION, TOP, AT(tls_ciphers), NULL, .inner = CONF_SCOPE_TLS,
      .doc = "HTTPS: {certificates, min_version, ciphers, session_tickets, ticket_key_file, hsts}" },
    { "certificates", CONF_KIND_LIST, TLS, AT(tls_certs), NULL, .list = &conf_items_tls_cert,
      .max_items = CONF_MAX_TLS_CERTS, .count_offset = AT(num_tls_certs),
      .doc = "PEM chains and keys; SNI picks by their names, the first answers the rest" },
    { "cert", CONF_KIND_PATH, CONF_SCOPE_TLS_CERT, CERT_AT(cert), NULL,
      .flags = CONF_F_REQUIRED, .line_offset = CERT_AT(line), .doc = "the PEM chain: leaf first" },
    { "key", CONF_KIND_PATH, CONF_SCOPE_TLS_CERT, CERT_AT(key), NULL,
      .flags = CONF_F_REQUIRED, .doc = "its private key" },
    { "min_version", CONF_KIND_ENUM, TLS, AT(tls_min_version), "1.2",
      .names = conf__tls_versions, .doc = "\"1.2\" or \"1.3\"" },
    /* Stored even when "default": non-NULL marks the section as given. */
    { "ciphers", CONF_KIND_STRING, TLS, AT(tls_ciphers), "default", .check = conf__is_ciphers,
      .expected = "default or an OpenSSL cipher list", .line_offset = AT(tls_ciphers_line),
      .doc = "TLS 1.2 ciphers: default (Mozilla intermediate) or an OpenSSL list" },
    { "session_tickets", CONF_KIND_BOOL, TLS, AT(tls_session_tickets), "true",
      .doc = "tickets with keys made by the master, shared by every worker, rotated" },
    { "ticket_key_file", CONF_KIND_LIST, TLS, AT(tls_ticket_key_files), "none",
      .flags = CONF_F_NONE, .list = &conf_items_ticket_key, .max_items = CONF_MAX_TICKET_KEYS,
      .count_offset = AT(num_tls_ticket_key_files),
      .doc = "none, or 80-byte key file(s): the first encrypts, all decrypt" },
    { "hsts", CONF_KIND_STRING, TLS, AT(tls_hsts), "none", .flags = CONF_F_NONE,
      .check = conf__is_hsts, .expected = "none or a header value such as \"max-age=63072000\"",
      .doc = "Strict-Transport-Security on HTTPS responses (none: not sent)" },
    { "cache_control", CONF_KIND_MAP, TOP | HOST, AT(cache_control), .map = &conf_items_cache_control,
      .doc = "Cache-Control by extension, default for the rest" },
    { "error_pages", CONF_KIND_MAP, TOP | HOST | RULE, AT(error_pages), .map = &conf_items_error_pages,
      .doc = "status -> page under root" },
    { "mime_types", CONF_KIND_MAP, TOP | HOST, AT(mime_types), .map = &conf_items_mime_types,
      .doc = "extension -> Content-Type, over the built-in table" },
    { "headers", CONF_KIND_MAP, TOP | HOST, AT(headers), .map = &conf_items_headers,
      .doc = "extra response header lines: name -> value" },
    { "log_format", CONF_KIND_ENUM, TOP, AT(log_format), "combined", .names = conf__log_formats,
      .doc = "access log lines: combined, vhost_combined or json" },
    { "hosts", CONF_KIND_HOSTS, TOP, AT(hosts),
      .doc = "virtual hosts: name (or *.suffix) -> per-host keys" },
    { "aliases", CONF_KIND_LIST, HOST, AT(aliases), .list = &conf_items_alias,
      .max_items = CONF_MAX_ALIASES, .count_offset = AT(num_aliases),
      .doc = "more names of this host" },
    { "redirect", CONF_KIND_STRING, HOST, AT(redirect), .check = conf__is_redirect,
      .expected = "a URL such as https://example.com",
      .doc = "every request: 301 to this URL plus the path and query" },
    { "tls", CONF_KIND_SECTION, HOST, AT(tls_cert), .inner = CONF_SCOPE_HOST_TLS,
      .doc = "this host's certificate: {cert, key}" },
    { "hsts", CONF_KIND_STRING, HOST, AT(host_hsts), NULL, .flags = CONF_F_NONE,
      .check = conf__is_hsts, .expected = "none or a header value such as \"max-age=63072000\"",
      .line_offset = AT(host_hsts_line),
      .doc = "this host's Strict-Transport-Security over HTTPS, or none; unset: tls.hsts" },
    { "cert", CONF_KIND_PATH, CONF_SCOPE_HOST_TLS, AT(tls_cert), .flags = CONF_F_REQUIRED },
    { "key", CONF_KIND_PATH, CONF_SCOPE_HOST_TLS, AT(tls_key), .flags = CONF_F_REQUIRED },
    /* Site rules (conf_rules.c). Neither is inherited: a host's rules are
     * its own, as nginx's locations belong to one server block. */
    { "locations", CONF_KIND_LOCATIONS, TOP | HOST, AT(locations), .flags = CONF_F_OWN,
      .doc = "per-path rules: \"= /exact\", \"/prefix\", \"^~ /prefix\", \"~ regex\", \"~* regex\", \"@name\"" },
    { "redirect_map", CONF_KIND_PATH, TOP | HOST, AT(redirect_map_path), .flags = CONF_F_OWN,
      .line_offset = AT(redirect_map_line),
      .doc = "a file of \"FROM TO [CODE]\" lines: exact paths redirected before locations" },
    { "alias", CONF_KIND_PATH, RULE, AT(alias),
      .doc = "a directory that replaces the matched prefix" },
    { "try_files", CONF_KIND_NODE, RULE, AT(try_files), .node = conf_rule_keys_try_files,
      .doc = "files tried in order; the last is a path, =CODE or @name" },
    { "return", CONF_KIND_NODE, RULE, AT(return_code), .node = conf_rule_keys_return,
      .doc = "CODE or {code, body, type}" },
    { "redirect", CONF_KIND_NODE, RULE, AT(redirect_to), .node = conf_rule_keys_redirect,
      .doc = "URL or {to, code: 301|302|303|307|308}" },
    { "headers", CONF_KIND_NODE, RULE, AT(rule_headers), .node = conf_rule_keys_headers,
      .doc = "added to the host's: name -> value, null removes" },
    { "cache_control", CONF_KIND_STRING, RULE, AT(rule_cache_control), .check = conf__is_header_value,
      .expected = "a Cache-Control value such as \"no-cache\"",
      .doc = "Cache-Control of the files this rule serves" },
    { "methods", CONF_KIND_NODE, RULE, AT(methods), .node = conf_rule_keys_methods,
      .doc = "the methods allowed (405 with Allow for others)" },
    /* Reverse proxy (conf_upstreams.c). */
    { "upstreams", CONF_KIND_NODE, CONF_SCOPE_TOP, AT(upstreams), .node = conf_upstreams_parse,
      .node_free = conf_upstreams_free, .node_print = conf_upstreams_print,
      .doc = "application servers: name -> {servers, keepalive, connect_timeout, read_timeout, send_timeout, max_fails, fail_timeout, tunnel_timeout}" },
    { "proxy", CONF_KIND_NODE, RULE, AT(proxy), .node = conf_upstreams_proxy,
      .node_free = conf_upstreams_proxy_free, .node_print = conf_upstreams_proxy_print,
      .doc = "forward the location's requests: an upstream's name or http://host:port/prefix/" },
    /* Access control (conf_access.c): top level, per host, per location. */
    { "allow", CONF_KIND_LIST, TOP | HOST | RULE, AT(allow), "none", .flags = CONF_F_NONE,
      .list = &conf_items_cidr,
      .max_items = CONF_MAX_ACCESS, .count_offset = AT(num_allow),
      .doc = "addresses/networks let in (others: 403); none: everyone" },
    { "deny", CONF_KIND_LIST, TOP | HOST | RULE, AT(deny), "none", .flags = CONF_F_NONE,
      .list = &conf_items_cidr,
      .max_items = CONF_MAX_ACCESS, .count_offset = AT(num_deny),
      .doc = "addresses/networks refused with 403, checked before allow" },
    { "real_ip", CONF_KIND_NODE, TOP, AT(real_ip), .node = conf_access_real_ip,
      .flags = CONF_F_SHARED, .node_copy = conf_access_copy, .node_free = conf_access_free,
      .node_print = conf_access_print,
      .doc = "the client behind proxies: {header: X-Forwarded-For|Forwarded, trusted: [CIDR]}, or off" },
    { "auth", CONF_KIND_NODE, TOP | HOST | RULE, AT(auth), .node = conf_access_auth,
      .flags = CONF_F_SHARED, .node_copy = conf_access_copy, .node_free = conf_access_free,
      .node_print = conf_access_print,
      .doc = "HTTP basic auth: {realm, htpasswd: FILE}, or off" },
    { "limit_req", CONF_KIND_NODE, TOP | HOST | RULE, AT(limit_req), .node = conf_access_limit_req,
      .flags = CONF_F_SHARED, .node_copy = conf_access_copy, .node_free = conf_access_free,
      .node_print = conf_access_print,
      .doc = "requests per client: {rate: N/s|N/m, burst, key: client, status: 429}, or off" },
    { "limit_conn", CONF_KIND_NODE, TOP | HOST | RULE, AT(limit_conn), .node = conf_access_limit_conn,
      .flags = CONF_F_SHARED, .node_copy = conf_access_copy, .node_free = conf_access_free,
      .node_print = conf_access_print,
      .doc = "open connections per client: {max, key: client, status: 429}, or off" },
    { "compress", CONF_KIND_NODE, TOP | HOST | RULE, AT(compress), .node = conf_compress_node,
      .node_copy = conf_compress_copy, .node_free = conf_compress_release,
      .doc = "off, or {encodings, types, min_size, level, cache: {path, max_size}}" },
};

const size_t conf__num_keys = sizeof(conf__keys) / sizeof(conf__keys[0]);

/* log_level is stored through an int. */
_Static_assert(sizeof(log_level_t) == sizeof(int), "log_level_t is not an int");

const conf_key_t *conf__key_find(const char *name, unsigned scope)
{
    for (size_t i = 0; i < conf__num_keys; i++)
        if ((conf__keys[i].scope & scope) && strcmp(conf__keys[i].name, name) == 0)
            return &conf__keys[i];
    return NULL;
}

void conf__keys_list(unsigned scope, char *out, size_t size)
{
    size_t n = 0, total = 0, seen = 0;
    for (size_t i = 0; i < conf__num_keys; i++)
        total += (conf__keys[i].scope & scope) != 0;
    out[0] = '\0';
    for (size_t i = 0; i < conf__num_keys && n < size; i++) {
        if (!(conf__keys[i].scope & scope))
            continue;
        seen++;
        const char *sep = seen == 1 ? "" : seen == total ? " or " : ", ";
        int w = snprintf(out + n, size - n, "%s%s", sep, conf__keys[i].name);
        if (w < 0)
            break;
        n += (size_t)w;
    }
}

void conf__map_free(conf_map_t *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->items[i].key);
        free(m->items[i].value);
    }
    free(m->items);
    m->items = NULL;
    m->n = 0;
}

void conf__free_scope(void *base, unsigned scope)
{
    for (size_t i = 0; i < conf__num_keys; i++) {
        const conf_key_t *k = &conf__keys[i];
        char *at = (char *)base + k->offset;
        if (!(k->scope & scope))
            continue;
        switch (k->kind) {
        case CONF_KIND_PATH:
        case CONF_KIND_STRING:
            free(*(char **)at);
            *(char **)at = NULL;
            break;
        case CONF_KIND_LIST:
            for (size_t j = 0; k->list->free != NULL && j < k->max_items; j++)
                k->list->free(at + j * k->list->size);
            *(size_t *)((char *)base + k->count_offset) = 0;
            break;
        case CONF_KIND_MAP:
            conf__map_free((conf_map_t *)(void *)at);
            break;
        case CONF_KIND_NODE:
            if (k->node_free != NULL)
                k->node_free(at, k->name);
            break;
        default:
            break;
        }
    }
}

int conf__copy_scope(void *dst, const void *src, unsigned scope)
{
    for (size_t i = 0; i < conf__num_keys; i++) {
        const conf_key_t *k = &conf__keys[i];
        char *to = (char *)dst + k->offset;
        const char *from = (const char *)src + k->offset;
        if (!(k->scope & scope) || (k->flags & CONF_F_OWN))
            continue;
        switch (k->kind) {
        case CONF_KIND_BOOL:
        case CONF_KIND_INT:
        case CONF_KIND_ENUM:
            *(int *)(void *)to = *(const int *)(const void *)from;
            break;
        case CONF_KIND_SIZE:
            *(size_t *)(void *)to = *(const size_t *)(const void *)from;
            break;
        case CONF_KIND_DURATION:
            *(double *)(void *)to = *(const double *)(const void *)from;
            break;
        case CONF_KIND_PATH:
        case CONF_KIND_STRING: {
            const char *s = *(char *const *)(const void *)from;
            if (s != NULL && (*(char **)(void *)to = strdup(s)) == NULL)
                return -1;
            break;
        }
        case CONF_KIND_LIST: {
            size_t n = *(const size_t *)(const void *)((const char *)src + k->count_offset);
            for (size_t j = 0; j < n; j++) {
                void *d = to + j * k->list->size;
                const void *sj = from + j * k->list->size;
                if (k->list->keep == NULL) {
                    memcpy(d, sj, k->list->size);
                } else {
                    /* Only lists of strings have a keep() in a host's scope. */
                    if (k->list->size != sizeof(char *) || *(char *const *)sj == NULL ||
                        k->list->keep(d, *(char *const *)sj) < 0)
                        return -1;
                }
                *(size_t *)(void *)((char *)dst + k->count_offset) = j + 1;
            }
            break;
        }
        case CONF_KIND_MAP: {
            const conf_map_t *m = (const conf_map_t *)(const void *)from;
            conf_map_t *o = (conf_map_t *)(void *)to;
            if (m->n == 0)
                break;
            if ((o->items = calloc(m->n, sizeof(*o->items))) == NULL)
                return -1;
            for (; o->n < m->n; o->n++) {
                o->items[o->n].key = strdup(m->items[o->n].key);
                o->items[o->n].value = strdup(m->items[o->n].value);
                if (o->items[o->n].key == NULL || o->items[o->n].value == NULL) {
                    o->n++;
                    return -1;
                }
            }
            break;
        }
        case CONF_KIND_NODE:
            if (k->node_copy != NULL && k->node_copy(to, from) < 0)
                return -1;
            break;
        default:
            break;
        }
    }
    return 0;
}

/* A YAML double-quoted scalar: any string reads back as itself. Here
 * rather than in conf_print.c, which calls the printers of conf_compress.c
 * and others that call this: the two files would call each other. */
void conf__print_quoted(FILE *out, const char *s)
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
