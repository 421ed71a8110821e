/*
 * conf: the YAML configuration (libyaml), with every key of SPEC.md.
 *
 * The keys are data: one row per key in common/conf/conf_keys.c (name, kind,
 * where it is stored, limits, default, scope) drives the defaults, the
 * parsing, the error messages, the freeing and `drover -T`. Adding a key
 * is a field here, a row there, and its documentation.
 *
 * conf_load() reads a whole file into a fresh conf_t or fails without side
 * effects, which is what makes a reload transactional: the master keeps the
 * old conf_t until the new one has loaded. Errors name the file, line and
 * key: "etc/drover.yaml:7: workers: expected a number or \"auto\"".
 *
 * Relative paths (root, pid_file, logs) are resolved against the working
 * directory at load time and stored absolute, so a daemon's chdir("/") or a
 * later reload does not change what they mean. All strings in a conf_t are
 * owned by it and freed by conf_free().
 */
#ifndef DROVER_CONF_H
#define DROVER_CONF_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "conf_value.h"
#include "log.h"

#define CONF_MAX_LISTEN 32
#define CONF_MAX_INDEX 16
#define CONF_ERR_LEN 512

#define CONF_MAX_ALLOW 32
#define CONF_MAX_ACCESS 64
#define CONF_MAX_TLS_CERTS 16
#define CONF_MAX_TICKET_KEYS 8
#define CONF_MAX_TRY_FILES 16

/* A mapping of names to strings (cache_control, error_pages, mime_types),
 * in file order; keys are stored lower-case and are unique. */
typedef struct {
    char *key;
    char *value;
} conf_pair_t;

typedef struct {
    conf_pair_t *items;
    size_t n;
} conf_map_t;

#define CONF_MAX_MAP 256
#define CONF_MAX_ALIASES 64
#define CONF_MAX_HOSTS 100000

/* log_format */
#define CONF_LOG_COMBINED 0
#define CONF_LOG_VHOST_COMBINED 1
#define CONF_LOG_JSON 2

struct conf_host_s;
struct vhost_table_s;

/* compress: (README "Compression", common/conf/conf_compress.c). Codings
 * are numbered as http_coding_t (common/http/http_accept.h) numbers them. */
#define CONF_CODING_GZIP 1
#define CONF_CODING_BR 2
#define CONF_CODING_ZSTD 3
#define CONF_CODINGS 4                 /* identity is 0 */
typedef struct {
    int on;
    int num_encodings;
    int encodings[CONF_CODINGS - 1];   /* CONF_CODING_*, the server's preference first */
    int level[CONF_CODINGS];           /* by coding */
    size_t min_size;
    char *types;                       /* owned: the media types, each with a space before
                                        * and after, lower case; NULL: the default */
    /* cache: {path, max_size}: read at the top level only; one cache for all. */
    char *cache_path;                  /* absolute; owned */
    size_t cache_max;
} conf_compress_t;

typedef struct {
    char *file;        /* absolute path of the config file */
    char *base;        /* the directory relative paths were resolved in */

    conf_listen_t listen[CONF_MAX_LISTEN];
    size_t num_listen;
    int workers;       /* resolved: "auto" becomes the CPU count */
    char *root;        /* absolute, no trailing slash */
    char *index[CONF_MAX_INDEX];
    size_t num_index;
    int daemon;
    char *pid_file;
    char *error_log;   /* "stderr" or an absolute path */
    log_level_t log_level;
    char *access_log;  /* NULL when "off" */
    char *user;        /* NULL when unset */
    char *group;
    unsigned user_line, group_line; /* for errors found after loading */
    int worker_connections;
    int keepalive_requests;
    double keepalive_timeout;      /* seconds */
    double client_header_timeout;
    double send_timeout;
    double shutdown_timeout;
    double worker_timeout;         /* heartbeat limit */
    size_t max_header_size;
    size_t max_body_size;          /* a request body above this is a 413 */
    int gzip_static;               /* also file.br, when br is accepted */
    int autoindex;
    conf_map_t cache_control;      /* extension (or "default") -> Cache-Control value */
    conf_map_t error_pages;        /* "404" -> "/404.html", a path under root */
    conf_map_t mime_types;         /* extension -> Content-Type, over the built-in table */
    int worker_max_requests;       /* 0: off; else recycle after ~this many */
    int defer_accept;              /* TCP_DEFER_ACCEPT on the listen sockets */
    char *status_path;             /* NULL: no status page */
    conf_cidr_t status_allow[CONF_MAX_ALLOW];
    size_t num_status_allow;
    int server_tokens;             /* Server: drover/VERSION instead of drover */
    double client_body_timeout;    /* longest gap between reads of a body */
    conf_cidr_t proxy_trusted[CONF_MAX_ALLOW]; /* may send a PROXY protocol header */
    size_t num_proxy_trusted;
    int http2;                     /* offer h2 by ALPN on TLS listeners */
    int http2_cleartext;           /* plain listeners take HTTP/2 with prior knowledge */
    int http2_max_streams;         /* SETTINGS_MAX_CONCURRENT_STREAMS */
    /* tls: (SPEC "TLS"); tls_ciphers is non-NULL ("default" or a list)
     * exactly when the section was given. The master turns these into a
     * tls_conf_t and contexts (master/tls_setup.c). */
    char *tls_ciphers;
    unsigned tls_ciphers_line;     /* where ciphers was written, 0: not written */
    conf_tls_cert_t tls_certs[CONF_MAX_TLS_CERTS];
    size_t num_tls_certs;
    int tls_min_version;           /* 0: "1.2", 1: "1.3" (tls_conf_min_version_t) */
    int tls_session_tickets;
    char *tls_ticket_key_files[CONF_MAX_TICKET_KEYS]; /* absolute; none: 0 of them */
    size_t num_tls_ticket_key_files;
    char *tls_hsts;                /* Strict-Transport-Security value, NULL: none */
    char *host_hsts;               /* a host's hsts: its value, NULL: none ... */
    unsigned host_hsts_line;       /* ... when written (0: tls.hsts applies) */

    /* Virtual hosts (README "Virtual hosts", common/conf/conf_hosts.c). */
    conf_map_t headers;            /* extra response header lines: name -> value */
    int log_format;                /* CONF_LOG_* */
    struct conf_host_s *hosts;     /* top level only: the hosts: entries, in file order */
    size_t num_hosts;
    struct vhost_table_s *vhosts;  /* their names and aliases -> index in hosts */
    /* Set in a host's own conf_t only; the top level leaves them empty. */
    char *aliases[CONF_MAX_ALIASES];
    size_t num_aliases;
    char *redirect;                /* URL: every request gets a 301 to it + path and query */
    char *tls_cert;                /* tls: {cert, key} of the host: absolute paths */
    char *tls_key;
    char *metrics_path;            /* NULL: no /metrics */
    conf_cidr_t metrics_allow[CONF_MAX_ALLOW];
    size_t num_metrics_allow;

    /* Site rules (README "Locations", common/conf/conf_rules.c): the top level's
     * and each host's own, never inherited (nginx's server blocks). */
    struct conf_rules_s *locations;  /* NULL: none */
    char *redirect_map_path;         /* absolute; NULL: none */
    unsigned redirect_map_line;
    struct redirect_map_s *redirect_map;
    /* Set in a location's own conf_t only: the rule keys that are not also
     * host keys (a location's conf_t starts as a copy of its host's). */
    char *alias;                   /* absolute, ends in "/" */
    char *try_files[CONF_MAX_TRY_FILES];
    size_t num_try_files;
    int return_code;               /* 0: no return */
    char *return_body;             /* NULL: none */
    char *return_type;             /* Content-Type of the body */
    char *redirect_to;             /* a location's redirect (NULL: none) */
    int redirect_code;
    conf_map_t rule_headers;       /* added to the host's; value "": removed */
    unsigned methods;              /* bit 1 << HTTP_METHOD_*; 0: every method */
    char *rule_cache_control;      /* a location's Cache-Control for its files */
    /* Reverse proxy (README "Reverse proxy", common/conf/conf_upstreams.c):
     * the top level's upstreams, and a location's proxy as written, its
     * line, the upstream it names (an index into the top level's
     * upstreams, set once every host is read) and, for a URL with a path,
     * the path that replaces the matched prefix (NULL: the URI as sent). */
    struct conf_upstreams_s *upstreams;
    char *proxy;
    unsigned proxy_line;
    int proxy_upstream;
    char *proxy_uri;

    /* Access control (README "Access control", common/conf/conf_access.h):
     * top level, per host and per location, inherited like root. */
    conf_cidr_t allow[CONF_MAX_ACCESS]; /* none: everyone (after deny) */
    size_t num_allow;
    conf_cidr_t deny[CONF_MAX_ACCESS];  /* checked first */
    size_t num_deny;
    struct conf_real_ip_s *real_ip;   /* top level only; NULL: off */
    struct conf_auth_s *auth;         /* NULL: off */
    struct conf_limit_s *limit_req;   /* NULL: off */
    struct conf_limit_s *limit_conn;  /* NULL: off */
    conf_compress_t compress;      /* top level, host and location */
} conf_t;

/* One entry of hosts:. Its conf_t holds every per-host key (scope HOST in
 * conf_keys.c): the host's own value, else a copy of the top level's, so a
 * reader never needs to know which it was. Owned by the top-level conf_t. */
typedef struct conf_host_s {
    char *name;          /* as written: "example.com", "*.example.com" */
    unsigned line;
    conf_t *conf;
    unsigned char set[32]; /* bit i: the host set row i of the key table itself */
} conf_host_t;

/* 1 when host h set the key named name itself (0: inherited or unknown). */
int conf_host_sets(const conf_host_t *h, const char *name);

/* Writes warnings about the hosts that do not fail a load (a wildcard that
 * does not cover its own suffix, see README), one line each, to out.
 * Returns how many. For `drover -t`. */
int conf_hosts_warn(const conf_t *conf, FILE *out);

/* Returns a new conf_t, or NULL with a message in err (CONF_ERR_LEN bytes).
 * Relative paths are resolved against the working directory. */
conf_t *conf_load(const char *path, char *err);

/* The same, resolving relative paths against base (NULL: the working
 * directory). A reload passes the first load's base, so a daemon that
 * changed directory to "/" still reads "www" as it did at start. */
conf_t *conf_load_at(const char *path, const char *base, char *err);
void conf_free(conf_t *conf);

/* Whether conf has a certificate for HTTPS: under tls.certificates or a
 * host's own tls (which alone brings the tls section's defaults). */
int conf_has_certificates(const conf_t *conf);

/* The pid_file of a config file, read leniently (the rest of the file may
 * be invalid), absolute; the default when it is not set. Caller frees. */
char *conf_pid_file(const char *path);

/* A conf_t with every default, for tests and for conf_load itself. */
conf_t *conf_defaults(void);

/* Writes the configuration as YAML, every key with its effective value (a
 * default when the file did not set it), in a form conf_load() reads back
 * to the same conf_t: `drover -T`. 0 ok, -1 on a write error (errno). */
int conf_print(const conf_t *conf, FILE *out);

/* The value parsers live in conf_value.h; these names stay for callers. */
static inline int conf_parse_duration(const char *s, double *seconds)
{
    return conf_value_duration(s, seconds);
}
static inline int conf_parse_size(const char *s, size_t *bytes)
{
    return conf_value_size(s, bytes);
}
static inline int conf_parse_listen(const char *s, conf_listen_t *l)
{
    return conf_value_listen(s, l);
}
static inline int conf_parse_cidr(const char *s, conf_cidr_t *c)
{
    return conf_value_cidr(s, c);
}
/* 1 when the address (family, 4 or 16 bytes) is inside one of the list. */
static inline int conf_cidr_match(const conf_cidr_t *list, size_t n, int family, const void *addr)
{
    return conf_value_cidr_match(list, n, family, addr);
}

/* The value of key[0..len) in m, compared case-insensitively, or NULL. */
const char *conf_map_get(const conf_map_t *m, const char *key, size_t len);

#endif
