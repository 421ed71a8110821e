/*
 * compress_sweep: see compress_sweep.h.
 */
#include "compress_sweep.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define COMPRESS_SWEEP_LEFTOVER 3600 /* seconds: a tmp file or claim this old is dead */
#define COMPRESS_SWEEP_MAX 1000000   /* entries looked at, at most */

typedef struct {
    char *name;
    time_t atime;
    uint64_t size;
} compress_sweep_entry_t;

static int compress_sweep__older(const void *a, const void *b)
{
    const compress_sweep_entry_t *x = a, *y = b;
    return x->atime < y->atime ? -1 : x->atime > y->atime;
}

uint64_t compress_sweep(int dirfd, uint64_t max_size, const struct stat *made,
                        const char *made_name)
{
    char prefix[64] = "";
    size_t plen = 0;
    if (made != NULL) {
        snprintf(prefix, sizeof(prefix), "%llx-%llx-", (unsigned long long)made->st_dev,
                 (unsigned long long)made->st_ino);
        plen = strlen(prefix);
    }
    /* The identity part of the new entry's name: "<size>-<mtime>-". */
    const char *ident = made_name != NULL && plen > 0 && strncmp(made_name, prefix, plen) == 0
                            ? made_name + plen : NULL;
    size_t ilen = ident != NULL ? (size_t)(strrchr(ident, '-') - ident) : 0;

    /* A descriptor of its own: a dup() would share the listing's offset,
     * and the next sweep would start at the end. */
    int dfd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (d == NULL) {
        if (dfd >= 0)
            close(dfd);
        return 0;
    }
    compress_sweep_entry_t *ents = NULL;
    size_t n = 0, cap = 0, seen = 0;
    uint64_t total = 0;
    time_t now = time(NULL);
    struct dirent *de;
    while ((de = readdir(d)) != NULL && seen++ < COMPRESS_SWEEP_MAX) {
        const char *nm = de->d_name;
        struct stat st;
        if (nm[0] == '.' || fstatat(dirfd, nm, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
            continue;
        if (strstr(nm, ".tmp.") != NULL || strstr(nm, ".claim") != NULL) {
            if (st.st_mtime + COMPRESS_SWEEP_LEFTOVER < now)
                unlinkat(dirfd, nm, 0);
            continue;
        }
        if (ident != NULL && strncmp(nm, prefix, plen) == 0 &&
            strncmp(nm + plen, ident, ilen) != 0) {
            unlinkat(dirfd, nm, 0); /* a variant of an older version of the file */
            continue;
        }
        total += (uint64_t)st.st_size;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            compress_sweep_entry_t *m = realloc(ents, ncap * sizeof(*ents));
            if (m == NULL)
                continue;
            ents = m;
            cap = ncap;
        }
        if ((ents[n].name = strdup(nm)) == NULL)
            continue;
        ents[n].atime = st.st_atime;
        ents[n].size = (uint64_t)st.st_size;
        n++;
    }
    closedir(d);
    if (total > max_size) {
        qsort(ents, n, sizeof(*ents), compress_sweep__older);
        uint64_t goal = max_size / 10 * 9;
        for (size_t i = 0; i < n && total > goal; i++) {
            if (made_name != NULL && strcmp(ents[i].name, made_name) == 0)
                continue;
            if (unlinkat(dirfd, ents[i].name, 0) == 0)
                total -= ents[i].size;
        }
    }
    for (size_t i = 0; i < n; i++)
        free(ents[i].name);
    free(ents);
    return total;
}
