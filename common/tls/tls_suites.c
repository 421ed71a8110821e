/*
 * tls_suites: a TLS 1.2 cipher list against the certificates' key types
 * (see tls_suites.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/objects.h>

#include "log.h"
#include "tls_suites.h"

/* 1 when a server whose key is of type key_type (tls_ctx_cert_t.key_type)
 * can negotiate TLS 1.2 suite c: it signs with that type, and its key
 * exchange needs nothing drover does not set up (no PSK, SRP or GOST). */
static int tls_suites__fits(const SSL_CIPHER *c, const char *key_type)
{
    int kx = SSL_CIPHER_get_kx_nid(c);

    if (kx == NID_kx_rsa) /* static RSA: the key decrypts, which RSA-PSS may not */
        return strcmp(key_type, "RSA") == 0;
    if (kx != NID_kx_ecdhe && kx != NID_kx_dhe) /* NID_kx_any: a TLS 1.3 suite */
        return 0;
    switch (SSL_CIPHER_get_auth_nid(c)) {
    case NID_auth_null: /* anonymous; only past @SECLEVEL=0 */
        return 1;
    case NID_auth_rsa:
        return strcmp(key_type, "RSA") == 0 || strcmp(key_type, "RSA-PSS") == 0;
    case NID_auth_ecdsa:
        return strcmp(key_type, "ECDSA") == 0 || strcmp(key_type, "ED25519") == 0 ||
               strcmp(key_type, "ED448") == 0;
    case NID_auth_dss:
        return strcmp(key_type, "DSA") == 0;
    default:
        return 0;
    }
}

/* Whether set s has a TLS 1.2 suite for one of its certificates (*fits),
 * and whether the list has any TLS 1.2 suite OpenSSL would offer at all
 * (*offered). 0, or -1 with err set. */
static int tls_suites__set(const tls_ctx_t *tls, size_t s, int *fits, int *offered, char *err,
                           size_t errlen)
{
    SSL *ssl = SSL_new(tls->sets[s].ssl_ctx);
    STACK_OF(SSL_CIPHER) *sk;

    if (ssl == NULL) {
        snprintf(err, errlen, "tls: SSL_new: %s",
                 ERR_reason_error_string(ERR_peek_last_error()));
        ERR_clear_error();
        return -1;
    }
    /* The suites as a ClientHello from this SSL would list them: the list
     * filtered by protocol version and security level (which drops eNULL
     * and aNULL at the default level 1), PSK and SRP left out. NULL when
     * none is left. The certificate is ours to match. */
    sk = SSL_get1_supported_ciphers(ssl);
    *fits = 0;
    for (int i = 0; sk != NULL && i < sk_SSL_CIPHER_num(sk); i++)
        if (SSL_CIPHER_get_kx_nid(sk_SSL_CIPHER_value(sk, i)) != NID_kx_any)
            *offered = 1;
    for (size_t j = 0; j < tls->ncerts && !*fits; j++) {
        if (tls->certs[j].set != s)
            continue;
        for (int i = 0; sk != NULL && i < sk_SSL_CIPHER_num(sk) && !*fits; i++)
            *fits = tls_suites__fits(sk_SSL_CIPHER_value(sk, i), tls->certs[j].key_type);
    }
    sk_SSL_CIPHER_free(sk);
    SSL_free(ssl);
    ERR_clear_error();
    return 0;
}

/* "an ECDSA certificate", "an RSA or an ECDSA certificate": the distinct
 * key types of tls, in the order of the certificates. */
static void tls_suites__types(const tls_ctx_t *tls, char *buf, size_t len)
{
    size_t n = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < tls->ncerts && n < len; i++) {
        const char *t = tls->certs[i].key_type;
        size_t j = 0;
        while (j < i && strcmp(tls->certs[j].key_type, t) != 0)
            j++;
        if (j < i)
            continue;
        /* "a DSA", "an RSA", "an ECDSA": the article goes by the letter's sound. */
        n += (size_t)snprintf(buf + n, len - n, "%s%s %s", n > 0 ? " or " : "",
                              strchr("AEFHILMNORSX", t[0]) != NULL ? "an" : "a", t);
    }
    if (n < len)
        snprintf(buf + n, len - n, " certificate");
}

int tls_suites_check(tls_ctx_t *tls, const tls_conf_t *tc, char *err, size_t errlen)
{
    const char *list = tc->ciphers != NULL ? tc->ciphers : "default";
    unsigned char *fits;
    size_t nfit = 0;
    int offered = 0, rc = -1;
    char at[TLS_CONF_WHERE_LEN], types[128];

    if (tc->min_version != TLS_CONF_MIN_1_2 || tls->nsets == 0)
        return 0;
    if ((fits = calloc(tls->nsets, 1)) == NULL) {
        snprintf(err, errlen, "tls: out of memory");
        return -1;
    }
    for (size_t s = 0; s < tls->nsets; s++) {
        int f;
        if (tls_suites__set(tls, s, &f, &offered, err, errlen) < 0)
            goto fail;
        fits[s] = (unsigned char)f;
        nfit += (size_t)f;
    }
    tls_conf_where_ciphers(tc, at, sizeof(at));
    if (nfit == 0) {
        tls_suites__types(tls, types, sizeof(types));
        const char *none = offered ? "" : " (OpenSSL offers none of them: the security "
                                          "level, PSK or SRP rule them all out)";
        snprintf(err, errlen,
                 "%sno TLS 1.2 cipher in \"%s\" works with %s%s: every TLS 1.2 handshake "
                 "would fail (min_version \"1.3\" if TLS 1.3 only is meant)",
                 at, list, types, none);
        goto fail;
    }
    for (size_t i = 0; i < tls->ncerts; i++) {
        const tls_ctx_cert_t *c = &tls->certs[i];
        if (fits[c->set])
            continue;
        log_warn("%sno TLS 1.2 cipher in \"%s\" works with the %s certificate %s (line %d): "
                 "its names are served over TLS 1.3 only",
                 at, list, c->key_type, c->cert_path, c->line);
        tls->nwarnings++;
    }
    rc = 0;
fail:
    free(fits);
    return rc;
}
