/*
 * conf_upstreams: the `upstreams:` section and a location's `proxy:` key
 * (README "Reverse proxy").
 *
 *   upstreams:
 *     app:
 *       servers: ["127.0.0.1:9000", "unix:/run/app.sock",
 *                 {address: "10.0.0.2:9000", weight: 2, backup: true}]
 *       keepalive: 16, connect_timeout: 5s, read_timeout: 60s,
 *       send_timeout: 60s, max_fails: 1, fail_timeout: 10s, tunnel_timeout: 300s,
 *       health: {path: /healthz, interval: 5s}   (conf_health.h)
 *   locations:
 *     "/api/": {proxy: app}     # or proxy: "http://127.0.0.1:9000/prefix/"
 *
 * Addresses are resolved once, when the file is read (getaddrinfo), so a
 * DNS change needs a reload, as with nginx without a resolver. A name with
 * several addresses is a server for each, with the weight and backup
 * given, named by its numeric address (nginx does the same). A unix socket that does not
 * exist yet is not an error: the application may start after drover, and
 * a connect that fails is a 502 like any other.
 *
 * A URL proxy becomes an upstream of its own with one server and the
 * defaults, named by its "host:port" and marked implicit (not printed by
 * -T, which prints the proxy key as written). Every rule's proxy is
 * resolved to an index into the top-level conf_t's upstreams once all the
 * hosts are read (conf_upstreams_link), so a worker can keep its state of
 * each upstream in an array of the same order.
 *
 * Functions return 0, or -1 with the message in the context (parse) or in
 * err (link), naming the file, line and key.
 */
#ifndef DROVER_CONF_UPSTREAMS_H
#define DROVER_CONF_UPSTREAMS_H

#include <stddef.h>
#include <stdio.h>
#include <sys/socket.h>

#include "conf.h"
#include "conf_health.h"

#define CONF_UPSTREAM_SERVERS_MAX 64
#define CONF_UPSTREAMS_MAX 256

typedef struct {
    char *spec;                   /* as written: "127.0.0.1:9000", "unix:/run/app.sock";
                                   * the numeric address when a name gave several */
    char *host;                   /* as written: the Host a request without one gets */
    int expansion;                /* on the first server a name gave: how many it gave
                                   * (-T prints the name once); 0 on the others */
    struct sockaddr_storage addr; /* resolved at load */
    socklen_t addr_len;
    int weight;                   /* 1..100 */
    int backup;                   /* used only when every other server is down */
} conf_upstream_server_t;

typedef struct conf_upstream_s {
    char *name;
    unsigned line;
    conf_upstream_server_t servers[CONF_UPSTREAM_SERVERS_MAX];
    size_t nservers;
    int keepalive;                /* idle connections kept per worker; 0: none */
    double connect_timeout;
    double read_timeout;          /* between two reads of the response */
    double send_timeout;          /* between two writes of the request */
    double tunnel_timeout;        /* an upgraded connection (WebSocket) with no byte either way */
    int max_fails;                /* 0: passive health off */
    double fail_timeout;
    int implicit;                 /* made for a proxy URL */
    conf_health_t health;         /* active checks; path NULL: none */
} conf_upstream_t;

typedef struct conf_upstreams_s {
    conf_upstream_t *items;
    size_t n, cap;
} conf_upstreams_t;

/* The key table's node parser of `upstreams:` (conf_key_t.node). */
int conf_upstreams_parse(void *ctx, const void *row, void *value, char *base);

/* The node parser of a location's `proxy:`. */
int conf_upstreams_proxy(void *ctx, const void *row, void *value, char *base);

/* Resolves every proxy of top's locations and of its hosts' to an index
 * into top->upstreams, adding the implicit upstreams of URLs. */
int conf_upstreams_link(conf_t *top, char *err);

/* One "host:port" or "unix:/path" into the addresses of out[0..*n), at
 * most room of them: a name may have several (for tests and the loader).
 * Only addr and addr_len are set. */
int conf_upstreams_address(const char *spec, conf_upstream_server_t *out, size_t room, size_t *n,
                           const char **why);

/* The key table's hooks (conf_key_t.node_print/node_free): at is
 * &conf_t.upstreams or &conf_t.proxy. */
void conf_upstreams_print(FILE *out, const char *name, const void *at, const char *indent);
void conf_upstreams_free(void *at, const char *name);
void conf_upstreams_proxy_print(FILE *out, const char *name, const void *at, const char *indent);
void conf_upstreams_proxy_free(void *at, const char *name);

#endif
