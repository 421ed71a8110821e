/*
 * tls_ctx: load and check certificates, build the server SSL_CTXs, and pick
 * a certificate set by SNI (see tls_ctx.h).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "tls_ctx.h"
#include "tls_suites.h"

#define TLS_CTX_MAX_CHAIN 16
#define TLS_CTX_GROUPS "X25519:P-256:P-384"

/* What one certificate entry loads into, before it goes into an SSL_CTX. */
typedef struct {
    X509 *x509;
    STACK_OF(X509) *chain;
    EVP_PKEY *key;
} tls_ctx__pem_t;

/* OpenSSL's reason for the last failure, then an empty error queue. */
static const char *tls_ctx__reason(char *buf, size_t len)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;

    if (r != NULL)
        snprintf(buf, len, "%s", r);
    else if (e != 0)
        ERR_error_string_n(e, buf, len);
    else
        snprintf(buf, len, "unknown error");
    ERR_clear_error();
    return buf;
}

/* Never prompt on the terminal for a passphrase: encrypted keys fail. */
static int tls_ctx__no_password(char *buf, int size, int rwflag, void *u)
{
    return -1;
}

static BIO *tls_ctx__open(const char *at, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    BIO *b;

    if (f == NULL) {
        snprintf(err, errlen, "%s%s: %s", at, path, strerror(errno));
        return NULL;
    }
    if ((b = BIO_new_fp(f, BIO_CLOSE)) == NULL) {
        fclose(f);
        snprintf(err, errlen, "%s%s: out of memory", at, path);
    }
    return b;
}

/* Reads certificate entry c into pem; at starts every message
 * ("file:line: tls.certificates: "), then the file at fault. */
static int tls_ctx__read_pem(const tls_ctx_cert_t *c, const char *at, tls_ctx__pem_t *pem,
                             char *err, size_t errlen)
{
    char why[256];
    BIO *b;
    int rc = -1;

    ERR_clear_error();
    if ((b = tls_ctx__open(at, c->cert_path, err, errlen)) == NULL)
        return -1;
    if ((pem->x509 = PEM_read_bio_X509_AUX(b, NULL, tls_ctx__no_password, NULL)) == NULL) {
        snprintf(err, errlen, "%s%s: no certificate: %s", at, c->cert_path,
                 tls_ctx__reason(why, sizeof(why)));
        goto fail;
    }
    if ((pem->chain = sk_X509_new_null()) == NULL)
        goto fail;
    for (;;) {
        X509 *x = PEM_read_bio_X509(b, NULL, tls_ctx__no_password, NULL);
        if (x == NULL) {
            unsigned long e = ERR_peek_last_error();
            if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
                ERR_clear_error(); /* the end of the file */
                break;
            }
            snprintf(err, errlen, "%s%s: chain certificate %d: %s", at, c->cert_path,
                     sk_X509_num(pem->chain) + 1, tls_ctx__reason(why, sizeof(why)));
            goto fail;
        }
        if (sk_X509_num(pem->chain) >= TLS_CTX_MAX_CHAIN || !sk_X509_push(pem->chain, x)) {
            X509_free(x);
            snprintf(err, errlen, "%s%s: chain longer than %d", at, c->cert_path,
                     TLS_CTX_MAX_CHAIN);
            goto fail;
        }
    }
    BIO_free(b);
    if ((b = tls_ctx__open(at, c->key_path, err, errlen)) == NULL)
        return -1;
    if ((pem->key = PEM_read_bio_PrivateKey(b, NULL, tls_ctx__no_password, NULL)) == NULL) {
        snprintf(err, errlen, "%s%s: no private key: %s", at, c->key_path,
                 tls_ctx__reason(why, sizeof(why)));
        goto fail;
    }
    if (X509_check_private_key(pem->x509, pem->key) != 1) {
        snprintf(err, errlen, "%s%s: does not match certificate %s: %s", at, c->key_path,
                 c->cert_path, tls_ctx__reason(why, sizeof(why)));
        goto fail;
    }
    rc = 0;
fail:
    BIO_free(b);
    return rc;
}

static void tls_ctx__pem_free(tls_ctx__pem_t *pem)
{
    X509_free(pem->x509);
    sk_X509_pop_free(pem->chain, X509_free);
    EVP_PKEY_free(pem->key);
    memset(pem, 0, sizeof(*pem));
}

static int tls_ctx__add_name(tls_ctx_cert_t *c, const unsigned char *p, int len)
{
    char **a;
    char *s;

    if (len <= 0 || memchr(p, '\0', (size_t)len) != NULL)
        return 0; /* a name with a NUL inside can match nothing honestly */
    if ((a = realloc(c->names, (c->nnames + 1) * sizeof(*a))) == NULL)
        return -1;
    c->names = a;
    if ((s = malloc((size_t)len + 1)) == NULL)
        return -1;
    for (int i = 0; i < len; i++)
        s[i] = (p[i] >= 'A' && p[i] <= 'Z') ? (char)(p[i] + 32) : (char)p[i];
    s[len] = '\0';
    a[c->nnames++] = s;
    return 0;
}

/* subjectAltName DNS names; the last CN only when there are none. */
static int tls_ctx__names(tls_ctx_cert_t *c, X509 *x)
{
    GENERAL_NAMES *sans = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    int rc = 0;

    for (int i = 0; sans != NULL && i < sk_GENERAL_NAME_num(sans) && rc == 0; i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);
        if (g->type == GEN_DNS)
            rc = tls_ctx__add_name(c, ASN1_STRING_get0_data(g->d.dNSName),
                                   ASN1_STRING_length(g->d.dNSName));
    }
    GENERAL_NAMES_free(sans);
    if (rc == 0 && c->nnames == 0) {
        const X509_NAME *subj = X509_get_subject_name(x);
        int idx = -1, last = -1;
        while ((idx = X509_NAME_get_index_by_NID(subj, NID_commonName, idx)) >= 0)
            last = idx;
        if (last >= 0) {
            unsigned char *u = NULL;
            int len = ASN1_STRING_to_UTF8(
                &u, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, last)));
            if (len > 0)
                rc = tls_ctx__add_name(c, u, len);
            OPENSSL_free(u);
        }
    }
    return rc;
}

static const char *tls_ctx__key_type(const EVP_PKEY *key)
{
    int id = EVP_PKEY_get_base_id(key);
    const char *sn;

    switch (id) {
    case EVP_PKEY_RSA:
        return "RSA";
    case EVP_PKEY_RSA_PSS:
        return "RSA-PSS";
    case EVP_PKEY_EC:
        return "ECDSA";
    default:
        sn = OBJ_nid2sn(id);
        return sn != NULL ? sn : "unknown";
    }
}

static time_t tls_ctx__time(const ASN1_TIME *t)
{
    struct tm tm;

    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
        return 0;
    return timegm(&tm);
}

static void tls_ctx__check_dates(tls_ctx_t *tls, tls_ctx_cert_t *c, X509 *x)
{
    char date[64];
    struct tm tm;
    time_t now = time(NULL);

    c->not_before = tls_ctx__time(X509_get0_notBefore(x));
    c->not_after = tls_ctx__time(X509_get0_notAfter(x));
    if (now < c->not_before) {
        gmtime_r(&c->not_before, &tm);
        strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S GMT", &tm);
        log_warn("tls: certificate \"%s\" is not valid before %s", c->cert_path, date);
        tls->nwarnings++;
    }
    if (now > c->not_after) {
        gmtime_r(&c->not_after, &tm);
        strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S GMT", &tm);
        log_warn("tls: certificate \"%s\" expired on %s", c->cert_path, date);
        tls->nwarnings++;
    }
}

int tls_ctx_name_matches(const char *pattern, const char *host, size_t hostlen)
{
    size_t plen = strlen(pattern);

    if (hostlen > 0 && host[hostlen - 1] == '.')
        hostlen--;
    if (hostlen == 0)
        return 0;
    if (plen == hostlen && strncasecmp(pattern, host, hostlen) == 0)
        return 1;
    if (plen < 2 || pattern[0] != '*' || pattern[1] != '.')
        return 0;
    /* RFC 6125 6.4.3: the wildcard is the whole leftmost label, matches one
     * label, and is not allowed right above a top-level domain. */
    const char *suffix = pattern + 1; /* ".example.com" */
    size_t slen = plen - 1;
    if (strchr(suffix + 1, '.') == NULL || strchr(suffix + 1, '*') != NULL)
        return 0;
    if (hostlen <= slen)
        return 0;
    size_t label = hostlen - slen;
    if (strncasecmp(host + label, suffix, slen) != 0)
        return 0;
    return memchr(host, '.', label) == NULL;
}

ssize_t tls_ctx_find(const tls_ctx_t *tls, const char *host, size_t hostlen)
{
    for (int wild = 0; wild < 2; wild++) {
        for (size_t s = 0; s < tls->nsets; s++) {
            const tls_ctx_cert_t *c = &tls->certs[tls->sets[s].cert];
            for (size_t n = 0; n < c->nnames; n++) {
                if ((c->names[n][0] == '*') != wild)
                    continue;
                if (tls_ctx_name_matches(c->names[n], host, hostlen))
                    return (ssize_t)s;
            }
        }
    }
    return -1;
}

size_t tls_ctx_selected(const tls_ctx_t *tls, const SSL *ssl)
{
    const SSL_CTX *ctx = SSL_get_SSL_CTX(ssl);

    for (size_t s = 0; s < tls->nsets; s++)
        if (tls->sets[s].ssl_ctx == ctx)
            return s;
    return 0;
}

SSL_CTX *tls_ctx_default(const tls_ctx_t *tls)
{
    return tls->sets[0].ssl_ctx;
}

static int tls_ctx__servername_cb(SSL *ssl, int *alert, void *arg)
{
    const tls_ctx_t *tls = arg;
    const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    ssize_t s;

    if (name == NULL)
        return SSL_TLSEXT_ERR_NOACK;
    s = tls_ctx_find(tls, name, strlen(name));
    if (s > 0 && SSL_set_SSL_CTX(ssl, tls->sets[s].ssl_ctx) == NULL)
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    /* an unknown name keeps the first certificate, as the issue asks */
    return SSL_TLSEXT_ERR_OK;
}

static int tls_ctx__alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                            const unsigned char *in, unsigned int inlen, void *arg)
{
    static const unsigned char h2[] = "\x02h2\x08http/1.1";
    static const unsigned char h1[] = "\x08http/1.1";
    const tls_ctx_t *tls = arg;
    const unsigned char *ours = (tls->flags & TLS_CTX_H2) ? h2 : h1;
    unsigned int ourslen = (tls->flags & TLS_CTX_H2) ? sizeof(h2) - 1 : sizeof(h1) - 1;

    if (SSL_select_next_proto((unsigned char **)out, outlen, ours, ourslen, in, inlen) ==
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_OK;
    /* No common protocol: carry on without ALPN (HTTP/1.1) rather than
     * refuse, as clients that offer only something odd still speak it. */
    return SSL_TLSEXT_ERR_NOACK;
}

#ifdef SSL_OP_ENABLE_KTLS
/* 1 when the kernel has its tls module. With SSL_OP_ENABLE_KTLS, OpenSSL
 * tries setsockopt(TCP_ULP, "tls") on every connection, and then TLS_TX:
 * two failing system calls per handshake on a kernel without it. One probe
 * per process says which: ENOENT is "no such ULP"; an unconnected socket
 * with the module fails otherwise (ENOTCONN). */
static int tls_ctx__ktls_usable(void)
{
    static int usable = -1;
    if (usable < 0) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return 1; /* cannot tell: let OpenSSL try */
        usable = setsockopt(fd, IPPROTO_TCP, TCP_ULP, "tls", sizeof("tls")) < 0 &&
                         errno == ENOENT
                     ? 0
                     : 1;
        close(fd);
        if (!usable)
            log_info("tls: no kernel TLS here (setsockopt TCP_ULP \"tls\": %s): files go "
                     "out through SSL_write", strerror(ENOENT));
    }
    return usable;
}
#endif

static SSL_CTX *tls_ctx__new_ssl_ctx(tls_ctx_t *tls, const tls_conf_t *tc,
                                     const tls_ticket_ring_t *ring, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    /* NO_RENEGOTIATION refuses it both ways; OpenSSL 3 already refuses
     * client-started renegotiation unless ALLOW_CLIENT_RENEGOTIATION. */
    uint64_t opts = SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION;
    char why[256];

    if (ctx == NULL) {
        snprintf(err, errlen, "tls: SSL_CTX_new: %s", tls_ctx__reason(why, sizeof(why)));
        return NULL;
    }
#ifdef SSL_OP_ENABLE_KTLS
    if (tls_ctx__ktls_usable())
        opts |= SSL_OP_ENABLE_KTLS;
#endif
    /* Mozilla "intermediate" leaves the order to the client: every suite
     * in the list is strong, and clients know whether they have AES-NI. */
    SSL_CTX_set_options(ctx, opts);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                              SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    /* Read what the socket has, not one record header (5 bytes) and then its
     * body: without read-ahead every record costs two read() calls. The
     * worker waits for an epoll edge only when OpenSSL holds none of what
     * it read ahead (tls_recv's emptied), so those bytes are never
     * stranded. */
    SSL_CTX_set_read_ahead(ctx, 1);
    SSL_CTX_set_min_proto_version(ctx, tc->min_version == TLS_CONF_MIN_1_3 ? TLS1_3_VERSION
                                                                           : TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
    if (SSL_CTX_set_cipher_list(ctx, tls_conf_cipher_list(tc)) != 1) {
        char at[TLS_CONF_WHERE_LEN];
        snprintf(err, errlen, "%s\"%s\": %s", tls_conf_where_ciphers(tc, at, sizeof(at)),
                 tls_conf_cipher_list(tc), tls_ctx__reason(why, sizeof(why)));
        goto fail;
    }
    if (SSL_CTX_set_ciphersuites(ctx, TLS_CONF_CIPHERSUITES_TLS13) != 1 ||
        SSL_CTX_set1_groups_list(ctx, TLS_CTX_GROUPS) != 1 || SSL_CTX_set_dh_auto(ctx, 1) != 1 ||
        SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"drover", 6) != 1) {
        snprintf(err, errlen, "tls: SSL_CTX setup: %s", tls_ctx__reason(why, sizeof(why)));
        goto fail;
    }
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_timeout(ctx, TLS_TICKET_PERIOD);
    if (tc->session_tickets && ring != NULL) {
        if (tls_ticket_install(ctx, ring) < 0) {
            snprintf(err, errlen, "tls: ticket callback: %s", tls_ctx__reason(why, sizeof(why)));
            goto fail;
        }
    } else {
        SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
        SSL_CTX_set_num_tickets(ctx, 0);
    }
    SSL_CTX_set_tlsext_servername_callback(ctx, tls_ctx__servername_cb);
    SSL_CTX_set_tlsext_servername_arg(ctx, tls);
    SSL_CTX_set_alpn_select_cb(ctx, tls_ctx__alpn_cb, tls);
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

static int tls_ctx__same_names(const tls_ctx_cert_t *a, const tls_ctx_cert_t *b)
{
    if (a->nnames != b->nnames)
        return 0;
    for (size_t i = 0; i < a->nnames; i++) {
        size_t j = 0;
        while (j < b->nnames && strcmp(a->names[i], b->names[j]) != 0)
            j++;
        if (j == b->nnames)
            return 0;
    }
    return 1;
}

/* The set certificate i joins: one with the same names and no certificate
 * of the same key type yet (an SSL_CTX holds one per type), else a new one. */
static ssize_t tls_ctx__set_for(const tls_ctx_t *tls, size_t i)
{
    const tls_ctx_cert_t *c = &tls->certs[i];

    for (size_t s = 0; s < tls->nsets; s++) {
        if (!tls_ctx__same_names(&tls->certs[tls->sets[s].cert], c))
            continue;
        int clash = 0;
        for (size_t j = 0; j < i; j++)
            if (tls->certs[j].set == s && strcmp(tls->certs[j].key_type, c->key_type) == 0)
                clash = 1;
        if (!clash)
            return (ssize_t)s;
    }
    return -1;
}

tls_ctx_t *tls_ctx_new(const tls_conf_t *tc, const tls_ticket_ring_t *ring, unsigned flags,
                       char *err, size_t errlen)
{
    tls_ctx_t *tls = calloc(1, sizeof(*tls));
    tls_ctx__pem_t pem = { 0 };
    char at[TLS_CONF_WHERE_LEN], why[256];

    if (tls == NULL)
        goto oom;
    tls->flags = flags;
    if (tc->ncertificates == 0) {
        snprintf(err, errlen, "tls: no certificate configured");
        goto fail;
    }
    if ((tls->certs = calloc(tc->ncertificates, sizeof(*tls->certs))) == NULL ||
        (tls->sets = calloc(tc->ncertificates, sizeof(*tls->sets))) == NULL)
        goto oom;
    for (size_t i = 0; i < tc->ncertificates; i++) {
        tls_ctx_cert_t *c = &tls->certs[tls->ncerts++];
        c->line = tc->certificates[i].line;
        if ((c->cert_path = strdup(tc->certificates[i].cert)) == NULL ||
            (c->key_path = strdup(tc->certificates[i].key)) == NULL)
            goto oom;
        tls_conf_where_cert(tc, i, at, sizeof(at));
        if (tls_ctx__read_pem(c, at, &pem, err, errlen) < 0)
            goto fail;
        if (tls_ctx__names(c, pem.x509) < 0)
            goto oom;
        c->key_type = tls_ctx__key_type(pem.key);
        tls_ctx__check_dates(tls, c, pem.x509);

        ssize_t s = tls_ctx__set_for(tls, i);
        if (s < 0) {
            s = (ssize_t)tls->nsets;
            tls->sets[s].cert = i;
            tls->sets[s].ssl_ctx = tls_ctx__new_ssl_ctx(tls, tc, ring, err, errlen);
            if (tls->sets[s].ssl_ctx == NULL)
                goto fail;
            tls->nsets++;
        }
        c->set = (size_t)s;
        if (SSL_CTX_use_cert_and_key(tls->sets[s].ssl_ctx, pem.x509, pem.key, pem.chain, 1) !=
            1) {
            snprintf(err, errlen, "%s%s: %s", at, c->cert_path,
                     tls_ctx__reason(why, sizeof(why)));
            goto fail;
        }
        tls_ctx__pem_free(&pem);
    }
    /* Only now does each SSL_CTX have all its certificates (key types). */
    if (tls_suites_check(tls, tc, err, errlen) < 0)
        goto fail;
    return tls;
oom:
    snprintf(err, errlen, "tls: out of memory");
fail:
    tls_ctx__pem_free(&pem);
    tls_ctx_free(tls);
    return NULL;
}

void tls_ctx_free(tls_ctx_t *tls)
{
    if (tls == NULL)
        return;
    for (size_t i = 0; i < tls->ncerts; i++) {
        tls_ctx_cert_t *c = &tls->certs[i];
        free(c->cert_path);
        free(c->key_path);
        for (size_t n = 0; n < c->nnames; n++)
            free(c->names[n]);
        free(c->names);
    }
    for (size_t s = 0; s < tls->nsets; s++)
        SSL_CTX_free(tls->sets[s].ssl_ctx);
    free(tls->certs);
    free(tls->sets);
    free(tls);
}
