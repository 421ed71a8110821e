/*
 * rule_handler: see rule_handler.h.
 */
#include "rule_handler.h"

#include <stdio.h>
#include <string.h>

#include "access.h"
#include "error_page.h"
#include "file_cache.h"
#include "http_host.h"
#include "log.h"
#include "path.h"
#include "redirect_map.h"
#include "rule_vars.h"
#include "rules.h"

/* try_files' last entry may lead to another location: at most this many
 * times, as nginx stops internal redirects at 10. */
#define RULE_HANDLER_HOPS 10

/* $host and $port from the Host header; the scheme's port when absent. */
static void rule_handler__vars(const handler_req_t *h, const rules_match_t *m, const char *uri,
                               size_t ulen, rule_vars_t *v)
{
    const http_request_t *req = h->req;
    v->match = m;
    v->uri = str_make(uri, ulen);
    v->request_uri = req->target;
    v->args = req->query;
    v->scheme = h->https ? STR_LIT("https") : STR_LIT("http");
    v->host = req->host;
    v->port = h->https ? STR_LIT("443") : STR_LIT("80");
    const char *colon = req->host.len > 0 && req->host.p[0] != '['
                            ? memchr(req->host.p, ':', req->host.len)
                            : NULL;
    if (req->host.len > 0 && req->host.p[0] == '[') {
        const char *end = memchr(req->host.p, ']', req->host.len);
        if (end != NULL && (size_t)(end + 1 - req->host.p) < req->host.len && end[1] == ':')
            colon = end + 1;
    }
    if (colon != NULL) {
        v->host = str_make(req->host.p, (size_t)(colon - req->host.p));
        v->port = str_make(colon + 1, req->host.len - (size_t)(colon + 1 - req->host.p));
    }
}

/* A redirect: an absolute URL as it is; a path gets the request's scheme,
 * host and port, so a location behind https on 8443 stays there. */
static void rule_handler__redirect(const handler_req_t *h, response_t *r, int code,
                                   const char *to, size_t len)
{
    const http_request_t *req = h->req;
    response_init(r, code);
    if (to[0] == '/' && (len < 2 || to[1] != '/') && req->host.len > 0)
        response_addf(r, "Location: %s://%.*s%.*s\r\n", h->https ? "https" : "http",
                      (int)req->host.len, req->host.p, (int)len, to);
    else
        response_addf(r, "Location: %.*s\r\n", (int)len, to);
    error_page_respond(h->w, r);
}

/* "Allow: GET, HEAD" of a location's methods. */
/* A location with proxy: the protocol forwards the request (proxy.h). */
static void rule_handler__proxy(const handler_req_t *h, response_t *r, const conf_rule_t *rule,
                                const char *path, size_t len)
{
    if (!h->can_proxy) {
        /* A protocol that cannot forward (HTTP/1 and HTTP/2 both can). */
        log_error("location \"%s\": proxy: not for this protocol: 502", rule->pattern);
        error_page_status(h->w, r, 502);
        return;
    }
    response_init(r, 200);
    r->proxy = rule->conf;
    int prefix = rule->kind == CONF_RULE_PREFIX || rule->kind == CONF_RULE_PREFIX_STOP ||
                 rule->kind == CONF_RULE_EXACT;
    r->proxy_prefix = prefix ? str_make(rule->text, rule->text_len) : STR_NULL;
    char *copy = response_alloc(r, len);
    r->proxy_path = copy != NULL ? str_make(copy, len) : STR_NULL;
    if (copy != NULL)
        memcpy(copy, path, len);
}

static void rule_handler__405(worker_t *w, response_t *r, unsigned methods)
{
    char allow[160];
    size_t n = 0;
    for (int m = 1; m < 32 && n + 16 < sizeof(allow); m++)
        if (methods & (1u << m)) {
            const char *name = http_method_name((http_method_t)m);
            if (name == NULL)
                continue;
            n += (size_t)snprintf(allow + n, sizeof(allow) - n, "%s%s", n ? ", " : "", name);
        }
    response_init(r, 405);
    response_addf(r, "Allow: %.*s\r\n", (int)n, allow);
    error_page_respond(w, r);
}

static void rule_handler__return(const handler_req_t *h, response_t *r, const conf_t *c,
                                 const rule_vars_t *v)
{
    worker_t *w = h->w;
    if (c->return_body == NULL) {
        if (c->return_code >= 400) {
            error_page_status(w, r, c->return_code);
        } else {
            response_init(r, c->return_code);
            if (c->return_code != 204 && c->return_code != 304)
                response_add(r, "Content-Length: 0\r\n", sizeof("Content-Length: 0\r\n") - 1);
        }
        return;
    }
    response_init(r, c->return_code);
    char *body = response_alloc(r, RESPONSE_SCRATCH / 2);
    ssize_t n = body != NULL ? rule_vars_expand(c->return_body, v, body, RESPONSE_SCRATCH / 2) : -1;
    if (n < 0) {
        r->overflow = 1;
        return;
    }
    response_addf(r, "Content-Type: %s\r\nContent-Length: %zu\r\n",
                  c->return_type != NULL ? c->return_type : "text/plain; charset=utf-8", (size_t)n);
    response_bytes(r, body, (size_t)n, NULL);
}

/* uri under a location: the path its cache serves (alias replaces the
 * matched prefix with its directory, which is that cache's root). */
static int rule_handler__fs_path(const conf_rule_t *rule, const char *uri, size_t ulen,
                                 rule_files_t *f)
{
    size_t skip = 0;
    if (rule != NULL && rule->conf->alias != NULL && rule->text_len <= ulen)
        skip = rule->text_len;
    const char *rest = uri + skip;
    size_t rlen = ulen - skip;
    size_t n = 0;
    if (rlen == 0 || rest[0] != '/')
        f->path[n++] = '/';
    if (n + rlen >= sizeof(f->path))
        return -1;
    memcpy(f->path + n, rest, rlen);
    f->len = n + rlen;
    f->path[f->len] = '\0';
    memcpy(f->uri, uri, ulen);
    f->uri_len = ulen;
    f->uri[ulen] = '\0';
    return 0;
}

/* Makes hr's files current: its own cache, or the host's. */
static void rule_handler__use(worker_t *w, host_t *host, host_rule_t *hr)
{
    if (hr->rule->own_files) {
        w->fc = host_rule_cache(w, host, hr);
        w->rule_conf = hr->rule->conf;
    } else {
        w->fc = host->fc;
        w->rule_conf = NULL;
    }
}

/* try_files: the first entry but the last that is a file (or, ending in
 * "/", a directory) is served; else the last entry decides. Returns the
 * path of the hop to take in next (1), files in f (0), or answered (2). */
static int rule_handler__try(const handler_req_t *h, response_t *r, host_t *host,
                             host_rule_t *hr, const rule_vars_t *v, rule_files_t *f,
                             char *next, size_t *next_len)
{
    worker_t *w = h->w;
    const conf_t *c = hr->rule->conf;
    char buf[RULE_HANDLER_PATH_MAX + 8], norm[RULE_HANDLER_PATH_MAX + 8];
    for (size_t i = 0; i + 1 < c->num_try_files; i++) {
        ssize_t n = rule_vars_expand(c->try_files[i], v, buf, sizeof(buf));
        if (n <= 0)
            continue;
        int dir = buf[n - 1] == '/';
        ssize_t m = path_normalize(buf, (size_t)n, norm, RULE_HANDLER_PATH_MAX);
        if (m < 0 || path_has_dotfile(norm, (size_t)m) || w->fc == NULL ||
            rule_handler__fs_path(hr->rule, norm, (size_t)m, f) < 0)
            continue;
        if (dir && f->path[f->len - 1] != '/' && f->len + 1 < sizeof(f->path)) {
            f->path[f->len++] = '/';
            f->path[f->len] = '\0';
        }
        file_cache_entry_t *e = file_cache_get(w->fc, f->path, f->len, w->wall);
        if (e == NULL)
            continue;
        file_cache_kind_t kind = e->kind;
        file_cache_unref(w->fc, e);
        if (kind == FC_FILE || (dir && (kind == FC_LISTING || kind == FC_FORBIDDEN)))
            return 0;
    }
    const char *last = c->try_files[c->num_try_files - 1];
    if (last[0] == '=') {
        error_page_status(w, r, (int)strtol(last + 1, NULL, 10));
        return 2;
    }
    if (last[0] == '@') {
        *next_len = 0;
        return 1;
    }
    ssize_t n = rule_vars_expand(last, v, buf, sizeof(buf));
    ssize_t m = n > 0 ? path_normalize(buf, (size_t)n, next, RULE_HANDLER_PATH_MAX) : -1;
    if (m < 0) {
        error_page_status(w, r, 500);
        return 2;
    }
    *next_len = (size_t)m;
    (void)host;
    return 1;
}

void rule_handler_mark(response_t *r, const host_rule_t *hr, int mapped)
{
    if (mapped) {
        r->rule = "redirect_map";
        return;
    }
    if (hr == NULL)
        return;
    r->rule = hr->rule->pattern;
    r->log = hr->log;
    r->rule_headers = hr->headers;
    r->rule_headers_len = hr->headers_len;
    r->rule_unset = hr->unset;
    r->rule_unset_len = hr->unset_len;
}

int rule_handler_route(const handler_req_t *h, response_t *r, host_t *host, rule_files_t *f,
                       const host_rule_t **used, int *mapped)
{
    *used = NULL;
    *mapped = 0;
    worker_t *w = h->w;
    const http_request_t *req = h->req;
    char path[RULE_HANDLER_PATH_MAX + 8];

    if (req->target.len == 1 && req->target.p[0] == '*')
        return rule_handler__fs_path(NULL, "/", 1, f) < 0 ? RULE_HANDLER_DONE : RULE_HANDLER_FILES;
    if (req->path.len >= RULE_HANDLER_PATH_MAX) {
        error_page_status(w, r, 414);
        r->close = 1;
        return RULE_HANDLER_DONE;
    }
    ssize_t plen = path_normalize(req->path.p, req->path.len, path, RULE_HANDLER_PATH_MAX);
    if (plen < 0) {
        error_page_status(w, r, 400);
        r->close = 1;
        return RULE_HANDLER_DONE;
    }
    const char *to;
    size_t to_len;
    int code;
    if (host->conf->redirect_map != NULL &&
        redirect_map_get(host->conf->redirect_map, path, (size_t)plen, &to, &to_len, &code)) {
        *mapped = 1;
        rule_handler__redirect(h, r, code, to, to_len);
        return RULE_HANDLER_DONE;
    }
    if (host->rules == NULL) {
        if (access_any(host->conf) && access_check(h, r, host->conf))
            return RULE_HANDLER_DONE;
        return rule_handler__fs_path(NULL, path, (size_t)plen, f) < 0 ? RULE_HANDLER_DONE
                                                                         : RULE_HANDLER_FILES;
    }
    if (w->rules.md == NULL && rules_matcher_init(&w->rules) < 0) {
        log_error("pcre2_match_data_create(): out of memory");
        error_page_status(w, r, 500);
        return RULE_HANDLER_DONE;
    }

    const conf_rules_t *rs = host->conf->locations;
    char hop[RULE_HANDLER_PATH_MAX + 8];
    const conf_rule_t *named = NULL;
    /* A hop back into the location already checked (try_files ...
     * /index.html under "/") is not counted against its limits twice. */
    const conf_t *checked = NULL;
    for (int hops = 0; hops < RULE_HANDLER_HOPS; hops++) {
        rules_match_t m;
        const conf_rule_t *rule = named != NULL ? named : rules_match(&w->rules, rs, path, (size_t)plen, &m);
        if (named != NULL) {
            m.rule = named;
            m.ncap = 0;
            m.subject = path;
        }
        named = NULL;
        if (rule == NULL) {
            w->fc = host->fc;
            w->rule_conf = NULL;
            if (checked != host->conf && access_any(host->conf) && access_check(h, r, host->conf))
                return RULE_HANDLER_DONE;
            return rule_handler__fs_path(NULL, path, (size_t)plen, f) < 0 ? RULE_HANDLER_DONE
                                                                             : RULE_HANDLER_FILES;
        }
        host_rule_t *hr = &host->rules[rule - rs->items];
        const conf_t *c = rule->conf;
        *used = hr;
        rule_handler__use(w, host, hr);
        if (checked != c && access_any(c) && access_check(h, r, c))
            return RULE_HANDLER_DONE;
        checked = c;

        if (c->methods != 0 && !(c->methods & (1u << req->method))) {
            rule_handler__405(w, r, c->methods);
            return RULE_HANDLER_DONE;
        }
        rule_vars_t v;
        rule_handler__vars(h, &m, path, (size_t)plen, &v);
        if (c->return_code != 0) {
            rule_handler__return(h, r, c, &v);
            return RULE_HANDLER_DONE;
        }
        if (c->redirect_to != NULL) {
            char buf[RULE_HANDLER_PATH_MAX + 8];
            ssize_t n = rule_vars_expand(c->redirect_to, &v, buf, sizeof(buf));
            if (n <= 0) {
                error_page_status(w, r, 500);
                return RULE_HANDLER_DONE;
            }
            rule_handler__redirect(h, r, c->redirect_code, buf, (size_t)n);
            return RULE_HANDLER_DONE;
        }
        if (c->proxy != NULL && c->proxy_upstream >= 0 && c->num_try_files == 0) {
            rule_handler__proxy(h, r, rule, path, (size_t)plen);
            return RULE_HANDLER_DONE;
        }
        if (c->num_try_files == 0)
            return rule_handler__fs_path(rule, path, (size_t)plen, f) < 0 ? RULE_HANDLER_DONE
                                                                             : RULE_HANDLER_FILES;
        size_t hop_len;
        switch (rule_handler__try(h, r, host, hr, &v, f, hop, &hop_len)) {
        case 0:
            return RULE_HANDLER_FILES;
        case 2:
            return RULE_HANDLER_DONE;
        default:
            break;
        }
        if (hop_len == 0) {
            named = &rs->items[rule->named_target];
            continue;
        }
        /* An internal redirect: the new path is matched again and served
         * with 200, as nginx's try_files ... /index.html. */
        memcpy(path, hop, hop_len + 1);
        plen = (ssize_t)hop_len;
    }
    log_error("location \"%s\": more than %d internal redirects for %.*s",
              *used != NULL ? (*used)->rule->pattern : "?",
              RULE_HANDLER_HOPS, (int)req->path.len, req->path.p);
    error_page_status(w, r, 500);
    return RULE_HANDLER_DONE;
}
