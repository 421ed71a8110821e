/*
 * tls_conf: the settings of the `tls:` block (SPEC.md, "TLS"), as plain data.
 *
 * The config table fills a tls_conf_t from YAML; tls_ctx builds OpenSSL
 * contexts from it and tls_ticket reads the ticket key files it names. The
 * struct owns every string and array in it: tls_conf_free() releases them
 * all, and a zeroed struct after tls_conf_init() is the documented default
 * (no certificate, TLS 1.2 minimum, Mozilla "intermediate" ciphers, tickets
 * on and made by the master, no key file, no HSTS). "none" in YAML is NULL
 * here; "default" ciphers is NULL too.
 */
#ifndef DROVER_TLS_CONF_H
#define DROVER_TLS_CONF_H

#include <stddef.h>

/* Mozilla "intermediate" (v5.7): the TLS 1.2 list and the TLS 1.3 suites. */
#define TLS_CONF_CIPHERS_INTERMEDIATE                                               \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                    \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                    \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"                    \
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305"
#define TLS_CONF_CIPHERSUITES_TLS13 \
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

typedef enum {
    TLS_CONF_MIN_1_2 = 0, /* the default */
    TLS_CONF_MIN_1_3,
} tls_conf_min_version_t;

typedef struct {
    char *cert; /* path of the PEM chain: leaf first, then intermediates */
    char *key;  /* path of the PEM private key */
    int line;   /* line of the entry in the config file, 0 when unknown */
    const char *host; /* the hosts: entry it is the tls of, NULL for tls.certificates;
                         not owned (the conf_t's), for messages */
} tls_conf_cert_t;

typedef struct {
    tls_conf_cert_t *certificates; /* the first one answers clients without SNI */
    size_t ncertificates;
    tls_conf_min_version_t min_version;
    char *ciphers;                 /* OpenSSL TLS 1.2 list; NULL = "default" */
    int ciphers_line;              /* line of tls.ciphers in file, 0 when not written */
    int session_tickets;           /* 1 (default): shared, rotated ticket keys */
    char **ticket_key_files;       /* 80-byte files; the first encrypts */
    size_t nticket_key_files;
    char *hsts;                    /* Strict-Transport-Security value; NULL = none */
    const char *file;              /* config file, for messages; not owned */
} tls_conf_t;

void tls_conf_init(tls_conf_t *tc);
void tls_conf_free(tls_conf_t *tc);

/* Appends a copy of cert and key. 0, or -1 with errno ENOMEM. */
int tls_conf_add_certificate(tls_conf_t *tc, const char *cert, const char *key, int line);

/* Appends a copy of path. 0, or -1 with errno ENOMEM. */
int tls_conf_add_ticket_key_file(tls_conf_t *tc, const char *path);

/* "1.2" or "1.3". 0, or -1 for anything else. */
int tls_conf_parse_min_version(const char *s, tls_conf_min_version_t *out);

/* The TLS 1.2 cipher list in effect: tc->ciphers, or the intermediate list. */
const char *tls_conf_cipher_list(const tls_conf_t *tc);

/* Where a message about the config starts, as every config error does
 * (common/conf/conf.h): "file:line: tls.ciphers: ", and for certificate i
 * "file:line: tls.certificates: " or "file:line: host NAME: tls: ". ":line"
 * is left out when unknown, and file is "config" when tc->file is NULL. Into
 * buf, which is returned. */
#define TLS_CONF_WHERE_LEN 512
const char *tls_conf_where_ciphers(const tls_conf_t *tc, char *buf, size_t len);
const char *tls_conf_where_cert(const tls_conf_t *tc, size_t i, char *buf, size_t len);

#endif
