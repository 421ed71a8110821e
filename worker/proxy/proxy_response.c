/*
 * proxy_response: see proxy_response.h.
 */
#include "config.h"

#include "proxy_response.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_compress.h"
#include "host.h"
#include "proxy_request.h"
#include "response.h"

proxy_body_t proxy_response_mode(const http_response_t *res, int head_only, int client_http10)
{
    if (head_only || res->status < 200 || res->status == 204 || res->status == 304)
        return PROXY_BODY_NONE;
    if (res->chunked)
        return client_http10 ? PROXY_BODY_DECHUNKED : PROXY_BODY_CHUNKED;
    if (res->content_length >= 0)
        return PROXY_BODY_LENGTH;
    return PROXY_BODY_CLOSE;
}

/* Not passed on: hop-by-hop, the ones drover writes itself, framing it
 * writes anew. */
static int proxy_response__drop(const http_response_t *res, str_t name, const proxy_head_args_t *a)
{
    proxy_body_t mode = a->mode;
    if (a->coding != 0 && STR_CASEEQ(name, "Content-Encoding"))
        return 1; /* "identity" at most: the coding's replaces it */
    /* A 101's Upgrade names the protocol the connection speaks now. */
    if (res->status == 101 && STR_CASEEQ(name, "Upgrade"))
        return 0;
    if (proxy_request_hop(name, res->connection))
        return 1;
    if (STR_CASEEQ(name, "Date") || STR_CASEEQ(name, "Server"))
        return 1;
    /* Compressed on the fly (or, to a HEAD, as a GET would be): its
     * length is known only once it is made. */
    return STR_CASEEQ(name, "Content-Length") &&
           (a->coding != 0 || (mode != PROXY_BODY_LENGTH && mode != PROXY_BODY_NONE));
}

/* Vary already names Accept-Encoding. */
static int proxy_response__varies(const http_response_t *res)
{
    for (size_t i = 0; i < res->num_headers; i++) {
        const http_header_t *h = &res->headers[i];
        if (!STR_CASEEQ(h->name, "Vary"))
            continue;
        if (h->value.len == 1 && h->value.p[0] == '*')
            return 1;
        for (size_t k = 0; k + 15 <= h->value.len; k++)
            if (strncasecmp(h->value.p + k, "accept-encoding", 15) == 0)
                return 1;
    }
    return 0;
}

ssize_t proxy_response_head(conn_t *c, const http_response_t *res, const proxy_head_args_t *a,
                            const proxy_extra_t *x, char *out, size_t cap)
{
    return proxy_response_head_for(c->w, c->host, c->https, c->keep_alive, c->requests_http10, res,
                                   a, x, out, cap);
}

ssize_t proxy_response_head_for(worker_t *w, struct host_s *host, int https, int keep_alive,
                                int http10, const http_response_t *res,
                                const proxy_head_args_t *a, const proxy_extra_t *x, char *out,
                                size_t cap)
{
    proxy_body_t mode = a->mode;
    size_t need = 160;
    for (size_t i = 0; i < res->num_headers; i++)
        need += res->headers[i].name.len + res->headers[i].value.len + 4;
    char *lines = malloc(need);
    if (lines == NULL)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < res->num_headers; i++) {
        const http_header_t *h = &res->headers[i];
        if (proxy_response__drop(res, h->name, a))
            continue;
        memcpy(lines + n, h->name.p, h->name.len);
        n += h->name.len;
        memcpy(lines + n, ": ", 2);
        if (a->coding != 0 && STR_CASEEQ(h->name, "ETag") && h->value.len > 0 &&
            h->value.p[0] == '"') {
            /* Another representation: not byte-equal to the upstream's. */
            memcpy(lines + n + 2, "W/", 2);
            n += 2;
        }
        memcpy(lines + n + 2, h->value.p, h->value.len);
        n += 2 + h->value.len;
        memcpy(lines + n, "\r\n", 2);
        n += 2;
    }
    if (mode == PROXY_BODY_CHUNKED) {
        memcpy(lines + n, "Transfer-Encoding: chunked\r\n", 28);
        n += 28;
    }
    const char *coding = a->coding != 0 ? conf_compress_coding_name(a->coding) : NULL;
    if (coding != NULL)
        n += (size_t)snprintf(lines + n, 40, "Content-Encoding: %s\r\n", coding);
    if (a->vary && !proxy_response__varies(res)) {
        memcpy(lines + n, "Vary: Accept-Encoding\r\n", 23);
        n += 23;
    }
    /* response_t only for its header editing and head writer: the host's
   * and the rule's headers replace the upstream's of the same name, as
   * they replace a file's. */
    response_t *r = malloc(sizeof(*r));
    if (r == NULL) {
        free(lines);
        return -1;
    }
    response_init(r, res->status);
    if (n > 0)
        response_add(r, lines, n);
    if (host != NULL && host->headers_len > 0)
        response_replace_headers(r, host->headers, host->headers_len);
    if (x->rule_headers != NULL)
        response_replace_headers(r, x->rule_headers, x->rule_headers_len);
    for (size_t i = 0; x->rule_unset != NULL && i < x->rule_unset_len;) {
        size_t len = strlen(x->rule_unset + i);
        response_remove_header(r, x->rule_unset + i, len);
        i += len + 1;
    }
    const conf_t *conf = w->a.conf;
    const char *server = conf->server_tokens ? RESPONSE_SERVER_VERSION : RESPONSE_SERVER;
    const char *hsts = !https ? NULL : x->hsts_set ? x->hsts : conf->tls_hsts;
    ssize_t len = r->overflow ? -1 : response_head_as(r, w->wall, server, hsts, out, cap - 32);
    free(r);
    free(lines);
    if (len < 0)
        return -1;
    size_t l = (size_t)len;
    if (res->status == 101) {
        memcpy(out + l, "Connection: upgrade\r\n", 21);
        l += 21;
    } else if (!keep_alive) {
        memcpy(out + l, "Connection: close\r\n", 19);
        l += 19;
    } else if (http10) {
        memcpy(out + l, "Connection: keep-alive\r\n", 24);
        l += 24;
    }
    memcpy(out + l, "\r\n", 2);
    return (ssize_t)(l + 2);
}

/* Room kept at the end of out for a chunk's frame and the last chunk. */
#define PROXY_RESPONSE_FRAME 32

int proxy_response_dechunk(http_chunked_t *st, int rechunk, char *in, size_t *inlen, char *out,
                           size_t *outlen, size_t cap, uint64_t *decoded)
{
    size_t off = 0, o = *outlen;
    int r = 0;
    while (off < *inlen && o + PROXY_RESPONSE_FRAME < cap) {
        size_t room = cap - o - PROXY_RESPONSE_FRAME, used = 0, dlen = 0;
        size_t len = *inlen - off;
        /* At most room bytes in, so a run of data always fits. */
        if (len > room)
            len = room;
        const char *data = NULL;
        r = http_chunked_next(st, in + off, len, &used, &data, &dlen);
        if (r < 0)
            return -1;
        off += used;
        if (dlen > 0) {
            *decoded += dlen;
            if (rechunk)
                o += (size_t)snprintf(out + o, PROXY_RESPONSE_FRAME, "%zx\r\n", dlen);
            memmove(out + o, data, dlen);
            o += dlen;
            if (rechunk) {
                memcpy(out + o, "\r\n", 2);
                o += 2;
            }
        }
        if (r == 1) {
            if (rechunk) {
                memcpy(out + o, "0\r\n\r\n", 5);
                o += 5;
            }
            break;
        }
        if (used == 0 && dlen == 0)
            break; /* needs more bytes than there are */
    }
    memmove(in, in + off, *inlen - off);
    *inlen -= off;
    *outlen = o;
    return r == 1 ? 1 : 0;
}
