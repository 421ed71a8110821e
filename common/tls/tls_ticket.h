/*
 * tls_ticket: the session-ticket key ring that lets a client resume its TLS
 * session on whichever worker accepts its next connection.
 *
 * Every worker must encrypt tickets with the same key and decrypt with the
 * same keys, or a client resumes only on the worker that gave it the ticket
 * (Apache's per-process keys: about 1/N of the time). So the keys are made
 * once, by the master (RAND_bytes), or read from ticket_key_file (80 bytes
 * each, nginx's ssl_session_ticket_key format: 16 bytes of name, 32 of HMAC
 * key, 32 of AES key; several files allowed, the first encrypts, the others
 * only decrypt), and kept in a tls_ticket_ring_t.
 *
 * The ring is plain data without pointers, so it can live in one MAP_SHARED
 * page (tls_ticket_ring_new_shared) that the master creates before forking:
 * the master writes it (rotation), every worker of every generation reads it
 * from the ticket callback. Concurrency is a seqlock: the writer makes `seq`
 * odd, changes the keys, makes it even again (release ordering); a reader
 * copies the key it needs and retries if `seq` was odd or changed meanwhile.
 * Only the master writes; a reader never blocks it, and a reader gives up
 * (no ticket issued, no resumption: a full handshake, never an error) after a
 * bounded number of retries should the master die mid-write.
 *
 * Rotation (generated keys only): every TLS_TICKET_PERIOD a new key becomes
 * keys[0] and encrypts; the previous encryption key moves to keys[1] and
 * still decrypts for one more period, then is dropped. A ticket decrypted
 * with a key other than keys[0] is renewed (the callback returns 2). Keys
 * read from files never rotate here: whoever shares the files rotates them
 * and reloads.
 *
 * A ticket resumes only under the SNI name it was issued for, compared
 * case-insensitively (RFC 6066 3); another name, or SNI on one side only,
 * gets a full handshake with its own certificate and a new ticket.
 *
 * Return convention: 0 ok, -1 error with a message in err (naming the file).
 */
#ifndef DROVER_TLS_TICKET_H
#define DROVER_TLS_TICKET_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/ssl.h>

#define TLS_TICKET_PERIOD (12 * 60 * 60) /* seconds between new encryption keys */
#define TLS_TICKET_MAX_KEYS 8            /* key files beyond this are refused */
#define TLS_TICKET_NAME_LEN 16
#define TLS_TICKET_HMAC_LEN 32
#define TLS_TICKET_AES_LEN 32
#define TLS_TICKET_FILE_LEN (TLS_TICKET_NAME_LEN + TLS_TICKET_HMAC_LEN + TLS_TICKET_AES_LEN)

typedef struct {
    unsigned char name[TLS_TICKET_NAME_LEN];
    unsigned char hmac[TLS_TICKET_HMAC_LEN];
    unsigned char aes[TLS_TICKET_AES_LEN];
    int64_t created; /* unix time the key was made or read */
} tls_ticket_key_t;

typedef struct {
    uint32_t seq;        /* seqlock: odd while the master writes */
    uint32_t nkeys;      /* keys[0] encrypts; keys[0..nkeys) decrypt */
    uint32_t from_files; /* 1: keys come from ticket_key_file, never rotated */
    uint32_t generation; /* bumped at every change, for status and tests */
    tls_ticket_key_t keys[TLS_TICKET_MAX_KEYS];
} tls_ticket_ring_t;

/* A zeroed ring in a MAP_SHARED anonymous page, inherited across fork(), or
 * NULL with errno set. Free with tls_ticket_ring_free_shared. */
tls_ticket_ring_t *tls_ticket_ring_new_shared(void);
void tls_ticket_ring_free_shared(tls_ticket_ring_t *ring);

/* 1 and a consistent copy of ring in *copy, or 0 (a writer never done). */
int tls_ticket_ring_snapshot(const tls_ticket_ring_t *ring, tls_ticket_ring_t *copy);

/* Master only. Replaces the ring's keys with from's (a binary upgrade
 * hands its keys to the new master this way), their dates kept, so the
 * rotation goes on where it was. */
void tls_ticket_ring_copy_keys(tls_ticket_ring_t *ring, const tls_ticket_ring_t *from);

/* Master only. Replaces the ring's keys with one fresh random key. */
int tls_ticket_generate(tls_ticket_ring_t *ring, time_t now, char *err, size_t errlen);

/* Master only. Reads the key files (each exactly TLS_TICKET_FILE_LEN bytes)
 * and, only if all are good, replaces the ring's keys with them in order.
 * A reload that names a bad file thus keeps the old keys. */
int tls_ticket_load_files(tls_ticket_ring_t *ring, char *const *paths, size_t npaths,
                          time_t now, char *err, size_t errlen);

/* Master only: call from a timer. When keys[0] of a generated ring is at
 * least TLS_TICKET_PERIOD old, a new key encrypts and the old one is kept to
 * decrypt for one more period. Returns 1 if it rotated, 0 if not, -1 if
 * RAND_bytes failed (the ring is then unchanged). */
int tls_ticket_rotate(tls_ticket_ring_t *ring, time_t now);

/* When the master should call tls_ticket_rotate next (0: never). */
time_t tls_ticket_next_rotation(const tls_ticket_ring_t *ring);

/* Readers (workers): copies keys[i] consistently. 0, or -1 if i is out of
 * range or the writer never finished. */
int tls_ticket_read_key(const tls_ticket_ring_t *ring, uint32_t i, tls_ticket_key_t *out);

/* Installs the ticket key callback (SSL_CTX_set_tlsext_ticket_key_evp_cb)
 * on ctx, reading `ring`, which must outlive ctx, and the decryption
 * callback (SSL_CTX_set_session_ticket_cb, so nothing else may set one)
 * that resumes a session only under the SNI it was made with. Call it on
 * every SSL_CTX a connection may switch to by SNI. Master only, before
 * forking. */
int tls_ticket_install(SSL_CTX *ctx, const tls_ticket_ring_t *ring);

#endif
