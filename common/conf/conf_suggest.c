/*
 * conf_suggest: see conf_suggest.h.
 *
 * Keys are short (under 32 bytes), so the distance is the plain dynamic
 * programme over two rows plus the one before them (the swap of two
 * neighbours, "optimal string alignment"), on the stack.
 */
#include "conf_suggest.h"

#include <ctype.h>
#include <string.h>

#include "conf_keys.h"

#define CONF_SUGGEST_MAX_LEN 64

size_t conf_suggest_distance(const char *a, const char *b, size_t limit)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t rows[3][CONF_SUGGEST_MAX_LEN + 1];
    if (la > CONF_SUGGEST_MAX_LEN || lb > CONF_SUGGEST_MAX_LEN)
        return limit + 1;
    if ((la > lb ? la - lb : lb - la) > limit)
        return limit + 1;
    size_t *before = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t best = cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
            size_t d = prev[j - 1] + (ca != cb);
            if (prev[j] + 1 < d)
                d = prev[j] + 1;
            if (cur[j - 1] + 1 < d)
                d = cur[j - 1] + 1;
            if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
                tolower((unsigned char)a[i - 2]) == cb && before[j - 2] + 1 < d)
                d = before[j - 2] + 1;
            cur[j] = d;
            if (d < best)
                best = d;
        }
        /* Every later row is at least the smallest of this one. */
        if (best > limit)
            return limit + 1;
        size_t *t = before;
        before = prev;
        prev = cur;
        cur = t;
    }
    return prev[lb] > limit ? limit + 1 : prev[lb];
}

const char *conf_suggest_key(const char *name, unsigned scope)
{
    size_t len = strlen(name);
    size_t limit = len < 5 ? 1 : len < 9 ? 2 : 3;
    const char *best = NULL;
    size_t best_d = limit + 1;
    for (size_t i = 0; i < conf__num_keys; i++) {
        if (!(conf__keys[i].scope & scope))
            continue;
        size_t d = conf_suggest_distance(name, conf__keys[i].name, limit);
        if (d < best_d) {
            best_d = d;
            best = conf__keys[i].name;
        }
    }
    return best;
}
