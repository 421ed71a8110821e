/*
 * proxy_tunnel: an upgraded connection (WebSocket, RFC 9110 7.8) between
 * an HTTP/1.1 client and an upstream, once the upstream answered 101.
 *
 * proxy.c forwards a request that asks to upgrade (proxy_tunnel_wanted:
 * GET, HTTP/1.1, no body, Connection naming upgrade and an Upgrade
 * header) with its Upgrade and Connection: upgrade kept, passes the 101
 * head on, and from then on runs proxy_tunnel_run on every wake-up.
 *
 * The tunnel moves bytes both ways through two bounded buffers of
 * PROXY_TUNNEL_BUF_SIZE: a side whose buffer toward the other is full is
 * not read until the other takes bytes, so a peer that does not read
 * never makes drover hold more than that. While both are empty they are
 * freed, so an idle tunnel (most WebSockets, most of the time) holds no
 * buffer; a read takes one again. The bytes that came with the
 * 101 head (upstream) and those the client sent after its request head
 * (early frames, in c->rbuf) are the first of each direction. An end of
 * file from one side is passed on as a shutdown of the write side to the
 * other, once what it sent before is delivered; the tunnel ends when both
 * sides are done, or at the first error of either. The idle timeout
 * (the upstream's tunnel_timeout) is proxy.c's timer, re-armed whenever a
 * byte moves.
 *
 * The client side goes through c->tr (TLS too): a TLS read may leave
 * decrypted bytes inside OpenSSL that no epoll event will announce, so
 * the tunnel reads whenever it has room rather than waiting for an event.
 */
#ifndef DROVER_PROXY_TUNNEL_H
#define DROVER_PROXY_TUNNEL_H

#include <stddef.h>

#include "conn.h"
#include "http_parser.h"
#include "str.h"

#define PROXY_TUNNEL_BUF_SIZE 65536

typedef struct proxy_tunnel_s proxy_tunnel_t;

/* The first Upgrade value of a request that asks to upgrade, else len 0
 * (proxy_request_head sends every Upgrade line's value, joined). */
str_t proxy_tunnel_wanted(const http_request_t *req);

/* A tunnel on upstream socket fd (still owned by the caller), taking buf
 * (malloc'd, cap bytes, holding upstream bytes [off, len)) and the
 * client's bytes after its head in c->rbuf. The 101 head is in c->wbuf.
 * NULL when out of memory (buf is freed). */
proxy_tunnel_t *proxy_tunnel_start(conn_t *c, int fd, char *buf, size_t cap, size_t off,
                                   size_t len);

/* Moves what the sockets allow: 0 go on, 1 the tunnel is over (both sides
 * done, or an error, logged). *progress is set when a byte moved. */
int proxy_tunnel_run(proxy_tunnel_t *t, conn_t *c, int *progress);

void proxy_tunnel_free(proxy_tunnel_t *t);

#endif
