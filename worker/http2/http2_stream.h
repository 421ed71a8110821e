/*
 * http2_stream: one HTTP/2 stream, from its header fields to the response
 * the handlers describe.
 *
 * A stream collects the fields nghttp2 decodes (copied: nghttp2's buffers
 * do not outlive the callback), then http2_stream_respond() builds the same
 * http_request_t the HTTP/1 parser makes (:authority serves as Host), asks
 * handler_respond() for a response_t, and submits it: the head as an
 * nghttp2 name/value list (lower-case names, no connection-specific
 * fields), the body as a list of chunks (memory, or a file range) that the
 * data source hands out with NGHTTP2_DATA_FLAG_NO_COPY. http2.c writes each
 * DATA frame: its 9-byte header, then the chunk's bytes or file range.
 *
 * Ownership: the stream owns its copies and the body the response held
 * (a file cache reference, or a descriptor). A stream nghttp2 has closed
 * may still be read by output queued in http2.c (pending > 0); it is freed
 * when both are done.
 */
#ifndef DROVER_HTTP2_STREAM_H
#define DROVER_HTTP2_STREAM_H

#include <stdint.h>
#include <sys/types.h>

#include <nghttp2/nghttp2.h>

#include "conn.h"
#include "http_parser.h"
#include "list.h"
#include "proxy_upstream.h"
#include "response.h"
#include "worker.h"

/* A request body held per stream: one stream window (SETTINGS_
 * INITIAL_WINDOW_SIZE is left at its default, 65535), so a client that
 * keeps to flow control always fits. */
#define HTTP2_STREAM_WINDOW 65536

/* One piece of a body: mem[off, off + len) when mem is set, else the file
 * range [off, off + len) of fd. */
typedef struct {
    const char *mem;
    int fd;
    off_t off;
    uint64_t len;
} http2_chunk_t;

/* A field: offsets into the stream's copy buffer. */
typedef struct {
    uint32_t name, name_len, value, value_len;
} http2_field_t;

typedef struct {
    list_t link;            /* on the connection's list of streams */
    int32_t id;
    unsigned closed : 1;    /* nghttp2 is done with it */
    unsigned responded : 1;
    unsigned too_large : 1; /* fields over max_header_size: 431 */
    unsigned too_many : 1;  /* more than HTTP_MAX_HEADERS fields: 431 */
    unsigned request_ended : 1; /* the client's END_STREAM arrived */
    unsigned timed_out : 1; /* reset for a request that stopped coming */
    unsigned pending;       /* output segments in http2.c that read its body */
    double last_in;         /* w->now when its request last made progress */

    char *buf;              /* field names and values, copied */
    size_t len, cap, list_size;
    http2_field_t field[HTTP_MAX_HEADERS + 8];
    unsigned nfields;
    uint64_t body_in;       /* request body bytes received */

    /* The response. */
    struct host_s *host;    /* the virtual host (host_select), or NULL */
    int status;
    const char *rule;       /* the location that answered, or NULL */
    real_ip_t client;       /* after real_ip; text "": the connection's peer */
    void *auth_job;         /* its password is being hashed (auth_pool.h): not answered yet */
    /* DATA that came meanwhile, not yet wanted by anyone (owned; its
     * stream window not given back): a proxied location forwards it, any
     * other answer drops it. One window at most. */
    char *held;
    size_t held_len;
    void *rule_log;         /* its access_log_t, or NULL: the host's */
    double started;         /* w->now when it was answered, for the duration histogram */
    double log_start;       /* w->now when its HEADERS began: the access log's duration */
    uint64_t sent;          /* body bytes handed to DATA frames */
    http2_chunk_t *chunk;   /* owned */
    unsigned nchunks, ci;
    char *copy;             /* owned: a body or part headers that lived in the response's scratch */
    struct file_cache_entry_s *ref; /* owns the body's bytes or fd, or NULL */
    int fd;                 /* without ref: a descriptor we own, or -1 */
    /* The DATA frame being written: set by the data source, read by
     * http2.c's send_data_callback. */
    const char *frame_mem;
    int frame_fd;
    off_t frame_off;

    /* A request body still to come when the stream was routed: the answer
     * kept until it is in (owned), unless the location proxies. */
    response_t *early;
    /* Proxied (http2_proxy.h): the route, its path copied (owned), and
     * the exchange (an http2_proxy_t, owned; NULL: none or over). */
    proxy_route_t route;
    char *route_path;
    void *proxy;
    const char *log_upstream; /* the access log's upstream fields */
    int log_upstream_status;
    uint64_t log_upstream_us;
} http2_stream_t;

/* http2_stream_respond: the stream's location proxies; s->route says
 * where (http2_proxy_start forwards it). */
#define HTTP2_STREAM_PROXY 1

/* A new stream, or NULL when out of memory. */
http2_stream_t *http2_stream_new(int32_t id);

/* Frees s and releases what its body held. */
void http2_stream_free(worker_t *w, http2_stream_t *s);

/* Keeps one decoded field. Fields past the limits are dropped and mark the
 * stream (a 431 answers it). Returns 0, or -1 when out of memory. */
int http2_stream_field(http2_stream_t *s, const uint8_t *name, size_t nlen, const uint8_t *value,
                       size_t vlen, size_t max_list);

/* Keeps DATA of s that came before its route was known (its password
 * still hashed). Returns 0, or -1 when out of memory or over one window
 * (the caller resets the stream). */
int http2_stream_hold(http2_stream_t *s, const uint8_t *data, size_t len);

/* Drops what s held, giving its window back on session. */
void http2_stream_drop_held(nghttp2_session *session, http2_stream_t *s);

/* Builds the request, asks the handlers, submits the response on session.
 * Called when the request is whole, and once before when its head came
 * without END_STREAM (s->request_ended 0): then only a proxied location
 * is acted on, any other answer is kept in s->early for the later call.
 * Returns 0, HTTP2_STREAM_PROXY, or an nghttp2 error code (fatal only if
 * nghttp2 says so). */
int http2_stream_respond(nghttp2_session *session, conn_t *c, http2_stream_t *s);

/* The request of s, as the HTTP/1 parser would make it (its slices into
 * s->buf). Returns 0, or the status to answer with. */
int http2_stream_request(const http2_stream_t *s, http_request_t *req, str_t *method);

/* Turns the HTTP/1 head in head[0, len) into name/value pairs (into head:
 * names lowered), the status first, minus the fields HTTP/2 forbids.
 * Returns the pair count, or -1. */
int http2_stream_nv(char *head, size_t len, nghttp2_nv *nv, int max, char *status);

/* s is answered with status: counted for the status page and /metrics. */
void http2_stream_answered(conn_t *c, http2_stream_t *s, unsigned method, int status);

/* Submits the error page of status on s. Returns 0 or an nghttp2 error. */
int http2_stream_error(nghttp2_session *session, conn_t *c, http2_stream_t *s, unsigned method,
                       int status);

/* The access log line of a stream that was answered. */
void http2_stream_log(conn_t *c, http2_stream_t *s);

#endif
