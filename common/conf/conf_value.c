/*
 * conf_value: see conf_value.h. Nothing here allocates or knows of YAML.
 */
#include "conf_value.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "mime.h"
#include "path.h"

int conf_value_duration(const char *s, double *seconds)
{
    /* digits [ "." digits ] [ ms | s | m | h | d ]: no sign, exponent,
     * hex, inf or nan, which strtod would all take. */
    if (s == NULL || *s < '0' || *s > '9')
        return -1;
    double v = 0, scale = 1;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; p++)
        v = v * 10 + (*p - '0');
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return -1;
        for (; *p >= '0' && *p <= '9'; p++) {
            scale /= 10;
            v += (*p - '0') * scale;
        }
    }
    double mult;
    if (*p == '\0' || strcmp(p, "s") == 0)
        mult = 1;
    else if (strcmp(p, "ms") == 0)
        mult = 0.001;
    else if (strcmp(p, "m") == 0)
        mult = 60;
    else if (strcmp(p, "h") == 0)
        mult = 3600;
    else if (strcmp(p, "d") == 0)
        mult = 86400;
    else
        return -1;
    if (v > 1e12)
        return -1;
    *seconds = v * mult;
    return 0;
}

char *conf_value_duration_str(double seconds, char *out, size_t size)
{
    static const struct {
        long long ms;
        const char *unit;
    } units[] = { { 86400000LL, "d" }, { 3600000LL, "h" }, { 60000LL, "m" }, { 1000LL, "s" } };
    /* No libm: round by hand, since durations are never negative. */
    double msf = seconds * 1000;
    long long ms = seconds >= 0 && seconds < 1e13 ? (long long)(msf + 0.5) : -1;
    double diff = msf - (double)ms;
    if (ms >= 0 && diff < 1e-6 && diff > -1e-6) {
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
            if (ms % units[i].ms == 0 && (ms != 0 || units[i].ms == 1000)) {
                snprintf(out, size, "%lld%s", ms / units[i].ms, units[i].unit);
                return out;
            }
        snprintf(out, size, "%lldms", ms);
        return out;
    }
    /* Below a millisecond: plain seconds, trailing zeros trimmed. */
    snprintf(out, size, "%.12f", seconds);
    size_t n = strlen(out);
    while (n > 1 && out[n - 1] == '0' && out[n - 2] != '.')
        out[--n] = '\0';
    return out;
}

int conf_value_size(const char *s, size_t *bytes)
{
    if (s == NULL || *s < '0' || *s > '9')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s)
        return -1;
    unsigned long long mult;
    if (*end == '\0')
        mult = 1;
    else if (strcasecmp(end, "k") == 0)
        mult = 1024ULL;
    else if (strcasecmp(end, "m") == 0)
        mult = 1024ULL * 1024;
    else if (strcasecmp(end, "g") == 0)
        mult = 1024ULL * 1024 * 1024;
    else
        return -1;
    if (v > SIZE_MAX / mult)
        return -1;
    *bytes = (size_t)(v * mult);
    return 0;
}

char *conf_value_size_str(size_t bytes, char *out, size_t size)
{
    static const char units[] = "gmk";
    for (int i = 0; i < 3; i++) {
        size_t unit = (size_t)1 << (10 * (3 - i));
        if (bytes != 0 && bytes % unit == 0) {
            snprintf(out, size, "%zu%c", bytes / unit, units[i]);
            return out;
        }
    }
    snprintf(out, size, "%zu", bytes);
    return out;
}

int conf_value_listen(const char *s, conf_listen_t *l)
{
    memset(l, 0, sizeof(*l));
    const char *colon;
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (rb == NULL || rb[1] != ':' || (size_t)(rb - s - 1) >= sizeof(l->host) || rb == s + 1)
            return -1;
        memcpy(l->host, s + 1, (size_t)(rb - s - 1));
        struct in6_addr a6;
        if (inet_pton(AF_INET6, l->host, &a6) != 1)
            return -1;
        l->family = AF_INET6;
        colon = rb + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL || (size_t)(colon - s) >= sizeof(l->host))
            return -1;
        memcpy(l->host, s, (size_t)(colon - s));
        l->family = AF_INET;
        if (l->host[0] != '\0') {
            struct in_addr a4;
            if (strcmp(l->host, "localhost") == 0)
                strcpy(l->host, "127.0.0.1");
            else if (strcmp(l->host, "*") == 0)
                l->host[0] = '\0';
            if (l->host[0] != '\0' && inet_pton(AF_INET, l->host, &a4) != 1)
                return -1;
        }
    }
    const char *port = colon + 1;
    if (*port == '\0' || strlen(port) > 5)
        return -1;
    int p = 0;
    for (const char *c = port; *c; c++) {
        if (*c < '0' || *c > '9')
            return -1;
        p = p * 10 + (*c - '0');
    }
    if (p < 1 || p > 65535)
        return -1;
    l->port = p;
    return 0;
}

int conf_value_cidr(const char *s, conf_cidr_t *c)
{
    char host[64];
    const char *slash = strchr(s, '/');
    size_t hlen = slash ? (size_t)(slash - s) : strlen(s);
    if (hlen == 0 || hlen >= sizeof(host))
        return -1;
    memcpy(host, s, hlen);
    host[hlen] = '\0';
    memset(c, 0, sizeof(*c));
    if (inet_pton(AF_INET, host, c->addr) == 1) {
        c->family = AF_INET;
        c->bits = 32;
    } else if (inet_pton(AF_INET6, host, c->addr) == 1) {
        c->family = AF_INET6;
        c->bits = 128;
    } else {
        return -1;
    }
    if (slash != NULL) {
        char *end;
        long bits = strtol(slash + 1, &end, 10);
        if (slash[1] < '0' || slash[1] > '9' || *end != '\0' || bits < 0 || bits > c->bits)
            return -1;
        c->bits = (int)bits;
    }
    return 0;
}

char *conf_value_cidr_str(const conf_cidr_t *c, char *out, size_t size)
{
    char host[INET6_ADDRSTRLEN];
    if (inet_ntop(c->family, c->addr, host, sizeof(host)) == NULL)
        snprintf(host, sizeof(host), "?");
    if (c->bits == (c->family == AF_INET ? 32 : 128))
        snprintf(out, size, "%s", host);
    else
        snprintf(out, size, "%s/%d", host, c->bits);
    return out;
}

int conf_value_cidr_match(const conf_cidr_t *list, size_t n, int family, const void *addr)
{
    const unsigned char *a = addr;
    for (size_t i = 0; i < n; i++) {
        if (list[i].family != family)
            continue;
        int bits = list[i].bits, k = 0;
        for (; bits >= 8; bits -= 8, k++)
            if (a[k] != list[i].addr[k])
                break;
        if (bits >= 8)
            continue;
        unsigned char mask = (unsigned char)(0xff << (8 - bits));
        if (bits == 0 || (a[k] & mask) == (list[i].addr[k] & mask))
            return 1;
    }
    return 0;
}

int conf_value_bool(const char *s, int *out)
{
    if (!strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcasecmp(s, "on")) {
        *out = 1;
        return 0;
    }
    if (!strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcasecmp(s, "off")) {
        *out = 0;
        return 0;
    }
    return -1;
}

int conf_value_int(const char *s, long *out)
{
    /* strtol alone would take leading spaces. */
    const char *d = s[0] == '-' || s[0] == '+' ? s + 1 : s;
    if (*d < '0' || *d > '9')
        return -1;
    char *end;
    errno = 0;
    long n = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    *out = n;
    return 0;
}

int conf_value_enum(const char *s, const char *const *names, int *out)
{
    for (int i = 0; names[i] != NULL; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return 0;
        }
    return -1;
}

int conf_value_is_extension(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > MIME_EXT_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '+' && s[i] != '-')
            return 0;
    return 1;
}

/* What may go into a response header line as a whole value: visible ASCII
 * and inner spaces only, so no value can end the line early. */
int conf_value_is_header_value(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max || s[0] == ' ' || s[n - 1] == ' ')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] > 0x7e)
            return 0;
    return 1;
}

int conf_value_is_media_type(const char *s)
{
    static const char tspecial[] = "()<>@,;:\\\"/[]?={} \t";
    if (!conf_value_is_header_value(s, 127))
        return 0;
    size_t i = 0;
    while (s[i] != '\0' && strchr(tspecial, s[i]) == NULL)
        i++;
    if (i == 0 || s[i] != '/')
        return 0;
    size_t j = ++i;
    while (s[i] != '\0' && strchr(tspecial, s[i]) == NULL)
        i++;
    return i > j && (s[i] == '\0' || s[i] == ';' || s[i] == ' ');
}

int conf_value_is_error_status(const char *s)
{
    return strlen(s) == 3 && s[0] >= '4' && s[0] <= '5' && isdigit((unsigned char)s[1]) &&
           isdigit((unsigned char)s[2]);
}

/* Already in the form path_normalize() gives, since the file cache is
 * keyed by it; not a directory; no dotfile. */
int conf_value_is_page_path(const char *s)
{
    char norm[1024];
    size_t n = strlen(s);
    if (n < 2 || n >= sizeof(norm) || s[0] != '/' || s[n - 1] == '/')
        return 0;
    ssize_t r = path_normalize(s, n, norm, sizeof(norm));
    return r == (ssize_t)n && memcmp(norm, s, n) == 0 && !path_has_dotfile(s, n);
}

int conf_value_is_file_name(const char *s)
{
    return s[0] != '\0' && s[0] != '.' && strchr(s, '/') == NULL;
}

int conf_value_is_url_path(const char *s)
{
    return s[0] == '/' && strpbrk(s, " ?#%") == NULL;
}

/* A field name (RFC 9110 5.1 token) that is not one the server frames
 * the response with: those it writes itself, once. */
int conf_value_is_extra_header(const char *s)
{
    static const char *const framing[] = { "content-length", "transfer-encoding", "connection",
                                           "keep-alive", "upgrade", "date", "server", NULL };
    if (s[0] == '\0' || strlen(s) > 64)
        return 0;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && strchr("!#$%&'*+-.^_`|~", *p) == NULL)
            return 0;
    for (size_t i = 0; framing[i] != NULL; i++)
        if (strcasecmp(s, framing[i]) == 0)
            return 0;
    return 1;
}

