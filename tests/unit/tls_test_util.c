/*
 * Helpers for the TLS suites (see tls_test_util.h).
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "tls_test_util.h"

#define TLS_TEST_ROUNDS 500

static const char tls_test__script[] =
    "set -e\n"
    "cd \"$1\"\n"
    "exec 2>openssl.log\n"
    "printf '[ca]\\ndefault_ca = d\\n[d]\\ndir = .\\ndatabase = ./index.txt\\n"
    "new_certs_dir = .\\nserial = ./serial\\ndefault_md = sha256\\npolicy = p\\n"
    "copy_extensions = copy\\n[p]\\ncommonName = supplied\\n' > ca.cnf\n"
    ": > index.txt; echo 01 > serial\n"
    "EC='-newkey ec -pkeyopt ec_paramgen_curve:P-256'\n"
    "openssl req -x509 $EC -nodes -keyout ca.key -out ca.pem -subj /CN=drover-test-ca -days 3\n"
    "leaf() { # name keyopts cn san\n"
    "  openssl req -new $2 -nodes -keyout $1.key -out $1.csr -subj \"/CN=$3\" $4\n"
    "  openssl x509 -req -in $1.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \\\n"
    "    -copy_extensions copyall -out $1.pem\n"
    "  cat ca.pem >> $1.pem\n"
    "}\n"
    "leaf other \"$EC\" other.test '-addext subjectAltName=DNS:other.test'\n"
    "leaf rsa '-newkey rsa:2048' rsa.example.test "
    "'-addext subjectAltName=DNS:www.example.test,DNS:example.test'\n"
    "leaf ecdsa \"$EC\" ecdsa.example.test "
    "'-addext subjectAltName=DNS:example.test,DNS:www.example.test'\n"
    "leaf wild \"$EC\" wild.test '-addext subjectAltName=DNS:*.wild.test'\n"
    "leaf cn \"$EC\" cn.test ''\n"
    "openssl req -new $EC -nodes -keyout expired.key -out expired.csr -subj /CN=expired.test "
    "-addext subjectAltName=DNS:expired.test\n"
    "openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in expired.csr "
    "-out expired.pem -startdate 20200101000000Z -enddate 20210101000000Z -notext\n"
    "printf -- '-----BEGIN CERTIFICATE-----\\nnot base64 at all!\\n"
    "-----END CERTIFICATE-----\\n' > garbage.pem\n"
    "openssl x509 -in rsa.pem > badchain.pem\n"
    "cat garbage.pem >> badchain.pem\n";

int tls_test_make_certs(char *dir, size_t len)
{
    char cmd[256];
    FILE *f;
    const char *tmp = getenv("TMPDIR");

    snprintf(dir, len, "%s/drover-tls-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL)
        return -1;
    if ((f = fopen(tls_test_file(dir, "make.sh"), "w")) == NULL)
        return -1;
    fputs(tls_test__script, f);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "sh '%s' '%s'", tls_test_file(dir, "make.sh"), dir);
    if (system(cmd) != 0) {
        snprintf(cmd, sizeof(cmd), "cat '%s' >&2", tls_test_file(dir, "openssl.log"));
        if (system(cmd) != 0)
            fprintf(stderr, "openssl failed\n");
        return -1;
    }
    return 0;
}

void tls_test_remove(const char *dir)
{
    char cmd[256];

    if (dir[0] == '\0' || strstr(dir, "drover-tls-") == NULL)
        return;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

const char *tls_test_file(const char *dir, const char *name)
{
    static char bufs[8][512];
    static int next;
    char *b = bufs[next++ % 8];

    snprintf(b, sizeof(bufs[0]), "%s/%s", dir, name);
    return b;
}

SSL_CTX *tls_test_client_ctx(const char *dir)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

    if (ctx == NULL)
        return NULL;
    if (SSL_CTX_load_verify_locations(ctx, tls_test_file(dir, "ca.pem"), NULL) != 1) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    return ctx;
}

int tls_test_socketpair(int sv[2])
{
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
        return -1;
    return 0;
}

int tls_test_ssl_step(void *arg)
{
    SSL *ssl = arg;
    int r;

    ERR_clear_error();
    r = SSL_do_handshake(ssl);
    if (r == 1)
        return 1;
    r = SSL_get_error(ssl, r);
    if (r == SSL_ERROR_WANT_READ || r == SSL_ERROR_WANT_WRITE)
        return 0;
    return -1;
}

int tls_test_pump(tls_test_step_fn a, void *aarg, tls_test_step_fn b, void *barg)
{
    int da = 0, db = 0;

    for (int i = 0; i < TLS_TEST_ROUNDS && !(da && db); i++) {
        if (!da && (da = a(aarg)) < 0)
            return -1;
        if (!db && (db = b(barg)) < 0)
            return -1;
    }
    return da == 1 && db == 1 ? 0 : -1;
}

const char *tls_test_peer_cn(SSL *client, char *buf, size_t len)
{
    X509 *x = SSL_get1_peer_certificate(client);

    buf[0] = '\0';
    if (x != NULL) {
        X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, buf, (int)len);
        X509_free(x);
    }
    return buf;
}
