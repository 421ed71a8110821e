/*
 * libFuzzer target for the htpasswd parser: whatever the bytes, it either
 * fails with a message naming a line, or every entry it returns points
 * inside the input, has a non-empty name without ':' and a hash of one of
 * the accepted kinds, lines increase, and no two names are equal. It never
 * writes past the table it is given.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "htpasswd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    size_t max = htpasswd_lines(text, size);
    if (max == 0 || max > 100000)
        abort();
    /* Half the lines at most: a short table must be refused, not overrun. */
    size_t cap = (size & 1) ? max : (max + 1) / 2;
    htpasswd_user_t *users = malloc(cap * sizeof(*users));
    char err[HTPASSWD_ERR_LEN];
    size_t n = 0;
    if (users == NULL)
        return 0;
    if (htpasswd_parse(text, size, users, cap, &n, err, sizeof(err)) < 0) {
        if (strncmp(err, "line ", 5) != 0)
            abort();
        free(users);
        return 0;
    }
    if (n > cap)
        abort();
    for (size_t i = 0; i < n; i++) {
        const htpasswd_user_t *u = &users[i];
        if (u->name.p < text || u->name.p + u->name.len > text + size || u->name.len == 0 ||
            memchr(u->name.p, ':', u->name.len) != NULL)
            abort();
        if (u->hash.p < text || u->hash.p + u->hash.len > text + size || u->hash.len == 0)
            abort();
        if ((int)u->kind < HTPASSWD_BCRYPT || u->kind > HTPASSWD_SHA1)
            abort();
        if (i > 0 && u->line <= users[i - 1].line)
            abort();
        for (size_t j = 0; j < i; j++)
            if (users[j].name.len == u->name.len && memcmp(users[j].name.p, u->name.p, u->name.len) == 0)
                abort();
    }
    free(users);
    return 0;
}
