/*
 * libFuzzer target for the request parser. The input is copied to the end
 * of a page followed by a PROT_NONE guard page (picohttpparser's trick), so
 * a read one byte past the buffer faults even without ASan's redzones. Every
 * prefix is also fed, as bytes arriving one read at a time, and must agree
 * with the whole-buffer result. A request that parses is then put through
 * what the server does with its fields: the preconditions, If-Range and
 * Accept-Encoding negotiation, which must answer within their ranges, and
 * Host normalisation.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "http_accept.h"
#include "http_conditional.h"
#include "http_parser.h"

static char *guarded(const uint8_t *data, size_t size, char **map, size_t *maplen)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t pages = (size + page - 1) / page + 1;
    *maplen = (pages + 1) * page;
    *map = mmap(NULL, *maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (*map == MAP_FAILED)
        abort();
    mprotect(*map + pages * page, page, PROT_NONE);
    char *buf = *map + pages * page - size;
    memcpy(buf, data, size);
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *map;
    size_t maplen;
    char *buf = guarded(data, size, &map, &maplen);
    static http_request_t whole, part;

    ssize_t r = http_parse_request(buf, size, 0, 8192, &whole);
    if (r > 0 && (size_t)r > size)
        abort();
    if (r == -1 && (whole.status < 400 || whole.status > 505))
        abort();
    if (r > 0) {
        str_t etag = STR_LIT("\"5f-1a\"");
        int st = http_conditional_check(&whole, etag, 1000000000, 1000003600);
        if (st != 200 && st != 304 && st != 412)
            abort();
        int ir = http_conditional_if_range(&whole, etag, 1000000000, 1000003600);
        if (ir != 0 && ir != 1)
            abort();
        unsigned avail = size & 7 ? (unsigned)(size & 6) : 6;
        http_coding_t c = http_accept_encoding_select(whole.accept_encoding, avail);
        if (c != HTTP_CODING_IDENTITY && !(avail & HTTP_CODING_MASK(c)))
            abort();
        /* A Host the parser let through normalises, within the caller's
         * buffer, to lower case and no longer than it was sent. */
        char norm[64];
        ssize_t n = http_host_normalize(whole.host, norm, sizeof(norm));
        if (n > (ssize_t)whole.host.len || (n < 0 && whole.host.len <= sizeof(norm)))
            abort();
        for (ssize_t i = 0; i < n; i++) {
            if (norm[i] >= 'A' && norm[i] <= 'Z')
                abort();
        }
    }

    /* Incremental: grow the length in steps; the first complete or failed
     * answer must equal the whole-buffer answer. */
    size_t last = 0;
    for (size_t len = 1; len <= size && size < 4096; len += 1 + len / 8) {
        ssize_t p = http_parse_request(buf, len, last, 8192, &part);
        if (p > 0) {
            if (r != p)
                abort();
            break;
        }
        if (p == -1)
            break; /* an early error may come before the whole head */
        last = len;
    }
    munmap(map, maplen);
    return 0;
}
