/*
 * handler: see handler.h.
 */
#include "handler.h"

#include <string.h>

#include "access.h"
#include "error_page.h"
#include "host.h"
#include "metrics.h"
#include "rule_handler.h"
#include "static.h"
#include "handlers/status.h" /* not master/status.h */

/* A host with redirect: 301 to its URL plus the path and query. */
static void handler__redirect(const handler_req_t *h, response_t *r, const char *url)
{
    const http_request_t *req = h->req;
    size_t ulen = strlen(url);
    str_t path = req->path.len > 0 && req->path.p[0] == '/' ? req->path : STR_LIT("/");
    if (ulen > 0 && url[ulen - 1] == '/')
        ulen--; /* "https://example.com/" + "/a" */
    response_init(r, 301);
    response_addf(r, "Location: %.*s%.*s%s%.*s\r\n", (int)ulen, url, (int)path.len, path.p,
                  req->query.len > 0 ? "?" : "", (int)req->query.len, req->query.p);
    error_page_respond(h->w, r);
}

static void handler__route(const handler_req_t *h, response_t *r, host_t *host);

void handler_respond(const handler_req_t *h, response_t *r)
{
    host_t *host = h->host != NULL ? h->host : host_select(h->w, h->req);
    if (host != NULL && host->conf->redirect != NULL)
        handler__redirect(h, r, host->conf->redirect);
    else
        handler__route(h, r, host);
    if (host != NULL && host->headers_len > 0)
        response_replace_headers(r, host->headers, host->headers_len);
    if (host != NULL && host->conf->host_hsts_line != 0) {
        r->hsts = host->conf->host_hsts;
        r->hsts_set = 1;
    }
    if (r->rule_headers != NULL)
        response_replace_headers(r, r->rule_headers, r->rule_headers_len);
    for (size_t i = 0; r->rule_unset != NULL && i < r->rule_unset_len;) {
        size_t n = strlen(r->rule_unset + i);
        response_remove_header(r, r->rule_unset + i, n);
        i += n + 1;
    }
}

/* The files of the current cache (w->fc) for the method of the request;
 * path NULL: the request's own path, normalised by static_respond. */
static void handler__files(const handler_req_t *h, response_t *r, const rule_files_t *f)
{
    const http_request_t *req = h->req;
    switch (req->method) {
    case HTTP_METHOD_GET:
    case HTTP_METHOD_HEAD:
        if (req->target.len == 1 && req->target.p[0] == '*') {
            error_page_status(h->w, r, 400);
            return;
        }
        if (f != NULL)
            static_respond_path(h, r, f->path, f->len, f->uri, f->uri_len);
        else
            static_respond(h, r);
        return;
    case HTTP_METHOD_OPTIONS: {
        static const char lines[] = "Allow: " ERROR_PAGE_ALLOW "\r\nContent-Length: 0\r\n";
        response_init(r, 200);
        response_add(r, lines, sizeof(lines) - 1);
        return;
    }
    case HTTP_METHOD_UNKNOWN:
        error_page_status(h->w, r, 501);
        return;
    default:
        error_page_status(h->w, r, 405);
        return;
    }
}

static void handler__route(const handler_req_t *h, response_t *r, host_t *host)
{
    const http_request_t *req = h->req;
    const conf_t *conf = h->w->a.conf;

    if (conf->status_path != NULL && (req->method == HTTP_METHOD_GET || req->method == HTTP_METHOD_HEAD) &&
        str_eq(req->path, conf->status_path, strlen(conf->status_path))) {
        status_respond(h, r);
        return;
    }
    if (conf->metrics_path != NULL && (req->method == HTTP_METHOD_GET || req->method == HTTP_METHOD_HEAD) &&
        str_eq(req->path, conf->metrics_path, strlen(conf->metrics_path))) {
        metrics_respond(h, r);
        return;
    }
    /* A site without rules never enters the rule layer. */
    if (host == NULL || (host->rules == NULL && host->conf->redirect_map == NULL)) {
        const conf_t *c = host != NULL ? host->conf : conf;
        if (access_any(c) && access_check(h, r, c))
            return;
        handler__files(h, r, NULL);
        return;
    }
    rule_files_t f;
    file_cache_t *fc = h->w->fc;
    const host_rule_t *used;
    int mapped;
    if (rule_handler_route(h, r, host, &f, &used, &mapped) == RULE_HANDLER_FILES)
        handler__files(h, r, &f);
    rule_handler_mark(r, used, mapped);
    h->w->fc = fc;
    h->w->rule_conf = NULL;
}
