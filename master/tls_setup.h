/*
 * tls_setup: the master's side of HTTPS.
 *
 * The master turns the tls section of a conf_t into OpenSSL contexts
 * (common/tls/tls_ctx.h) at start, at `drover -t` and at every reload, before
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
 * keys from its timer (tls_setup_tick). Since every generation reads that
 * one page, a configuration's keys are staged beside it and installed only
 * when the configuration takes effect (tls_setup_install_keys): a reload
 * refused after its keys were read leaves the keys in use as they were.
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
 * section), reading ticket keys from ring, the shared key ring, which this
 * never writes. The keys conf asks for go to *keys, a ring of the caller's:
 * read from ticket_key_file, or generated when ring has no keys yet (or had
 * keys from files, which conf no longer names); keys->nkeys is 0 when
 * ring's keys stay as they are. 0 ok, -1 with err naming the file and
 * OpenSSL's reason (*keys is then empty). */
int tls_setup_build(const conf_t *conf, const tls_ticket_ring_t *ring, tls_ticket_ring_t *keys,
                    tls_ctx_t **out, char *err, size_t errlen);

/* When the configuration built with keys takes effect: puts keys (if it
 * has any) into ring, then wipes keys. ring may be NULL. */
void tls_setup_install_keys(tls_ticket_ring_t *ring, tls_ticket_ring_t *keys);

/* A configuration that does not take effect: wipes its keys. */
void tls_setup_drop_keys(tls_ticket_ring_t *keys);

/* Master timer: rotates generated ticket keys when their period is over. */
void tls_setup_tick(tls_ticket_ring_t *ring, time_t now);

#endif
