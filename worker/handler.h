/*
 * handler: decides the response to a request, without a connection.
 *
 * handler_respond() routes a parsed request to the handler that answers
 * it: the status page (status.c), OPTIONS, methods we do not serve, and
 * the files under the root (static.c, with autoindex.c and error_page.c
 * behind it). What it knows of the client is in handler_req_t, so the same
 * handlers serve HTTP/1 today and HTTP/2 streams later. Framing concerns
 * (keep-alive, request bodies, Expect) stay with the protocol.
 */
#ifndef DROVER_HANDLER_H
#define DROVER_HANDLER_H

#include <stdint.h>

#include "http_parser.h"
#include "response.h"
#include "worker.h"

typedef struct {
    worker_t *w;
    const http_request_t *req;
    int family;             /* the client: AF_INET or AF_INET6 */
    const void *addr;       /* its in_addr or in6_addr */
    /* Different for every response on a worker: seeds the boundary of a
     * multipart body. */
    uint64_t conn_id;
    unsigned seq;
    /* The virtual host, when the protocol already chose it (host_select);
     * NULL: handler_respond chooses it from req. */
    struct host_s *host;
    unsigned https : 1;     /* the connection is TLS: $scheme, relative redirects */
    /* The connection's limit_conn registration (access.h), or NULL. */
    uint64_t *conn_limit;
    /* Who may wait for a password to be hashed off the loop (the conn_t,
     * resumed by conn_resume: an HTTP/1 request, or an HTTP/2 stream whose
     * job slot this is) and where its job goes; NULL: hash inline. */
    void *waiter;
    void **job;
    /* The protocol forwards a request whose location has proxy:
     * (response_t.proxy); else such a request is answered 502. */
    unsigned can_proxy : 1;
} handler_req_t;

void handler_respond(const handler_req_t *h, response_t *r);

#endif
