/*
 * http1: HTTP/1.x on one connection.
 *
 * Parses requests from the connection's read buffer, decides what the
 * framing needs (keep-alive, pipelining, discarding a request body,
 * closing after a body it will not read), asks the handlers for a response
 * description (handler.h) and writes it onto the connection: status line
 * and headers into the write buffer, then the body as bytes in the same
 * buffer (a small response is one write), a file range sent with the
 * transport's sendfile, or pieces (multipart). It logs each exchange.
 *
 * A connection cycles READ_HEAD -> WRITE -> (DISCARD_BODY) -> READ_HEAD,
 * and leaves through LINGER or a plain close.
 */
#ifndef DROVER_HTTP1_H
#define DROVER_HTTP1_H

#include <stdint.h>

#include "conn.h"

/* The connection's process function (conn_new): runs the state machine as
 * far as the socket allows. */
void http1_process(conn_t *c, uint32_t events);

#endif
