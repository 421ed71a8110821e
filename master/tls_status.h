/*
 * tls_status: the TLS part of the master's status (drover -s status and the
 * status JSON): each certificate's file, names, key type and expiry, and
 * the workers' TLS counters (handshakes, resumptions, files sent by kTLS or
 * by the read + SSL_write fallback). A pure formatter like status.c.
 *
 * Certificates can be many (one per virtual host) and carry thousands of
 * names, so each shows its first TLS_STATUS_MAX_NAMES names and how many
 * it has, and the list holds the certificates that fit in the buffer
 * (status_buf.h) and says how many there are. The counters come last and
 * always fit: they are in the room the buffer keeps for what closes it.
 */
#ifndef DROVER_TLS_STATUS_H
#define DROVER_TLS_STATUS_H

#include <stddef.h>
#include <time.h>

#include "report.h"
#include "status_buf.h"
#include "tls_ctx.h"
#include "tls_ticket.h"

#define TLS_STATUS_MAX_NAMES 8

/* Append to b; nothing when tls is NULL. The text is a line per
 * certificate ("..., name8, ... and K more" past TLS_STATUS_MAX_NAMES
 * names), a line for certificates left out if any, then the counters'
 * line. The JSON is a member, `,"tls":{...}`: "certificates" (each with
 * "names" and "names_total"), "certificates_total", then the counters. */
void tls_status_text(const tls_ctx_t *tls, const tls_ticket_ring_t *ring, const report_t *t,
                     status_buf_t *b);
void tls_status_json(const tls_ctx_t *tls, const tls_ticket_ring_t *ring, const report_t *t,
                     status_buf_t *b);

#endif
