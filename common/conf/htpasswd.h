/*
 * htpasswd: the password files of Apache's htpasswd, read for auth:
 * (README "Access control").
 *
 * A file is "user:hash" lines. The hashes accepted are the ones htpasswd
 * makes that are still worth trusting: bcrypt ($2y$, -B), apr1 MD5 ($apr1$,
 * its default), SHA-256/512-crypt ($5$/$6$, -2/-5), yescrypt ($y$) and {SHA}
 * (-s). Plaintext (-p) and DES crypt (-d) are refused with the line, since a
 * file that holds them gives its passwords away to whoever reads it. Blank
 * lines and lines starting with '#' are skipped, as nginx does.
 *
 * htpasswd_parse() is a pure function of (bytes, len): it fills a table
 * the caller gives (pointers into the bytes) and never allocates, so it is
 * unit-tested and fuzzed as it is (tests/fuzz/fuzz_htpasswd.c).
 * htpasswd_load() reads a file, counts its lines to size the table once,
 * and parses. Verifying a password is worker/access/auth_hash.c's job.
 *
 * Returns: 0 ok, -1 with a message in err ("line N: ...").
 */
#ifndef DROVER_HTPASSWD_H
#define DROVER_HTPASSWD_H

#include <stddef.h>

#include "str.h"

#define HTPASSWD_ERR_LEN 256
#define HTPASSWD_FILE_MAX (16u << 20)
#define HTPASSWD_NAME_MAX 255
#define HTPASSWD_HASH_MAX 255

typedef enum {
    HTPASSWD_BCRYPT,
    HTPASSWD_APR1,
    HTPASSWD_SHA256,
    HTPASSWD_SHA512,
    HTPASSWD_YESCRYPT,
    HTPASSWD_SHA1,
} htpasswd_kind_t;

typedef struct {
    str_t name;
    str_t hash;          /* as written: "$2y$10$...", "{SHA}..." */
    htpasswd_kind_t kind;
    unsigned line;
} htpasswd_user_t;

/* A loaded file: owns its bytes (NUL-terminated, so each hash may be
 * handed to crypt()) and its table. */
typedef struct htpasswd_s {
    char *text;
    size_t len;
    htpasswd_user_t *users;
    size_t n;
} htpasswd_t;

/* The number of lines of text (an upper bound of the users it holds). */
size_t htpasswd_lines(const char *text, size_t len);

/* Parses text[0..len) into users[0..max). A duplicate user is an error.
 * Lines are separated by '\n' ("\r\n" too); the entries point into text. */
int htpasswd_parse(const char *text, size_t len, htpasswd_user_t *users, size_t max, size_t *n,
                   char *err, size_t errlen);

/* Reads and parses path; NULL with err (naming the line) on failure. */
htpasswd_t *htpasswd_load(const char *path, char *err, size_t errlen);
void htpasswd_free(htpasswd_t *h);

/* The entry of user name, or NULL. */
const htpasswd_user_t *htpasswd_find(const htpasswd_t *h, str_t name);

#endif
