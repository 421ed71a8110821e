/*
 * tls_send: what a TLS connection sends beyond a record: iovecs gathered
 * into full records, file ranges (kernel TLS, or read into the pool and
 * written), and pieces of both (HTTP/2 frames and their payloads); through
 * tls_bio, several records to a write(). See tls_send.h.
 */
#include "config.h"

#include "tls_send.h"

#include "map_guard.h"

#include <openssl/err.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A piece at least this long goes to SSL_write as it is: it fills a record
 * (16 KiB) on its own, so copying it into the pool buys nothing. */
#define TLS_DIRECT_MIN 16384
/* The most plaintext one record carries. */
#define TLS_RECORD 16384

/* tls_send_iov while the batch holds bytes or is asked to (tickets after
 * the handshake): the iovecs as pieces, at most 8 (a short count; the
 * caller offers the rest again). */
static ssize_t tls_send__iov_batched(tls_conn_t *c, const struct iovec *iov, int iovcnt,
                                     char *pool, size_t pool_len)
{
    tls_piece_t pc[8];
    int n = iovcnt < 8 ? iovcnt : 8;
    for (int i = 0; i < n; i++)
        pc[i] = (tls_piece_t){ iov[i].iov_base, -1, 0, iov[i].iov_len, NULL };
    return tls_send_pieces(c, pc, n, pool, pool_len);
}

ssize_t tls_send_iov(tls_conn_t *c, const struct iovec *iov, int iovcnt, char *pool,
                   size_t pool_len)
{
    size_t done = 0, off = 0;
    int i = 0;

    if (c->batched && (c->bio.batch || c->closing || tls_bio_held(&c->bio) > 0) && pool != NULL &&
        pool_len > 0)
        return tls_send__iov_batched(c, iov, iovcnt, pool, pool_len);

    while (i < iovcnt) {
        const char *base = iov[i].iov_base;
        size_t left = iov[i].iov_len - off;
        const void *p;
        size_t len;
        ssize_t n;

        if (left == 0) {
            i++;
            off = 0;
            continue;
        }
        if (left >= TLS_DIRECT_MIN || pool == NULL || pool_len == 0) {
            p = base + off;
            len = left;
        } else {
            /* gather from the cursor into the pool; the cursor moves only
             * by what SSL_write takes */
            size_t o = off;
            if (c->ra != NULL)
                c->ra->serial = 0; /* the pool's file bytes are overwritten */
            len = 0;
            for (int j = i; j < iovcnt && len < pool_len; j++, o = 0) {
                size_t take = iov[j].iov_len - o;
                if (take > pool_len - len)
                    take = pool_len - len;
                memcpy(pool + len, (const char *)iov[j].iov_base + o, take);
                len += take;
            }
            p = pool;
        }
        n = tls_write_record(c, p, len);
        if (n < 0)
            return done > 0 && n != TLS_ERROR ? (ssize_t)done : n;
        done += (size_t)n;
        /* advance the cursor by n bytes */
        for (size_t k = (size_t)n; k > 0 && i < iovcnt;) {
            size_t rest = iov[i].iov_len - off;
            if (k < rest) {
                off += k;
                k = 0;
            } else {
                k -= rest;
                i++;
                off = 0;
            }
        }
    }
    return (ssize_t)done;
}

static void tls_send__count_path(tls_conn_t *c, int ktls)
{
    if (c->path_counted || c->stats == NULL)
        return;
    c->path_counted = 1;
    if (ktls)
        c->stats->sendfile_ktls++;
    else
        c->stats->sendfile_fallback++;
}

/* The file's bytes at `at` (at most left of them): from what the pool
 * holds for c (read before the socket filled), else read into it. 0, or
 * TLS_ERROR (errno; EIO: the file is shorter than the range promised). */
static int tls_send__file_bytes(tls_conn_t *c, int file_fd, off_t at, size_t left, const char *map,
                                char *pool, size_t pool_len, const char **p, size_t *avail)
{
    tls_readahead_t *ra = c->ra;
    if (map != NULL) {
        *p = map + at;
        *avail = left;
        return 0;
    }
    if (ra != NULL && ra->serial == c->serial && ra->fd == file_fd && at >= ra->off &&
        at < ra->off + (off_t)ra->len) {
        *p = pool + (at - ra->off);
        *avail = (size_t)(ra->off + (off_t)ra->len - at);
    } else {
        size_t want = left < pool_len ? left : pool_len;
        ssize_t got;
        if (ra != NULL)
            ra->serial = 0;
        do {
            got = pread(file_fd, pool, want, at);
            if (ra != NULL)
                ra->reads++;
        } while (got < 0 && errno == EINTR);
        if (got <= 0) {
            if (got == 0)
                errno = EIO;
            return TLS_ERROR;
        }
        if (ra != NULL)
            *ra = (tls_readahead_t){ c->serial, ra->next_serial, file_fd, at, (size_t)got, ra->reads };
        *p = pool;
        *avail = (size_t)got;
    }
    if (*avail > left)
        *avail = left;
    return 0;
}

/* Flushes c's batch at the end of a call: what it held is then sent. */
static int tls_send__flush_batch(tls_conn_t *c, size_t *done)
{
    tls_bio_t *b = &c->bio;
    int r = tls_bio_held(b) > 0 ? tls_bio_flush(b) : 1;
    if (r == 1) {
        *done += b->plain;
        b->plain = 0;
    }
    b->batch = 0;
    return r;
}

/* The start of a batched call: what an earlier call made goes out first,
 * and its plaintext, offered again by the caller as after any short count,
 * counts as sent then (*done). 0, or TLS_WANT_WRITE / TLS_ERROR. */
static int tls_send__resume(tls_conn_t *c, size_t offered, size_t *done)
{
    tls_bio_t *b = &c->bio;
    int r;
    /* Held bytes that carry no plaintext of the caller's (tickets) may
     * wait for this call's records and go out with them. */
    if (tls_bio_held(b) > 0 && (b->plain > 0 || tls_bio_room(b) < TLS_BIO_RECORD) &&
        (r = tls_bio_flush(b)) <= 0) {
        if (r < 0)
            return TLS_ERROR;
        c->want = TLS_WANTS_WRITE;
        return TLS_WANT_WRITE;
    }
    if (b->plain > offered) {
        errno = EINVAL;
        return TLS_ERROR;
    }
    *done = b->plain;
    b->plain = 0;
    b->batch = 1;
    return 0;
}

/* The end of a call: the bytes sent, else what stopped it (last). */
static ssize_t tls_send__result(tls_conn_t *c, size_t done, ssize_t last)
{
    if (done > 0 || last == 0)
        return (ssize_t)done;
    if (last == TLS_WANT_WRITE)
        c->want = TLS_WANTS_WRITE;
    return last;
}

/* The file under map was truncated while SSL_write read it: OpenSSL
 * stopped mid-record, so the connection ends here, without close_notify. */
static ssize_t tls_send__truncated(tls_conn_t *c)
{
    c->bio.batch = 0;
    SSL_set_shutdown(c->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    ERR_clear_error();
    errno = EIO;
    return TLS_ERROR;
}

/* The fallback through tls_bio: records are made into the batch, a record
 * at a time, and written three to a write(). Plaintext counts as sent only
 * once its records are out (tls_bio.h). */
static ssize_t tls_send__file_records(tls_conn_t *c, int file_fd, off_t offset, size_t count,
                                      const char *map, char *pool, size_t pool_len)
{
    tls_bio_t *b = &c->bio;
    size_t done = 0;
    ssize_t last = TLS_WANT_WRITE;
    int r;

    if ((r = tls_send__resume(c, count, &done)) < 0)
        return r;
    while (done + b->plain < count) {
        if (tls_bio_room(b) < TLS_BIO_RECORD) {
            if ((r = tls_bio_flush(b)) < 0)
                goto fail;
            if (r == 0)
                break;
            done += b->plain;
            b->plain = 0;
        }
        size_t at = done + b->plain;
        const char *p;
        size_t avail;
        if (tls_send__file_bytes(c, file_fd, offset + (off_t)at, count - at, map, pool, pool_len, &p,
                                 &avail) < 0)
            goto fail;
        ssize_t n = tls_write_record(c, p, avail < TLS_RECORD ? avail : TLS_RECORD);
        if (n == TLS_ERROR)
            goto fail;
        if (n < 0) {
            last = n; /* OpenSSL holds a record: offered again next call */
            break;
        }
        b->plain += (size_t)n;
    }
    if ((r = tls_send__flush_batch(c, &done)) < 0)
        return TLS_ERROR;
    if (done == count && c->ra != NULL && c->ra->serial == c->serial)
        c->ra->serial = 0; /* all of it went out: nothing to resume */
    return tls_send__result(c, done, last);
fail:
    b->batch = 0;
    return TLS_ERROR;
}

/* The same, with a mapped file read under map_guard. */
static ssize_t tls_send__file_batched(tls_conn_t *c, int file_fd, off_t offset, size_t count,
                                      const char *map, char *pool, size_t pool_len)
{
    struct stat st;
    if (map == NULL)
        return tls_send__file_records(c, file_fd, offset, count, NULL, pool, pool_len);
    /* A file cut short inside its last page reads as zeros, not SIGBUS:
     * its size now, as pread would have found it. */
    if (fstat(file_fd, &st) < 0 || st.st_size < offset + (off_t)count)
        return tls_send__truncated(c);
    map_guard_arm(map + offset, count);
    if (sigsetjmp(map_guard.jmp, 0) != 0)
        return tls_send__truncated(c);
    ssize_t n = tls_send__file_records(c, file_fd, offset, count, map, pool, pool_len);
    map_guard_disarm();
    return n;
}

ssize_t tls_send_file_range(tls_conn_t *c, int file_fd, off_t offset, size_t count,
                            const char *map, char *pool, size_t pool_len)
{
    size_t done = 0;

    if (count == 0)
        return 0;
    if (tls_ktls_send(c)) {
        tls_send__count_path(c, 1);
        return tls_ktls_sendfile(c, file_fd, offset, count);
    }
    tls_send__count_path(c, 0);
    if (pool == NULL || pool_len == 0) {
        errno = EINVAL;
        return TLS_ERROR;
    }
    if (c->batched)
        return tls_send__file_batched(c, file_fd, offset, count, map, pool, pool_len);
    /* Without the batch BIO (no memory for it): the file is read. */
    while (done < count) {
        const char *p;
        size_t avail;
        if (tls_send__file_bytes(c, file_fd, offset + (off_t)done, count - done, NULL, pool,
                                 pool_len, &p, &avail) < 0)
            return TLS_ERROR;
        /* Records are filled from the big chunk; each SSL_write takes one
         * or more whole records (partial-write mode). */
        for (size_t pos = 0; pos < avail;) {
            ssize_t n = tls_write_record(c, p + pos, avail - pos);
            if (n < 0)
                return done > 0 && n != TLS_ERROR ? (ssize_t)done : n;
            pos += (size_t)n;
            done += (size_t)n;
        }
    }
    if (c->ra != NULL && c->ra->serial == c->serial)
        c->ra->serial = 0; /* all of it went out: nothing to resume */
    return (ssize_t)done;
}

/* Copies len bytes of a mapped file. tls_send_pieces checked the file's
 * size; a truncation since is a SIGBUS, which ends this connection only:
 * 0, or -1 (errno EIO). */
static int tls_send__copy_mapped(char *to, const char *from, size_t len)
{
    map_guard_arm(from, len);
    if (sigsetjmp(map_guard.jmp, 0) != 0) {
        errno = EIO;
        return -1;
    }
    memcpy(to, from, len);
    map_guard_disarm();
    return 0;
}

/* Fills pool from pieces pc[i..n), starting off bytes into pc[i]: the
 * length gathered, or -1 (errno) when a file cannot be read. */
static ssize_t tls_send__gather(const tls_piece_t *pc, int n, int i, size_t off, char *pool,
                           size_t pool_len)
{
    size_t len = 0;
    for (; i < n && len < pool_len; i++, off = 0) {
        size_t take = pc[i].len - off;
        if (take > pool_len - len)
            take = pool_len - len;
        if (pc[i].p != NULL) {
            memcpy(pool + len, (const char *)pc[i].p + off, take);
            len += take;
            continue;
        }
        if (pc[i].map != NULL) {
            if (tls_send__copy_mapped(pool + len, pc[i].map + pc[i].off + (off_t)off, take) < 0)
                return -1;
            len += take;
            continue;
        }
        for (size_t got = 0; got < take;) {
            ssize_t r = pread(pc[i].fd, pool + len + got, take - got, pc[i].off + (off_t)(off + got));
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0) {
                if (r == 0)
                    errno = EIO; /* the file is shorter than the range promised */
                return -1;
            }
            got += (size_t)r;
        }
        len += take;
    }
    return (ssize_t)len;
}

/* Moves the cursor (piece *i, *off bytes into it) k bytes on. */
static void tls_send__advance(const tls_piece_t *pc, int n, int *i, size_t *off, size_t k)
{
    while (k > 0 && *i < n) {
        size_t rest = pc[*i].len - *off;
        if (k < rest) {
            *off += k;
            return;
        }
        k -= rest;
        (*i)++;
        *off = 0;
    }
}

ssize_t tls_send_pieces(tls_conn_t *c, const tls_piece_t *pc, int n, char *pool, size_t pool_len)
{
    size_t done = 0, off = 0, total = 0;
    ssize_t last = 0;
    tls_bio_t *b = &c->bio;
    int i = 0, r;

    if (n > 0 && tls_ktls_send(c)) {
        if (pc[0].p != NULL) {
            struct iovec iov = { (void *)(uintptr_t)pc[0].p, pc[0].len };
            return tls_send_iov(c, &iov, 1, NULL, 0);
        }
        return tls_send_file_range(c, pc[0].fd, pc[0].off, pc[0].len, NULL, pool, pool_len);
    }
    if (pool == NULL || pool_len == 0) {
        errno = EINVAL;
        return TLS_ERROR;
    }
    if (n > 0 && pc[0].p == NULL)
        tls_send__count_path(c, 0);
    /* A mapped file cut short inside its last page reads as zeros, not
     * SIGBUS: its size now, as pread would have found it (once a call, not
     * once a record). */
    for (int k = 0; k < n; k++) {
        struct stat st;
        if (pc[k].map != NULL &&
            (fstat(pc[k].fd, &st) < 0 || st.st_size < pc[k].off + (off_t)pc[k].len)) {
            errno = EIO;
            return TLS_ERROR;
        }
    }
    /* One record at a time: after TLS_WANT_WRITE the caller offers the
     * same bytes again and they are gathered again, so a larger gather
     * would read the file ahead over and over while the socket is full. */
    if (pool_len > TLS_RECORD)
        pool_len = TLS_RECORD;
    if (c->batched) {
        for (int k = 0; k < n; k++)
            total += pc[k].len;
        if ((r = tls_send__resume(c, total, &done)) < 0)
            return r;
        tls_send__advance(pc, n, &i, &off, done);
    }
    while (i < n) {
        if (off == pc[i].len) {
            i++;
            off = 0;
            continue;
        }
        if (c->batched && tls_bio_room(b) < TLS_BIO_RECORD) {
            if ((r = tls_bio_flush(b)) < 0)
                goto fail;
            if (r == 0) {
                last = TLS_WANT_WRITE;
                break;
            }
            done += b->plain;
            b->plain = 0;
        }
        if (c->ra != NULL)
            c->ra->serial = 0; /* the pool's file bytes are overwritten */
        ssize_t len = tls_send__gather(pc, n, i, off, pool, pool_len);
        if (len < 0)
            goto fail;
        ssize_t w = tls_write_record(c, pool, (size_t)len);
        if (w == TLS_ERROR)
            goto fail;
        if (w < 0) {
            last = w;
            break;
        }
        if (c->batched)
            b->plain += (size_t)w;
        else
            done += (size_t)w;
        tls_send__advance(pc, n, &i, &off, (size_t)w);
    }
    if (c->batched) {
        if (i == n && c->closing && !(SSL_get_shutdown(c->ssl) & SSL_SENT_SHUTDOWN)) {
            /* The output ends here: close_notify joins the last records
             * instead of a write() of its own at close. */
            if (SSL_shutdown(c->ssl) < 0)
                ERR_clear_error(); /* no room in the batch: the close goes without it */
        }
        if ((r = tls_send__flush_batch(c, &done)) < 0)
            return TLS_ERROR;
        if (r == 0)
            last = TLS_WANT_WRITE;
    }
    return tls_send__result(c, done, last);
fail:
    b->batch = 0;
    return TLS_ERROR;
}
