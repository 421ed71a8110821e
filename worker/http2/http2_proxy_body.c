/*
 * http2_proxy_body: see http2_proxy_body.h.
 */
#include "config.h"

#include "http2_proxy_body.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "host.h"
#include "log.h"
#include "proxy_compress.h"

/* Bytes ready for DATA frames: in out for a decoded or compressed body,
 * else in the upstream's buffer. */
size_t http2_proxy_body_ready(const http2_proxy_t *hp)
{
    const proxy_t *p = hp->p;
    if (p->mode == PROXY_BODY_DECHUNKED || p->zc != NULL)
        return hp->out_len - hp->out_off;
    return p->blen - p->boff;
}

/* Nothing more will be ready: the body is read (and compressed). */
int http2_proxy_body_done(const http2_proxy_t *hp)
{
    return hp->p->zc != NULL ? hp->p->zfinished : hp->p->upstream_done;
}

/* The data provider: copies what the upstream sent (nghttp2 frames it
 * itself), defers when there is nothing yet, ends the stream only when
 * the whole body was read. */
ssize_t http2_proxy_body_read(nghttp2_session *session, int32_t id, uint8_t *buf, size_t length,
                                 uint32_t *flags, nghttp2_data_source *source, void *user_data)
{
    (void)session, (void)id, (void)user_data;
    http2_proxy_t *hp = source->ptr;
    proxy_t *p = hp->p;
    if (p == NULL || hp->reset)
        return NGHTTP2_ERR_DEFERRED; /* a reset is on its way */
    size_t n = http2_proxy_body_ready(hp);
    if (n == 0 && hp->cut)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* RST_STREAM INTERNAL_ERROR, never END_STREAM */
    if (n == 0) {
        if (http2_proxy_body_done(hp)) {
            *flags |= NGHTTP2_DATA_FLAG_EOF;
            return 0;
        }
        hp->deferred = 1;
        return NGHTTP2_ERR_DEFERRED;
    }
    if (n > length)
        n = length;
    if (p->mode == PROXY_BODY_DECHUNKED || p->zc != NULL) {
        memcpy(buf, hp->out + hp->out_off, n);
        hp->out_off += n;
        if (hp->out_off == hp->out_len)
            hp->out_off = hp->out_len = 0;
    } else {
        memcpy(buf, p->buf + p->boff, n);
        p->boff += n;
    }
    hp->s->sent += n;
    if (hp->s->host != NULL)
        hp->s->host->metrics_bytes += 9 + n;
    hp->kick = 1; /* room: the upstream may be read again */
    if (http2_proxy_body_done(hp) && !hp->cut && http2_proxy_body_ready(hp) == 0)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

void http2_proxy_body_resume(http2_proxy_t *hp)
{
    /* The end is news too: the provider says EOF when called again. */
    if (hp->deferred && (http2_proxy_body_ready(hp) > 0 || http2_proxy_body_done(hp))) {
        hp->deferred = 0;
        nghttp2_session_resume_data(hp->session, hp->s->id);
    }
}

/* The stream for a compressed response: the upstream's body decoded,
 * through the coder into out while it has room (the client's window
 * drains it), the coder flushed whenever the upstream pauses. */
static int http2_proxy_body__zstream(http2_proxy_t *hp, proxy_t *p)
{
    for (int turn = 0; turn < 64; turn++) {
        if (p->zfinished) {
            if (p->fd >= 0)
                proxy_upstream_drop_fd(p, p->reusable && p->boff == p->blen);
            http2_proxy_body_resume(hp);
            return PROXY_AGAIN;
        }
        if (hp->out_off > 0) {
            memmove(hp->out, hp->out + hp->out_off, hp->out_len - hp->out_off);
            hp->out_len -= hp->out_off;
            hp->out_off = 0;
        }
        if (hp->out_len + 1024 > PROXY_OBUF_SIZE)
            return PROXY_AGAIN; /* full: the client's window takes it first */
        int d = proxy_upstream_zdecode(p);
        if (d < 0) {
            log_error("proxy: %s sent a malformed chunked body", proxy_upstream_name(p));
            return PROXY_CLOSE;
        }
        size_t used = 0;
        if (d > 0) {
            int r = proxy_compress_pump(p->zc, p->zin, p->zinlen, &used, p->upstream_done, 0,
                                        hp->out, &hp->out_len, PROXY_OBUF_SIZE);
            if (r < 0) {
                log_error("proxy: compressing the response of %s failed", proxy_upstream_name(p));
                return PROXY_CLOSE;
            }
            memmove(p->zin, p->zin + used, p->zinlen - used);
            p->zinlen -= used;
            p->zflushed = 0;
            p->zfinished = r == 1;
            http2_proxy_body_resume(hp);
            continue;
        }
        int k = proxy_upstream_recv(p);
        if (k == PROXY_CLOSE)
            return PROXY_CLOSE;
        if (k != 0)
            continue;
        if (p->zflushed)
            return PROXY_AGAIN;
        if (proxy_compress_pump(p->zc, NULL, 0, &used, 0, 1, hp->out, &hp->out_len,
                                PROXY_OBUF_SIZE) < 0)
            return PROXY_CLOSE;
        p->zflushed = !proxy_compress_pending(p->zc);
        http2_proxy_body_resume(hp);
    }
    hp->kick = 1;
    return PROXY_AGAIN;
}

/* proxy_side_t.stream: the upstream read while the buffers have room. */
int http2_proxy_body_stream(proxy_t *p)
{
    http2_proxy_t *hp = p->data;
    if (p->zc != NULL)
        return http2_proxy_body__zstream(hp, p);
    if (hp->tunnel && p->fd >= 0) {
        /* The client's DATA to the upstream, its window given back as the
         * upstream takes them; its END_STREAM shuts the write side. */
        size_t took = 0;
        int k = http2_tunnel_send(p->fd, hp->in, &hp->in_len, &took);
        if (took > 0) {
            nghttp2_session_consume_stream(hp->session, hp->s->id, took);
            p->progress = 1;
        }
        if (k < 0) {
            log_error("proxy: send() to %s: %s", proxy_upstream_name(p), strerror(errno));
            return PROXY_CLOSE;
        }
        if (hp->in_len == 0 && hp->s->request_ended && !hp->shut) {
            shutdown(p->fd, SHUT_WR);
            hp->shut = 1;
        }
    }
    for (int turn = 0; turn < 64; turn++) {
        if (p->mode == PROXY_BODY_DECHUNKED && !p->upstream_done && p->boff < p->blen &&
            hp->out_len + 64 < PROXY_OBUF_SIZE) {
            size_t before = p->blen - p->boff, in = before, had = hp->out_len;
            int r = proxy_response_dechunk(&p->ch, 0, p->buf + p->boff, &in, hp->out,
                                           &hp->out_len, PROXY_OBUF_SIZE, &p->decoded);
            if (r < 0) {
                log_error("proxy: %s sent a malformed chunked body", proxy_upstream_name(p));
                return PROXY_CLOSE;
            }
            p->blen = p->boff + in;
            if (r == 1) {
                p->upstream_done = 1;
                p->reusable = p->reusable && p->boff == p->blen;
            }
            if (r == 1 || in != before || hp->out_len != had) {
                http2_proxy_body_resume(hp);
                continue;
            }
            /* A chunk's framing cut short: more bytes are needed. */
        }
        if (p->upstream_done) {
            if (p->fd >= 0)
                proxy_upstream_drop_fd(p, p->reusable); /* the rest is ours: the socket can go */
            http2_proxy_body_resume(hp);
            return PROXY_AGAIN;
        }
        if (p->mode == PROXY_BODY_DECHUNKED ? p->blen - p->boff == PROXY_BUF_SIZE
                                            : p->boff == 0 && p->blen == PROXY_BUF_SIZE)
            return PROXY_AGAIN; /* full: the client's window takes it first */
        size_t had = p->blen - p->boff;
        int k = proxy_upstream_recv(p);
        if (k == 0)
            return PROXY_AGAIN;
        if (k == PROXY_CLOSE)
            return PROXY_CLOSE;
        if (k > 0 && p->mode == PROXY_BODY_LENGTH) {
            size_t got = p->blen - had; /* recv moved the bytes to the front */
            if ((uint64_t)got > (uint64_t)p->left) {
                p->blen = had + (size_t)p->left;
                p->reusable = 0;
                got = (size_t)p->left;
            }
            if ((p->left -= (int64_t)got) == 0)
                p->upstream_done = 1;
        }
        http2_proxy_body_resume(hp);
    }
    hp->kick = 1;
    return PROXY_AGAIN;
}

int http2_proxy_body_blocked(proxy_t *p)
{
    http2_proxy_t *hp = p->data;
    return hp->answered && http2_proxy_body_ready(hp) > 0;
}

