/*
 * tls_transport: HTTPS connections, the transport table (transport.h) over
 * worker/tls.c, and the step before HTTP: the handshake.
 *
 * A connection accepted on a `tls: true` listener starts with
 * tls_transport_handshake as its process function, on the header timer list
 * (client_header_timeout covers the handshake). It first peeks for plain
 * HTTP (answered with a 400 in plain text, then closed), then runs the
 * handshake one non-blocking step per event; when it completes, ALPN says
 * which protocol speaks next (http/1.1 today) and the connection is handed
 * to it. Handshake failures are logged at info by tls.c.
 *
 * Per worker there is one tls_worker_t: the counters shown in status and a
 * scratch pool shared by every connection (see tls.h, "Buffers"). Each
 * connection's tls_conn_t points at the counters, which are the first
 * member of tls_worker_t, and that is how the ops find the pool.
 */
#ifndef DROVER_TLS_TRANSPORT_H
#define DROVER_TLS_TRANSPORT_H

#include <stdint.h>

#include "conn.h"
#include "tls_send.h"
#include "tls_ctx.h"

typedef struct tls_worker_s {
    tls_stats_t stats;        /* first: tls_conn_t.stats points here */
    SSL_CTX *ctx;             /* the generation's default context */
    tls_readahead_t ra;       /* file bytes the pool holds (tls.h) */
    char pool[TLS_POOL_SIZE];
} tls_worker_t;

extern const transport_t tls_transport;

/* The worker's TLS state for the generation's contexts, or NULL (ENOMEM). */
tls_worker_t *tls_transport_worker_new(const tls_ctx_t *tls);

/* Makes c, just accepted, a TLS connection: 0, or -1 (c is closed). */
int tls_transport_start(conn_t *c, tls_worker_t *tw);

/* The process function while handshaking (see above). */
void tls_transport_handshake(conn_t *c, uint32_t events);

#endif
