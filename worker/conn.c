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
#include <sys/socket.h>
#include <unistd.h>

#include "access.h"
#include "auth_pool.h"
#include "file_cache.h"
#include "host_metrics.h"
#include "log.h"
#include "balance.h"

/* Pools keep at most this many free buffers each; the rest go back to
 * malloc, so a burst does not pin memory for ever. */
#define CONN_POOL_MAX 256
/* Free conn_t structures kept for reuse. */
#define CONN_FREE_MAX 1024

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
    list_remove(&c->timer);
    c->list = NULL;
}

void conn_list_append(conn_list_t *l, conn_t *c, double now)
{
    list_remove(&c->timer);
    c->deadline = now + l->timeout;
    c->list = l;
    list_insert_tail(&l->head, &c->timer);
}

void conn_keepalive(conn_t *c)
{
    worker_t *w = c->w;
    conn_list_append(&w->keepalive_list, c, w->now);
    if (c->tr->idle != NULL)
        c->tr->idle(&c->io, w->num_conns > CONN_IDLE_KEEP_BUFFERS);
}

static conn_t *conn__first(const conn_list_t *l)
{
    list_t *q = list_first(&l->head);
    return q ? list_entry(q, conn_t, timer) : NULL;
}

void conn_ready_push(conn_t *c)
{
    if (!list_linked(&c->ready))
        list_insert_tail(&c->w->ready, &c->ready);
}

/* The number of connections, in the accept balance (after one opens or
 * closes). */
static void conn__publish_count(worker_t *w)
{
    if (w->a.balance != NULL && w->a.cell < BALANCE_CELLS)
        __atomic_store_n(&w->a.balance->conns[w->a.cell], (uint32_t)w->num_conns, __ATOMIC_RELAXED);
}

/* --- life cycle --------------------------------------------------------- */

static void conn__free(worker_t *w, conn_t *c)
{
    if (w->conn_free_n < CONN_FREE_MAX) {
        list_insert_head(&w->conn_free, &c->timer);
        w->conn_free_n++;
    } else {
        free(c);
    }
}

conn_t *conn_new(worker_t *w, int fd, const struct sockaddr *sa, const transport_t *tr,
                 conn_process_fn process)
{
    conn_t *c;
    list_t *q = list_first(&w->conn_free);
    if (q != NULL) {
        list_remove(q);
        w->conn_free_n--;
        c = list_entry(q, conn_t, timer);
    } else {
        c = malloc(sizeof(*c));
        if (c == NULL) {
            log_error("malloc(conn): out of memory");
            close(fd);
            return NULL;
        }
    }
    memset(c, 0, offsetof(conn_t, addr));
    list_init(&c->timer);
    list_init(&c->ready);
    c->io.fd = fd;
    c->tr = tr;
    c->process = process;
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
        conn__free(w, c);
        return NULL;
    }
    w->num_conns++;
    conn__publish_count(w);
    conn_list_append(&w->header_list, c, w->now);
    return c;
}

const char *conn_addr(conn_t *c)
{
    if (c->addr[0] == '\0') {
        int family;
        const void *a = conn_peer(c, &family);
        if (inet_ntop(family, a, c->addr, sizeof(c->addr)) == NULL)
            strcpy(c->addr, "-");
    }
    return c->addr;
}

const void *conn_peer(const conn_t *c, int *family)
{
    *family = c->sa.sa_family;
    return c->sa.sa_family == AF_INET6 ? (const void *)&c->sa.in6.sin6_addr
                                       : (const void *)&c->sa.in4.sin_addr;
}

void conn_note_events(conn_t *c, uint32_t events)
{
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        c->drained = 0;
    /* After the peer's FIN no further edge comes: the next read must be
     * tried, and will see the end of file. */
    if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        c->rdhup = 1;
}

const char *conn_file_map(conn_t *c)
{
    return c->file_ref != NULL && c->tr->maps_files ? file_cache_map(c->file_ref, c->file_fd)
                                                    : NULL;
}

static void conn__release_file(conn_t *c)
{
    c->io.map = NULL;
    if (c->file_ref != NULL) {
        file_cache_unref(c->w->fc, c->file_ref);
        c->file_ref = NULL;
    } else if (c->file_fd >= 0) {
        close(c->file_fd);
    }
    c->file_fd = -1;
}

void conn_resume(conn_t *c, void *job)
{
    if (c->proto_ops != NULL && c->proto_ops->resume != NULL) {
        c->proto_ops->resume(c, job);
        return;
    }
    c->auth_job = NULL;
    if (c->state != CONN_WAIT)
        return;
    c->state = CONN_READ_HEAD;
    c->last_len = 0; /* parse the head again */
    conn_ready_push(c);
}

void conn_close(conn_t *c)
{
    worker_t *w = c->w;
    if (c->proto_ops != NULL && c->proto_ops->release != NULL)
        c->proto_ops->release(c);
    conn_list_remove(c);
    list_remove(&c->ready);
    access_conn_closed(w, &c->limit_conn_key);
    auth_pool_forget(c->auth_job);
    c->auth_job = NULL;
    conn__release_file(c);
    conn_buf_put(w, c->rbuf, 0);
    conn_buf_put(w, c->wbuf, 1);
    c->rbuf = c->wbuf = NULL;
    c->tr->close(&c->io);
    w->num_conns--;
    conn__publish_count(w);
    conn__free(w, c);
}

/* Closing after a response the client may still be sending to: shut our
 * side, then read and drop until the client closes (or a short limit), so
 * the kernel does not answer unread bytes with a RST that could destroy the
 * response before the client read it. */
void conn_start_linger(conn_t *c)
{
    if (!c->linger || c->eof) {
        conn_close(c);
        return;
    }
    c->tr->shutdown(&c->io);
    c->state = CONN_LINGER;
    conn_list_append(&c->w->linger_list, c, c->w->now);
}

void conn_linger(conn_t *c)
{
    char buf[4096];
    for (int i = 0; i < 16; i++) {
        ssize_t n = c->tr->recv(&c->io, buf, sizeof(buf));
        if (n > 0)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        conn_close(c); /* end of file or an error: the client is done */
        return;
    }
    /* Still sending (a large refused body): come back next turn rather
     * than close on unread bytes, which is the RST lingering avoids. The
     * linger timer still bounds it. */
    conn_ready_push(c);
}

/* --- reading ------------------------------------------------------------ */

ssize_t conn_read(conn_t *c)
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
    ssize_t n = c->tr->recv(&c->io, c->rbuf + c->rlen, room);
    if (n > 0) {
        c->rlen += (size_t)n;
        c->midway = 0; /* rbuf shows the client's bytes from here */
        /* Edge-triggered: a short read emptied the socket, and bytes that
         * arrive later raise a new event. Not reading again until then
         * saves the read() that would only say EAGAIN. */
        if (!c->rdhup && c->io.emptied)
            c->drained = 1;
        return n;
    }
    if (n == 0) {
        c->eof = 1;
        return -1;
    }
    if (errno == EAGAIN) {
        c->drained = 1;
        return 0;
    }
    return -1;
}

/* --- writing ------------------------------------------------------------ */

void conn_sent(conn_t *c, size_t n)
{
    c->sent_bytes += (uint64_t)n;
    c->w->report.bytes_sent += (uint64_t)n;
    host_metrics_bytes(c, (uint64_t)n);
}

int conn_write(conn_t *c)
{
    worker_t *w = c->w;
    int progress = 0;
next_piece:
    while (c->woff < c->wlen) {
        /* "More" when a file follows keeps headers and the first bytes of
         * the body in one segment. */
        int more = c->file_fd >= 0 && c->file_off < c->file_end;
        c->io.last = !more && !c->keep_alive && c->piece >= c->npieces;
        ssize_t n = c->tr->send(&c->io, c->wbuf + c->woff, c->wlen - c->woff, more);
        c->io.last = 0;
        if (n < 0) {
            if (errno == EAGAIN)
                goto again;
            return -1;
        }
        c->woff += (size_t)n;
        conn_sent(c, (size_t)n);
        progress = 1;
    }
    while (c->file_fd >= 0 && c->file_off < c->file_end) {
        size_t chunk = (size_t)(c->file_end - c->file_off);
        if (chunk > (1 << 20))
            chunk = 1 << 20; /* bounds one call; the loop goes on to EAGAIN */
        ssize_t n = c->tr->sendfile(&c->io, c->file_fd, &c->file_off, chunk);
        if (n < 0) {
            if (errno == EAGAIN)
                goto again;
            if (errno == EPIPE || errno == ECONNRESET)
                /* The client went away mid-download: its choice, not our
                 * failure (nginx logs it at info too). */
                log_info("client %s: sendfile(): %s: download aborted", conn_addr(c), strerror(errno));
            else if (errno == EIO)
                /* TLS reads the file itself: it came up short */
                log_warn("client %s: file truncated while being sent: closing", conn_addr(c));
            else
                log_error("sendfile(): %s", strerror(errno));
            return -1;
        }
        if (n == 0) {
            /* The file shrank under us: the promised length cannot be met. */
            log_warn("sendfile(): file truncated while being sent");
            return -1;
        }
        conn_sent(c, (size_t)n);
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

void conn_output_done(conn_t *c)
{
    conn__release_file(c);
    conn_buf_put(c->w, c->wbuf, 1);
    c->wbuf = NULL;
    c->wlen = c->woff = 0;
    c->pieces = NULL; /* it pointed into wbuf */
    c->npieces = c->piece = 0;
}

/* --- timers and the ready queue ---------------------------------------- */

void conn_expire(worker_t *w)
{
    conn_list_t *lists[] = { &w->header_list, &w->keepalive_list, &w->send_list, &w->linger_list,
                             &w->body_list, &w->proxy_list };
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        conn_t *c;
        for (int n = 0; n < 4096 && (c = conn__first(lists[i])) != NULL && c->deadline <= w->now; n++) {
            if (c->proxy_next != NULL)
                log_info("client %s: no PROXY protocol header within %.1fs: closing", conn_addr(c),
                         lists[i]->timeout);
            else if (lists[i] == &w->header_list && c->midway && c->tls_version == NULL)
                log_info("client %s: TLS handshake not finished within %.1fs: closing",
                         conn_addr(c), lists[i]->timeout);
            else if (lists[i] == &w->header_list && c->rlen > 0)
                log_info("client %s: no complete request head within %.1fs: closing", conn_addr(c),
                         lists[i]->timeout);
            else if (lists[i] == &w->send_list)
                log_info("client %s: no progress for %.1fs: closing", conn_addr(c), lists[i]->timeout);
            else if (lists[i] == &w->body_list)
                log_info("client %s: request body too slow: closing", conn_addr(c));
            if (c->proto_ops != NULL && c->proto_ops->expire != NULL)
                c->proto_ops->expire(c); /* HTTP/2: GOAWAY first */
            else
                conn_close(c);
        }
    }
}

double conn_next_deadline(worker_t *w, double later)
{
    conn_list_t *lists[] = { &w->header_list, &w->keepalive_list, &w->send_list, &w->linger_list,
                             &w->body_list, &w->proxy_list };
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        conn_t *c = conn__first(lists[i]);
        if (c != NULL && c->deadline < later)
            later = c->deadline;
    }
    return later;
}

void conn_run_ready(worker_t *w)
{
    /* Bounded: a connection put back by its protocol waits for the next
     * turn of the loop, after the others' events. */
    list_t *q;
    for (int n = 0; n < 1024 && (q = list_first(&w->ready)) != NULL; n++) {
        conn_t *c = list_entry(q, conn_t, ready);
        list_remove(q);
        conn_process(c, 0);
    }
}

void conn_close_idle(worker_t *w)
{
    conn_t *c;
    while ((c = conn__first(&w->keepalive_list)) != NULL) {
        if (c->proto_ops != NULL && c->proto_ops->drain != NULL)
            c->proto_ops->drain(c); /* HTTP/2: GOAWAY, open streams finish */
        else
            conn_close(c);
    }
    /* A new connection that sent nothing yet is idle too; one in the
     * middle of its TLS handshake is not: it goes on until its request is
     * answered or client_header_timeout ends it, as a half-sent request
     * head does. */
    list_t *q, *tmp;
    list_foreach_safe(q, tmp, &w->header_list.head) {
        c = list_entry(q, conn_t, timer);
        if (c->rlen == 0 && !c->midway)
            conn_close(c);
    }
}

int conn_close_idle_oldest(worker_t *w, int n)
{
    conn_t *c;
    int closed = 0;
    while (closed < n && (c = conn__first(&w->keepalive_list)) != NULL) {
        conn_close(c);
        closed++;
    }
    return closed;
}
