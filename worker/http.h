/*
 * http: turns a parsed request into a response on a connection.
 *
 * It fills c->wbuf with the status line and headers (and, for a small file,
 * the body too, so a small response is one write), or sets c->file_fd and
 * the range to send with sendfile. It never blocks and never allocates.
 */
#ifndef DROVER_HTTP_H
#define DROVER_HTTP_H

#include "conn.h"
#include "http_parser.h"

void http_respond(conn_t *c, const http_request_t *req);

/* A generated body in fd (a memfd: listings, the status page) of len
 * bytes; the connection takes fd. extra: more header lines, or NULL. */
void http_respond_fd(conn_t *c, int status, const char *type, const char *extra, int fd,
                     size_t len, int head_only);

/* A short HTML response for status (403, 500, ...). */
void http_respond_status(conn_t *c, int status, int head_only);

/* An error response for a request that could not be parsed (or a timeout):
 * the connection closes after it. */
void http_respond_error(conn_t *c, int status);

#endif
