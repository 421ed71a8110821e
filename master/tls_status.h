/*
 * tls_status: the TLS part of the master's status (drover -s status and the
 * status JSON): each certificate's file, names, key type and expiry, and
 * the workers' TLS counters (handshakes, resumptions, files sent by kTLS or
 * by the read + SSL_write fallback). A pure formatter like status.c.
 */
#ifndef DROVER_TLS_STATUS_H
#define DROVER_TLS_STATUS_H

#include <stddef.h>
#include <time.h>

#include "report.h"
#include "tls_ctx.h"
#include "tls_ticket.h"

/* Append to buf[0..size): both return the bytes written (truncated, NUL-
 * terminated). Nothing when tls is NULL. The JSON is a member:
 * `,"tls":{...}`. */
size_t tls_status_text(const tls_ctx_t *tls, const tls_ticket_ring_t *ring, const report_t *t,
                       char *buf, size_t size);
size_t tls_status_json(const tls_ctx_t *tls, const tls_ticket_ring_t *ring, const report_t *t,
                       char *buf, size_t size);

#endif
