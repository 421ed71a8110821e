/*
 * error_page: the body of a response that is not a file: the configured
 * page (error_pages) for an error status, or a short built-in HTML page.
 *
 * error_page_respond() completes a response that already has its status
 * and any header lines of the caller (a Location, a Content-Range): it adds
 * Allow for 405 and 501, then the body and its Content-Type and
 * Content-Length. A configured page is sent without validators or
 * Accept-Ranges: they would describe the page's file, not the resource that
 * was asked for, and could make a cache keep the error as a version of it.
 */
#ifndef DROVER_ERROR_PAGE_H
#define DROVER_ERROR_PAGE_H

#include "response.h"
#include "worker.h"

#define ERROR_PAGE_ALLOW "GET, HEAD, OPTIONS"

void error_page_respond(worker_t *w, response_t *r);

/* response_init(r, status) and error_page_respond(). */
void error_page_status(worker_t *w, response_t *r, int status);

#endif
