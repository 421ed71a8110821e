/*
 * tls_status: see tls_status.h.
 */
#include "tls_status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    char *p;
    size_t len, size;
} tls_status_buf_t;

static void tls_status__printf(tls_status_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void tls_status__printf(tls_status_buf_t *b, const char *fmt, ...)
{
    if (b->size == 0 || b->len + 1 >= b->size)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p + b->len, b->size - b->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        b->len += (size_t)n < b->size - b->len ? (size_t)n : b->size - b->len - 1;
}

/* A JSON string: quotes, backslashes and control bytes escaped. */
static void tls_status__json_str(tls_status_buf_t *b, const char *s)
{
    tls_status__printf(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            tls_status__printf(b, "\\%c", *p);
        else if (*p < 0x20)
            tls_status__printf(b, "\\u%04x", *p);
        else
            tls_status__printf(b, "%c", *p);
    }
    tls_status__printf(b, "\"");
}

static void tls_status__date(time_t t, char *out, size_t size)
{
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL || strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, size, "unknown");
}

size_t tls_status_text(const tls_ctx_t *tls, const tls_ticket_ring_t *ring, const report_t *t,
                       char *buf, size_t size)
{
    tls_status_buf_t b = { buf, 0, size };
    char date[32];
    if (tls == NULL)
        return 0;
    time_t now = time(NULL);
    for (size_t i = 0; i < tls->ncerts; i++) {
        const tls_ctx_cert_t *c = &tls->certs[i];
        tls_status__date(c->not_after, date, sizeof(date));
        tls_status__printf(&b, "tls certificate %s (%s): ", c->cert_path, c->key_type);
        for (size_t j = 0; j < c->nnames; j++)
            tls_status__printf(&b, "%s%s", j ? ", " : "", c->names[j]);
        tls_status__printf(&b, "; %s %s\n", c->not_after < now ? "expired" : "expires", date);
    }
    tls_status__printf(&b, "tls: %llu handshakes (%llu resumed), %llu failed; files sent by kTLS "
                           "%llu, by fallback %llu; ticket keys generation %u\n",
                       (unsigned long long)t->tls_handshakes, (unsigned long long)t->tls_resumed,
                       (unsigned long long)t->tls_handshake_failures,
                       (unsigned long long)t->tls_sendfile_ktls,
                       (unsigned long long)t->tls_sendfile_fallback,
                       ring != NULL ? (unsigned)ring->generation : 0);
    return b.len;
}

size_t tls_status_json(const tls_ctx_t *tls, const tls_ticket_ring_t *ring, const report_t *t,
                       char *buf, size_t size)
{
    tls_status_buf_t b = { buf, 0, size };
    char date[32];
    if (tls == NULL)
        return 0;
    time_t now = time(NULL);
    tls_status__printf(&b, ",\"tls\":{\"certificates\":[");
    for (size_t i = 0; i < tls->ncerts; i++) {
        const tls_ctx_cert_t *c = &tls->certs[i];
        tls_status__printf(&b, "%s{\"cert\":", i ? "," : "");
        tls_status__json_str(&b, c->cert_path);
        tls_status__printf(&b, ",\"key_type\":\"%s\",\"names\":[", c->key_type);
        for (size_t j = 0; j < c->nnames; j++) {
            tls_status__printf(&b, "%s", j ? "," : "");
            tls_status__json_str(&b, c->names[j]);
        }
        tls_status__date(c->not_after, date, sizeof(date));
        tls_status__printf(&b, "],\"not_after\":\"%s\",\"expired\":%s}", date,
                           c->not_after < now ? "true" : "false");
    }
    tls_status__printf(&b, "],\"handshakes\":%llu,\"resumed\":%llu,\"handshake_failures\":%llu,"
                           "\"sendfile_ktls\":%llu,\"sendfile_fallback\":%llu,"
                           "\"ticket_key_generation\":%u}",
                       (unsigned long long)t->tls_handshakes, (unsigned long long)t->tls_resumed,
                       (unsigned long long)t->tls_handshake_failures,
                       (unsigned long long)t->tls_sendfile_ktls,
                       (unsigned long long)t->tls_sendfile_fallback,
                       ring != NULL ? (unsigned)ring->generation : 0);
    return b.len;
}
