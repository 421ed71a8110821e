/*
 * path: see path.h.
 *
 * Decoding and normalising happen in one pass over the input, so an encoded
 * "%2e%2e" or "%2f" is treated exactly like the literal bytes: there is no
 * second decoding pass that could turn a checked path into an unchecked one.
 */
#include "path.h"

#include <string.h>

#include "str.h"

ssize_t path_normalize(const char *in, size_t len, char *out, size_t outsize)
{
    if (len == 0 || in[0] != '/' || outsize < len + 1)
        return -1;

    size_t o = 0;       /* bytes written to out */
    size_t seg = 0;     /* where the current segment starts in out */
    out[o++] = '/';
    seg = o;

    for (size_t i = 1; i <= len; i++) {
        int c;
        if (i == len) {
            c = '/'; /* a virtual slash ends the last segment */
        } else {
            c = (unsigned char)in[i];
            if (c == '%') {
                if (i + 2 >= len)
                    return -1;
                int hi = str_hex_digit((unsigned char)in[i + 1]);
                int lo = str_hex_digit((unsigned char)in[i + 2]);
                if (hi < 0 || lo < 0)
                    return -1;
                c = hi * 16 + lo;
                i += 2;
            }
            if (c == 0 || c == '\\' || c < 0x20 || c == 0x7f)
                return -1;
        }

        if (c != '/') {
            out[o++] = (char)c;
            continue;
        }

        /* End of a segment: out[seg..o) holds it. */
        size_t slen = o - seg;
        if (slen == 0) {
            /* empty segment from "//": collapse */
        } else if (slen == 1 && out[seg] == '.') {
            o = seg;
        } else if (slen == 2 && out[seg] == '.' && out[seg + 1] == '.') {
            if (seg == 1)
                return -1; /* would climb above the root */
            /* drop this segment and the previous one */
            o = seg - 1;           /* at the slash before ".." */
            while (o > 0 && out[o - 1] != '/')
                o--;
        } else if (i < len) {
            out[o++] = '/';
        } else {
            /* last segment, no trailing slash in the input */
            goto done;
        }
        seg = o;
    }
done:
    /* A trailing "/", "/." or "/.." leaves out ending in '/', which is right:
     * those name a directory. */
    out[o] = '\0';
    return (ssize_t)o;
}

int path_has_dotfile(const char *path, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++) {
        if (path[i] == '/' && path[i + 1] == '.') {
            static const char wk[] = ".well-known";
            size_t rest = len - (i + 1);
            if (rest >= sizeof(wk) - 1 && memcmp(path + i + 1, wk, sizeof(wk) - 1) == 0 &&
                (rest == sizeof(wk) - 1 || path[i + sizeof(wk)] == '/'))
                continue;
            return 1;
        }
    }
    return 0;
}

size_t path_encode(const char *in, size_t len, path_encode_t kind, char *out)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)in[i];
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            (ch != '\0' && strchr("-._~", ch) != NULL) ||
            (kind == PATH_ENCODE_PATH && ch != '\0' && strchr("/!$&'()*+,;=:@", ch) != NULL)) {
            out[n++] = (char)ch;
        } else {
            out[n++] = '%';
            out[n++] = hex[ch >> 4];
            out[n++] = hex[ch & 15];
        }
    }
    return n;
}
