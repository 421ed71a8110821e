/*
 * proxy_request: see proxy_request.h.
 */
#include "proxy_request.h"

#include <stdio.h>
#include <string.h>

#include "http_parser.h"

int proxy_request_hop(str_t name, str_t connection)
{
    static const str_t hop[] = {STR_LIT("Connection"),       STR_LIT("Keep-Alive"),
                                STR_LIT("Proxy-Connection"), STR_LIT("TE"),
                                STR_LIT("Trailer"),          STR_LIT("Transfer-Encoding"),
                                STR_LIT("Upgrade")};
    for (size_t i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
        if (str_caseeq(name, hop[i].p, hop[i].len))
            return 1;
    return connection.len > 0 && http_list_has(connection, name.p, name.len);
}

/* Hop-by-hop, or named by any of the request's Connection headers. */
static int proxy_request__hop_any(const http_request_t *req, str_t name)
{
    if (proxy_request_hop(name, STR_NULL))
        return 1;
    for (size_t i = 0; i < req->num_headers; i++)
        if (STR_CASEEQ(req->headers[i].name, "Connection") &&
            http_list_has(req->headers[i].value, name.p, name.len))
            return 1;
    return 0;
}

/* Written by the proxy itself below, so the client's copies are dropped
 * (X-Forwarded-For and Forwarded are appended to, not dropped). */
static int proxy_request__own(str_t name)
{
    return STR_CASEEQ(name, "Content-Length") || STR_CASEEQ(name, "X-Forwarded-Proto") ||
           STR_CASEEQ(name, "X-Forwarded-Host") || STR_CASEEQ(name, "Expect") ||
           STR_CASEEQ(name, "X-Forwarded-For") || STR_CASEEQ(name, "Forwarded") ||
           STR_CASEEQ(name, "Host");
}

typedef struct {
    char *p, *end;
    int over;
} proxy_request_out_t;

static void proxy_request__put(proxy_request_out_t *o, const char *s, size_t n)
{
    if (n == 0)
        return; /* s may be NULL (STR_NULL) */
    if (o->over || (size_t)(o->end - o->p) < n) {
        o->over = 1;
        return;
    }
    memcpy(o->p, s, n);
    o->p += n;
}

#define PUTS(o, lit) proxy_request__put((o), (lit), sizeof(lit) - 1)
#define PUTSTR(o, s) proxy_request__put((o), (s).p, (s).len)
/* A string chosen at run time (PUTS takes sizeof of a literal). */
#define PUTZ(o, z) proxy_request__put((o), (z), strlen(z))

/* Every value of the headers named name, joined by ", ": several field
 * lines of a list header are one list (RFC 9110 5.3). Returns how many. */
static int proxy_request__list(proxy_request_out_t *o, const http_request_t *req,
                               const char *name, size_t nlen)
{
    int n = 0;
    for (size_t i = 0; i < req->num_headers; i++) {
        if (!str_caseeq(req->headers[i].name, name, nlen) || req->headers[i].value.len == 0)
            continue;
        if (n++ > 0)
            PUTS(o, ", ");
        PUTSTR(o, req->headers[i].value);
    }
    return n;
}

/* The same, then ", " when there was one: what the proxy appends follows. */
static void proxy_request__joined(proxy_request_out_t *o, const http_request_t *req,
                                  const char *name, size_t nlen)
{
    if (proxy_request__list(o, req, name, nlen) > 0)
        PUTS(o, ", ");
}

/* A decoded path, percent-encoded again where a target needs it. */
static void proxy_request__encoded(proxy_request_out_t *o, const char *p, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch <= 0x20 || ch >= 0x7f || ch == '%' || ch == '?' || ch == '#' || ch == '"') {
            char e[3] = {'%', hex[ch >> 4], hex[ch & 15]};
            proxy_request__put(o, e, 3);
        } else {
            proxy_request__put(o, p + i, 1);
        }
    }
}

/* The target: the path with the location prefix replaced, and the query. */
static void proxy_request__target(proxy_request_out_t *o, const http_request_t *req,
                                  const proxy_request_args_t *a)
{
    str_t path = req->path;
    if (path.len == 0 || path.p[0] != '/') {
        if (STR_EQ(req->target, "*")) {
            PUTS(o, "*");
            return;
        }
        path = STR_LIT("/");
    }
    if (a->uri != NULL && a->prefix.len > 0 && path.len >= a->prefix.len &&
        memcmp(path.p, a->prefix.p, a->prefix.len) == 0) {
        proxy_request__put(o, a->uri, strlen(a->uri));
        path = str_make(path.p + a->prefix.len, path.len - a->prefix.len);
        /* "/new/" + "/x" when the prefix had no slash of its own. */
        size_t ulen = strlen(a->uri);
        if (ulen > 0 && a->uri[ulen - 1] == '/' && path.len > 0 && path.p[0] == '/')
            path = str_make(path.p + 1, path.len - 1);
    }
    else if (a->uri != NULL && a->prefix.len > 0 && a->path.len >= a->prefix.len &&
             memcmp(a->path.p, a->prefix.p, a->prefix.len) == 0) {
        proxy_request__put(o, a->uri, strlen(a->uri));
        size_t ulen = strlen(a->uri), from = a->prefix.len;
        if (ulen > 0 && a->uri[ulen - 1] == '/' && from < a->path.len && a->path.p[from] == '/')
            from++;
        proxy_request__encoded(o, a->path.p + from, a->path.len - from);
        path = STR_NULL;
    }
    PUTSTR(o, path);
    if (req->query.len > 0) {
        PUTS(o, "?");
        PUTSTR(o, req->query);
    }
}

ssize_t proxy_request_head(const http_request_t *req, const proxy_request_args_t *a, char *out,
                           size_t cap)
{
    proxy_request_out_t o = {out, out + cap, 0};
    PUTSTR(&o, req->method_name);
    PUTS(&o, " ");
    proxy_request__target(&o, req, a);
    PUTS(&o, " HTTP/1.1\r\nHost: ");
    str_t host = req->host.len > 0 ? req->host : str_make(a->host, strlen(a->host));
    PUTSTR(&o, host);
    PUTS(&o, "\r\n");
    for (size_t i = 0; i < req->num_headers; i++) {
        const http_header_t *hd = &req->headers[i];
        if (proxy_request__hop_any(req, hd->name) || proxy_request__own(hd->name) ||
            STR_CASEEQ(hd->name, "Cookie"))
            continue;
        PUTSTR(&o, hd->name);
        PUTS(&o, ": ");
        PUTSTR(&o, hd->value);
        PUTS(&o, "\r\n");
    }
    /* Cookies on one line, joined by "; ": an HTTP/2 client may send each
     * in a field of its own, which HTTP/1.1 does not allow (RFC 9113
     * 8.2.3). */
    int cookies = 0;
    for (size_t i = 0; i < req->num_headers; i++) {
        const http_header_t *hd = &req->headers[i];
        if (!STR_CASEEQ(hd->name, "Cookie") || hd->value.len == 0)
            continue;
        if (cookies++ > 0)
            PUTS(&o, "; ");
        else
            PUTS(&o, "Cookie: ");
        PUTSTR(&o, hd->value);
    }
    if (cookies > 0)
        PUTS(&o, "\r\n");
    char num[32];
    if (a->chunked) {
        PUTS(&o, "Transfer-Encoding: chunked\r\n");
    } else if (a->content_length >= 0) {
        int n =
            snprintf(num, sizeof(num), "Content-Length: %lld\r\n", (long long)a->content_length);
        proxy_request__put(&o, num, (size_t)n);
    }
    PUTS(&o, "X-Forwarded-For: ");
    proxy_request__joined(&o, req, "X-Forwarded-For", sizeof("X-Forwarded-For") - 1);
    proxy_request__put(&o, a->client, strlen(a->client));
    PUTZ(&o, a->https ? "\r\nX-Forwarded-Proto: https\r\n" : "\r\nX-Forwarded-Proto: http\r\n");
    PUTS(&o, "X-Forwarded-Host: ");
    PUTSTR(&o, host);
    PUTS(&o, "\r\nForwarded: ");
    proxy_request__joined(&o, req, "Forwarded", sizeof("Forwarded") - 1);
    PUTZ(&o, a->client_v6 ? "for=\"[" : "for=");
    proxy_request__put(&o, a->client, strlen(a->client));
    PUTZ(&o, a->client_v6 ? "]\";proto=" : ";proto=");
    PUTZ(&o, a->https ? "https" : "http");
    /* host is a token or a quoted string; a Host value is a valid
   * quoted-string content (the parser refused control characters), but
   * may hold a '"' or '\\': quote those. */
    PUTS(&o, ";host=\"");
    for (size_t i = 0; i < host.len; i++) {
        if (host.p[i] == '"' || host.p[i] == '\\')
            PUTS(&o, "\\");
        proxy_request__put(&o, host.p + i, 1);
    }
    PUTS(&o, "\"\r\n");
    if (a->extra != NULL)
        PUTZ(&o, a->extra);
    if (a->upgrade.len > 0) {
        /* Every Upgrade line of the client's (RFC 9110 7.8: one list, the
         * protocols in its order of preference), or the value given when
         * the request has none of its own (HTTP/2's extended CONNECT). */
        PUTS(&o, "Upgrade: ");
        if (proxy_request__list(&o, req, "Upgrade", sizeof("Upgrade") - 1) == 0)
            PUTSTR(&o, a->upgrade);
        PUTS(&o, "\r\nConnection: upgrade\r\n\r\n");
    } else {
        PUTZ(&o, a->keepalive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n");
    }
    return o.over ? -1 : (ssize_t)(o.p - out);
}
