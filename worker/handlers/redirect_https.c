/*
 * redirect_https: see redirect_https.h.
 */
#include "redirect_https.h"

#include <stdio.h>
#include <string.h>

#include "error_page.h"

void redirect_https_respond(worker_t *w, const http_request_t *req, response_t *r)
{
    str_t host;
    int port;
    /* The parser validated Host and the target: neither holds CR, LF or
     * spaces, so both go into the header as they are. */
    if (req->host.len == 0 || http_host_parse(req->host, &host, &port) < 0 || host.len == 0) {
        error_page_status(w, r, 400);
        return;
    }
    const char *path = "/", *query = "";
    size_t path_len = 1, query_len = 0;
    if (req->target.len > 0 && req->target.p[0] == '/') {
        path = req->target.p; /* origin-form: path and query as sent */
        path_len = req->target.len;
    } else if (req->path.len > 0 && req->path.p[0] == '/') {
        /* absolute-form: its path, then its query; the asterisk-form of
         * OPTIONS * names no path: the site's root then */
        path = req->path.p;
        path_len = req->path.len;
        query = req->query.p;
        query_len = req->query.len;
    }
    /* The HTTPS port is the first TLS listener's: the client's Host names
     * the plain port, and https:// alone means 443, which is wrong behind
     * a TLS listener on 8443. No TLS listener here (TLS terminated in
     * front, say): 443. */
    char port_s[8] = "";
    const conf_t *conf = w->a.conf;
    for (size_t i = 0; i < conf->num_listen; i++)
        if (conf->listen[i].tls) {
            if (conf->listen[i].port != 443)
                snprintf(port_s, sizeof(port_s), ":%d", conf->listen[i].port);
            break;
        }
    response_init(r, 301);
    response_addf(r, "Location: https://%.*s%s%.*s%s%.*s\r\nContent-Length: 0\r\n", (int)host.len,
                  host.p, port_s, (int)path_len, path, query_len ? "?" : "", (int)query_len, query);
    if (r->overflow)
        error_page_status(w, r, 500);
}
