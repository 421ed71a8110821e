/*
 * http2: see http2.h. The connection and nghttp2's input callbacks; what
 * goes out is http2_output.c's.
 */
#include "config.h"

#include "http2.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <nghttp2/nghttp2.h>

#include "http1.h"
#include "http2_conn.h"
#include "http2_proxy.h"
#include "http2_stream.h"
#include "log.h"
#include "proxy_upstream.h"

static const conn_proto_t http2__ops;
static void http2__goaway(http2_conn_t *h);

/* --- nghttp2 callbacks -------------------------------------------------- */

/* RFC 9113 5.1.1: a HEADERS on an id below the highest one used, for a
 * stream that was never opened, is a connection error. nghttp2 ignores it
 * instead (it cannot tell a stream it forgot from one never opened, and
 * must not fail a late trailer), so the ids the client skipped are
 * remembered here: a few ranges, which covers clients that skip at all. */
static int http2__on_begin_frame(nghttp2_session *session, const nghttp2_frame_hd *hd, void *user_data)
{
    http2_conn_t *h = user_data;
    int32_t id = hd->stream_id;
    if (hd->type != NGHTTP2_HEADERS || id <= 0 || !(id & 1))
        return 0;
    if (id > h->last_id) {
        int32_t next = h->last_id == 0 ? 1 : h->last_id + 2;
        if (id > next) {
            h->gap[h->gapi % HTTP2_GAPS][0] = next;
            h->gap[h->gapi % HTTP2_GAPS][1] = id - 2;
            h->gapi++;
        }
        h->last_id = id;
        return 0;
    }
    for (unsigned i = 0; i < HTTP2_GAPS && i < h->gapi; i++) {
        if (id >= h->gap[i][0] && id <= h->gap[i][1]) {
            nghttp2_session_terminate_session(session, NGHTTP2_PROTOCOL_ERROR);
            break;
        }
    }
    return 0;
}

static int http2__on_begin_headers(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    http2_conn_t *h = user_data;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    if (h->c->requests >= (unsigned)h->c->w->a.conf->keepalive_requests) {
        /* keepalive_requests bounds a connection's streams as it bounds
         * HTTP/1 requests. Past it a stream is refused (the client may
         * retry it on a new connection), and GOAWAY follows once the
         * streams in flight are answered (http2__on_stream_close). */
        nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_REFUSED_STREAM);
        return 0;
    }
    http2_stream_t *s = http2_stream_new(frame->hd.stream_id);
    if (s == NULL)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* resets the stream */
    list_insert_tail(&h->streams, &s->link);
    s->last_in = s->log_start = h->c->w->now;
    h->active++;
    h->c->w->report.h2_streams++;
    nghttp2_session_set_stream_user_data(session, s->id, s);
    h->c->requests++;
    return 0;
}

static int http2__on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                            size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                            void *user_data)
{
    http2_conn_t *h = user_data;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0; /* trailers: ignored */
    http2_stream_t *s = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (s == NULL)
        return 0;
    if (http2_stream_field(s, name, namelen, value, valuelen, h->c->w->a.conf->max_header_size) < 0)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    return 0;
}

static int http2__respond(nghttp2_session *session, http2_conn_t *h, http2_stream_t *s)
{
    if (s->responded || s->auth_job != NULL || s->proxy != NULL)
        return 0;
    int rv = http2_stream_respond(session, h->c, s);
    if (rv == HTTP2_STREAM_PROXY)
        rv = http2_proxy_start(session, h->c, s); /* takes what s held */
    else if (s->auth_job == NULL)
        http2_stream_drop_held(session, s); /* answered otherwise: its window comes back */
    if (rv != 0 && nghttp2_is_fatal(rv))
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    return 0;
}

static int http2__on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    http2_conn_t *h = user_data;
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)
        return 0;
    http2_stream_t *s = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (s == NULL)
        return 0;
    if (!(frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
        /* A request head with a body to come: routed now, so that a
         * proxied location streams the body (http2_stream_respond keeps
         * any other answer until the body is in). */
        if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST)
            return http2__respond(session, h, s);
        return 0;
    }
    /* The request is whole: nghttp2 has checked it (Content-Length against
     * the DATA received included). */
    s->request_ended = 1;
    http2_proxy_kick(s);
    return http2__respond(session, h, s);
}

static int http2__on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t stream_id,
                                const uint8_t *data, size_t len, void *user_data)
{
    http2_conn_t *h = user_data;
    http2_stream_t *s = nghttp2_session_get_stream_user_data(session, stream_id);
    if (s != NULL && s->auth_job != NULL) {
        /* Its password is being hashed: whether a proxied location wants
         * these bytes is not known yet. They are held and their stream
         * window kept, so the client sends no more than one window before
         * the verdict (the connection's comes back at once). */
        s->body_in += len;
        s->last_in = h->c->w->now;
        nghttp2_session_consume_connection(session, len);
        if (http2_stream_hold(s, data, len) < 0)
            nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_INTERNAL_ERROR);
        return 0;
    }
    if (s != NULL && s->proxy != NULL) {
        /* Forwarded: its window comes back as the upstream takes it. */
        s->body_in += len;
        s->last_in = h->c->w->now;
        http2_proxy_data(session, s, data, len);
        return 0;
    }
    /* The session gives no window back by itself (NO_AUTO_WINDOW_UPDATE,
     * for proxied bodies): bytes nobody forwards are consumed at once. */
    nghttp2_session_consume(session, stream_id, len);
    if (s == NULL)
        return 0;
    /* The body is not wanted by any handler: count it, and answer 413 as
     * soon as it is too large rather than take all of it. */
    s->body_in += len;
    s->last_in = h->c->w->now;
    if (s->body_in > h->c->w->a.conf->max_body_size && !s->responded)
        return http2__respond(session, h, s);
    return 0;
}

static int http2__on_stream_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code,
                                  void *user_data)
{
    http2_conn_t *h = user_data;
    http2_stream_t *s = nghttp2_session_get_stream_user_data(session, stream_id);
    if (s == NULL)
        return 0;
    nghttp2_session_set_stream_user_data(session, stream_id, NULL);
    http2_proxy_close(s); /* before the log: its upstream fields */
    http2_stream_log(h->c, s);
    s->closed = 1;
    h->active--;
    if (h->active == 0 && h->c->requests >= (unsigned)h->c->w->a.conf->keepalive_requests)
        http2__goaway(h);
    if (s->pending == 0)
        http2_stream_free(h->c->w, s);
    return 0;
}

static int http2__on_frame_send(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    http2_conn_t *h = user_data;
    if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
        /* Answered (413) before the request body ended: ask the client to
         * stop sending it (RFC 9113 8.1), or it could go on for ever. */
        http2_stream_t *s = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
        if (s != NULL && !s->request_ended)
            nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_NO_ERROR);
        return 0;
    }
    if (frame->hd.type == NGHTTP2_GOAWAY) {
        h->goaway = 1;
        if (frame->goaway.error_code != NGHTTP2_NO_ERROR)
            log_info("client %s: HTTP/2: GOAWAY %s: closing", conn_addr(h->c),
                     nghttp2_http2_strerror(frame->goaway.error_code));
    }
    return 0;
}

/* --- the connection ------------------------------------------------------ */

static void http2__release(conn_t *c)
{
    http2_conn_t *h = c->proto;
    if (h == NULL)
        return;
    /* nghttp2_session_del calls no callback: the streams are freed here,
     * unlogged (the connection was cut under them). */
    nghttp2_session_del(h->session);
    list_t *q, *tmp;
    list_foreach_safe(q, tmp, &h->streams) {
        http2_stream_t *s = list_entry(q, http2_stream_t, link);
        http2_proxy_close(s);
        http2_stream_free(c->w, s);
    }
    free(h->obuf);
    free(h);
    c->proto = NULL;
    c->proto_ops = NULL;
}

/* Queues GOAWAY once: streams up to the last one nghttp2 took still get
 * their responses; newer ones are refused. */
static void http2__goaway(http2_conn_t *h)
{
    if (h->goaway)
        return;
    h->goaway = 1;
    nghttp2_submit_goaway(h->session, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(h->session),
                          NGHTTP2_NO_ERROR, NULL, 0);
}

/* A timer ran out: idle (keep-alive) connections get GOAWAY first; a
 * connection that made no progress is just closed. */
static void http2__expire(conn_t *c)
{
    http2_conn_t *h = c->proto;
    worker_t *w = c->w;
    if (c->list == &w->proxy_list) {
        /* A proxied stream's timer, or send_timeout while the socket is
         * full (the connection is on one list: the earliest of them). */
        conn_list_remove(c);
        if (h->blocked && w->now >= h->blocked_since + w->send_list.timeout) {
            log_info("client %s: no progress for %.1fs: closing", conn_addr(c), w->send_list.timeout);
            conn_close(c);
            return;
        }
        http2_proxy_expire(&h->streams, w->now);
        conn_ready_push(c);
        return;
    }
    if (c->list == &c->w->keepalive_list) {
        http2__goaway(h);
        http2_output_flush(h);
    }
    conn_close(c);
}

/* The worker drains and c sits idle: GOAWAY; streams still open finish
 * under the send timeout. */
static void http2__drain(conn_t *c)
{
    http2_conn_t *h = c->proto;
    http2__goaway(h);
    int r = http2_output_flush(h);
    if (r < 0 || (h->active == 0 && r == 1)) {
        conn_close(c);
        return;
    }
    conn_list_append(&c->w->send_list, c, c->w->now);
}

/* The password a stream waited for is hashed: the stream is answered now
 * (the cache has the verdict), its output goes out next turn. A stream
 * reset meanwhile was freed and forgot its job: nothing matches. */
static void http2__resume(conn_t *c, void *job)
{
    http2_conn_t *h = c->proto;
    list_t *q, *tmp;
    list_foreach_safe(q, tmp, &h->streams) {
        http2_stream_t *s = list_entry(q, http2_stream_t, link);
        if (s->auth_job != job)
            continue;
        s->auth_job = NULL;
        s->last_in = c->w->now; /* its body may come again from now */
        if (!s->closed && http2__respond(h->session, h, s) != 0) {
            conn_close(c);
            return;
        }
        break;
    }
    conn_ready_push(c);
}

static const conn_proto_t http2__ops = {
    .expire = http2__expire,
    .drain = http2__drain,
    .release = http2__release,
    .resume = http2__resume,
};

static nghttp2_session_callbacks *http2__callbacks(const conn_t *c)
{
    nghttp2_session_callbacks *cb;
    if (nghttp2_session_callbacks_new(&cb) != 0)
        return NULL;
    nghttp2_session_callbacks_set_on_begin_frame_callback(cb, http2__on_begin_frame);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, http2__on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, http2__on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, http2__on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, http2__on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, http2__on_stream_close);
    nghttp2_session_callbacks_set_on_frame_send_callback(cb, http2__on_frame_send);
    nghttp2_session_callbacks_set_send_data_callback(cb, http2_output_send_data);
    if (c->tr->write_pieces != NULL)
        nghttp2_session_callbacks_set_data_source_read_length_callback(cb, http2_output_data_length);
    return cb;
}

int http2_attach(conn_t *c)
{
    worker_t *w = c->w;
    const conf_t *conf = w->a.conf;
    nghttp2_session_callbacks *cb = NULL;
    nghttp2_option *opt = NULL;
    http2_conn_t *h = calloc(1, sizeof(*h));
    if (h == NULL)
        goto fail;
    h->c = c;
    list_init(&h->streams);
    h->obuf = malloc(HTTP2_OBUF);
    cb = http2__callbacks(c);
    if (h->obuf == NULL || cb == NULL || nghttp2_option_new(&opt) != 0)
        goto fail;
    /* Windows are given back by hand (http2__on_data_chunk), so a proxied
     * stream's comes back only as its upstream takes the body. No push;
     * Rapid Reset: at most 1000 resets at once, 33 a second after
     * (nghttp2's defaults, set so they do not depend on the build). */
    nghttp2_option_set_no_auto_window_update(opt, 1);
    nghttp2_option_set_stream_reset_rate_limit(opt, 1000, 33);
    nghttp2_option_set_max_continuations(opt, 8);
    nghttp2_option_set_max_outbound_ack(opt, 1000);
    nghttp2_option_set_max_settings(opt, 32);
    if (nghttp2_session_server_new2(&h->session, cb, h, opt) != 0)
        goto fail;
    nghttp2_session_callbacks_del(cb);
    nghttp2_option_del(opt);
    cb = NULL;
    opt = NULL;

    nghttp2_settings_entry iv[] = {
        { NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, (uint32_t)conf->http2_max_streams },
        { NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, (uint32_t)conf->max_header_size },
        { NGHTTP2_SETTINGS_ENABLE_PUSH, 0 },
        /* Extended CONNECT (RFC 8441): WebSocket over a stream, to a
         * proxied location (http2_proxy.c). */
        { NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL, 1 },
    };
    if (nghttp2_submit_settings(h->session, NGHTTP2_FLAG_NONE, iv, sizeof(iv) / sizeof(iv[0])) != 0)
        goto fail;

    w->report.h2_connections++;
    c->proto = h;
    c->proto_ops = &http2__ops;
    c->process = http2_process;
    c->keep_alive = 1;
    /* A new connection (prior knowledge, or TLS whose ALPN chose h2) is
     * on the header list since it was accepted: client_header_timeout
     * counts from then, handshake and preface together, as for HTTP/1;
     * http2_process moves it to keepalive_timeout once the client speaks. */
    if (c->list != &w->header_list)
        conn_list_append(&w->header_list, c, w->now);
    http2_process(c, 0);
    return 0;

fail:
    log_error("HTTP/2 for client %s: out of memory", conn_addr(c));
    if (cb != NULL)
        nghttp2_session_callbacks_del(cb);
    if (opt != NULL)
        nghttp2_option_del(opt);
    if (h != NULL) {
        if (h->session != NULL)
            nghttp2_session_del(h->session);
        free(h->obuf);
        free(h);
    }
    conn_close(c);
    return -1;
}

/* A request that stopped coming (a header block or a body with no frame for
 * client_body_timeout) is reset, even while other streams or PINGs keep
 * the connection busy: otherwise it would hold a stream slot for ever.
 * Checked at most once a second, when frames arrive. */
static void http2__stalled_requests(http2_conn_t *h)
{
    worker_t *w = h->c->w;
    double limit = w->a.conf->client_body_timeout;
    if (w->now - h->scanned_at < 1.0)
        return;
    h->scanned_at = w->now;
    list_t *q, *tmp;
    list_foreach_safe(q, tmp, &h->streams) {
        http2_stream_t *s = list_entry(q, http2_stream_t, link);
        /* A proxied stream's body waits on its upstream as much as on the
         * client: its own timers bound it. One whose password is hashed
         * waits on us (its window is held). */
        if (s->closed || s->request_ended || s->responded || s->timed_out || s->proxy != NULL ||
            s->auth_job != NULL || w->now - s->last_in < limit)
            continue;
        s->timed_out = 1;
        log_info("client %s: HTTP/2 stream %d: no request frame for %.0f s: reset", conn_addr(h->c),
                 (int)s->id, limit);
        nghttp2_submit_rst_stream(h->session, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_CANCEL);
    }
}

void http2_process(conn_t *c, uint32_t events)
{
    worker_t *w = c->w;
    http2_conn_t *h = c->proto;
    int got = 0, more = 0;

    conn_note_events(c, events);
    if (w->draining)
        http2__goaway(h);
    /* Bytes left in rbuf by the sniffer or the caller come first. */
    for (int i = 0; i <= HTTP2_READS; i++) {
        if (c->rlen == 0) {
            if (i == HTTP2_READS) {
                more = 1;
                break;
            }
            if (!nghttp2_session_want_read(h->session))
                break;
            ssize_t n = conn_read(c);
            if (n < 0) {
                conn_close(c); /* the client is gone: nothing left to say */
                return;
            }
            if (n == 0)
                break;
        }
        got = 1;
        ssize_t rv = nghttp2_session_mem_recv(h->session, (const uint8_t *)c->rbuf, c->rlen);
        c->rlen = 0;
        if (rv < 0) {
            /* A bad preface, a flood (NGHTTP2_ERR_FLOODED), too many
             * CONTINUATION frames: nghttp2 stops without a GOAWAY of its
             * own; say why in one before closing (best effort: a flooding
             * client may not read it). */
            log_info("client %s: HTTP/2: %s: closing", conn_addr(c), nghttp2_strerror((int)rv));
            nghttp2_session_terminate_session(h->session, rv == NGHTTP2_ERR_FLOODED
                                                              ? NGHTTP2_ENHANCE_YOUR_CALM
                                                              : NGHTTP2_PROTOCOL_ERROR);
            http2_output_flush(h);
            conn_close(c);
            return;
        }
    }
    if (got)
        http2__stalled_requests(h);
    if (c->rbuf != NULL && c->rlen == 0 && c->drained) {
        conn_buf_put(w, c->rbuf, 0); /* idle: back to the pool */
        c->rbuf = NULL;
    }

    h->wrote = 0;
    int r = 0;
    for (int round = 0; round < 4; round++) {
        /* Proxied streams move their upstreams on; the data they hand to
         * DATA frames while the output is written makes room for more. */
        http2_proxy_run(c, &h->streams);
        r = http2_output_flush(h);
        if (r < 0 || !http2_proxy_due(&h->streams))
            break;
    }
    if (r < 0) {
        conn_close(c);
        return;
    }
    if (r == 1 && !nghttp2_session_want_read(h->session) && !nghttp2_session_want_write(h->session)) {
        /* GOAWAY sent and every stream done (or a fatal error). */
        conn_close(c);
        return;
    }
    double due = http2_proxy_deadline(&h->streams);
    if (r == 0 && (got || h->wrote || !h->blocked))
        h->blocked_since = w->now;
    h->blocked = r == 0;
    if (due > 0) {
        /* Streams wait on upstreams: the earliest of their timers, and of
         * send_timeout while the socket is full, on the proxy list. */
        if (r == 0 && h->blocked_since + w->send_list.timeout < due)
            due = h->blocked_since + w->send_list.timeout;
        if (c->list != &w->proxy_list || c->deadline != due)
            proxy_upstream_arm(c, due);
    } else if (r == 0) {
        /* send_timeout counts from the last progress either way: a client
         * with a large window may read for long without sending a frame. */
        if (got || h->wrote || c->list != &w->send_list)
            conn_list_append(&w->send_list, c, w->now);
    } else if (c->list == &w->header_list && !got) {
        /* Nothing from the client since it connected: its preface is
         * still to come, within client_header_timeout of the connect. */
    } else if (got || (c->list != &w->keepalive_list && c->list != &w->send_list) ||
               (c->list == &w->send_list && h->active == 0)) {
        /* Waiting for the client: a new request, a window update or a
         * request body. keepalive_timeout bounds it, then GOAWAY. */
        conn_keepalive(c);
    }
    if (more || r == 2 || http2_proxy_due(&h->streams))
        conn_ready_push(c);
}

/* 1 when the first line of buf[0, len) ends in an HTTP/1 version: what
 * goes to HTTP/1 when it is not the HTTP/2 preface; 0 when it ends in
 * something else; -1 when the line is not whole yet. */
static int http2__looks_http1(const char *buf, size_t len, size_t cap)
{
    const char *nl = memchr(buf, '\n', len);
    if (nl == NULL)
        return len == cap ? 1 : -1; /* a huge line: HTTP/1's 414 */
    size_t n = (size_t)(nl - buf);
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    return n >= 9 && memcmp(buf + n - 9, " HTTP/1.", 8) == 0;
}

void http2_sniff(conn_t *c, uint32_t events)
{
    conn_note_events(c, events);
    ssize_t n = conn_read(c);
    if (n < 0) {
        conn_close(c);
        return;
    }
    size_t k = c->rlen < HTTP2_PREFACE_LEN ? c->rlen : HTTP2_PREFACE_LEN;
    if (k > 0 && memcmp(c->rbuf, HTTP2_PREFACE, k) != 0) {
        /* Not the preface. An HTTP/1 request line goes to HTTP/1; other
         * bytes are a client that means HTTP/2 and got the preface wrong,
         * which HTTP/2 ends with GOAWAY (RFC 9113 3.4). */
        int h1 = http2__looks_http1(c->rbuf, c->rlen, c->w->rbuf_size);
        if (h1 < 0)
            return; /* the header timeout bounds the wait */
        if (h1) {
            c->process = http1_process;
            http1_process(c, 0);
        } else {
            http2_attach(c);
        }
        return;
    }
    if (c->rlen < HTTP2_PREFACE_LEN) {
        if (c->rlen == 0 && c->rbuf != NULL) {
            conn_buf_put(c->w, c->rbuf, 0);
            c->rbuf = NULL;
        }
        return; /* the header timeout bounds the wait */
    }
    http2_attach(c);
}
