/*
 * path: percent-decoding and normalisation of a request path.
 *
 * path_normalize() turns the raw path of a request target (no query) into a
 * clean absolute path: percent-decoded, "." and ".." resolved, duplicate
 * slashes collapsed. It refuses rather than guesses: a ".." that would climb
 * above "/", a NUL, a backslash, a control byte or a broken escape are errors.
 * The result never leaves the root, so it can be opened relative to it.
 *
 * Returns the length written to out (out needs at least len + 1 bytes and
 * is NUL-terminated), or -1 (bad request). Never allocates.
 */
#ifndef DROVER_PATH_H
#define DROVER_PATH_H

#include <stddef.h>
#include <sys/types.h>

ssize_t path_normalize(const char *in, size_t len, char *out, size_t outsize);

/* 1 when a segment of the normalised path starts with a dot (".git",
 * ".htpasswd"); "/.well-known/" is allowed, as ACME clients need it. */
int path_has_dotfile(const char *path, size_t len);

/* What path_encode() leaves as it is, besides letters, digits and "-._~". */
typedef enum {
    PATH_ENCODE_NAME = 0, /* one file name (a link in a listing): nothing else */
    PATH_ENCODE_PATH,     /* a whole path (a Location): "/" and "!$&'()*+,;=:@" */
} path_encode_t;

/* Percent-encodes len bytes of in into out (uppercase hex), which needs
 * room for 3 * len bytes; no NUL is added. Returns the bytes written. */
size_t path_encode(const char *in, size_t len, path_encode_t kind, char *out);

#endif
