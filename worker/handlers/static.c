/*
 * static: see static.h.
 */
#include "config.h"

#include "static.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "autoindex.h"
#include "error_page.h"
#include "file_cache.h"
#include "http_accept.h"
#include "http_conditional.h"
#include "http_range.h"
#include "path.h"

#define STATIC_PATH_MAX 4096

/* The body: bytes [start, start + len) of f, from memory when f is in
 * memory, else from f's descriptor. Takes the caller's reference to e, the
 * cached entry f belongs to (f itself or a variant). */
static void static__body(response_t *r, file_cache_entry_t *e, file_cache_entry_t *f, int64_t start,
                         int64_t len)
{
    if (f->body != NULL)
        response_bytes(r, f->body + start, (size_t)len, e);
    else
        response_file(r, f->fd, (off_t)start, (uint64_t)len, e);
}

/* 412 and 416 for a file: the short built-in page (or the configured one),
 * with what a cache needs to know about the resource. */
static void static__file_error(worker_t *w, response_t *r, file_cache_entry_t *f, int status)
{
    response_init(r, status);
    if (status == 416)
        response_addf(r, "Content-Range: bytes */%lld\r\n", (long long)f->st.st_size);
    if (f->vary) {
        static const char vary[] = "Vary: Accept-Encoding\r\n";
        response_add(r, vary, sizeof(vary) - 1);
    }
    error_page_respond(w, r);
}

/* A boundary that no part of this response is likely to contain: drawn
 * from the representation, the connection and the clock, so two responses
 * differ and a file cannot be written to match it in advance. */
static void static__boundary(const handler_req_t *h, const file_cache_entry_t *f, char out[24])
{
    uint64_t hash = 1469598103934665603ULL;
    uint64_t mix[3] = { h->conn_id, (uint64_t)(h->w->now * 1e9), h->seq };
    for (size_t i = 0; i < f->etag_len; i++)
        hash = (hash ^ (unsigned char)f->etag[i]) * 1099511628211ULL;
    for (size_t i = 0; i < 3; i++)
        hash = (hash ^ mix[i]) * 1099511628211ULL;
    snprintf(out, 24, "drover%016llx", (unsigned long long)hash);
}

/*
 * 206 with a multipart/byteranges body for several ranges of f: the part
 * headers are written first, to know the Content-Length of the whole.
 * Returns -1 (r untouched) when the parts would cost more than the whole
 * file: the caller then sends the whole file with 200.
 */
static int static__multipart(const handler_req_t *h, response_t *r, file_cache_entry_t *e,
                             file_cache_entry_t *f, const http_range_t *rg, size_t n)
{
    char boundary[24];
    static__boundary(h, f, boundary);
    char parts[8192];
    size_t plen = 0;
    int64_t total = 0;
    for (size_t i = 0; i <= n; i++) {
        int k;
        if (i < n)
            k = snprintf(parts + plen, sizeof(parts) - plen,
                         "\r\n--%s\r\nContent-Type: %s\r\nContent-Range: bytes %lld-%lld/%lld\r\n\r\n",
                         boundary, f->type, (long long)rg[i].start, (long long)rg[i].end,
                         (long long)f->st.st_size);
        else
            k = snprintf(parts + plen, sizeof(parts) - plen, "\r\n--%s--\r\n", boundary);
        if (k < 0 || (size_t)k >= sizeof(parts) - plen)
            return -1;
        plen += (size_t)k;
        r->part[i].head_end = plen;
        r->part[i].off = i < n ? (off_t)rg[i].start : 0;
        r->part[i].end = i < n ? (off_t)rg[i].end + 1 : 0;
        if (i < n)
            total += rg[i].end - rg[i].start + 1;
    }
    total += (int64_t)plen;
    if (total > f->st.st_size)
        return -1; /* a range request must not cost more than the file */

    response_init(r, 206);
    response_addf(r, "Content-Type: multipart/byteranges; boundary=%s\r\nContent-Length: %lld\r\n",
                  boundary, (long long)total);
    response_add(r, f->headers + f->meta_off, f->headers_len - f->meta_off);
    char *copy = response_alloc(r, plen);
    if (copy == NULL)
        return -1;
    memcpy(copy, parts, plen);
    r->body = RESPONSE_BODY_PIECES;
    r->parts = copy;
    r->nparts = (unsigned)n;
    r->length = (uint64_t)total;
    r->bytes = f->body;
    r->fd = f->body != NULL ? -1 : f->fd;
    r->ref = e;
    return 0;
}

/* Range is not a list: sent on two lines it cannot be read as one, and is
 * ignored (the whole file is sent) rather than guessed at. */
static int static__single_range(const http_request_t *req)
{
    int lines = 0;
    for (size_t i = 0; i < req->num_headers && lines < 2; i++)
        if (STR_CASEEQ(req->headers[i].name, "range"))
            lines++;
    return lines < 2;
}

/*
 * Answers for file f (e itself, or one of its precompressed variants) of
 * the referenced entry e: preconditions first (RFC 9110 13.2.2), then
 * Range (only for GET), then the whole file.
 */
static void static__entry(const handler_req_t *h, response_t *r, file_cache_entry_t *e,
                          file_cache_entry_t *f)
{
    const http_request_t *req = h->req;
    worker_t *w = h->w;
    const struct stat *st = &f->st;
    str_t etag = str_make(f->etag, f->etag_len);

    if (req->if_match.p != NULL || req->if_none_match.p != NULL ||
        req->if_modified_since.p != NULL || req->if_unmodified_since.p != NULL) {
        int status = http_conditional_check(req, etag, st->st_mtime, w->wall);
        if (status == 304) {
            /* What a 200 would say about the representation, for the
             * cache to update its copy with; no body, no Content-Length. */
            response_init(r, 304);
            size_t after = f->ce_off + f->ce_len;
            response_add(r, f->headers + f->meta_off, f->ce_off - f->meta_off);
            if (after < f->headers_len)
                response_add(r, f->headers + after, f->headers_len - after);
            file_cache_unref(w->fc, e);
            return;
        }
        if (status == 412) {
            static__file_error(w, r, f, 412);
            file_cache_unref(w->fc, e);
            return;
        }
    }

    if (req->range.p != NULL && req->method == HTTP_METHOD_GET && static__single_range(req) &&
        http_conditional_if_range(req, etag, st->st_mtime, w->wall)) {
        http_range_t rg[HTTP_RANGE_MAX];
        size_t n = 0;
        switch (http_range_parse(req->range, st->st_size, rg, HTTP_RANGE_MAX, &n)) {
        case HTTP_RANGE_OK:
            if (n > 1) {
                if (static__multipart(h, r, e, f, rg, n) == 0)
                    return;
                break; /* the whole file costs less: 200 */
            }
            response_init(r, 206);
            response_addf(r, "Content-Type: %s\r\nContent-Length: %lld\r\n"
                             "Content-Range: bytes %lld-%lld/%lld\r\n",
                          f->type, (long long)(rg[0].end - rg[0].start + 1), (long long)rg[0].start,
                          (long long)rg[0].end, (long long)st->st_size);
            response_add(r, f->headers + f->meta_off, f->headers_len - f->meta_off);
            static__body(r, e, f, rg[0].start, rg[0].end - rg[0].start + 1);
            return;
        case HTTP_RANGE_UNSATISFIABLE:
            static__file_error(w, r, f, 416);
            file_cache_unref(w->fc, e);
            return;
        case HTTP_RANGE_NONE:
            break;
        }
    }

    /* The common case: every header line of the file, prebuilt. */
    response_init(r, 200);
    response_add(r, f->headers, f->headers_len);
    static__body(r, e, f, 0, st->st_size);
}

/* "/dir" -> "/dir/": relative links in its index need the slash. The
 * Location is built from the normalised path, percent-encoded again, never
 * from the raw one: "//evil.example/../dir" normalises to "/dir", and
 * echoing it raw would send a browser to another host. */
static void static__redirect(const handler_req_t *h, response_t *r, const char *path, size_t plen)
{
    const http_request_t *req = h->req;
    response_init(r, 301);
    char *loc = plen * 3 + req->query.len + 16 <= STATIC_PATH_MAX * 3 + 32
                    ? response_alloc(r, plen * 3 + req->query.len + 16)
                    : NULL;
    if (loc == NULL) {
        error_page_status(h->w, r, 414);
        return;
    }
    size_t n = 0;
    memcpy(loc, "Location: ", 10);
    n += 10;
    n += path_encode(path, plen, PATH_ENCODE_PATH, loc + n);
    loc[n++] = '/';
    if (req->query.len > 0) {
        loc[n++] = '?';
        memcpy(loc + n, req->query.p, req->query.len);
        n += req->query.len;
    }
    loc[n++] = '\r';
    loc[n++] = '\n';
    response_add(r, loc, n);
    error_page_respond(h->w, r);
}

void static_respond(const handler_req_t *h, response_t *r)
{
    worker_t *w = h->w;
    const http_request_t *req = h->req;
    char path[STATIC_PATH_MAX + 8];

    if (req->path.len >= STATIC_PATH_MAX) {
        error_page_status(w, r, 414);
        r->close = 1;
        return;
    }
    ssize_t plen = path_normalize(req->path.p, req->path.len, path, STATIC_PATH_MAX);
    if (plen < 0) {
        error_page_status(w, r, 400);
        r->close = 1;
        return;
    }
    static_respond_path(h, r, path, (size_t)plen, path, (size_t)plen);
}

void static_respond_path(const handler_req_t *h, response_t *r, const char *path, size_t plen,
                         const char *uri, size_t ulen)
{
    worker_t *w = h->w;
    const http_request_t *req = h->req;
    if (path_has_dotfile(path, plen) || w->fc == NULL) {
        error_page_status(w, r, 404);
        return;
    }

    file_cache_entry_t *e = file_cache_get(w->fc, path, plen, w->wall);
    if (e == NULL) {
        error_page_status(w, r, 500);
        return;
    }
    file_cache_kind_t kind = e->kind;
    int err = e->err;
    if (kind == FC_FILE) {
        file_cache_entry_t *f = e;
        if (e->codings != 0) {
            http_coding_t coding = http_accept_encoding_choose(req->accept_encoding, e->codings,
                                                               e->pref, e->npref);
            if (coding != HTTP_CODING_IDENTITY)
                f = e->variant[coding];
        }
        static__entry(h, r, e, f);
        return;
    }
    file_cache_unref(w->fc, e);
    switch (kind) {
    case FC_REDIRECT:
        static__redirect(h, r, uri, ulen);
        break;
    case FC_LISTING:
        autoindex_respond(w, path, plen, r);
        break;
    case FC_FORBIDDEN:
        error_page_status(w, r, 403);
        break;
    case FC_NOTFOUND:
        error_page_status(w, r, 404);
        break;
    default:
        /* Out of descriptors is a passing state, not a fault of the file. */
        error_page_status(w, r, err == EMFILE || err == ENFILE ? 503 : 500);
        break;
    }
}
