/*
 * tls_conf: defaults and freeing for the `tls:` settings (see tls_conf.h).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tls_conf.h"

void tls_conf_init(tls_conf_t *tc)
{
    memset(tc, 0, sizeof(*tc));
    tc->min_version = TLS_CONF_MIN_1_2;
    tc->session_tickets = 1;
}

void tls_conf_free(tls_conf_t *tc)
{
    for (size_t i = 0; i < tc->ncertificates; i++) {
        free(tc->certificates[i].cert);
        free(tc->certificates[i].key);
    }
    free(tc->certificates);
    for (size_t i = 0; i < tc->nticket_key_files; i++)
        free(tc->ticket_key_files[i]);
    free(tc->ticket_key_files);
    free(tc->ciphers);
    free(tc->hsts);
    tls_conf_init(tc);
}

int tls_conf_add_certificate(tls_conf_t *tc, const char *cert, const char *key, int line)
{
    tls_conf_cert_t *a = realloc(tc->certificates, (tc->ncertificates + 1) * sizeof(*a));
    if (a == NULL)
        return -1;
    tc->certificates = a;
    tls_conf_cert_t e = { strdup(cert), strdup(key), line, NULL };
    if (e.cert == NULL || e.key == NULL) {
        free(e.cert);
        free(e.key);
        errno = ENOMEM;
        return -1;
    }
    a[tc->ncertificates++] = e;
    return 0;
}

int tls_conf_add_ticket_key_file(tls_conf_t *tc, const char *path)
{
    char **a = realloc(tc->ticket_key_files, (tc->nticket_key_files + 1) * sizeof(*a));
    if (a == NULL)
        return -1;
    tc->ticket_key_files = a;
    if ((a[tc->nticket_key_files] = strdup(path)) == NULL)
        return -1;
    tc->nticket_key_files++;
    return 0;
}

int tls_conf_parse_min_version(const char *s, tls_conf_min_version_t *out)
{
    if (strcmp(s, "1.2") == 0)
        *out = TLS_CONF_MIN_1_2;
    else if (strcmp(s, "1.3") == 0)
        *out = TLS_CONF_MIN_1_3;
    else
        return -1;
    return 0;
}

const char *tls_conf_cipher_list(const tls_conf_t *tc)
{
    if (tc->ciphers == NULL || strcmp(tc->ciphers, "default") == 0)
        return TLS_CONF_CIPHERS_INTERMEDIATE;
    return tc->ciphers;
}

/* "file:line: key: ", the shape of every config error (conf.c). */
static const char *tls_conf__where(const tls_conf_t *tc, int line, const char *key, char *buf,
                                   size_t len)
{
    const char *file = tc->file != NULL ? tc->file : "config";

    if (line > 0)
        snprintf(buf, len, "%s:%d: %s: ", file, line, key);
    else
        snprintf(buf, len, "%s: %s: ", file, key);
    return buf;
}

const char *tls_conf_where_ciphers(const tls_conf_t *tc, char *buf, size_t len)
{
    return tls_conf__where(tc, tc->ciphers_line, "tls.ciphers", buf, len);
}

const char *tls_conf_where_cert(const tls_conf_t *tc, size_t i, char *buf, size_t len)
{
    const tls_conf_cert_t *c = &tc->certificates[i];
    char key[300];

    if (c->host == NULL)
        return tls_conf__where(tc, c->line, "tls.certificates", buf, len);
    snprintf(key, sizeof(key), "host %s: tls", c->host);
    return tls_conf__where(tc, c->line, key, buf, len);
}
