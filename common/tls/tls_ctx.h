/*
 * tls_ctx: certificates and OpenSSL server contexts, built by the master.
 *
 * tls_ctx_new() reads and checks every certificate chain and key of a
 * tls_conf_t (the key matches the certificate, the chain parses; not yet
 * valid or expired is a warning with the date), then builds the SSL_CTXs a
 * TLS listener needs. It runs in the master before fork and before
 * privileges drop: workers inherit the contexts and never read a key file.
 * A reload builds a new tls_ctx_t for the new generation and frees the old
 * one only when its workers are gone, so a broken certificate refuses the
 * reload and the old generation keeps serving with its own.
 *
 * Certificates are grouped into sets: certificates with the same names and
 * different key types (RSA + ECDSA) share one SSL_CTX, so OpenSSL picks the
 * one the client supports. sets[0] holds the first certificate and answers
 * clients that send no SNI or an unknown name; the servername callback moves
 * a connection to the set whose names match (exact names first, then
 * RFC 6125 wildcards: `*.example.com` matches `a.example.com`, not
 * `example.com` nor `a.b.example.com`).
 *
 * Every SSL_CTX: TLS 1.2/1.3 only (min_version honoured), the configured
 * cipher list and the TLS 1.3 suites of Mozilla "intermediate", no
 * compression, no renegotiation, SSL_MODE_RELEASE_BUFFERS, partial writes
 * with a moving write buffer (worker/tls.c relies on both), kTLS when
 * OpenSSL has it, ALPN http/1.1 (and h2 with TLS_CTX_H2), and either the
 * shared ticket ring (tls_ticket.h) or no tickets. No server-side session
 * cache: it would be per worker and resume 1/N of the time.
 *
 * Once every SSL_CTX has its certificates, the TLS 1.2 cipher list is
 * checked against their key types (tls_suites.h): a list no certificate can
 * use refuses the build.
 *
 * Return convention: NULL or -1 on error with a message in err that starts
 * "file:line: key: " as config errors do, then the file at fault and
 * OpenSSL's reason.
 */
#ifndef DROVER_TLS_CTX_H
#define DROVER_TLS_CTX_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include <openssl/ssl.h>

#include "tls_conf.h"
#include "tls_ticket.h"

#define TLS_CTX_H2 0x1 /* offer h2 by ALPN (before http/1.1) */

typedef struct {
    char *cert_path;  /* owned copies of the tls_conf_t paths */
    char *key_path;
    int line;
    char **names;     /* lowercase subjectAltName DNS names, else the CN */
    size_t nnames;
    time_t not_before;
    time_t not_after; /* for status: names and expiry of each certificate */
    const char *key_type; /* "RSA", "ECDSA", "ED25519", ... (static string) */
    size_t set;       /* index in sets[] */
} tls_ctx_cert_t;

typedef struct {
    SSL_CTX *ssl_ctx;
    size_t cert;      /* index in certs[] of the set's first certificate: its
                         names are the set's names */
} tls_ctx_set_t;

typedef struct {
    tls_ctx_cert_t *certs;
    size_t ncerts;
    tls_ctx_set_t *sets;
    size_t nsets;
    unsigned flags;    /* TLS_CTX_H2 */
    unsigned nwarnings; /* certificates not yet valid or expired, or without a
                           TLS 1.2 suite (tls_suites.h) */
} tls_ctx_t;

/* Builds everything from tc. ring: the ticket keys, shared by every SSL_CTX
 * (filled by tls_ticket_generate or tls_ticket_load_files beforehand); NULL
 * or tc->session_tickets == 0 turns tickets off. ring must outlive the
 * result. The caller owns the result (tls_ctx_free). */
tls_ctx_t *tls_ctx_new(const tls_conf_t *tc, const tls_ticket_ring_t *ring, unsigned flags,
                       char *err, size_t errlen);
void tls_ctx_free(tls_ctx_t *tls);

/* The SSL_CTX a listener hands to SSL_new (sets[0]'s). */
SSL_CTX *tls_ctx_default(const tls_ctx_t *tls);

/* The set a host name selects: exact names first, then wildcards; -1 when
 * none matches (the connection then gets set 0). host need not be
 * NUL-terminated; one trailing dot is ignored. */
ssize_t tls_ctx_find(const tls_ctx_t *tls, const char *host, size_t hostlen);

/* The set a connection's SNI selected (0 without SNI), for virtual hosts: a
 * Host whose tls_ctx_find differs from this is a 421. */
size_t tls_ctx_selected(const tls_ctx_t *tls, const SSL *ssl);

/* 1 if host matches the certificate name pattern (exact, case-insensitive,
 * or `*.` + at least two labels matching exactly one leftmost label). */
int tls_ctx_name_matches(const char *pattern, const char *host, size_t hostlen);

#endif
