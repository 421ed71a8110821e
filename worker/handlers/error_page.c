/*
 * error_page: see error_page.h.
 */
#include "error_page.h"

#include <stdio.h>
#include <string.h>

#include "file_cache.h"
#include "host.h"
#include "http_parser.h"

/* The configured page for r's status, or -1 when there is none to send. */
static int error_page__configured(worker_t *w, response_t *r)
{
    /* The current host's pages, from its own root (w->fc is its cache). */
    const conf_map_t *pages = w->rule_conf != NULL ? &w->rule_conf->error_pages
                              : w->host != NULL ? &w->host->conf->error_pages
                                                : &w->a.conf->error_pages;
    if (pages->n == 0 || w->fc == NULL)
        return -1;
    char key[8];
    int klen = snprintf(key, sizeof(key), "%d", r->status);
    const char *path = conf_map_get(pages, key, (size_t)klen);
    if (path == NULL)
        return -1;
    file_cache_entry_t *e = file_cache_get(w->fc, path, strlen(path), w->wall);
    if (e == NULL)
        return -1;
    if (e->kind != FC_FILE) {
        file_cache_unref(w->fc, e);
        return -1;
    }
    response_add(r, e->headers, e->meta_off); /* Content-Type, Content-Length */
    if (e->body != NULL)
        response_bytes(r, e->body, (size_t)e->st.st_size, e);
    else
        response_file(r, e->fd, 0, (uint64_t)e->st.st_size, e);
    return 0;
}

void error_page_respond(worker_t *w, response_t *r)
{
    int status = r->status;
    /* A location's methods: wrote its own Allow before. */
    if ((status == 405 || status == 501) && r->nlines == 0)
        response_add(r, "Allow: " ERROR_PAGE_ALLOW "\r\n", sizeof("Allow: " ERROR_PAGE_ALLOW "\r\n") - 1);
    if (status >= 400 && error_page__configured(w, r) == 0)
        return;
    int blen = 0;
    char *body = NULL;
    if (status >= 300 && status != 304) {
        body = response_alloc(r, 256);
        if (body != NULL)
            blen = snprintf(body, 256,
                            "<!doctype html>\n<html><head><title>%d %s</title></head>\n"
                            "<body><h1>%d %s</h1><hr>drover</body></html>\n",
                            status, http_status_reason(status), status, http_status_reason(status));
    }
    if (blen > 0) {
        static const char type[] = "Content-Type: text/html; charset=utf-8\r\n";
        response_add(r, type, sizeof(type) - 1);
    }
    if (status != 304)
        response_addf(r, "Content-Length: %d\r\n", blen);
    if (blen > 0)
        response_bytes(r, body, (size_t)blen, NULL);
}

void error_page_status(worker_t *w, response_t *r, int status)
{
    response_init(r, status);
    error_page_respond(w, r);
}
