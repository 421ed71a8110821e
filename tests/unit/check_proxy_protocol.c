/*
 * Unit tests for common/http/proxy_protocol: the PROXY protocol v1/v2 header
 * parser. Every input is copied so that it ends right before a PROT_NONE page
 * (picohttpparser's trick, as in check_http_parser.c): a parser that reads one
 * byte past len crashes the test instead of passing by luck.
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guarded.h"
#include "proxy_protocol.h"

/* Parses a guarded copy of s, unmapped after (the result holds no
 * pointers into it). */
static int parse_len(const void *s, size_t len, proxy_protocol_t *out)
{
    char *buf = guarded(s, len);
    int r = proxy_protocol_parse(buf, len, out);
    guarded_free(buf, len);
    return r;
}

static int parse(const char *s, proxy_protocol_t *out)
{
    return parse_len(s, strlen(s), out);
}

/* Every proper prefix of a valid header is -2, the whole is its length, and
 * the same with HTTP bytes after it still consumes exactly the header. */
static void check_prefixes(const void *h, size_t n)
{
    static const char http[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    unsigned char buf[PROXY_PROTOCOL_MAX + sizeof(http)];
    proxy_protocol_t pp;

    ck_assert_uint_le(n, PROXY_PROTOCOL_MAX);
    for (size_t k = 0; k < n; k++)
        ck_assert_msg(parse_len(h, k, &pp) == -2, "prefix of %zu bytes (of %zu) not -2", k, n);
    ck_assert_int_eq(parse_len(h, n, &pp), (int)n);
    memcpy(buf, h, n);
    memcpy(buf + n, http, sizeof(http) - 1);
    ck_assert_int_eq(parse_len(buf, n + sizeof(http) - 1, &pp), (int)n);
}

static void check_v4(const proxy_protocol_t *pp, const char *src, int sport, const char *dst,
                     int dport)
{
    const struct sockaddr_in *s = (const struct sockaddr_in *)&pp->src;
    const struct sockaddr_in *d = (const struct sockaddr_in *)&pp->dst;
    char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];

    ck_assert_int_eq(pp->local, 0);
    ck_assert_int_eq(pp->family, AF_INET);
    ck_assert_int_eq(pp->addr_len, sizeof(struct sockaddr_in));
    ck_assert_int_eq(s->sin_family, AF_INET);
    ck_assert_int_eq(d->sin_family, AF_INET);
    ck_assert_str_eq(inet_ntop(AF_INET, &s->sin_addr, a, sizeof(a)), src);
    ck_assert_str_eq(inet_ntop(AF_INET, &d->sin_addr, b, sizeof(b)), dst);
    ck_assert_int_eq(ntohs(s->sin_port), sport);
    ck_assert_int_eq(ntohs(d->sin_port), dport);
}

static void check_v6(const proxy_protocol_t *pp, const char *src, int sport, const char *dst,
                     int dport)
{
    const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)&pp->src;
    const struct sockaddr_in6 *d = (const struct sockaddr_in6 *)&pp->dst;
    char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];

    ck_assert_int_eq(pp->local, 0);
    ck_assert_int_eq(pp->family, AF_INET6);
    ck_assert_int_eq(pp->addr_len, sizeof(struct sockaddr_in6));
    ck_assert_int_eq(s->sin6_family, AF_INET6);
    ck_assert_str_eq(inet_ntop(AF_INET6, &s->sin6_addr, a, sizeof(a)), src);
    ck_assert_str_eq(inet_ntop(AF_INET6, &d->sin6_addr, b, sizeof(b)), dst);
    ck_assert_int_eq(ntohs(s->sin6_port), sport);
    ck_assert_int_eq(ntohs(d->sin6_port), dport);
}

static void check_local(const proxy_protocol_t *pp)
{
    ck_assert_int_eq(pp->local, 1);
    ck_assert_int_eq(pp->family, AF_UNSPEC);
    ck_assert_int_eq(pp->addr_len, 0);
}

/* ---- v1 ---- */

START_TEST(test_v1_tcp4)
{
    const char *h = "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n";
    proxy_protocol_t pp;

    ck_assert_int_eq(parse(h, &pp), (int)strlen(h));
    ck_assert_int_eq(pp.version, 1);
    check_v4(&pp, "192.0.2.1", 56324, "198.51.100.2", 443);
    check_prefixes(h, strlen(h));

    ck_assert_int_eq(parse("PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n", &pp), 44);
    check_v4(&pp, "0.0.0.0", 0, "255.255.255.255", 65535);
}
END_TEST

START_TEST(test_v1_tcp6)
{
    const char *h = "PROXY TCP6 2001:db8::1 2001:db8::2 1 80\r\n";
    const char *full = "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
                       "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
    proxy_protocol_t pp;

    ck_assert_int_eq(parse(h, &pp), (int)strlen(h));
    ck_assert_int_eq(pp.version, 1);
    check_v6(&pp, "2001:db8::1", 1, "2001:db8::2", 80);
    check_prefixes(h, strlen(h));

    ck_assert_int_eq(parse(full, &pp), 104);
    check_v6(&pp, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535,
             "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535);
    check_prefixes(full, strlen(full));

    ck_assert_int_eq(parse("PROXY TCP6 ::ffff:192.0.2.1 :: 5 6\r\n", &pp), 36);
    check_v6(&pp, "::ffff:192.0.2.1", 5, "::", 6);
}
END_TEST

START_TEST(test_v1_unknown)
{
    /* The spec's worst case: exactly 107 bytes. */
    const char *longest = "PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
                          "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
    proxy_protocol_t pp;

    ck_assert_int_eq(parse("PROXY UNKNOWN\r\n", &pp), 15);
    ck_assert_int_eq(pp.version, 1);
    check_local(&pp);
    check_prefixes("PROXY UNKNOWN\r\n", 15);

    ck_assert_uint_eq(strlen(longest), PROXY_PROTOCOL_V1_MAX);
    ck_assert_int_eq(parse(longest, &pp), PROXY_PROTOCOL_V1_MAX);
    check_local(&pp);
    check_prefixes(longest, strlen(longest));

    /* After UNKNOWN anything printable goes, even what TCP4 would refuse. */
    ck_assert_int_eq(parse("PROXY UNKNOWN  junk  \r\n", &pp), 23);
    check_local(&pp);
}
END_TEST

START_TEST(test_v1_length_limit)
{
    char buf[200];
    proxy_protocol_t pp;

    /* 107 bytes without a CRLF: nothing more can make it a header. */
    memset(buf, 'x', sizeof(buf));
    memcpy(buf, "PROXY UNKNOWN ", 14);
    ck_assert_int_eq(parse_len(buf, 106, &pp), -2);
    ck_assert_int_eq(parse_len(buf, 107, &pp), -1);
    ck_assert_int_eq(parse_len(buf, sizeof(buf), &pp), -1);

    /* A CR as byte 107: its LF would be byte 108. */
    buf[106] = '\r';
    buf[107] = '\n';
    ck_assert_int_eq(parse_len(buf, 107, &pp), -1);
    ck_assert_int_eq(parse_len(buf, 108, &pp), -1);

    /* The CRLF as bytes 106 and 107 is the longest there is. */
    buf[105] = '\r';
    buf[106] = '\n';
    ck_assert_int_eq(parse_len(buf, 106, &pp), -2);
    ck_assert_int_eq(parse_len(buf, 107, &pp), 107);
    check_local(&pp);
}
END_TEST

static const char *const v1_bad[] = {
    /* Not a header at all, or a header spelled otherwise. */
    "GET / HTTP/1.1\r\n\r\n",
    "proxy TCP4 192.0.2.1 192.0.2.2 1 2\r\n",
    "Proxy TCP4 192.0.2.1 192.0.2.2 1 2\r\n",
    "PROXY\r\n",
    "PROXY \r\n",
    "PROXYTCP4 192.0.2.1 192.0.2.2 1 2\r\n",
    " PROXY TCP4 192.0.2.1 192.0.2.2 1 2\r\n",
    /* Protocols. */
    "PROXY tcp4 192.0.2.1 192.0.2.2 1 2\r\n",
    "PROXY TCP5 192.0.2.1 192.0.2.2 1 2\r\n",
    "PROXY UDP4 192.0.2.1 192.0.2.2 1 2\r\n",
    "PROXY TCP 192.0.2.1 192.0.2.2 1 2\r\n",
    "PROXY TCP44 192.0.2.1 192.0.2.2 1 2\r\n",
    "PROXY UNKNOWNX\r\n",
    "PROXY unknown\r\n",
    "PROXY TCP4\r\n",
    "PROXY TCP4 \r\n",
    /* Spaces: exactly one between fields, none at the ends. */
    "PROXY  TCP4 192.0.2.1 192.0.2.2 1 2\r\n",
    "PROXY TCP4  192.0.2.1 192.0.2.2 1 2\r\n",
    "PROXY TCP4 192.0.2.1  192.0.2.2 1 2\r\n",
    "PROXY TCP4 192.0.2.1 192.0.2.2  1 2\r\n",
    "PROXY TCP4 192.0.2.1 192.0.2.2 1  2\r\n",
    "PROXY TCP4 192.0.2.1 192.0.2.2 1 2 \r\n",
    "PROXY TCP4\t192.0.2.1 192.0.2.2 1 2\r\n",
    /* Field counts. */
    "PROXY TCP4 192.0.2.1 192.0.2.2 1\r\n",
    "PROXY TCP4 192.0.2.1 192.0.2.2 1 2 3\r\n",
    "PROXY TCP4 192.0.2.1 192.0.2.2\r\n",
    /* Addresses. */
    "PROXY TCP4 ::1 ::1 1 2\r\n",
    "PROXY TCP4 192.0.2.1 ::1 1 2\r\n",
    "PROXY TCP4 ::ffff:192.0.2.1 192.0.2.2 1 2\r\n",
    "PROXY TCP6 192.0.2.1 192.0.2.2 1 2\r\n",
    "PROXY TCP6 ::1 192.0.2.2 1 2\r\n",
    "PROXY TCP4 192.0.2 192.0.2.2 1 2\r\n",
    "PROXY TCP4 192.0.2.256 192.0.2.2 1 2\r\n",
    "PROXY TCP4 192.0.2.01 192.0.2.2 1 2\r\n",
    "PROXY TCP4 0x7f.0.0.1 192.0.2.2 1 2\r\n",
    "PROXY TCP4 localhost 192.0.2.2 1 2\r\n",
    "PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n",
    "PROXY TCP6 [::1] ::1 1 2\r\n",
    "PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 1 2\r\n",
    "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255:0 ::1 1 2\r\n",
    /* Ports. */
    "PROXY TCP4 192.0.2.1 192.0.2.2 65536 2\r\n",
    "PROXY TCP4 192.0.2.1 192.0.2.2 1 65536\r\n",
    "PROXY TCP4 192.0.2.1 192.0.2.2 99999 2\r\n",
    "PROXY TCP4 192.0.2.1 192.0.2.2 100000 2\r\n",
    "PROXY TCP4 192.0.2.1 192.0.2.2 -1 2\r\n",
    "PROXY TCP4 192.0.2.1 192.0.2.2 +1 2\r\n",
    "PROXY TCP4 192.0.2.1 192.0.2.2 01 2\r\n",
    "PROXY TCP4 192.0.2.1 192.0.2.2 00 2\r\n",
    "PROXY TCP4 192.0.2.1 192.0.2.2 0x50 2\r\n",
    "PROXY TCP4 192.0.2.1 192.0.2.2 1 80a\r\n",
    "PROXY TCP4 192.0.2.1 192.0.2.2 1 a\r\n",
    /* Line ends and bytes that have no place in a text header. */
    "PROXY TCP4 192.0.2.1 192.0.2.2 1 2\n",
    "PROXY TCP4 192.0.2.1 192.0.2.2 1 2\rX",
    "PROXY TCP4 192.0.2.1 192.0.2.2 1 2\r\r\n",
    "PROXY TCP4 192.0.2.1\n192.0.2.2 1 2\r\n",
    "PROXY UNKNOWN\x7f\r\n",
    "PROXY UNKNOWN \x80\r\n",
};

START_TEST(test_v1_bad)
{
    proxy_protocol_t pp;

    ck_assert_msg(parse(v1_bad[_i], &pp) == -1, "accepted: %s", v1_bad[_i]);
}
END_TEST

START_TEST(test_v1_nul)
{
    static const char h[] = "PROXY TCP4 192.0.2.1\0 192.0.2.2 1 2\r\n";
    proxy_protocol_t pp;

    ck_assert_int_eq(parse_len(h, sizeof(h) - 1, &pp), -1);
}
END_TEST

/* A wrong byte is refused as soon as it arrives, not at the CRLF. */
START_TEST(test_early_refusal)
{
    proxy_protocol_t pp;

    ck_assert_int_eq(parse_len("G", 1, &pp), -1);
    ck_assert_int_eq(parse_len("\x16", 1, &pp), -1); /* a TLS ClientHello */
    ck_assert_int_eq(parse_len("\0", 1, &pp), -1);
    ck_assert_int_eq(parse_len("p", 1, &pp), -1);
    ck_assert_int_eq(parse_len("PROXX", 5, &pp), -1);
    ck_assert_int_eq(parse_len("PROXY\t", 6, &pp), -1);
    ck_assert_int_eq(parse_len("PROXY TCP4 1\n", 13, &pp), -1);
    ck_assert_int_eq(parse_len("\r\n\r\n\0\r\nQUIX", 11, &pp), -1);
    ck_assert_int_eq(parse_len("\r\n\r\n\n", 5, &pp), -1);
    ck_assert_int_eq(parse_len("P", 1, &pp), -2);
    ck_assert_int_eq(parse_len("\r", 1, &pp), -2);
    ck_assert_int_eq(parse_len("", 0, &pp), -2);
}
END_TEST

/* ---- v2 ---- */

static const unsigned char sig[12] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
                                       0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a };

/* Writes a v2 header with the given version/command and family/transport
 * bytes, a declared length of declared, and body (which may be shorter or
 * longer than declared). Returns the bytes written. */
static size_t v2(unsigned char *buf, unsigned char vc, unsigned char ft, size_t declared,
                 const void *body, size_t body_len)
{
    memcpy(buf, sig, 12);
    buf[12] = vc;
    buf[13] = ft;
    buf[14] = (unsigned char)(declared >> 8);
    buf[15] = (unsigned char)declared;
    if (body_len > 0)
        memcpy(buf + 16, body, body_len);
    return 16 + body_len;
}

static const unsigned char inet_block[12] = { 192, 0, 2, 1, 198, 51, 100, 2, 0xdc, 0x04, 0x01, 0xbb };

static void inet6_block(unsigned char *b)
{
    ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8::1", b), 1);
    ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8::2", b + 16), 1);
    b[32] = 0x00;
    b[33] = 0x50;
    b[34] = 0xff;
    b[35] = 0xff;
}

START_TEST(test_v2_inet)
{
    unsigned char buf[64];
    proxy_protocol_t pp;
    size_t n = v2(buf, 0x21, 0x11, 12, inet_block, 12);

    ck_assert_int_eq(parse_len(buf, n, &pp), 28);
    ck_assert_int_eq(pp.version, 2);
    check_v4(&pp, "192.0.2.1", 56324, "198.51.100.2", 443);
    check_prefixes(buf, n);
}
END_TEST

START_TEST(test_v2_inet6)
{
    unsigned char buf[64], block[36];
    proxy_protocol_t pp;
    size_t n;

    inet6_block(block);
    n = v2(buf, 0x21, 0x21, 36, block, 36);
    ck_assert_int_eq(parse_len(buf, n, &pp), 52);
    ck_assert_int_eq(pp.version, 2);
    check_v6(&pp, "2001:db8::1", 80, "2001:db8::2", 65535);
    check_prefixes(buf, n);
}
END_TEST

START_TEST(test_v2_tlvs)
{
    unsigned char body[64], buf[128];
    proxy_protocol_t pp;
    size_t n;

    /* Two TLVs (ALPN "h2", an empty NOOP) after the address block. */
    memcpy(body, inet_block, 12);
    memcpy(body + 12, "\x01\x00\x02h2\x04\x00\x00", 8);
    n = v2(buf, 0x21, 0x11, 20, body, 20);
    ck_assert_int_eq(parse_len(buf, n, &pp), 36);
    check_v4(&pp, "192.0.2.1", 56324, "198.51.100.2", 443);
    check_prefixes(buf, n);

    /* A TLV whose value runs past the declared length. */
    memcpy(body + 12, "\x01\x00\x03h2", 5);
    n = v2(buf, 0x21, 0x11, 17, body, 17);
    ck_assert_int_eq(parse_len(buf, n, &pp), -1);
    /* ... even when the bytes that follow happen to be there. */
    memcpy(body + 17, "3GET", 4);
    n = v2(buf, 0x21, 0x11, 17, body, 21);
    ck_assert_int_eq(parse_len(buf, n, &pp), -1);
    /* A TLV cut inside its 3-byte head. */
    for (size_t k = 1; k <= 2; k++) {
        memcpy(body + 12, "\x01\x00\x00", 3);
        n = v2(buf, 0x21, 0x11, 12 + k, body, 12 + k);
        ck_assert_int_eq(parse_len(buf, n, &pp), -1);
    }
    /* A TLV length of 0xffff. */
    memcpy(body + 12, "\x05\xff\xff", 3);
    n = v2(buf, 0x21, 0x11, 15, body, 15);
    ck_assert_int_eq(parse_len(buf, n, &pp), -1);
}
END_TEST

START_TEST(test_v2_local)
{
    unsigned char buf[64];
    proxy_protocol_t pp;
    size_t n;

    /* HAProxy's health checks: LOCAL, AF_UNSPEC, no block. */
    n = v2(buf, 0x20, 0x00, 0, NULL, 0);
    ck_assert_int_eq(parse_len(buf, n, &pp), 16);
    ck_assert_int_eq(pp.version, 2);
    check_local(&pp);
    check_prefixes(buf, n);

    /* LOCAL with an address block: the block is discarded, family and all. */
    n = v2(buf, 0x20, 0x11, 12, inet_block, 12);
    ck_assert_int_eq(parse_len(buf, n, &pp), 28);
    check_local(&pp);
    n = v2(buf, 0x20, 0xff, 3, "abc", 3);
    ck_assert_int_eq(parse_len(buf, n, &pp), 19);
    check_local(&pp);
}
END_TEST

START_TEST(test_v2_unspec_unix)
{
    unsigned char buf[300], block[216];
    proxy_protocol_t pp;
    size_t n;

    n = v2(buf, 0x21, 0x00, 0, NULL, 0);
    ck_assert_int_eq(parse_len(buf, n, &pp), 16);
    check_local(&pp);

    memset(block, 0, sizeof(block));
    memcpy(block, "/run/a.sock", 11);
    memcpy(block + 108, "/run/b.sock", 11);
    n = v2(buf, 0x21, 0x31, 216, block, 216);
    ck_assert_int_eq(parse_len(buf, n, &pp), 232);
    check_local(&pp);
    check_prefixes(buf, n);
    n = v2(buf, 0x21, 0x32, 216, block, 216);
    ck_assert_int_eq(parse_len(buf, n, &pp), 232);
    check_local(&pp);
    /* Short of the unix block. */
    n = v2(buf, 0x21, 0x31, 215, block, 215);
    ck_assert_int_eq(parse_len(buf, n, &pp), -1);
}
END_TEST

START_TEST(test_v2_bad_signature)
{
    unsigned char buf[64];
    proxy_protocol_t pp;
    size_t n = v2(buf, 0x21, 0x11, 12, inet_block, 12);

    /* A wrong byte anywhere in the signature, seen whole or just up to it. */
    for (size_t i = 0; i < 12; i++) {
        unsigned char save = buf[i];
        buf[i] ^= 0x20;
        ck_assert_msg(parse_len(buf, n, &pp) == -1, "byte %zu", i);
        ck_assert_msg(parse_len(buf, i + 1, &pp) == -1, "byte %zu early", i);
        buf[i] = save;
    }
}
END_TEST

START_TEST(test_v2_bad_version_command)
{
    static const unsigned char vcs[] = { 0x01, 0x11, 0x31, 0xf1, 0x22, 0x2f, 0x12, 0x00, 0x20 ^ 0xff };
    unsigned char buf[64];
    proxy_protocol_t pp;

    for (size_t i = 0; i < sizeof(vcs); i++) {
        size_t n = v2(buf, vcs[i], 0x11, 12, inet_block, 12);
        ck_assert_msg(parse_len(buf, n, &pp) == -1, "version/command 0x%02x", vcs[i]);
        /* Refused as soon as byte 13 is there. */
        ck_assert_msg(parse_len(buf, 13, &pp) == -1, "version/command 0x%02x early", vcs[i]);
    }
}
END_TEST

START_TEST(test_v2_bad_family)
{
    /* DGRAM and unspecified transports on IP families, unknown families and
     * transports. */
    static const unsigned char fts[] = { 0x10, 0x12, 0x13, 0x1f, 0x20, 0x22, 0x23,
                                         0x03, 0x33, 0x41, 0x40, 0xf1 };
    unsigned char buf[128], body[64];
    proxy_protocol_t pp;

    memset(body, 0, sizeof(body));
    for (size_t i = 0; i < sizeof(fts); i++) {
        size_t n = v2(buf, 0x21, fts[i], 36, body, 36);
        ck_assert_msg(parse_len(buf, n, &pp) == -1, "family/transport 0x%02x", fts[i]);
        ck_assert_msg(parse_len(buf, 14, &pp) == -1, "family/transport 0x%02x early", fts[i]);
    }
}
END_TEST

START_TEST(test_v2_short_lengths)
{
    unsigned char buf[128], block[36];
    proxy_protocol_t pp;
    size_t n;

    inet6_block(block);
    for (size_t d = 0; d < 12; d++) {
        n = v2(buf, 0x21, 0x11, d, inet_block, d);
        ck_assert_msg(parse_len(buf, n, &pp) == -1, "inet length %zu", d);
        ck_assert_msg(parse_len(buf, 16, &pp) == -1, "inet length %zu early", d);
    }
    for (size_t d = 0; d < 36; d++) {
        n = v2(buf, 0x21, 0x21, d, block, d);
        ck_assert_msg(parse_len(buf, n, &pp) == -1, "inet6 length %zu", d);
    }
    /* An AF_INET length on AF_INET6. */
    n = v2(buf, 0x21, 0x21, 12, inet_block, 12);
    ck_assert_int_eq(parse_len(buf, n, &pp), -1);
    /* The declared length is longer than what has arrived: wait. */
    n = v2(buf, 0x21, 0x11, 20, inet_block, 12);
    ck_assert_int_eq(parse_len(buf, n, &pp), -2);
}
END_TEST

START_TEST(test_v2_max)
{
    static unsigned char buf[PROXY_PROTOCOL_MAX + 64], body[PROXY_PROTOCOL_MAX];
    proxy_protocol_t pp;
    size_t tlv = PROXY_PROTOCOL_MAX - 16 - 12 - 3;
    size_t n;

    /* One big TLV that fills the header to exactly the maximum. */
    memset(body, 'x', sizeof(body));
    memcpy(body, inet_block, 12);
    body[12] = 0x04;
    body[13] = (unsigned char)(tlv >> 8);
    body[14] = (unsigned char)tlv;
    n = v2(buf, 0x21, 0x11, PROXY_PROTOCOL_MAX - 16, body, PROXY_PROTOCOL_MAX - 16);
    ck_assert_int_eq(parse_len(buf, n, &pp), PROXY_PROTOCOL_MAX);
    check_v4(&pp, "192.0.2.1", 56324, "198.51.100.2", 443);
    check_prefixes(buf, n);

    /* One byte more is refused as soon as the length is seen. */
    tlv++;
    body[13] = (unsigned char)(tlv >> 8);
    body[14] = (unsigned char)tlv;
    n = v2(buf, 0x21, 0x11, PROXY_PROTOCOL_MAX - 15, body, PROXY_PROTOCOL_MAX - 15);
    ck_assert_int_eq(parse_len(buf, n, &pp), -1);
    ck_assert_int_eq(parse_len(buf, 16, &pp), -1);
    n = v2(buf, 0x21, 0x11, 0xffff, body, 0);
    ck_assert_int_eq(parse_len(buf, n, &pp), -1);
    n = v2(buf, 0x20, 0x00, 0xffff, body, 0);
    ck_assert_int_eq(parse_len(buf, n, &pp), -1);
}
END_TEST

/* A v2 signature followed by a v1 line, or the reverse, is one or the other
 * and never both. */
START_TEST(test_no_mixing)
{
    unsigned char buf[128];
    proxy_protocol_t pp;
    const char *v1 = "PROXY TCP4 192.0.2.1 192.0.2.2 1 2\r\n";
    size_t n;

    memcpy(buf, sig, 12);
    memcpy(buf + 12, v1, strlen(v1));
    ck_assert_int_eq(parse_len(buf, 12 + strlen(v1), &pp), -1);
    memcpy(buf, "PROXY ", 6);
    n = v2(buf + 6, 0x21, 0x11, 12, inet_block, 12);
    ck_assert_int_eq(parse_len(buf, 6 + n, &pp), -1);
}
END_TEST

static Suite *proxy_protocol_suite(void)
{
    Suite *s = suite_create("proxy_protocol");
    TCase *t1 = tcase_create("v1");
    TCase *t2 = tcase_create("v2");

    tcase_add_test(t1, test_v1_tcp4);
    tcase_add_test(t1, test_v1_tcp6);
    tcase_add_test(t1, test_v1_unknown);
    tcase_add_test(t1, test_v1_length_limit);
    tcase_add_loop_test(t1, test_v1_bad, 0, (int)(sizeof(v1_bad) / sizeof(v1_bad[0])));
    tcase_add_test(t1, test_v1_nul);
    tcase_add_test(t1, test_early_refusal);
    suite_add_tcase(s, t1);

    tcase_add_test(t2, test_v2_inet);
    tcase_add_test(t2, test_v2_inet6);
    tcase_add_test(t2, test_v2_tlvs);
    tcase_add_test(t2, test_v2_local);
    tcase_add_test(t2, test_v2_unspec_unix);
    tcase_add_test(t2, test_v2_bad_signature);
    tcase_add_test(t2, test_v2_bad_version_command);
    tcase_add_test(t2, test_v2_bad_family);
    tcase_add_test(t2, test_v2_short_lengths);
    tcase_add_test(t2, test_v2_max);
    tcase_add_test(t2, test_no_mixing);
    suite_add_tcase(s, t2);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(proxy_protocol_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
