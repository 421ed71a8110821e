/*
 * tls_status: see tls_status.h.
 */
#include "tls_status.h"

#include <stdio.h>
#include <string.h>

static void tls_status__date(time_t t, char *out, size_t size)
{
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL || strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, size, "unknown");
}

static size_t tls_status__shown(const tls_ctx_cert_t *c)
{
    return c->nnames < TLS_STATUS_MAX_NAMES ? c->nnames : TLS_STATUS_MAX_NAMES;
}

void tls_status_text(const tls_ctx_t *tls, const tls_ticket_ring_t *ring, const report_t *t,
                     status_buf_t *b)
{
    char date[32];
    if (tls == NULL)
        return;
    time_t now = time(NULL);
    size_t i;
    for (i = 0; i < tls->ncerts; i++) {
        const tls_ctx_cert_t *c = &tls->certs[i];
        size_t shown = tls_status__shown(c), mark = status_buf_item_begin(b);
        tls_status__date(c->not_after, date, sizeof(date));
        status_buf_printf(b, "tls certificate %s (%s): ", c->cert_path, c->key_type);
        for (size_t j = 0; j < shown; j++)
            status_buf_printf(b, "%s%s", j ? ", " : "", c->names[j]);
        if (shown < c->nnames)
            status_buf_printf(b, ", ... and %zu more", c->nnames - shown);
        status_buf_printf(b, "; %s %s\n", c->not_after < now ? "expired" : "expires", date);
        if (!status_buf_item_end(b, mark))
            break;
    }
    if (i < tls->ncerts)
        status_buf_printf(b, "tls certificates: %zu more not shown (%zu in all)\n",
                          tls->ncerts - i, tls->ncerts);
    status_buf_printf(b, "tls: %llu handshakes (%llu resumed), %llu failed; files sent by kTLS "
                         "%llu, by fallback %llu; ticket keys generation %u\n",
                      (unsigned long long)t->tls_handshakes, (unsigned long long)t->tls_resumed,
                      (unsigned long long)t->tls_handshake_failures,
                      (unsigned long long)t->tls_sendfile_ktls,
                      (unsigned long long)t->tls_sendfile_fallback,
                      ring != NULL ? (unsigned)ring->generation : 0);
}

void tls_status_json(const tls_ctx_t *tls, const tls_ticket_ring_t *ring, const report_t *t,
                     status_buf_t *b)
{
    char date[32];
    if (tls == NULL)
        return;
    time_t now = time(NULL);
    status_buf_printf(b, ",\"tls\":{\"certificates\":[");
    for (size_t i = 0; i < tls->ncerts; i++) {
        const tls_ctx_cert_t *c = &tls->certs[i];
        size_t shown = tls_status__shown(c), mark = status_buf_item_begin(b);
        status_buf_printf(b, "%s{\"cert\":", i ? "," : "");
        status_buf_json_str(b, c->cert_path);
        status_buf_printf(b, ",\"key_type\":\"%s\",\"names\":[", c->key_type);
        for (size_t j = 0; j < shown; j++) {
            status_buf_printf(b, "%s", j ? "," : "");
            status_buf_json_str(b, c->names[j]);
        }
        tls_status__date(c->not_after, date, sizeof(date));
        status_buf_printf(b, "],\"names_total\":%zu,\"not_after\":\"%s\",\"expired\":%s}",
                          c->nnames, date, c->not_after < now ? "true" : "false");
        if (!status_buf_item_end(b, mark))
            break;
    }
    status_buf_printf(b, "],\"certificates_total\":%zu,\"handshakes\":%llu,\"resumed\":%llu,"
                         "\"handshake_failures\":%llu,\"sendfile_ktls\":%llu,"
                         "\"sendfile_fallback\":%llu,\"ticket_key_generation\":%u}",
                      tls->ncerts, (unsigned long long)t->tls_handshakes,
                      (unsigned long long)t->tls_resumed,
                      (unsigned long long)t->tls_handshake_failures,
                      (unsigned long long)t->tls_sendfile_ktls,
                      (unsigned long long)t->tls_sendfile_fallback,
                      ring != NULL ? (unsigned)ring->generation : 0);
}
