/*
 * proxy_header: see proxy_header.h.
 */
#include "proxy_header.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "conf.h"
#include "log.h"
#include "proxy_protocol.h"

/* Refusals from untrusted peers are logged at most this often: a scan of
 * the listener must not flood the error log. */
#define PROXY_REFUSED_LOG_EVERY 1.0

void proxy_header_start(conn_t *c)
{
    c->proxy_next = c->process;
    c->process = proxy_header_process;
}

/* A peer not in proxy_trusted: logged, rate-limited per worker. */
static void proxy_header__refused(conn_t *c)
{
    worker_t *w = c->w;
    if (w->proxy_refused_logged != 0 && w->now - w->proxy_refused_logged < PROXY_REFUSED_LOG_EVERY) {
        w->proxy_refused_quiet++;
        return;
    }
    if (w->proxy_refused_quiet > 0)
        log_warn("client %s: not in proxy_trusted, may not send a PROXY protocol header: "
                 "closing (and %lu more since the last line)",
                 conn_addr(c), w->proxy_refused_quiet);
    else
        log_warn("client %s: not in proxy_trusted, may not send a PROXY protocol header: closing",
                 conn_addr(c));
    w->proxy_refused_logged = w->now;
    w->proxy_refused_quiet = 0;
}

/* The header's client becomes the connection's address. */
static void proxy_header__set_client(conn_t *c, const proxy_protocol_t *pp)
{
    if (pp->local)
        return; /* health checks and UNKNOWN: the peer's own address */
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&pp->src;
    if (pp->family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
        /* ::ffff:a.b.c.d (a balancer on a dual-stack socket) is an IPv4
         * client: logged and matched against status.allow as one. */
        memset(&c->sa.in4, 0, sizeof(c->sa.in4));
        c->sa.in4.sin_family = AF_INET;
        c->sa.in4.sin_port = s6->sin6_port;
        memcpy(&c->sa.in4.sin_addr, &s6->sin6_addr.s6_addr[12], 4);
    } else if (pp->family == AF_INET6) {
        memcpy(&c->sa.in6, &pp->src, sizeof(c->sa.in6));
    } else {
        memcpy(&c->sa.in4, &pp->src, sizeof(c->sa.in4));
    }
    c->addr[0] = '\0'; /* formatted again on first use */
}

void proxy_header_process(conn_t *c, uint32_t events)
{
    const conf_t *conf = c->w->a.conf;
    int family;
    const void *peer = conn_peer(c, &family);

    conn_note_events(c, events);
    if (!conf_cidr_match(conf->proxy_trusted, conf->num_proxy_trusted, family, peer)) {
        proxy_header__refused(c);
        conn_close(c);
        return;
    }

    /* Peeked, not read: until the parser sees the whole header, nothing is
     * taken off the socket, so nothing after the header is ever read here
     * (a TLS ClientHello must reach the transport untouched). */
    char buf[PROXY_PROTOCOL_MAX];
    ssize_t n;
    do
        n = recv(c->io.fd, buf, sizeof(buf), MSG_PEEK);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno == EAGAIN)
            return; /* edge-triggered: the next bytes bring an event */
        log_info("client %s: recv(): %s: closing", conn_addr(c), strerror(errno));
        conn_close(c);
        return;
    }
    if (n == 0) {
        conn_close(c); /* gone before sending anything */
        return;
    }
    proxy_protocol_t pp;
    int r = proxy_protocol_parse(buf, (size_t)n, &pp);
    if (r == -2) {
        if (c->rdhup) {
            /* The peer has shut its side: what is here is all there is. */
            log_info("client %s: PROXY protocol header cut short (%zd bytes): closing",
                     conn_addr(c), n);
            conn_close(c);
        }
        return;
    }
    if (r < 0) {
        log_info("client %s: malformed PROXY protocol header: closing", conn_addr(c));
        conn_close(c);
        return;
    }
    /* The bytes were peeked, so this read returns all r at once. */
    ssize_t got = recv(c->io.fd, buf, (size_t)r, 0);
    if (got != r) {
        log_error("client %s: recv() of a peeked PROXY header returned %zd of %d: %s",
                  conn_addr(c), got, r, got < 0 ? strerror(errno) : "short");
        conn_close(c);
        return;
    }
    proxy_header__set_client(c, &pp);
    c->process = c->proxy_next;
    c->proxy_next = NULL;
    /* What follows the header may already be waiting, and no new edge will
     * announce it: run the protocol now, as if the socket were readable. */
    conn_process(c, events | EPOLLIN);
}
