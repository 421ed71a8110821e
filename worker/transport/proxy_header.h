/*
 * proxy_header: the PROXY protocol header (HAProxy's, v1 and v2) at the start of a
 * connection from a listener with `proxy_protocol: true`.
 *
 * Such a connection runs proxy_header_process until its header is consumed, then
 * the protocol the listener speaks (c->proxy_next: HTTP/1 today, the TLS
 * handshake on a TLS listener). Every connection there must start with a
 * header: there is no guessing, because a lenient server lets any client
 * name its own address.
 *
 * Invariants:
 *   - Only a peer in proxy_trusted may send a header; any other peer is
 *     closed at once, before a byte is read, and logged (at most one line a
 *     second per worker, with a count of the ones not logged).
 *   - The header is read from the socket itself, never through the
 *     transport: recv(MSG_PEEK) until the parser sees a whole header, then
 *     a recv of exactly its length. So the first byte the transport (TLS)
 *     or HTTP/1 reads is the first byte after the header, and nothing after
 *     it is consumed here.
 *   - A malformed header, or one cut short by the end of the connection,
 *     closes it; so does a header that takes longer than
 *     client_header_timeout (the connection is on the header timer list
 *     from accept, and that one timer covers the header and the request
 *     head after it).
 *   - After a PROXY header the connection's address (conn_peer, conn_addr)
 *     is the header's client, so the access log, status.allow and the logs
 *     all see it; LOCAL (health checks), UNKNOWN and AF_UNIX keep the
 *     peer's own address.
 */
#ifndef DROVER_PROXY_HEADER_H
#define DROVER_PROXY_HEADER_H

#include <stdint.h>

#include "conn.h"

/* Makes c, just accepted, read a PROXY header before its protocol: the
 * process function it has now runs once the header is consumed. */
void proxy_header_start(conn_t *c);

/* The process function while the header is awaited (conn.h). */
void proxy_header_process(conn_t *c, uint32_t events);

#endif
