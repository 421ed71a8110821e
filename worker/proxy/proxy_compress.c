/*
 * proxy_compress: see proxy_compress.h.
 */
#include "proxy_compress.h"

#include <stdlib.h>
#include <string.h>

#include "compress.h"
#include "compress_stream.h"
#include "conf_compress.h"
#include "http_accept.h"

/* A chunk's frame: 8 hex digits (leading zeros are allowed) and CRLF
 * before the data, CRLF after, and room for the last chunk. */
#define PROXY_COMPRESS_HEAD 10
#define PROXY_COMPRESS_ROOM (PROXY_COMPRESS_HEAD + 2 + 5)

struct proxy_compress_s {
    int coding;
    int chunked;
    compress_stream_t *z; /* br, zstd */
    char *in;             /* gzip: the body collected, *expect bytes at most */
    size_t inlen, expect;
    char *out; /* gzip: compressed, out[off, outlen) still to send */
    size_t off, outlen;
    int level;
    int compressed; /* gzip: out is made */
};

void proxy_compress_want(const conf_compress_t *z, str_t accept, int *any, int *streamed)
{
    *any = *streamed = 0;
    if (!z->on || z->num_encodings == 0)
        return;
    unsigned all = 0, st = 0;
    for (int i = 0; i < z->num_encodings; i++) {
        all |= HTTP_CODING_MASK(z->encodings[i]);
        if (z->encodings[i] != CONF_CODING_GZIP)
            st |= HTTP_CODING_MASK(z->encodings[i]);
    }
    *any = (int)http_accept_encoding_choose(accept, all, z->encodings, (size_t)z->num_encodings);
    *streamed = st == 0 ? 0
                        : (int)http_accept_encoding_choose(accept, st, z->encodings,
                                                           (size_t)z->num_encodings);
}

static const http_header_t *proxy_compress__header(const http_response_t *res, const char *name)
{
    for (size_t i = 0; i < res->num_headers; i++)
        if (str_caseeq(res->headers[i].name, name, strlen(name)))
            return &res->headers[i];
    return NULL;
}

/* A token in a comma-separated value, any case. */
static int proxy_compress__has_token(str_t v, const char *tok)
{
    size_t n = strlen(tok);
    for (size_t i = 0; i + n <= v.len; i++)
        if (strncasecmp(v.p + i, tok, n) == 0 &&
            (i == 0 || v.p[i - 1] == ',' || v.p[i - 1] == ' ' || v.p[i - 1] == '\t') &&
            (i + n == v.len || v.p[i + n] == ',' || v.p[i + n] == ' ' || v.p[i + n] == ';'))
            return 1;
    return 0;
}

int proxy_compress_eligible(const conf_compress_t *z, const http_response_t *res)
{
    if (!z->on)
        return 0;
    if (res->status != 200 && res->status != 403 && res->status != 404)
        return 0;
    const http_header_t *ct = proxy_compress__header(res, "Content-Type");
    if (ct == NULL || ct->value.len == 0 || ct->value.len > 127)
        return 0;
    char type[128];
    memcpy(type, ct->value.p, ct->value.len);
    type[ct->value.len] = '\0';
    if (!conf_compress_type_ok(z, type))
        return 0;
    const http_header_t *ce = proxy_compress__header(res, "Content-Encoding");
    if (ce != NULL && !(ce->value.len == 8 && strncasecmp(ce->value.p, "identity", 8) == 0))
        return 0; /* the application encoded it */
    const http_header_t *cc = proxy_compress__header(res, "Cache-Control");
    if (cc != NULL && proxy_compress__has_token(cc->value, "no-transform"))
        return 0;
    return 1;
}

int proxy_compress_coding(const conf_compress_t *z, int any, int streamed,
                          const http_response_t *res)
{
    if (any == 0 || !proxy_compress_eligible(z, res))
        return 0;
    if (res->content_length >= 0 && (uint64_t)res->content_length < z->min_size)
        return 0;
    /* gzip needs the whole body (libdeflate): a known length, not too much. */
    if (any == CONF_CODING_GZIP &&
        (res->content_length < 0 || (uint64_t)res->content_length > COMPRESS_STREAM_GZIP_MAX))
        return streamed;
    return any;
}

proxy_compress_t *proxy_compress_start(const conf_compress_t *z, int any, int streamed,
                                       const http_response_t *res, int chunked, int *coding)
{
    *coding = 0;
    int use = proxy_compress_coding(z, any, streamed, res);
    if (use == 0)
        return NULL;
    proxy_compress_t *zc = calloc(1, sizeof(*zc));
    if (zc == NULL)
        return NULL;
    zc->coding = use;
    zc->chunked = chunked;
    zc->level = compress_stream_level(use, z->level[use]);
    if (use == CONF_CODING_GZIP) {
        zc->expect = (size_t)res->content_length;
        zc->in = malloc(zc->expect > 0 ? zc->expect : 1);
        if (zc->in == NULL)
            goto fail;
    } else if ((zc->z = compress_stream_new(use, zc->level)) == NULL) {
        goto fail;
    }
    *coding = use;
    return zc;
fail:
    proxy_compress_free(zc);
    return NULL;
}

/* Frames out[at + HEAD, at + HEAD + n) as a chunk whose header was left
 * room for at out[at]. */
static size_t proxy_compress__frame(proxy_compress_t *zc, char *out, size_t at, size_t n)
{
    size_t len = n;
    if (!zc->chunked) {
        memmove(out + at, out + at + PROXY_COMPRESS_HEAD, n);
        return n;
    }
    static const char digits[] = "0123456789abcdef";
    for (int i = 7; i >= 0; i--, len >>= 4)
        out[at + (size_t)i] = digits[len & 15];
    out[at + 8] = '\r';
    out[at + 9] = '\n';
    memcpy(out + at + PROXY_COMPRESS_HEAD + n, "\r\n", 2);
    return PROXY_COMPRESS_HEAD + n + 2;
}

static int proxy_compress__last(proxy_compress_t *zc, char *out, size_t *olen, size_t cap)
{
    if (!zc->chunked)
        return 1;
    if (*olen + 5 > cap)
        return 0;
    memcpy(out + *olen, "0\r\n\r\n", 5);
    *olen += 5;
    return 1;
}

static int proxy_compress__gzip(proxy_compress_t *zc, const char *in, size_t n, size_t *used,
                                int end, char *out, size_t *olen, size_t cap)
{
    if (zc->inlen + n > zc->expect)
        return -1;
    memcpy(zc->in + zc->inlen, in, n);
    zc->inlen += n;
    *used = n;
    if (!end)
        return 0;
    if (!zc->compressed) {
        if (compress_buffer(CONF_CODING_GZIP, zc->level, zc->in, zc->inlen, &zc->out,
                            &zc->outlen) < 0)
            return -1;
        zc->compressed = 1;
        free(zc->in);
        zc->in = NULL;
    }
    while (zc->off < zc->outlen && *olen + PROXY_COMPRESS_ROOM + 64 <= cap) {
        size_t k = zc->outlen - zc->off, room = cap - *olen - PROXY_COMPRESS_ROOM;
        if (k > room)
            k = room;
        memcpy(out + *olen + PROXY_COMPRESS_HEAD, zc->out + zc->off, k);
        zc->off += k;
        *olen += proxy_compress__frame(zc, out, *olen, k);
    }
    if (zc->off < zc->outlen)
        return 0;
    return proxy_compress__last(zc, out, olen, cap);
}

int proxy_compress_pump(proxy_compress_t *zc, const char *in, size_t n, size_t *used, int end,
                        int flush, char *out, size_t *olen, size_t cap)
{
    *used = 0;
    if (zc->coding == CONF_CODING_GZIP)
        return proxy_compress__gzip(zc, in, n, used, end, out, olen, cap);
    compress_stream_op_t op = end     ? COMPRESS_STREAM_END
                              : flush ? COMPRESS_STREAM_FLUSH
                                      : COMPRESS_STREAM_MORE;
    for (int turn = 0; turn < 64; turn++) {
        if (compress_stream_done(zc->z))
            return proxy_compress__last(zc, out, olen, cap);
        if (*olen + PROXY_COMPRESS_ROOM + 64 > cap)
            return 0;
        size_t room = cap - *olen - PROXY_COMPRESS_ROOM, took = 0;
        ssize_t got = compress_stream_run(zc->z, in + *used, n - *used, &took,
                                          out + *olen + PROXY_COMPRESS_HEAD, room, op);
        if (got < 0)
            return -1;
        *used += took;
        if (got > 0)
            *olen += proxy_compress__frame(zc, out, *olen, (size_t)got);
        if (*used == n && op == COMPRESS_STREAM_MORE)
            return 0;
        if (*used == n && op == COMPRESS_STREAM_FLUSH && !compress_stream_pending(zc->z))
            return 0;
        if (got == 0 && took == 0 && !compress_stream_pending(zc->z) && !end)
            return 0;
    }
    return 0;
}

int proxy_compress_pending(const proxy_compress_t *zc)
{
    return zc->z != NULL && compress_stream_pending(zc->z);
}

void proxy_compress_free(proxy_compress_t *zc)
{
    if (zc == NULL)
        return;
    compress_stream_free(zc->z);
    free(zc->in);
    free(zc->out);
    free(zc);
}
