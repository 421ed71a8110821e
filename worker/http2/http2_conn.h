/*
 * http2_conn: the state of one HTTP/2 connection, shared by http2.c (the
 * connection, nghttp2's input callbacks) and http2_output.c (what goes
 * out). Private to those two.
 */
#ifndef DROVER_HTTP2_CONN_H
#define DROVER_HTTP2_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <nghttp2/nghttp2.h>

#include "conn.h"
#include "http2_stream.h"
#include "list.h"

#define HTTP2_OBUF (64 * 1024)
/* Room kept free before asking nghttp2 for more: one frame of the default
 * maximum size (16 KiB), padding and a DATA frame header. */
#define HTTP2_ROOM (17 * 1024 + 512)
#define HTTP2_SEGS 32
/* Reads per turn before letting other connections run. */
#define HTTP2_READS 16
/* Fill-and-write rounds per turn (each up to HTTP2_OBUF plus file ranges). */
#define HTTP2_ROUNDS 16
/* Gaps in the client's stream ids remembered (see http2__on_begin_frame). */
#define HTTP2_GAPS 4

typedef struct {
    size_t end;             /* obuf bytes before the range */
    int fd;
    off_t off;
    size_t len;
    http2_stream_t *s;
} http2_seg_t;

typedef struct {
    conn_t *c;
    nghttp2_session *session;
    list_t streams;         /* every stream not yet freed, closed ones included */
    unsigned active;        /* streams nghttp2 has not closed */
    unsigned goaway : 1;    /* we sent (or queued) GOAWAY */
    unsigned wrote : 1;     /* bytes went out this turn: the send timer restarts */
    unsigned blocked : 1;   /* the socket was full at the end of the last turn */
    double blocked_since;   /* when it last took bytes while full (send_timeout counts from it) */
    char *obuf;
    size_t olen, ooff;
    http2_seg_t seg[HTTP2_SEGS];
    unsigned nseg, segi;
    double scanned_at;      /* when streams were last checked for stalled requests */
    int32_t last_id;        /* the highest stream id a request HEADERS had */
    int32_t gap[HTTP2_GAPS][2]; /* ids skipped below it: [first, last] */
    unsigned gapi;
} http2_conn_t;

/* nghttp2's send_data_callback: a DATA frame's header into obuf, then its
 * bytes (copied: a small cached body) or a segment for the file range. */
int http2_output_send_data(nghttp2_session *session, nghttp2_frame *frame, const uint8_t *framehd,
                           size_t length, nghttp2_data_source *source, void *user_data);

/* nghttp2's data_source_read_length_callback, for gathering transports
 * (TLS): DATA frames that fill a record exactly. */
ssize_t http2_output_data_length(nghttp2_session *session, uint8_t frame_type, int32_t stream_id,
                                 int32_t session_window, int32_t stream_window, uint32_t max_frame,
                                 void *user_data);

/* Serializes what nghttp2 has to send into obuf and writes it, as long as
 * the socket takes it. Returns 1 when nothing is left, 0 when the socket is
 * full, 2 when there is more but the turn is over, -1 on error. */
int http2_output_flush(http2_conn_t *h);

#endif
