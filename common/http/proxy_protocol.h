/*
 * proxy_protocol: a parser for the header a load balancer puts in front of
 * a connection's bytes to name the real client (HAProxy's PROXY protocol,
 * doc/proxy-protocol.txt, versions 1 and 2).
 *
 * Like http_parser it is a pure function of (bytes, len): no state between
 * calls, no allocation, so the caller calls it again with the longer buffer
 * when more bytes arrive. It never guesses (the spec insists on this, since a
 * lenient receiver lets any client forge its address): the first byte must
 * start either the v1 "PROXY " prefix or the v2 12-byte signature, and a
 * mismatch is an error as soon as it is visible, never "plain HTTP, then".
 *
 * v1 (text): "PROXY TCP4|TCP6 src dst sport dport\r\n" or
 * "PROXY UNKNOWN[ anything]\r\n", at most 107 bytes including the CRLF.
 * Single spaces, addresses exactly as inet_pton reads them for the named
 * family (so TCP4 with an IPv6 address is an error), ports decimal 0..65535
 * with no sign, no leading zero and no other junk. Only printable ASCII
 * before the CRLF; a bare CR or LF is an error at once.
 *
 * v2 (binary): signature, version 2, command LOCAL (0x0) or PROXY (0x1),
 * family/transport byte, 16-bit length, then the address block and TLVs.
 *   - LOCAL (health checks): the block is skipped unread, as the spec says
 *     (its family is to be ignored); the result is local.
 *   - PROXY over TCP (STREAM) on AF_INET or AF_INET6: the addresses are used;
 *     the length must cover the address block (12 or 36 bytes).
 *   - PROXY on AF_UNSPEC or AF_UNIX: accepted and treated as local (there is
 *     no IP client address to use); AF_UNIX's length must cover its 216-byte
 *     block.
 *   - Anything else (DGRAM or unspecified transport on an IP family, unknown
 *     family, transport, version or command) is an error.
 *   - TLVs after the address block are walked and skipped, never trusted:
 *     one that does not fit in the declared length is an error.
 *   - A header longer than PROXY_PROTOCOL_MAX (1536 bytes, ample for the
 *     TLVs HAProxy sends) is an error: the caller needs a buffer that size.
 *
 * Return: bytes of header consumed (> 0) when complete, with *out filled in;
 * -2 when more bytes are needed (every proper prefix of a valid header gives
 * -2); -1 when the bytes are not a valid header. The bytes after the header
 * (the HTTP request) are not looked at. *out is zeroed first and is
 * meaningful only when the return is > 0; it holds no pointers into buf.
 */
#ifndef DROVER_PROXY_PROTOCOL_H
#define DROVER_PROXY_PROTOCOL_H

#include <stddef.h>
#include <sys/socket.h>

/* The longest v1 header, CRLF included (the spec's number). */
#define PROXY_PROTOCOL_V1_MAX 107
/* The longest header of either version this parser accepts. */
#define PROXY_PROTOCOL_MAX 1536

typedef struct {
    int version;       /* 1 or 2 */
    int family;        /* AF_INET or AF_INET6; AF_UNSPEC when local */
    unsigned local : 1; /* serve with the peer's own addresses: v1 UNKNOWN,
                         * v2 LOCAL, v2 PROXY on AF_UNSPEC or AF_UNIX */
    /* The client (src) and the address it connected to (dst), ports in
     * network byte order inside, as accept() would give them; both zeroed
     * when local. */
    struct sockaddr_storage src;
    struct sockaddr_storage dst;
    socklen_t addr_len; /* sizeof(sockaddr_in) or sizeof(sockaddr_in6); 0 when local */
} proxy_protocol_t;

int proxy_protocol_parse(const char *buf, size_t len, proxy_protocol_t *out);

#endif
