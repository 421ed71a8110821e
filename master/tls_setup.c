/*
 * tls_setup: see tls_setup.h.
 */
#include "tls_setup.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "log.h"
#include "tls_conf.h"

int tls_setup_wanted(const conf_t *conf)
{
    return conf->tls_ciphers != NULL && conf_has_certificates(conf);
}

/* The conf_t's tls rows as the tls_conf_t tls_ctx wants. */
static int tls_setup__conf(const conf_t *conf, tls_conf_t *tc)
{
    tls_conf_init(tc);
    tc->file = conf->file;
    tc->min_version = conf->tls_min_version == 1 ? TLS_CONF_MIN_1_3 : TLS_CONF_MIN_1_2;
    tc->session_tickets = conf->tls_session_tickets;
    if (strcmp(conf->tls_ciphers, "default") != 0 && (tc->ciphers = strdup(conf->tls_ciphers)) == NULL)
        return -1;
    tc->ciphers_line = (int)conf->tls_ciphers_line;
    for (size_t i = 0; i < conf->num_tls_certs; i++)
        if (tls_conf_add_certificate(tc, conf->tls_certs[i].cert, conf->tls_certs[i].key,
                                     (int)conf->tls_certs[i].line) < 0)
            return -1;
    /* Each host's own certificate (hosts:, tls: {cert, key}) joins the
     * list, once: SNI picks it by its names, and a request whose Host
     * would pick another is a 421 (worker/host.c). */
    for (size_t i = 0; i < conf->num_hosts; i++) {
        const conf_t *h = conf->hosts[i].conf;
        int seen = 0;
        for (size_t j = 0; h->tls_cert != NULL && j < tc->ncertificates && !seen; j++)
            seen = strcmp(tc->certificates[j].cert, h->tls_cert) == 0;
        if (h->tls_cert == NULL || seen)
            continue;
        if (tls_conf_add_certificate(tc, h->tls_cert, h->tls_key, (int)conf->hosts[i].line) < 0)
            return -1;
        tc->certificates[tc->ncertificates - 1].host = conf->hosts[i].name;
    }
    for (size_t i = 0; i < conf->num_tls_ticket_key_files; i++)
        if (tls_conf_add_ticket_key_file(tc, conf->tls_ticket_key_files[i]) < 0)
            return -1;
    return 0;
}

int tls_setup_build(const conf_t *conf, const tls_ticket_ring_t *ring, tls_ticket_ring_t *keys,
                    tls_ctx_t **out, char *err, size_t errlen)
{
    tls_conf_t tc;
    int r = -1;
    *out = NULL;
    memset(keys, 0, sizeof(*keys));
    if (!tls_setup_wanted(conf))
        return 0;
    if (tls_setup__conf(conf, &tc) < 0) {
        snprintf(err, errlen, "tls: out of memory");
        goto fail;
    }
    if (ring != NULL && tc.session_tickets) {
        if (tc.nticket_key_files > 0) {
            if (tls_ticket_load_files(keys, tc.ticket_key_files, tc.nticket_key_files, time(NULL),
                                      err, errlen) < 0)
                goto fail;
        } else if (ring->nkeys == 0 || ring->from_files) {
            /* Keys made here; a ring that stays (no files before, none now)
             * keeps its keys across reloads, so tickets still resume. The
             * master is the ring's only writer: it reads it directly. */
            if (tls_ticket_generate(keys, time(NULL), err, errlen) < 0)
                goto fail;
        }
    }
    /* http2: offer h2 by ALPN (before http/1.1). */
    *out = tls_ctx_new(&tc, tc.session_tickets ? ring : NULL, conf->http2 ? TLS_CTX_H2 : 0, err,
                       errlen);
    if (*out != NULL)
        r = 0;
fail:
    if (r < 0)
        tls_setup_drop_keys(keys);
    tls_conf_free(&tc);
    return r;
}

void tls_setup_install_keys(tls_ticket_ring_t *ring, tls_ticket_ring_t *keys)
{
    if (ring != NULL && keys->nkeys > 0)
        tls_ticket_ring_copy_keys(ring, keys);
    tls_setup_drop_keys(keys);
}

void tls_setup_drop_keys(tls_ticket_ring_t *keys)
{
    OPENSSL_cleanse(keys, sizeof(*keys));
}

void tls_setup_tick(tls_ticket_ring_t *ring, time_t now)
{
    if (ring == NULL)
        return;
    time_t next = tls_ticket_next_rotation(ring);
    if (next == 0 || now < next)
        return;
    int r = tls_ticket_rotate(ring, now);
    if (r > 0)
        log_info("tls: new session ticket key (generation %u)", (unsigned)ring->generation);
    else if (r < 0)
        log_error("tls: rotating the session ticket key failed (RAND_bytes); the old key stays");
}
