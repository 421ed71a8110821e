/*
 * handler: see handler.h.
 */
#include "handler.h"

#include <string.h>

#include "error_page.h"
#include "static.h"
#include "status.h"

void handler_respond(const handler_req_t *h, response_t *r)
{
    const http_request_t *req = h->req;
    const conf_t *conf = h->w->a.conf;

    if (conf->status_path != NULL && (req->method == HTTP_METHOD_GET || req->method == HTTP_METHOD_HEAD) &&
        str_eq(req->path, conf->status_path, strlen(conf->status_path))) {
        status_respond(h, r);
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
