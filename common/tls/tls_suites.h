/*
 * tls_suites: whether a context's TLS 1.2 cipher list can serve its
 * certificates.
 *
 * OpenSSL accepts a cipher list as soon as one name in it matches
 * something, even a suite that the security level then drops (eNULL,
 * aNULL) or that needs a key type no certificate has (an RSA-only list with
 * an ECDSA certificate). Such a list loads, and every TLS 1.2 handshake
 * fails later with "no shared cipher". tls_suites_check, run by
 * tls_ctx_new once every SSL_CTX has its certificates, finds that at load
 * time: at -t, at start and in the reload transaction.
 *
 * The rule (min_version "1.2" only: with "1.3" the TLS 1.2 list is never
 * used, and TLS 1.3 suites do not depend on the key type):
 *  - no certificate of any set can use a suite of the list: an error,
 *    since no TLS 1.2 client could ever connect;
 *  - one set (the names of one certificate, or of an RSA + ECDSA pair) has
 *    no usable suite while others have: a warning per certificate of that
 *    set. Its names are still served over TLS 1.3, so the configuration
 *    is not useless; refusing it would refuse what works.
 */
#ifndef DROVER_TLS_SUITES_H
#define DROVER_TLS_SUITES_H

#include <stddef.h>

#include "tls_conf.h"
#include "tls_ctx.h"

/* Checks every set of tls, built from tc. Warnings go to the log (and
 * count in tls->nwarnings). 0, or -1 with a message in err that starts
 * "file:line: tls.ciphers: ". */
int tls_suites_check(tls_ctx_t *tls, const tls_conf_t *tc, char *err, size_t errlen);

#endif
