/*
 * tls_ticket: the shared session-ticket key ring (see tls_ticket.h for the
 * format, the rotation and the seqlock).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "tls_ticket.h"

/* A reader retries this many times while the master writes; a write is a
 * few memcpy, so only a master that died mid-write exhausts it. */
#define TLS_TICKET_READ_TRIES 10000

/* The SSL_CTX ex_data slot holding the ring. One process-wide OpenSSL
 * registration made in the master before fork, not state of its own. */
static int tls_ticket__ex_index = -1;

tls_ticket_ring_t *tls_ticket_ring_new_shared(void)
{
    void *p = mmap(NULL, sizeof(tls_ticket_ring_t), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    return p; /* anonymous pages are zeroed: seq 0, no keys */
}

void tls_ticket_ring_free_shared(tls_ticket_ring_t *ring)
{
    if (ring != NULL)
        munmap(ring, sizeof(*ring));
}

static void tls_ticket__write_begin(tls_ticket_ring_t *ring)
{
    __atomic_store_n(&ring->seq, ring->seq + 1, __ATOMIC_RELAXED);
    /* the odd seq must be visible before any key byte changes */
    __atomic_thread_fence(__ATOMIC_RELEASE);
}

static void tls_ticket__write_end(tls_ticket_ring_t *ring)
{
    ring->generation++;
    __atomic_store_n(&ring->seq, ring->seq + 1, __ATOMIC_RELEASE);
}

/* Copies the whole ring consistently (it is under a kilobyte). */
static int tls_ticket__snapshot(const tls_ticket_ring_t *ring, tls_ticket_ring_t *copy)
{
    for (int tries = 0; tries < TLS_TICKET_READ_TRIES; tries++) {
        uint32_t s1 = __atomic_load_n(&ring->seq, __ATOMIC_ACQUIRE);
        if (s1 & 1)
            continue;
        memcpy(copy, ring, sizeof(*copy));
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&ring->seq, __ATOMIC_RELAXED) == s1) {
            if (copy->nkeys > TLS_TICKET_MAX_KEYS)
                return -1;
            return 0;
        }
    }
    return -1;
}

int tls_ticket_ring_snapshot(const tls_ticket_ring_t *ring, tls_ticket_ring_t *copy)
{
    return tls_ticket__snapshot(ring, copy) == 0;
}

void tls_ticket_ring_copy_keys(tls_ticket_ring_t *ring, const tls_ticket_ring_t *from)
{
    uint32_t n = from->nkeys < TLS_TICKET_MAX_KEYS ? from->nkeys : TLS_TICKET_MAX_KEYS;
    tls_ticket__write_begin(ring);
    memcpy(ring->keys, from->keys, n * sizeof(ring->keys[0]));
    memset(ring->keys + n, 0, (TLS_TICKET_MAX_KEYS - n) * sizeof(ring->keys[0]));
    ring->nkeys = n;
    ring->from_files = from->from_files;
    tls_ticket__write_end(ring);
}

int tls_ticket_read_key(const tls_ticket_ring_t *ring, uint32_t i, tls_ticket_key_t *out)
{
    tls_ticket_ring_t copy;

    if (tls_ticket__snapshot(ring, &copy) < 0 || i >= copy.nkeys)
        return -1;
    *out = copy.keys[i];
    return 0;
}

static int tls_ticket__random_key(tls_ticket_key_t *k, time_t now)
{
    if (RAND_bytes(k->name, sizeof(k->name)) != 1 || RAND_bytes(k->hmac, sizeof(k->hmac)) != 1 ||
        RAND_bytes(k->aes, sizeof(k->aes)) != 1)
        return -1;
    k->created = (int64_t)now;
    return 0;
}

int tls_ticket_generate(tls_ticket_ring_t *ring, time_t now, char *err, size_t errlen)
{
    tls_ticket_key_t k;

    if (tls_ticket__random_key(&k, now) < 0) {
        snprintf(err, errlen, "session ticket key: RAND_bytes failed");
        return -1;
    }
    tls_ticket__write_begin(ring);
    memset(ring->keys, 0, sizeof(ring->keys));
    ring->keys[0] = k;
    ring->nkeys = 1;
    ring->from_files = 0;
    tls_ticket__write_end(ring);
    OPENSSL_cleanse(&k, sizeof(k));
    return 0;
}

static int tls_ticket__read_file(const char *path, tls_ticket_key_t *k, time_t now, char *err,
                                 size_t errlen)
{
    unsigned char buf[TLS_TICKET_FILE_LEN + 1];
    size_t got = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        snprintf(err, errlen, "ticket_key_file \"%s\": open: %s", path, strerror(errno));
        return -1;
    }
    while (got < sizeof(buf)) {
        ssize_t n = read(fd, buf + got, sizeof(buf) - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, errlen, "ticket_key_file \"%s\": read: %s", path, strerror(errno));
            close(fd);
            return -1;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    if (got != TLS_TICKET_FILE_LEN) {
        snprintf(err, errlen, "ticket_key_file \"%s\": %s%zu bytes, expected %d", path,
                 got > TLS_TICKET_FILE_LEN ? "more than " : "", got > TLS_TICKET_FILE_LEN ? got - 1 : got,
                 TLS_TICKET_FILE_LEN);
        OPENSSL_cleanse(buf, sizeof(buf));
        return -1;
    }
    memcpy(k->name, buf, TLS_TICKET_NAME_LEN);
    memcpy(k->hmac, buf + TLS_TICKET_NAME_LEN, TLS_TICKET_HMAC_LEN);
    memcpy(k->aes, buf + TLS_TICKET_NAME_LEN + TLS_TICKET_HMAC_LEN, TLS_TICKET_AES_LEN);
    k->created = (int64_t)now;
    OPENSSL_cleanse(buf, sizeof(buf));
    return 0;
}

int tls_ticket_load_files(tls_ticket_ring_t *ring, char *const *paths, size_t npaths,
                          time_t now, char *err, size_t errlen)
{
    tls_ticket_key_t keys[TLS_TICKET_MAX_KEYS];
    int rc = -1;

    if (npaths == 0 || npaths > TLS_TICKET_MAX_KEYS) {
        snprintf(err, errlen, "ticket_key_file: %zu files, expected 1 to %d", npaths,
                 TLS_TICKET_MAX_KEYS);
        return -1;
    }
    for (size_t i = 0; i < npaths; i++) {
        if (tls_ticket__read_file(paths[i], &keys[i], now, err, errlen) < 0)
            goto fail;
        for (size_t j = 0; j < i; j++) {
            if (memcmp(keys[j].name, keys[i].name, TLS_TICKET_NAME_LEN) == 0) {
                snprintf(err, errlen, "ticket_key_file \"%s\": same key name as \"%s\"", paths[i],
                         paths[j]);
                goto fail;
            }
        }
    }
    tls_ticket__write_begin(ring);
    memset(ring->keys, 0, sizeof(ring->keys));
    memcpy(ring->keys, keys, npaths * sizeof(keys[0]));
    ring->nkeys = (uint32_t)npaths;
    ring->from_files = 1;
    tls_ticket__write_end(ring);
    rc = 0;
fail:
    OPENSSL_cleanse(keys, sizeof(keys));
    return rc;
}

int tls_ticket_rotate(tls_ticket_ring_t *ring, time_t now)
{
    tls_ticket_key_t k;

    if (ring->from_files || ring->nkeys == 0 ||
        (int64_t)now - ring->keys[0].created < TLS_TICKET_PERIOD)
        return 0;
    if (tls_ticket__random_key(&k, now) < 0)
        return -1;
    tls_ticket__write_begin(ring);
    /* keys[1], if any, has had its extra period: only the newest old key stays */
    ring->keys[1] = ring->keys[0];
    ring->keys[0] = k;
    if (ring->nkeys > 2)
        memset(&ring->keys[2], 0, (ring->nkeys - 2) * sizeof(ring->keys[0]));
    ring->nkeys = 2;
    tls_ticket__write_end(ring);
    OPENSSL_cleanse(&k, sizeof(k));
    return 1;
}

time_t tls_ticket_next_rotation(const tls_ticket_ring_t *ring)
{
    if (ring->from_files || ring->nkeys == 0)
        return 0;
    return (time_t)(ring->keys[0].created + TLS_TICKET_PERIOD);
}

/* AES-256-CBC, fetched once: EVP_aes_256_cbc() makes every
 * EVP_EncryptInit_ex look the cipher up in the provider store again. */
static const EVP_CIPHER *tls_ticket__cipher(void)
{
    static EVP_CIPHER *cipher;
    if (cipher == NULL)
        cipher = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL);
    return cipher != NULL ? cipher : EVP_aes_256_cbc();
}

static int tls_ticket__set_keys(const tls_ticket_key_t *k, unsigned char *iv,
                                EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, (void *)k->hmac, sizeof(k->hmac)),
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };

    if (EVP_MAC_CTX_set_params(hctx, params) != 1)
        return -1;
    if (enc)
        return EVP_EncryptInit_ex(cctx, tls_ticket__cipher(), NULL, k->aes, iv) == 1 ? 0 : -1;
    return EVP_DecryptInit_ex(cctx, tls_ticket__cipher(), NULL, k->aes, iv) == 1 ? 0 : -1;
}

/* OpenSSL's ticket key callback. enc: fill key_name and iv, return 1 (or 0:
 * issue no ticket). !enc: find key_name; 0 = unknown (full handshake, new
 * ticket), 1 = decrypted with the encryption key, 2 = decrypted with an old
 * key (OpenSSL then issues a fresh ticket), -1 = error. */
static int tls_ticket__cb(SSL *ssl, unsigned char key_name[16], unsigned char *iv,
                          EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
    const tls_ticket_ring_t *ring =
        SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), tls_ticket__ex_index);
    tls_ticket_ring_t snap;
    int rc = 0;

    if (ring == NULL || tls_ticket__snapshot(ring, &snap) < 0 || snap.nkeys == 0)
        return 0; /* no ticket issued / not decrypted: a full handshake */
    if (enc) {
        if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(tls_ticket__cipher())) != 1)
            goto done;
        memcpy(key_name, snap.keys[0].name, TLS_TICKET_NAME_LEN);
        rc = tls_ticket__set_keys(&snap.keys[0], iv, cctx, hctx, 1) == 0 ? 1 : -1;
        goto done;
    }
    for (uint32_t i = 0; i < snap.nkeys; i++) {
        if (memcmp(key_name, snap.keys[i].name, TLS_TICKET_NAME_LEN) != 0)
            continue;
        if (tls_ticket__set_keys(&snap.keys[i], iv, cctx, hctx, 0) < 0)
            rc = -1;
        else
            /* 2 renews. TLS 1.3 clients use a ticket once (RFC 8446 C.4), and
             * OpenSSL sends a resumed TLS 1.3 connection a new ticket only
             * when asked: without it every other reconnect is a full
             * handshake. */
            rc = i == 0 && SSL_version(ssl) < TLS1_3_VERSION ? 1 : 2;
        break;
    }
done:
    OPENSSL_cleanse(&snap, sizeof(snap));
    return rc;
}

/* The SNI of the ClientHello being processed: 1 and the name in *name,
 * *len (not NUL-terminated), 0 when it has none, -1 when it is malformed or
 * the ClientHello is not at hand. */
static int tls_ticket__hello_sni(SSL *ssl, const unsigned char **name, size_t *len)
{
    const unsigned char *random, *p;
    size_t n;

    if (SSL_client_hello_get0_random(ssl, &random) == 0)
        return -1;
    if (!SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &p, &n))
        return 0;
    /* ServerNameList (RFC 6066 3): a 2-byte length, then one entry of
     * type host_name (0), a 2-byte length and a name of at least one byte;
     * OpenSSL takes nothing else either. */
    if (n < 6 || (size_t)(p[0] << 8 | p[1]) != n - 2 || p[2] != TLSEXT_NAMETYPE_host_name ||
        (size_t)(p[3] << 8 | p[4]) != n - 5)
        return -1;
    *name = p + 5;
    *len = n - 5;
    return 1;
}

/* OpenSSL's ticket decryption callback, after tls_ticket__cb: a session is
 * resumed only under the SNI it was made with (RFC 6066 3: the server MUST
 * NOT accept a resumption whose server_name differs; RFC 8446 4.2.11 and
 * 4.6.1), compared case-insensitively, no SNI matching only no SNI. Else
 * the servername callback would move the connection to another name's
 * certificate set over a session authenticated with the first name's
 * certificate. A refused ticket is a full handshake and a new ticket.
 *
 * OpenSSL 3 decrypts the ticket before it parses the server_name extension
 * (ssl_get_prev_session runs first, for TLS 1.2 and 1.3), so
 * SSL_get_servername is still NULL here (and the connection still on the
 * first SSL_CTX, whose callback OpenSSL calls). The SNI is read from the
 * ClientHello instead: SSL_client_hello_get0_ext is documented for the
 * ClientHello callback, but OpenSSL holds the ClientHello until it has
 * parsed every extension, ticket included. Should a later one drop it
 * sooner, tls_ticket__hello_sni says -1 and nothing resumes: slower, never
 * wrong (test_tls.py would show it). */
static SSL_TICKET_RETURN tls_ticket__dec_cb(SSL *ssl, SSL_SESSION *sess,
                                            const unsigned char *keyname, size_t keyname_len,
                                            SSL_TICKET_STATUS status, void *arg)
{
    const char *had;
    const unsigned char *name = NULL;
    size_t len = 0;
    int sni;

    if (status != SSL_TICKET_SUCCESS && status != SSL_TICKET_SUCCESS_RENEW)
        return SSL_TICKET_RETURN_IGNORE_RENEW; /* OpenSSL's own answer to these */
    had = SSL_SESSION_get0_hostname(sess);
    sni = tls_ticket__hello_sni(ssl, &name, &len);
    if (sni < 0 || (had == NULL) != (sni == 0) ||
        (had != NULL && (strlen(had) != len || strncasecmp(had, (const char *)name, len) != 0)))
        return SSL_TICKET_RETURN_IGNORE_RENEW;
    return status == SSL_TICKET_SUCCESS ? SSL_TICKET_RETURN_USE : SSL_TICKET_RETURN_USE_RENEW;
}

int tls_ticket_install(SSL_CTX *ctx, const tls_ticket_ring_t *ring)
{
    if (tls_ticket__ex_index < 0) {
        tls_ticket__ex_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
        if (tls_ticket__ex_index < 0)
            return -1;
    }
    if (SSL_CTX_set_ex_data(ctx, tls_ticket__ex_index, (void *)ring) != 1)
        return -1;
    if (SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, tls_ticket__cb) != 1 ||
        SSL_CTX_set_session_ticket_cb(ctx, NULL, tls_ticket__dec_cb, NULL) != 1)
        return -1;
    return 0;
}
