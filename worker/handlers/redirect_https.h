/*
 * redirect_https: the answer of a `redirect_https: true` listener. Every
 * request gets a 301 to https://host/path?query, host from the Host header
 * (its port dropped: HTTPS's default port is implied), path and query as
 * the client sent them. Without a Host there is nowhere to send the client:
 * 400.
 */
#ifndef DROVER_REDIRECT_HTTPS_H
#define DROVER_REDIRECT_HTTPS_H

#include "http_parser.h"
#include "response.h"
#include "worker.h"

void redirect_https_respond(worker_t *w, const http_request_t *req, response_t *r);

#endif
