/*
 * Helpers shared by the TLS suites: a throwaway CA and leaf certificates
 * made with the openssl command in a temporary directory, client contexts,
 * non-blocking socketpairs and a bounded handshake pump.
 *
 * Files made by tls_test_make_certs (each X.pem with X.key, chains carry the
 * CA after the leaf):
 *   other   ECDSA, SAN other.test              (listed first: the default)
 *   rsa     RSA 2048, CN rsa.example.test, SAN www.example.test example.test
 *   ecdsa   ECDSA, CN ecdsa.example.test, the same SAN
 *   wild    ECDSA, SAN *.wild.test
 *   cn      ECDSA, CN cn.test and no SAN
 *   expired ECDSA, SAN expired.test, valid 2020-01-01 to 2021-01-01
 *   garbage.pem (a PEM block that is not base64), badchain.pem (rsa's leaf,
 *   then a broken certificate), ca.pem (the CA).
 */
#ifndef DROVER_TLS_TEST_UTIL_H
#define DROVER_TLS_TEST_UTIL_H

#include <stddef.h>

#include <openssl/ssl.h>

/* Makes dir (mkdtemp) and the files; 0 or -1 (the openssl output is on stderr). */
int tls_test_make_certs(char *dir, size_t len);
void tls_test_remove(const char *dir);

/* dir/name into a static buffer rotating among 8 (enough for one call). */
const char *tls_test_file(const char *dir, const char *name);

/* A client context trusting dir/ca.pem and verifying the peer. */
SSL_CTX *tls_test_client_ctx(const char *dir);

/* A connected, non-blocking AF_UNIX pair, or -1. */
int tls_test_socketpair(int sv[2]);

/* One step of a side's handshake: 1 done, 0 not yet, -1 failed. */
typedef int (*tls_test_step_fn)(void *arg);
int tls_test_ssl_step(void *ssl); /* SSL_do_handshake on an SSL* */

/* Alternates the two steps until both are done (0) or one fails or nothing
 * moves for a bounded number of rounds (-1). */
int tls_test_pump(tls_test_step_fn a, void *aarg, tls_test_step_fn b, void *barg);

/* The CN of the certificate the client received ("" if none). */
const char *tls_test_peer_cn(SSL *client, char *buf, size_t len);

#endif
