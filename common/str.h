/*
 * str: length-carrying string slices.
 *
 * A str_t never owns its bytes and is never assumed to be NUL-terminated:
 * request bytes may contain anything, so every comparison carries a length.
 * An empty slice has len == 0; p may then be NULL.
 */
#ifndef DROVER_STR_H
#define DROVER_STR_H

#include <stddef.h>
#include <string.h>
#include <strings.h>

typedef struct {
    const char *p;
    size_t len;
} str_t;

#define STR_LIT(s) ((str_t){ (s), sizeof(s) - 1 })
#define STR_NULL ((str_t){ NULL, 0 })

static inline str_t str_make(const char *p, size_t len)
{
    return (str_t){ p, len };
}

static inline int str_eq(str_t a, const char *lit, size_t litlen)
{
    return a.len == litlen && memcmp(a.p, lit, litlen) == 0;
}

static inline int str_caseeq(str_t a, const char *lit, size_t litlen)
{
    return a.len == litlen && strncasecmp(a.p, lit, litlen) == 0;
}

/* The value of a hex digit (RFC 5234 HEXDIG, either case), or -1: for
 * percent-encoding, chunk sizes and IPv6 literals alike. */
static inline int str_hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

#define STR_EQ(s, lit) str_eq((s), (lit), sizeof(lit) - 1)
#define STR_CASEEQ(s, lit) str_caseeq((s), (lit), sizeof(lit) - 1)

#endif
