/*
 * http_host: the Host header's grammar (see http_host.h).
 */
#include "http_host.h"

#include <arpa/inet.h>
#include <string.h>

#include "str.h"

/* The characters a reg-name may hold here: RFC 3986's unreserved set
 * (ALPHA DIGIT "-" "." "_" "~"). sub-delims and pct-encoded are valid in a
 * URI's reg-name but never in a name DNS can resolve; refusing them keeps a
 * Host from ever looking like a "*.suffix" pattern or needing decoding before
 * it is compared with a configured name. */
static int http_host__regname_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

/* reg-name (and IPv4address, which is a subset of it): no empty label, that
 * is no leading dot and no "..", but one trailing dot (the DNS root). */
static int http_host__regname(str_t h)
{
    if (h.len == 0 || h.p[0] == '.')
        return -1;
    for (size_t i = 0; i < h.len; i++) {
        if (!http_host__regname_char(h.p[i]))
            return -1;
        if (h.p[i] == '.' && i > 0 && h.p[i - 1] == '.')
            return -1;
    }
    return 0;
}

/* The inside of an IP-literal: IPv6address, or
 * IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" ). */
static int http_host__ip_literal(str_t in)
{
    if (in.len > 0 && (in.p[0] == 'v' || in.p[0] == 'V')) {
        size_t i = 1;
        while (i < in.len && str_hex_digit((unsigned char)in.p[i]) >= 0)
            i++;
        if (i == 1 || i >= in.len || in.p[i] != '.' || i + 1 == in.len)
            return -1;
        for (i++; i < in.len; i++) {
            char c = in.p[i];
            if (!http_host__regname_char(c) && c != ':' && !strchr("!$&'()*+,;=", c))
                return -1;
        }
        return 0;
    }
    /* inet_pton wants a C string: copy to the stack. Its grammar is RFC
     * 4291's text form, which is RFC 3986's IPv6address; a zone ("%eth0")
     * is refused, as it is not part of a URI. */
    char tmp[INET6_ADDRSTRLEN];
    unsigned char addr[16];
    if (in.len == 0 || in.len >= sizeof(tmp))
        return -1;
    for (size_t i = 0; i < in.len; i++) {
        if (str_hex_digit((unsigned char)in.p[i]) < 0 && in.p[i] != ':' && in.p[i] != '.')
            return -1;
    }
    memcpy(tmp, in.p, in.len);
    tmp[in.len] = '\0';
    return inet_pton(AF_INET6, tmp, addr) == 1 ? 0 : -1;
}

int http_host_parse(str_t value, str_t *host, int *port)
{
    size_t i;
    *host = STR_NULL;
    *port = -1;
    if (value.len == 0)
        return 0; /* RFC 9112 3.2: sent for a target without authority */
    if (value.p[0] == '[') {
        const char *rb = memchr(value.p, ']', value.len);
        if (rb == NULL)
            return -1;
        i = (size_t)(rb - value.p) + 1;
        if (http_host__ip_literal(str_make(value.p + 1, i - 2)) < 0)
            return -1;
    } else {
        const char *colon = memchr(value.p, ':', value.len);
        i = colon != NULL ? (size_t)(colon - value.p) : value.len;
        if (http_host__regname(str_make(value.p, i)) < 0)
            return -1;
    }
    *host = str_make(value.p, i);
    if (i == value.len)
        return 0;
    if (value.p[i] != ':')
        return -1;
    /* port: RFC 3986 allows it empty; we want 1 to 5 digits, at most 65535. */
    size_t digits = value.len - i - 1;
    if (digits == 0 || digits > 5)
        return -1;
    int n = 0;
    for (i++; i < value.len; i++) {
        if (value.p[i] < '0' || value.p[i] > '9')
            return -1;
        n = n * 10 + (value.p[i] - '0');
    }
    if (n > 65535)
        return -1;
    *port = n;
    return 0;
}

ssize_t http_host_normalize(str_t value, char *buf, size_t size)
{
    str_t h;
    int port;
    if (http_host_parse(value, &h, &port) < 0)
        return -1;
    if (h.len > 0 && h.p[0] != '[' && h.p[h.len - 1] == '.')
        h.len--;
    if (h.len > size)
        return -1;
    for (size_t i = 0; i < h.len; i++) {
        char c = h.p[i];
        buf[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
    }
    return (ssize_t)h.len;
}
