/*
 * htpasswd: see htpasswd.h.
 */
#include "htpasswd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int htpasswd__error(char *err, size_t errlen, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int htpasswd__error(char *err, size_t errlen, unsigned line, const char *fmt, ...)
{
    int n = snprintf(err, errlen, "line %u: ", line);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < errlen)
        vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

size_t htpasswd_lines(const char *text, size_t len)
{
    size_t n = 1;
    for (const char *p = text; (p = memchr(p, '\n', len - (size_t)(p - text))) != NULL; p++)
        n++;
    return n;
}

static int htpasswd__has(str_t s, const char *prefix)
{
    size_t n = strlen(prefix);
    return s.len > n && memcmp(s.p, prefix, n) == 0;
}

/* The characters of crypt's base64 ("./0-9A-Za-z"), and of RFC 4648's. */
static int htpasswd__is_crypt64(str_t s)
{
    for (size_t i = 0; i < s.len; i++) {
        unsigned char ch = (unsigned char)s.p[i];
        if (!(ch == '.' || ch == '/' || (ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= 'a' && ch <= 'z')))
            return 0;
    }
    return 1;
}

/* The kind of hash, or -1 with why. */
static int htpasswd__kind(str_t h, const char **why)
{
    for (size_t i = 0; i < h.len; i++)
        if ((unsigned char)h.p[i] <= 0x20 || (unsigned char)h.p[i] >= 0x7f) {
            *why = "the hash has a space or a control character";
            return -1;
        }
    if (htpasswd__has(h, "$2y$") || htpasswd__has(h, "$2b$") || htpasswd__has(h, "$2a$")) {
        /* $2y$NN$ + 53 characters of salt and hash */
        if (h.len != 60 || h.p[6] != '$') {
            *why = "a bcrypt hash ($2y$) is 60 characters";
            return -1;
        }
        return HTPASSWD_BCRYPT;
    }
    if (htpasswd__has(h, "$apr1$"))
        return HTPASSWD_APR1;
    if (htpasswd__has(h, "$5$"))
        return HTPASSWD_SHA256;
    if (htpasswd__has(h, "$6$"))
        return HTPASSWD_SHA512;
    if (htpasswd__has(h, "$y$"))
        return HTPASSWD_YESCRYPT;
    if (htpasswd__has(h, "{SHA}")) {
        if (h.len != 5 + 28 || h.p[h.len - 1] != '=') {
            *why = "a {SHA} hash is {SHA} and 28 characters of base64";
            return -1;
        }
        return HTPASSWD_SHA1;
    }
    if (h.len == 13 && htpasswd__is_crypt64(h)) {
        *why = "DES crypt (htpasswd -d) is refused: 8 characters at most, cracked in hours; "
               "make it with htpasswd -B";
        return -1;
    }
    if (h.len > 0 && h.p[0] == '$') {
        *why = "an unknown hash (expected $2y$, $apr1$, $5$, $6$, $y$ or {SHA})";
        return -1;
    }
    *why = "a plaintext password (htpasswd -p) is refused: make it with htpasswd -B";
    return -1;
}

int htpasswd_parse(const char *text, size_t len, htpasswd_user_t *users, size_t max, size_t *n,
                   char *err, size_t errlen)
{
    *n = 0;
    unsigned line = 0;
    for (size_t at = 0; at < len;) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t end = nl != NULL ? (size_t)(nl - text) : len;
        str_t l = str_make(text + at, end - at);
        at = end + 1;
        line++;
        if (l.len > 0 && l.p[l.len - 1] == '\r')
            l.len--;
        if (l.len == 0 || l.p[0] == '#')
            continue;
        const char *colon = memchr(l.p, ':', l.len);
        if (colon == NULL || colon == l.p)
            return htpasswd__error(err, errlen, line, "expected user:hash");
        str_t name = str_make(l.p, (size_t)(colon - l.p));
        str_t hash = str_make(colon + 1, l.len - name.len - 1);
        if (name.len > HTPASSWD_NAME_MAX || memchr(name.p, '\0', name.len) != NULL)
            return htpasswd__error(err, errlen, line, "the user name is longer than %d bytes "
                                   "or has a NUL", HTPASSWD_NAME_MAX);
        if (hash.len == 0 || hash.len > HTPASSWD_HASH_MAX)
            return htpasswd__error(err, errlen, line, "user %.*s: the hash is empty or longer "
                                   "than %d bytes", (int)name.len, name.p, HTPASSWD_HASH_MAX);
        const char *why = NULL;
        int kind = htpasswd__kind(hash, &why);
        if (kind < 0)
            return htpasswd__error(err, errlen, line, "user %.*s: %s", (int)name.len, name.p, why);
        for (size_t i = 0; i < *n; i++)
            if (users[i].name.len == name.len && memcmp(users[i].name.p, name.p, name.len) == 0)
                return htpasswd__error(err, errlen, line, "user %.*s is also on line %u",
                                       (int)name.len, name.p, users[i].line);
        if (*n >= max)
            return htpasswd__error(err, errlen, line, "more users than lines");
        users[*n] = (htpasswd_user_t){ name, hash, (htpasswd_kind_t)kind, line };
        (*n)++;
    }
    return 0;
}

htpasswd_t *htpasswd_load(const char *path, char *err, size_t errlen)
{
    htpasswd_t *h = calloc(1, sizeof(*h));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (h == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (fd < 0 || fstat(fd, &st) < 0) {
        snprintf(err, errlen, "open(\"%s\"): %s", path, strerror(errno));
        goto fail;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > (off_t)HTPASSWD_FILE_MAX) {
        snprintf(err, errlen, "%s: not a regular file of at most 16 MiB", path);
        goto fail;
    }
    h->len = (size_t)st.st_size;
    if ((h->text = malloc(h->len + 1)) == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (size_t got = 0; got < h->len;) {
        ssize_t r = read(fd, h->text + got, h->len - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            snprintf(err, errlen, "read(\"%s\"): %s", path, r < 0 ? strerror(errno) : "short");
            goto fail;
        }
        got += (size_t)r;
    }
    h->text[h->len] = '\0';
    size_t lines = htpasswd_lines(h->text, h->len);
    if ((h->users = calloc(lines, sizeof(*h->users))) == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (htpasswd_parse(h->text, h->len, h->users, lines, &h->n, err, errlen) < 0)
        goto fail;
    if (h->n == 0) {
        snprintf(err, errlen, "%s: no users", path);
        goto fail;
    }
    /* Each hash is handed to crypt() as a C string: end it in place. */
    for (size_t i = 0; i < h->n; i++)
        ((char *)h->users[i].hash.p)[h->users[i].hash.len] = '\0';
    close(fd);
    return h;
fail:
    if (fd >= 0)
        close(fd);
    htpasswd_free(h);
    return NULL;
}

void htpasswd_free(htpasswd_t *h)
{
    if (h == NULL)
        return;
    free(h->users);
    free(h->text);
    free(h);
}

const htpasswd_user_t *htpasswd_find(const htpasswd_t *h, str_t name)
{
    for (size_t i = 0; i < h->n; i++)
        if (h->users[i].name.len == name.len && memcmp(h->users[i].name.p, name.p, name.len) == 0)
            return &h->users[i];
    return NULL;
}
