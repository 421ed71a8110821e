/*
 * discard: reading and dropping a request body that the response did not
 * need (a 405 to a POST, a GET with a body), so the connection can serve
 * its next request.
 *
 * A client may trickle such a body for as long as it likes, and every byte
 * would re-arm a timer that counts from the last progress: hundreds of such
 * clients are a cheap denial of service. Discarding is bounded as nginx
 * bounds lingering: a gap limit between reads (client_body_timeout) and a
 * total limit (DISCARD_TIME, nginx's lingering_time) however the client
 * trickles. A body that is still large when the response is decided is not
 * read at all: the response says Connection: close and the connection
 * lingers briefly instead (discard_keep says which).
 *
 * The connections discarding sit on the worker's body_list, which is kept
 * sorted by deadline (each deadline is the sooner of the gap and the total
 * limit, so they are not all the same duration).
 */
#ifndef DROVER_DISCARD_H
#define DROVER_DISCARD_H

#include <stdint.h>

#include "conn.h"

/* Seconds a body may take to be discarded in all (nginx: lingering_time). */
#define DISCARD_TIME 30.0
/* Bodies of which more than this is still to come are not read: reading
 * them costs more than a new connection does (nginx keeps the connection
 * for small bodies only, too). */
#define DISCARD_KEEP_MAX 65536

/* 1 when a body of which left bytes are still to come is worth reading
 * and dropping to keep the connection; 0: answer with Connection: close. */
static inline int discard_keep(int64_t left)
{
    return left <= DISCARD_KEEP_MAX;
}

/* c's response is written and c->body_left bytes of body are to come:
 * starts dropping them (state CONN_DISCARD_BODY, on the body list). */
void discard_start(conn_t *c);

/* In CONN_DISCARD_BODY: drops what has arrived. Returns 1 when the body is
 * gone (c->rbuf holds what follows it), 0 to wait for more, -1 when the
 * connection must close (the client closed, or the total limit passed). */
int discard_run(conn_t *c);

#endif
