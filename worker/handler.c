/*
 * handler: see handler.h.
 */
#include "handler.h"

#include <string.h>

#include "error_page.h"
#include "host.h"
#include "metrics.h"
#include "static.h"
#include "status.h"

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

static void handler__route(const handler_req_t *h, response_t *r);

void handler_respond(const handler_req_t *h, response_t *r)
{
    const host_t *host = h->host != NULL ? h->host : host_select(h->w, h->req);
    if (host != NULL && host->conf->redirect != NULL)
        handler__redirect(h, r, host->conf->redirect);
    else
        handler__route(h, r);
    if (host != NULL && host->headers_len > 0)
        response_add(r, host->headers, host->headers_len);
}

static void handler__route(const handler_req_t *h, response_t *r)
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

    switch (req->method) {
    case HTTP_METHOD_GET:
    case HTTP_METHOD_HEAD:
        if (req->target.len == 1 && req->target.p[0] == '*') {
            error_page_status(h->w, r, 400);
            return;
        }
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
