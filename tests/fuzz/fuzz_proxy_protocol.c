/*
 * libFuzzer target for the PROXY protocol header parser. Whatever the input,
 * the answer is -2, -1 or a length inside the input and inside the limits;
 * a header's bytes alone parse to the same length, and every shorter prefix
 * of them is -2 (a caller that reads byte by byte sees the same header); a
 * -1 stays -1 whatever arrives after; a -2 never comes from a buffer already
 * as long as the longest header.
 */
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy_protocol.h"

static int parse_copy(const uint8_t *data, size_t n, proxy_protocol_t *pp)
{
    /* An exact-size copy, so ASan sees any read past n. */
    char *copy = malloc(n ? n : 1);
    memcpy(copy, data, n);
    int r = proxy_protocol_parse(copy, n, pp);
    free(copy);
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    proxy_protocol_t pp, again;
    int r = parse_copy(data, size, &pp);

    if (r == -2) {
        if (size >= PROXY_PROTOCOL_MAX)
            abort();
        return 0;
    }
    if (r == -1) {
        /* The parser ignores what follows a header, so no prefix of a
         * refused input may be a complete header. */
        for (size_t k = 0; k < size && k < 64; k++)
            if (parse_copy(data, k, &again) > 0)
                abort(); /* a complete header inside a refused input */
        return 0;
    }
    if (r <= 0 || (size_t)r > size || r > PROXY_PROTOCOL_MAX)
        abort();
    if (pp.version == 1 && r > PROXY_PROTOCOL_V1_MAX)
        abort();
    if (pp.version != 1 && pp.version != 2)
        abort();
    if (pp.local) {
        if (pp.family != AF_UNSPEC || pp.addr_len != 0)
            abort();
    } else if (pp.family == AF_INET) {
        if (pp.addr_len != sizeof(struct sockaddr_in) || pp.src.ss_family != AF_INET ||
            pp.dst.ss_family != AF_INET)
            abort();
    } else if (pp.family == AF_INET6) {
        if (pp.addr_len != sizeof(struct sockaddr_in6) || pp.src.ss_family != AF_INET6 ||
            pp.dst.ss_family != AF_INET6)
            abort();
    } else {
        abort();
    }
    /* The header alone gives the same answer. */
    if (parse_copy(data, (size_t)r, &again) != r || memcmp(&pp, &again, sizeof(pp)) != 0)
        abort();
    /* Some shorter prefixes: each must wait for more bytes. */
    size_t probes[] = { 0, 1, 6, 12, 13, 14, 15, 16, (size_t)r / 2, (size_t)r - 1 };
    for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
        if (probes[i] < (size_t)r && parse_copy(data, probes[i], &again) != -2)
            abort();
    return 0;
}
