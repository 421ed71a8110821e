/*
 * conn: see conn.h.
 */
#include "conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include "access_log.h"
#include "file_cache.h"
#include "http.h"
#include "http_parser.h"
#include "log.h"

/* Pools keep at most this many free buffers each; the rest go back to
 * malloc, so a burst does not pin memory for ever. */
#define CONN_POOL_MAX 256
/* Free conn_t structures kept for reuse. */
#define CONN_FREE_MAX 1024

static conn_t *conn_free_list;
static size_t conn_free_n;

/* --- buffers and timer lists ------------------------------------------- */

char *conn_buf_get(worker_t *w, int write)
{
    void **head = write ? &w->wbuf_free : &w->rbuf_free;
    size_t *n = write ? &w->wbuf_free_n : &w->rbuf_free_n;
    if (*head != NULL) {
        char *b = *head;
        memcpy(head, b, sizeof(void *));
        (*n)--;
        return b;
    }
    return malloc(write ? CONN_WBUF_SIZE : w->rbuf_size);
}

void conn_buf_put(worker_t *w, char *buf, int write)
{
    if (buf == NULL)
        return;
    void **head = write ? &w->wbuf_free : &w->rbuf_free;
    size_t *n = write ? &w->wbuf_free_n : &w->rbuf_free_n;
    if (*n >= CONN_POOL_MAX) {
        free(buf);
        return;
    }
    memcpy(buf, head, sizeof(void *));
    *head = buf;
    (*n)++;
}

void conn_list_remove(conn_t *c)
{
    conn_list_t *l = c->list;
    if (l == NULL)
        return;
    if (c->prev)
        c->prev->next = c->next;
    else
        l->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        l->tail = c->prev;
    c->prev = c->next = NULL;
    c->list = NULL;
}

void conn_list_append(conn_list_t *l, conn_t *c, double now)
{
    conn_list_remove(c);
    c->deadline = now + l->timeout;
    c->list = l;
    c->prev = l->tail;
    c->next = NULL;
    if (l->tail)
        l->tail->next = c;
    else
        l->head = c;
    l->tail = c;
}

static void conn__ready_push(conn_t *c)
{
    worker_t *w = c->w;
    if (c->in_ready)
        return;
    c->in_ready = 1;
    c->ready_next = NULL;
    c->ready_prev = w->ready_tail;
    if (w->ready_tail)
        w->ready_tail->ready_next = c;
    else
        w->ready_head = c;
    w->ready_tail = c;
}

static void conn__ready_remove(conn_t *c)
{
    worker_t *w = c->w;
    if (!c->in_ready)
        return;
    if (c->ready_prev)
        c->ready_prev->ready_next = c->ready_next;
    else
        w->ready_head = c->ready_next;
    if (c->ready_next)
        c->ready_next->ready_prev = c->ready_prev;
    else
        w->ready_tail = c->ready_prev;
    c->ready_prev = c->ready_next = NULL;
    c->in_ready = 0;
}

/* --- life cycle --------------------------------------------------------- */

conn_t *conn_new(worker_t *w, int fd, const struct sockaddr *sa)
{
    conn_t *c = conn_free_list;
    if (c != NULL) {
        conn_free_list = c->next;
        conn_free_n--;
    } else {
        c = malloc(sizeof(*c));
        if (c == NULL) {
            log_error("malloc(conn): out of memory");
            close(fd);
            return NULL;
        }
    }
    memset(c, 0, offsetof(conn_t, addr));
    c->fd = fd;
    c->w = w;
    c->file_fd = -1;
    c->addr[0] = '\0';
    /* Kept binary; formatting it costs only when a log line needs it. */
    if (sa->sa_family == AF_INET6)
        memcpy(&c->sa.in6, sa, sizeof(c->sa.in6));
    else
        memcpy(&c->sa.in4, sa, sizeof(c->sa.in4));

    /* Edge-triggered for both directions: registered once, never modified.
     * The state machine reads until EAGAIN whenever it needs bytes and
     * writes until EAGAIN whenever it has some, so no edge is lost. */
    struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                              .data.u64 = (uint64_t)(uintptr_t)c };
    if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        log_error("epoll_ctl(ADD conn): %s", strerror(errno));
        close(fd);
        c->next = conn_free_list;
        conn_free_list = c;
        conn_free_n++;
        return NULL;
    }
    w->num_conns++;
    conn_list_append(&w->header_list, c, w->now);
    return c;
}

const char *conn_addr(conn_t *c)
{
    if (c->addr[0] == '\0') {
        const void *a = c->sa.sa_family == AF_INET6 ? (const void *)&c->sa.in6.sin6_addr
                                                    : (const void *)&c->sa.in4.sin_addr;
        if (inet_ntop(c->sa.sa_family, a, c->addr, sizeof(c->addr)) == NULL)
            strcpy(c->addr, "-");
    }
    return c->addr;
}

static void conn__release_file(conn_t *c)
{
    if (c->file_ref != NULL) {
        file_cache_unref(c->w->fc, c->file_ref);
        c->file_ref = NULL;
    } else if (c->file_fd >= 0) {
        close(c->file_fd);
    }
    c->file_fd = -1;
}

void conn_close(conn_t *c)
{
    worker_t *w = c->w;
    conn_list_remove(c);
    conn__ready_remove(c);
    conn__release_file(c);
    conn_buf_put(w, c->rbuf, 0);
    conn_buf_put(w, c->wbuf, 1);
    c->rbuf = c->wbuf = NULL;
    close(c->fd); /* also removes it from the epoll set */
    w->num_conns--;
    worker_publish_conns(w);
    if (conn_free_n < CONN_FREE_MAX) {
        c->next = conn_free_list;
        conn_free_list = c;
        conn_free_n++;
    } else {
        free(c);
    }
}

/* Closing after a response the client may still be sending to: shut our
 * side, then read and drop until the client closes (or a short limit), so
 * the kernel does not answer unread bytes with a RST that could destroy the
 * response before the client read it. */
static void conn__start_linger(conn_t *c)
{
    if (!c->linger || c->eof) {
        conn_close(c);
        return;
    }
    shutdown(c->fd, SHUT_WR);
    c->state = CONN_LINGER;
    conn_list_append(&c->w->linger_list, c, c->w->now);
}

static void conn__linger(conn_t *c)
{
    char buf[4096];
    for (int i = 0; i < 16; i++) {
        ssize_t n = read(c->fd, buf, sizeof(buf));
        if (n > 0)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        conn_close(c); /* end of file or an error: the client is done */
        return;
    }
    /* Still sending (a large refused body): come back next turn rather
     * than close on unread bytes, which is the RST lingering avoids. The
     * linger timer still bounds it. */
    conn__ready_push(c);
}

/* --- reading ------------------------------------------------------------ */

/* Reads into rbuf. Returns >0 bytes read, 0 for EAGAIN, -1 closed/error. */
static ssize_t conn__read(conn_t *c)
{
    if (c->rbuf == NULL) {
        c->rbuf = conn_buf_get(c->w, 0);
        if (c->rbuf == NULL)
            return -1;
        c->rlen = c->last_len = 0;
    }
    size_t room = c->w->rbuf_size - c->rlen;
    if (room == 0)
        return 0; /* full: the parser decides (431/414) */
    if (c->drained)
        return 0;
    for (;;) {
        ssize_t n = read(c->fd, c->rbuf + c->rlen, room);
        if (n > 0) {
            c->rlen += (size_t)n;
            /* Edge-triggered: a short read emptied the socket, and bytes
             * that arrive later raise a new event. Not reading again until
             * then saves the read() that would only say EAGAIN. */
            if ((size_t)n < room && !c->rdhup)
                c->drained = 1;
            return n;
        }
        if (n == 0) {
            c->eof = 1;
            return -1;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN) {
            c->drained = 1;
            return 0;
        }
        return -1;
    }
}

/* --- writing ------------------------------------------------------------ */

/* Returns 1 when everything is written, 0 on EAGAIN, -1 on error. */
static int conn__write(conn_t *c)
{
    worker_t *w = c->w;
    int progress = 0;
next_piece:
    while (c->woff < c->wlen) {
        /* MSG_MORE when a file follows keeps headers and the first bytes of
         * the body in one segment. */
        ssize_t n = send(c->fd, c->wbuf + c->woff, c->wlen - c->woff,
                         MSG_NOSIGNAL | (c->file_fd >= 0 && c->file_off < c->file_end ? MSG_MORE : 0));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                goto again;
            return -1;
        }
        c->woff += (size_t)n;
        c->sent_bytes += (uint64_t)n;
        w->report.bytes_sent += (uint64_t)n;
        progress = 1;
    }
    while (c->file_fd >= 0 && c->file_off < c->file_end) {
        size_t chunk = (size_t)(c->file_end - c->file_off);
        if (chunk > (1 << 20))
            chunk = 1 << 20; /* bounds one call; the loop goes on to EAGAIN */
        ssize_t n = sendfile(c->fd, c->file_fd, &c->file_off, chunk);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                goto again;
            log_error("sendfile(): %s", strerror(errno));
            return -1;
        }
        if (n == 0) {
            /* The file shrank under us: the promised length cannot be met. */
            log_warn("sendfile(): file truncated while being sent");
            return -1;
        }
        c->sent_bytes += (uint64_t)n;
        w->report.bytes_sent += (uint64_t)n;
        progress = 1;
    }
    if (c->piece < c->npieces) {
        /* Multipart: the next part's header, then its bytes. Each pass
         * takes one piece, so this ends after npieces. */
        const conn_piece_t *p = &c->pieces[c->piece++];
        c->wlen = p->wend;
        c->file_off = p->off;
        c->file_end = p->end;
        goto next_piece;
    }
    return 1;

again:
    if (progress || c->list != &w->send_list)
        conn_list_append(&w->send_list, c, w->now);
    return 0;
}

/* The response is written: log it, then the next request or close. */
static void conn__finish(conn_t *c)
{
    worker_t *w = c->w;
    access_log_write(c, w->wall);
    conn__release_file(c);
    conn_buf_put(w, c->wbuf, 1);
    c->wbuf = NULL;
    c->wlen = c->woff = 0;
    c->pieces = NULL; /* it pointed into wbuf */
    c->npieces = c->piece = 0;

    if (!c->keep_alive) {
        if (c->rlen > c->head_len || c->body_left > 0)
            c->linger = 1;
        conn__start_linger(c);
        return;
    }
    /* Drop the served head; keep any pipelined bytes after it. */
    if (c->head_len < c->rlen) {
        memmove(c->rbuf, c->rbuf + c->head_len, c->rlen - c->head_len);
        c->rlen -= c->head_len;
    } else {
        c->rlen = 0;
    }
    c->head_len = 0;
    c->last_len = 0;
    c->state = c->body_left > 0 ? CONN_DISCARD_BODY : CONN_READ_HEAD;
    if (c->state == CONN_DISCARD_BODY)
        conn_list_append(&w->send_list, c, w->now);
    else if (c->rlen == 0)
        conn_list_append(&w->keepalive_list, c, w->now);
    else
        conn_list_append(&w->header_list, c, w->now);
}

/* After http_respond: decide about the connection, then write. */
static void conn__prepare(conn_t *c, const http_request_t *req)
{
    worker_t *w = c->w;
    c->requests++;
    w->report.requests++;
    if (c->status >= 100 && c->status < 600)
        w->report.status_class[c->status / 100]++;
    c->state = CONN_WRITE;
    c->woff = 0;
    c->sent_bytes = 0;
    if (req == NULL)
        c->linger = 1;
    conn_list_append(&w->send_list, c, w->now);
}

/* --- the state machine -------------------------------------------------- */

void conn_process(conn_t *c, uint32_t events)
{
    worker_t *w = c->w;
    http_request_t req;

    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        c->drained = 0;
    /* After the peer's FIN no further edge comes: the next read must be
     * tried, and will see the end of file. */
    if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        c->rdhup = 1;

    for (int turn = 0; turn < 64; turn++) {
        switch (c->state) {
        case CONN_LINGER:
            conn__linger(c);
            return;

        case CONN_WRITE: {
            int r = conn__write(c);
            if (r < 0) {
                conn_close(c);
                return;
            }
            if (r == 0)
                return;
            int open = c->keep_alive;
            conn__finish(c);
            if (!open)
                return;
            break;
        }

        case CONN_DISCARD_BODY: {
            if (c->rlen > 0) {
                size_t n = c->rlen < (uint64_t)c->body_left ? c->rlen : (size_t)c->body_left;
                memmove(c->rbuf, c->rbuf + n, c->rlen - n);
                c->rlen -= n;
                c->body_left -= (int64_t)n;
            }
            if (c->body_left == 0) {
                c->state = CONN_READ_HEAD;
                conn_list_append(c->rlen ? &w->header_list : &w->keepalive_list, c, w->now);
                break;
            }
            ssize_t r = conn__read(c);
            if (r < 0) {
                conn_close(c);
                return;
            }
            if (r == 0)
                return;
            conn_list_append(&w->send_list, c, w->now);
            break;
        }

        case CONN_READ_HEAD: {
            if (c->rlen > 0 && c->rlen != c->last_len) {
                ssize_t n = http_parse_request(c->rbuf, c->rlen, c->last_len,
                                               w->a.conf->max_header_size, &req);
                if (n > 0) {
                    c->head_len = (size_t)n;
                    http_respond(c, &req);
                    conn__prepare(c, &req);
                    break;
                }
                if (n == -1) {
                    c->head_len = c->rlen;
                    http_respond_error(c, req.status);
                    conn__prepare(c, NULL);
                    break;
                }
                c->last_len = c->rlen;
            }
            size_t before = c->rlen;
            ssize_t r = conn__read(c);
            if (r < 0) {
                conn_close(c);
                return;
            }
            if (r == 0) {
                if (c->rlen == 0 && c->rbuf != NULL) {
                    /* Idle: the buffer goes back to the pool. */
                    conn_buf_put(w, c->rbuf, 0);
                    c->rbuf = NULL;
                }
                if (c->rlen == w->rbuf_size && c->last_len == c->rlen) {
                    /* Full and still no end of head: the parser has
                     * answered 414/431 above unless the buffer holds a
                     * pipelined tail; treat it as too large. */
                    c->head_len = c->rlen;
                    http_respond_error(c, 431);
                    conn__prepare(c, NULL);
                    break;
                }
                return;
            }
            if (before == 0 && c->list == &w->keepalive_list) {
                /* First byte of a new request: the header timeout counts
                 * from here and is not re-armed by later bytes. */
                conn_list_append(&w->header_list, c, w->now);
            }
            break;
        }
        }
    }
    /* Many pipelined requests in a row: let other connections run first.
     * No edge will come for bytes already read, so queue it to run again;
     * it stays on its timer list meanwhile. */
    conn__ready_push(c);
}

void conn_expire(worker_t *w)
{
    conn_list_t *lists[] = { &w->header_list, &w->keepalive_list, &w->send_list, &w->linger_list };
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        for (int n = 0; n < 4096 && lists[i]->head != NULL && lists[i]->head->deadline <= w->now; n++) {
            conn_t *c = lists[i]->head;
            if (lists[i] == &w->header_list && c->rlen > 0)
                log_info("client %s: no complete request head within %.1fs: closing", conn_addr(c),
                         lists[i]->timeout);
            else if (lists[i] == &w->send_list)
                log_info("client %s: no progress for %.1fs: closing", conn_addr(c), lists[i]->timeout);
            conn_close(c);
        }
    }
}

void conn_run_ready(worker_t *w)
{
    /* Bounded: a connection put back by conn_process waits for the next
     * turn of the loop, after the others' events. */
    for (int n = 0; n < 1024 && w->ready_head != NULL; n++) {
        conn_t *c = w->ready_head;
        conn__ready_remove(c);
        conn_process(c, 0);
    }
}

void conn_close_idle(worker_t *w)
{
    while (w->keepalive_list.head != NULL)
        conn_close(w->keepalive_list.head);
    /* A new connection that sent nothing yet is idle too. */
    conn_t *c = w->header_list.head;
    while (c != NULL) {
        conn_t *next = c->next;
        if (c->rlen == 0)
            conn_close(c);
        c = next;
    }
}
