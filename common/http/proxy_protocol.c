/*
 * proxy_protocol: the PROXY protocol header parser (see proxy_protocol.h).
 */
#include "proxy_protocol.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

static const char v1_prefix[] = "PROXY ";
#define V1_PREFIX_LEN (sizeof(v1_prefix) - 1)

static const unsigned char v2_sig[12] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
                                          0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a };
#define V2_HEAD_LEN 16

/* v2 byte 13: version in the high nibble, command in the low one. */
#define V2_VERSION 0x2
#define V2_CMD_LOCAL 0x0
#define V2_CMD_PROXY 0x1
/* v2 byte 14: address family in the high nibble, transport in the low one. */
#define V2_AF_UNSPEC 0x0
#define V2_AF_INET 0x1
#define V2_AF_INET6 0x2
#define V2_AF_UNIX 0x3
#define V2_TRANSPORT_UNSPEC 0x0
#define V2_TRANSPORT_STREAM 0x1
#define V2_TRANSPORT_DGRAM 0x2
/* Address block sizes per family (src + dst addresses, then ports). */
#define V2_ADDR_INET 12
#define V2_ADDR_INET6 36
#define V2_ADDR_UNIX 216

/* Parses a v1 port: "0" or 1..5 digits without a leading zero, <= 65535. */
static int v1_port(const char *p, size_t n, uint16_t *port)
{
    unsigned v = 0;

    if (n == 0 || n > 5 || (p[0] == '0' && n > 1))
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (unsigned)(p[i] - '0');
    }
    if (v > 65535)
        return -1;
    *port = (uint16_t)v;
    return 0;
}

/* Parses a v1 address with inet_pton, which wants a NUL-terminated copy. */
static int v1_addr(const char *p, size_t n, int family, void *dst)
{
    char tmp[INET6_ADDRSTRLEN];

    if (n == 0 || n >= sizeof(tmp))
        return -1;
    memcpy(tmp, p, n);
    tmp[n] = '\0';
    return inet_pton(family, tmp, dst) == 1 ? 0 : -1;
}

/* Fills out's src and dst from raw addresses (4 or 16 bytes each) and ports
 * already in network byte order. */
static void set_addrs(proxy_protocol_t *out, int family, const void *src, const void *dst,
                      uint16_t sport_be, uint16_t dport_be)
{
    out->family = family;
    if (family == AF_INET) {
        struct sockaddr_in *s = (struct sockaddr_in *)&out->src;
        struct sockaddr_in *d = (struct sockaddr_in *)&out->dst;
        s->sin_family = d->sin_family = AF_INET;
        memcpy(&s->sin_addr, src, 4);
        memcpy(&d->sin_addr, dst, 4);
        s->sin_port = sport_be;
        d->sin_port = dport_be;
        out->addr_len = sizeof(struct sockaddr_in);
    } else {
        struct sockaddr_in6 *s = (struct sockaddr_in6 *)&out->src;
        struct sockaddr_in6 *d = (struct sockaddr_in6 *)&out->dst;
        s->sin6_family = d->sin6_family = AF_INET6;
        memcpy(&s->sin6_addr, src, 16);
        memcpy(&d->sin6_addr, dst, 16);
        s->sin6_port = sport_be;
        d->sin6_port = dport_be;
        out->addr_len = sizeof(struct sockaddr_in6);
    }
}

static void set_local(proxy_protocol_t *out)
{
    out->local = 1;
    out->family = AF_UNSPEC;
}

/* Parses the line between "PROXY " and the CR at buf[cr]. */
static int v1_line(const char *buf, size_t cr, proxy_protocol_t *out)
{
    /* The five fields: protocol, src, dst, sport, dport. */
    const char *f[5];
    size_t flen[5];
    size_t nf = 0, pos = V1_PREFIX_LEN;
    int family;
    unsigned char src[16], dst[16];
    uint16_t sport, dport;

    for (;;) {
        size_t start = pos;
        while (pos < cr && buf[pos] != ' ')
            pos++;
        if (nf == 5)
            return -1;
        f[nf] = buf + start;
        flen[nf] = pos - start;
        nf++;
        /* UNKNOWN: whatever follows, up to the CRLF, is to be ignored. */
        if (nf == 1 && flen[0] == 7 && memcmp(f[0], "UNKNOWN", 7) == 0) {
            set_local(out);
            return 0;
        }
        if (flen[nf - 1] == 0)
            return -1; /* two spaces in a row, or a space before the CRLF */
        if (pos == cr)
            break;
        pos++; /* the single space */
    }
    if (nf != 5)
        return -1;
    if (flen[0] == 4 && memcmp(f[0], "TCP4", 4) == 0)
        family = AF_INET;
    else if (flen[0] == 4 && memcmp(f[0], "TCP6", 4) == 0)
        family = AF_INET6;
    else
        return -1;
    if (v1_addr(f[1], flen[1], family, src) < 0 || v1_addr(f[2], flen[2], family, dst) < 0 ||
        v1_port(f[3], flen[3], &sport) < 0 || v1_port(f[4], flen[4], &dport) < 0)
        return -1;
    set_addrs(out, family, src, dst, htons(sport), htons(dport));
    return 0;
}

static int parse_v1(const char *buf, size_t len, proxy_protocol_t *out)
{
    size_t n = len < PROXY_PROTOCOL_V1_MAX ? len : PROXY_PROTOCOL_V1_MAX;

    /* Judge each byte as it arrives, so a line that cannot be a header is
     * refused now rather than after 107 bytes or the header timeout. */
    for (size_t i = V1_PREFIX_LEN; i < n; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (c == '\r') {
            if (i + 1 >= PROXY_PROTOCOL_V1_MAX)
                return -1; /* the LF would be byte 108 */
            if (i + 1 >= len)
                return -2;
            if (buf[i + 1] != '\n')
                return -1;
            out->version = 1;
            return v1_line(buf, i, out) < 0 ? -1 : (int)(i + 2);
        }
        if (c < 0x20 || c > 0x7e)
            return -1;
    }
    return len >= PROXY_PROTOCOL_V1_MAX ? -1 : -2;
}

/* Walks the TLVs in buf[0..n): each is a type byte, a 16-bit big-endian
 * length and that many bytes of value. None is used; all must fit. */
static int v2_tlvs(const unsigned char *p, size_t n)
{
    size_t pos = 0;

    while (pos < n) {
        if (n - pos < 3)
            return -1;
        size_t vlen = (size_t)p[pos + 1] << 8 | p[pos + 2];
        if (vlen > n - pos - 3)
            return -1;
        pos += 3 + vlen;
    }
    return 0;
}

static int parse_v2(const unsigned char *p, size_t len, proxy_protocol_t *out)
{
    unsigned version, command, family, transport;
    size_t body, need;

    /* Each fixed byte is judged as soon as it is there. */
    if (len < 13)
        return -2;
    version = p[12] >> 4;
    command = p[12] & 0x0f;
    if (version != V2_VERSION || (command != V2_CMD_LOCAL && command != V2_CMD_PROXY))
        return -1;
    if (len < 14)
        return -2;
    family = p[13] >> 4;
    transport = p[13] & 0x0f;
    if (command == V2_CMD_PROXY) {
        if (family > V2_AF_UNIX || transport > V2_TRANSPORT_DGRAM)
            return -1;
        if ((family == V2_AF_INET || family == V2_AF_INET6) && transport != V2_TRANSPORT_STREAM)
            return -1;
    }
    if (len < V2_HEAD_LEN)
        return -2;
    body = (size_t)p[14] << 8 | p[15];
    if (body > PROXY_PROTOCOL_MAX - V2_HEAD_LEN)
        return -1;
    need = 0;
    if (command == V2_CMD_PROXY) {
        need = family == V2_AF_INET    ? V2_ADDR_INET
               : family == V2_AF_INET6 ? V2_ADDR_INET6
               : family == V2_AF_UNIX  ? V2_ADDR_UNIX
                                       : 0;
        if (body < need)
            return -1;
    }
    if (len < V2_HEAD_LEN + body)
        return -2;

    out->version = 2;
    if (command == V2_CMD_LOCAL) {
        /* The spec: discard the block, family included, and use the real
         * endpoints. Its contents are not ours to judge. */
        set_local(out);
        return (int)(V2_HEAD_LEN + body);
    }
    if (v2_tlvs(p + V2_HEAD_LEN + need, body - need) < 0)
        return -1;

    const unsigned char *a = p + V2_HEAD_LEN;
    uint16_t sport, dport;
    if (family == V2_AF_INET) {
        memcpy(&sport, a + 8, 2);
        memcpy(&dport, a + 10, 2);
        set_addrs(out, AF_INET, a, a + 4, sport, dport);
    } else if (family == V2_AF_INET6) {
        memcpy(&sport, a + 32, 2);
        memcpy(&dport, a + 34, 2);
        set_addrs(out, AF_INET6, a, a + 16, sport, dport);
    } else {
        set_local(out);
    }
    return (int)(V2_HEAD_LEN + body);
}

int proxy_protocol_parse(const char *buf, size_t len, proxy_protocol_t *out)
{
    const unsigned char *p = (const unsigned char *)buf;
    size_t n;

    memset(out, 0, sizeof(*out));
    if (len == 0)
        return -2;
    /* The two signatures differ in their first byte, so one byte decides
     * which to compare against. */
    if (p[0] == (unsigned char)v1_prefix[0]) {
        n = len < V1_PREFIX_LEN ? len : V1_PREFIX_LEN;
        if (memcmp(buf, v1_prefix, n) != 0)
            return -1;
        return len < V1_PREFIX_LEN ? -2 : parse_v1(buf, len, out);
    }
    if (p[0] == v2_sig[0]) {
        n = len < sizeof(v2_sig) ? len : sizeof(v2_sig);
        if (memcmp(p, v2_sig, n) != 0)
            return -1;
        return len < sizeof(v2_sig) ? -2 : parse_v2(p, len, out);
    }
    return -1;
}
