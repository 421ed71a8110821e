/*
 * autoindex: see autoindex.h.
 */
#include "config.h"

#include "autoindex.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error_page.h"
#include "file_cache.h"
#include "http_date.h"
#include "log.h"
#include "path.h"

static void autoindex__html_escape(FILE *f, const char *s)
{
    for (const char *p = s; *p; p++) {
        switch (*p) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*p, f);
        }
    }
}

/* The listing of dirfd into a memfd: its descriptor and length. */
static int autoindex__listing(int dirfd, const char *path, int *out_fd, size_t *len)
{
    int mfd = memfd_create("drover-index", MFD_CLOEXEC);
    FILE *f = NULL;
    struct dirent **names = NULL;
    int n = -1;
    if (mfd < 0)
        goto fail;
    int dupfd = dup(mfd);
    if (dupfd < 0 || (f = fdopen(dupfd, "w")) == NULL) {
        if (dupfd >= 0)
            close(dupfd);
        goto fail;
    }
    n = scandirat(dirfd, ".", &names, NULL, alphasort);
    if (n < 0)
        goto fail;
    fputs("<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Index of ", f);
    autoindex__html_escape(f, path);
    fputs("</title></head>\n<body><h1>Index of ", f);
    autoindex__html_escape(f, path);
    fputs("</h1><hr><pre>\n<a href=\"../\">../</a>\n", f);
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        struct stat st;
        if (name[0] == '.' || fstatat(dirfd, name, &st, 0) < 0)
            continue;
        int dir = S_ISDIR(st.st_mode);
        char link[sizeof(names[i]->d_name) * 3];
        size_t ll = path_encode(name, strlen(name), PATH_ENCODE_NAME, link);
        fputs("<a href=\"", f);
        fwrite(link, 1, ll, f);
        fputs(dir ? "/\">" : "\">", f);
        autoindex__html_escape(f, name);
        char date[HTTP_DATE_LEN + 1];
        http_date_format(st.st_mtime, date);
        if (dir)
            fprintf(f, "/</a>  %s  -\n", date);
        else
            fprintf(f, "</a>  %s  %lld\n", date, (long long)st.st_size);
    }
    fputs("</pre><hr>drover</body></html>\n", f);
    if (fflush(f) != 0)
        goto fail;
    *len = (size_t)ftell(f);
    fclose(f);
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    *out_fd = mfd;
    return 0;

fail:
    log_error("directory listing of %s: %s", path, strerror(errno));
    if (f != NULL)
        fclose(f);
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (mfd >= 0)
        close(mfd);
    return -1;
}

void autoindex_respond(worker_t *w, const char *path, size_t plen, response_t *r)
{
    int dirfd = file_cache_openat(w->fc, file_cache_root_fd(w->fc), plen > 1 ? path + 1 : ".");
    int fd = -1;
    size_t len;
    if (dirfd < 0 || autoindex__listing(dirfd, path, &fd, &len) < 0) {
        if (dirfd >= 0)
            close(dirfd);
        error_page_status(w, r, 500);
        return;
    }
    close(dirfd);
    response_init(r, 200);
    response_addf(r, "Content-Type: text/html; charset=utf-8\r\nContent-Length: %zu\r\n", len);
    response_file(r, fd, 0, len, NULL);
}
