/*
 * libFuzzer target for the Range parser: a satisfiable answer always lies
 * inside the file, and never costs more than the file.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_range.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 8)
        return 0;
    int64_t fsize;
    memcpy(&fsize, data, 8);
    fsize = fsize < 0 ? -(fsize + 1) : fsize;
    fsize %= (int64_t)1 << 40;
    char *copy = malloc(size - 8 + 1);
    memcpy(copy, data + 8, size - 8);
    int64_t s = -1, e = -1;
    http_range_result_t r = http_range_parse(str_make(copy, size - 8), fsize, &s, &e);
    if (r == HTTP_RANGE_OK && (s < 0 || e < s || e >= fsize))
        abort();
    free(copy);
    return 0;
}
