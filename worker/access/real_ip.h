/*
 * real_ip: the client behind trusted proxies (README "Access control",
 * real_ip: {header, trusted}).
 *
 * The peer of a connection (after a PROXY protocol header, which already
 * replaced it) is the client unless it is trusted. When it is, the header
 * (X-Forwarded-For, or Forwarded's for=) is read from the right: each proxy
 * appends the address it saw, so the rightmost entry that is not itself a
 * trusted proxy is the first address no trusted party vouches past; what
 * lies left of it the client wrote itself. An entry that is not an address
 * ("unknown", an obfuscated name, garbage) ends the walk at the last
 * trusted hop. From an untrusted peer the header is ignored: anyone can
 * send it.
 *
 * The access log, allow/deny, the limits and the failed-auth counts all
 * use the address this gives. Pure: no allocation, no state.
 */
#ifndef DROVER_REAL_IP_H
#define DROVER_REAL_IP_H

#include <netinet/in.h>
#include <arpa/inet.h>

#include "conf_access.h"
#include "http_parser.h"

typedef struct {
    int family;                   /* AF_INET or AF_INET6 */
    unsigned char addr[16];       /* its in_addr or in6_addr */
    char text[INET6_ADDRSTRLEN];  /* "" when it is the peer (conn_addr has it) */
} real_ip_t;

/* The client of req that arrived from peer (family, addr) into out. */
void real_ip_resolve(const conf_real_ip_t *conf, const http_request_t *req, int family,
                     const void *addr, real_ip_t *out);

/* One entry of the header ("192.0.2.1", "[2001:db8::1]:443", for Forwarded
 * an element such as for="[2001:db8::1]";proto=https) as an address.
 * 0, or -1 when it is none. */
int real_ip_parse(str_t entry, int forwarded, int *family, unsigned char addr[16]);

#endif
