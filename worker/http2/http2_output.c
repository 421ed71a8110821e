/*
 * http2_output: what an HTTP/2 connection sends (see http2_conn.h).
 *
 * obuf[ooff, olen) holds serialized frames; seg[] marks where a file range
 * goes between them (a DATA frame's header is in obuf, its payload is the
 * segment's range). http2__write sends obuf up to the next segment's mark,
 * the segment's range, and so on, then the rest of obuf; a transport that
 * gathers (TLS) takes all of it as pieces, so headers and payloads share
 * records. A segment keeps its stream alive (pending) until its range is
 * sent.
 */
#include "config.h"

#include "http2_conn.h"

#include <errno.h>
#include <string.h>

#include "host.h"
#include "log.h"

int http2_output_send_data(nghttp2_session *session, nghttp2_frame *frame, const uint8_t *framehd,
                           size_t length, nghttp2_data_source *source, void *user_data)
{
    http2_conn_t *h = user_data;
    http2_stream_t *s = source->ptr;
    size_t pad = frame->data.padlen;
    size_t room = HTTP2_OBUF - h->olen;
    if (s->frame_mem != NULL) {
        if (room < 9 + length + pad)
            return NGHTTP2_ERR_WOULDBLOCK; /* retried after a write */
    } else if (room < 9 + pad || h->nseg == HTTP2_SEGS) {
        return NGHTTP2_ERR_WOULDBLOCK;
    }
    memcpy(h->obuf + h->olen, framehd, 9);
    h->olen += 9;
    if (pad > 0)
        h->obuf[h->olen++] = (char)(pad - 1);
    if (s->frame_mem != NULL) {
        memcpy(h->obuf + h->olen, s->frame_mem, length);
        h->olen += length;
    } else {
        h->seg[h->nseg++] = (http2_seg_t){ h->olen, s->frame_fd, s->frame_off, length, s };
        s->pending++;
    }
    if (pad > 1) {
        /* Padding follows the payload: after a segment, it needs a mark of
         * its own, so padding is never asked for (no select_padding). */
        memset(h->obuf + h->olen, 0, pad - 1);
        h->olen += pad - 1;
    }
    s->sent += length;
    /* The host's response bytes, as HTTP/1 counts them: its DATA frames */
    if (s->host != NULL)
        s->host->metrics_bytes += 9 + length + pad;
    return 0;
}

/* --- output ------------------------------------------------------------- */

/* Moves the output cursor n bytes on: through obuf up to the next
 * segment's mark, through that segment's range, and so on. */
static void http2__advance(http2_conn_t *h, size_t n)
{
    for (;;) {
        size_t end = h->segi < h->nseg ? h->seg[h->segi].end : h->olen;
        if (h->ooff < end) {
            size_t take = n < end - h->ooff ? n : end - h->ooff;
            h->ooff += take;
            n -= take;
        } else if (h->segi < h->nseg) {
            http2_seg_t *g = &h->seg[h->segi];
            size_t take = n < g->len ? n : g->len;
            g->off += (off_t)take;
            g->len -= take;
            n -= take;
            if (g->len > 0)
                break;
            h->segi++;
            if (--g->s->pending == 0 && g->s->closed)
                http2_stream_free(h->c->w, g->s);
            continue;
        }
        if (n == 0 || (h->ooff >= end && h->segi >= h->nseg))
            break;
    }
}

/* http2__write for a transport that gathers (TLS): every piece left, in
 * one call, so a frame header and its payload share a record. */
static int http2__write_pieces(http2_conn_t *h)
{
    conn_t *c = h->c;
    transport_piece_t pc[2 * HTTP2_SEGS + 1];
    for (;;) {
        int n = 0;
        size_t o = h->ooff;
        for (unsigned si = h->segi;; si++) {
            size_t end = si < h->nseg ? h->seg[si].end : h->olen;
            if (o < end)
                pc[n++] = (transport_piece_t){ h->obuf + o, -1, 0, end - o, NULL };
            o = end;
            if (si >= h->nseg)
                break;
            const http2_seg_t *g = &h->seg[si];
            /* A cached file is copied from its mapping (TLS reads files
             * itself): no pread per record. */
            const char *map = c->tr->maps_files && g->s->ref != NULL ? file_cache_map(g->s->ref, g->fd)
                                                                     : NULL;
            pc[n++] = (transport_piece_t){ NULL, g->fd, g->off, g->len, map };
        }
        if (n == 0 || (h->ooff == h->olen && h->segi == h->nseg))
            break;
        ssize_t sent = c->tr->write_pieces(&c->io, pc, n);
        if (sent < 0) {
            if (errno == EAGAIN)
                return 0;
            if (errno == EIO)
                log_warn("client %s: file truncated while being sent: closing", conn_addr(c));
            else
                log_error("HTTP/2: write: %s", strerror(errno));
            return -1;
        }
        http2__advance(h, (size_t)sent);
        c->sent_bytes += (uint64_t)sent;
        c->w->report.bytes_sent += (uint64_t)sent;
        h->wrote = 1;
        /* short: the socket is full, and the next call says so (EAGAIN,
         * with what to wait for) */
    }
    h->olen = h->ooff = 0;
    h->nseg = h->segi = 0;
    return 1;
}

/* Sends obuf and the segments. Returns 1 when all is sent, 0 on EAGAIN,
 * -1 on error. */
static int http2__write(http2_conn_t *h)
{
    conn_t *c = h->c;
    worker_t *w = c->w;
    if (c->tr->write_pieces != NULL)
        return http2__write_pieces(h);
    for (;;) {
        size_t end = h->segi < h->nseg ? h->seg[h->segi].end : h->olen;
        ssize_t n;
        if (h->ooff < end) {
            n = c->tr->send(&c->io, h->obuf + h->ooff, end - h->ooff, h->segi < h->nseg);
            if (n < 0)
                return errno == EAGAIN ? 0 : -1;
            h->ooff += (size_t)n;
        } else if (h->segi < h->nseg) {
            http2_seg_t *g = &h->seg[h->segi];
            n = c->tr->sendfile(&c->io, g->fd, &g->off, g->len);
            if (n < 0) {
                if (errno == EAGAIN)
                    return 0;
                log_error("sendfile(): %s", strerror(errno));
                return -1;
            }
            if (n == 0) {
                log_warn("sendfile(): file truncated while being sent");
                return -1;
            }
            g->len -= (size_t)n;
            if (g->len == 0) {
                http2_stream_t *s = g->s;
                h->segi++;
                if (--s->pending == 0 && s->closed)
                    http2_stream_free(w, s);
            }
        } else {
            break;
        }
        c->sent_bytes += (uint64_t)n;
        w->report.bytes_sent += (uint64_t)n;
        h->wrote = 1;
    }
    h->olen = h->ooff = 0;
    h->nseg = h->segi = 0;
    return 1;
}

int http2_output_flush(http2_conn_t *h)
{
    for (int round = 0; round < HTTP2_ROUNDS; round++) {
        while (h->nseg < HTTP2_SEGS && HTTP2_OBUF - h->olen >= HTTP2_ROOM) {
            const uint8_t *p;
            ssize_t n = nghttp2_session_mem_send(h->session, &p);
            if (n < 0) {
                log_error("nghttp2_session_mem_send(): %s", nghttp2_strerror((int)n));
                return -1;
            }
            if (n == 0)
                break;
            if ((size_t)n > HTTP2_OBUF - h->olen) {
                log_error("HTTP/2: a frame of %zd bytes does not fit the output buffer", n);
                return -1;
            }
            memcpy(h->obuf + h->olen, p, (size_t)n);
            h->olen += (size_t)n;
        }
        if (h->olen == 0 && h->nseg == 0)
            return 1;
        int r = http2__write(h);
        if (r <= 0)
            return r;
    }
    return 2;
}

/* Over a gathering transport (TLS) a DATA frame's 9-byte header and its
 * payload fill one 16 KiB record exactly: each record then costs one
 * read of the file, not two (a frame of 16 KiB straddles two records). */
#define HTTP2_RECORD_PAYLOAD (16384 - 9)

ssize_t http2_output_data_length(nghttp2_session *session, uint8_t frame_type, int32_t stream_id,
                                 int32_t session_window, int32_t stream_window, uint32_t max_frame,
                                 void *user_data)
{
    (void)session, (void)frame_type, (void)stream_id, (void)user_data;
    ssize_t n = HTTP2_RECORD_PAYLOAD;
    if (n > session_window)
        n = session_window;
    if (n > stream_window)
        n = stream_window;
    if ((size_t)n > max_frame)
        n = (ssize_t)max_frame;
    return n;
}
