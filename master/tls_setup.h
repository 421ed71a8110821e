/*
 * tls_setup: the master's side of HTTPS.
 *
 * The master turns the tls section of a conf_t into OpenSSL contexts
 * (common/tls_ctx.h) at start, at `drover -t` and at every reload, before
 * any worker of that configuration forks: keys are read by the master (as
 * root when started as root), and workers inherit the contexts, never the
 * key files. A reload builds the new generation's contexts inside its
 * transaction; if a certificate or key is missing or broken the reload is
 * refused with the file and the reason, and the serving generation keeps
 * its own contexts.
 *
 * The session-ticket key ring is one MAP_SHARED page made before the first
 * fork, so every worker of every generation encrypts and decrypts tickets
 * with the same keys: a client resumes on whichever worker accepts it. The
 * master fills it (random keys, or ticket_key_file) and rotates generated
 * keys from its timer (tls_setup_tick).
 */
#ifndef DROVER_TLS_SETUP_H
#define DROVER_TLS_SETUP_H

#include <stddef.h>
#include <time.h>

#include "conf.h"
#include "tls_ctx.h"
#include "tls_ticket.h"

/* 1 when conf has a tls section (with certificates). */
int tls_setup_wanted(const conf_t *conf);

/* Builds the contexts of conf into *out (NULL when conf has no tls
 * section). ring: the shared key ring, filled from ticket_key_file or
 * generated when it has no keys yet (or had keys from files, which the new
 * configuration no longer names). 0 ok, -1 with err naming the file and
 * OpenSSL's reason. */
int tls_setup_build(const conf_t *conf, tls_ticket_ring_t *ring, tls_ctx_t **out, char *err,
                    size_t errlen);

/* Master timer: rotates generated ticket keys when their period is over. */
void tls_setup_tick(tls_ticket_ring_t *ring, time_t now);

#endif
