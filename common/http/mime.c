/*
 * mime: see mime.h. The table is small and sorted by extension so a binary
 * search over it stays cheap enough for the request path.
 */
#include "mime.h"

#include <string.h>
#include <strings.h>

typedef struct {
    const char *ext;
    const char *type;
} mime_entry_t;

/* Sorted by ext (lowercase ASCII), for bsearch. */
static const mime_entry_t mime_table[] = {
    { "7z", "application/x-7z-compressed" },
    { "avif", "image/avif" },
    { "bmp", "image/bmp" },
    { "css", "text/css; charset=utf-8" },
    { "csv", "text/csv; charset=utf-8" },
    { "eot", "application/vnd.ms-fontobject" },
    { "gif", "image/gif" },
    { "gz", "application/gzip" },
    { "htm", "text/html; charset=utf-8" },
    { "html", "text/html; charset=utf-8" },
    { "ico", "image/x-icon" },
    { "jpeg", "image/jpeg" },
    { "jpg", "image/jpeg" },
    { "js", "text/javascript; charset=utf-8" },
    { "json", "application/json" },
    { "m4a", "audio/mp4" },
    { "map", "application/json" },
    { "md", "text/markdown; charset=utf-8" },
    { "mjs", "text/javascript; charset=utf-8" },
    { "mov", "video/quicktime" },
    { "mp3", "audio/mpeg" },
    { "mp4", "video/mp4" },
    { "oga", "audio/ogg" },
    { "ogg", "audio/ogg" },
    { "ogv", "video/ogg" },
    { "otf", "font/otf" },
    { "pdf", "application/pdf" },
    { "png", "image/png" },
    { "rss", "application/rss+xml" },
    { "svg", "image/svg+xml" },
    { "tar", "application/x-tar" },
    { "ttf", "font/ttf" },
    { "txt", "text/plain; charset=utf-8" },
    { "wasm", "application/wasm" },
    { "wav", "audio/wav" },
    { "webm", "video/webm" },
    { "webmanifest", "application/manifest+json" },
    { "webp", "image/webp" },
    { "woff", "font/woff" },
    { "woff2", "font/woff2" },
    { "xml", "application/xml" },
    { "zip", "application/zip" },
};

str_t mime_extension(const char *path, size_t len)
{
    size_t i = len;
    while (i > 0 && path[i - 1] != '.' && path[i - 1] != '/')
        i--;
    if (i == 0 || path[i - 1] != '.')
        return str_make(path + len, 0);
    return str_make(path + i, len - i);
}

const char *mime_type_of_extension(str_t ext)
{
    if (ext.len == 0 || ext.len > MIME_EXT_MAX)
        return NULL;
    size_t lo = 0, hi = sizeof(mime_table) / sizeof(mime_table[0]);
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const char *e = mime_table[mid].ext;
        int c = strncasecmp(ext.p, e, ext.len);
        if (c == 0 && e[ext.len] != '\0')
            c = -1; /* ext is a proper prefix of e: ext sorts first */
        if (c == 0)
            return mime_table[mid].type;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const char *mime_type(const char *path, size_t len)
{
    const char *t = mime_type_of_extension(mime_extension(path, len));
    return t != NULL ? t : MIME_DEFAULT;
}
