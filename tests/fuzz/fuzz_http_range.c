/*
 * libFuzzer target for the Range parser. The first 8 bytes are the file
 * size, the next one the caller's max, the rest the field value. Whatever
 * the input, a satisfiable answer is at most max ranges, each inside the
 * file, pairwise disjoint and not even touching (they would have been
 * coalesced), and together never more bytes than the file.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_range.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 9)
        return 0;
    int64_t fsize;
    memcpy(&fsize, data, 8);
    fsize = fsize < 0 ? -(fsize + 1) : fsize;
    fsize %= (int64_t)1 << 40;
    size_t max = data[8] % (HTTP_RANGE_MAX + 2);
    /* An exact-size copy, so ASan sees any read past the value. */
    char *copy = malloc(size - 9 + 1);
    memcpy(copy, data + 9, size - 9);
    http_range_t r[HTTP_RANGE_MAX + 2];
    memset(r, 0xa5, sizeof(r));
    size_t n = 0;
    http_range_result_t res = http_range_parse(str_make(copy, size - 9), fsize, r, max, &n);
    if (res == HTTP_RANGE_OK) {
        if (n == 0 || n > max || n > HTTP_RANGE_MAX)
            abort();
        int64_t total = 0;
        for (size_t a = 0; a < n; a++) {
            if (r[a].start < 0 || r[a].end < r[a].start || r[a].end >= fsize)
                abort();
            for (size_t b = 0; b < a; b++)
                if (!(r[a].end + 1 < r[b].start || r[b].end + 1 < r[a].start))
                    abort();
            total += r[a].end - r[a].start + 1;
        }
        if (total > fsize)
            abort();
    }
    free(copy);
    return 0;
}
