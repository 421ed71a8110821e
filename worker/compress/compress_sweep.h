/*
 * compress_sweep: the bound and the clean-up of the compressed variants'
 * directory (compress_cache.h describes the names), run by the pool's
 * thread after it made an entry, never by the event loop.
 *
 * One listing of the directory: entries of the file just compressed (same
 * device and inode) with another size or mtime are the variants of its
 * older versions, never served again (the name no longer matches) and
 * deleted; temporary files and claims older than an hour were left by a
 * dead maker and are deleted; then, while the total is above max_size,
 * the least recently used entries (oldest atime) go, down to 90 % of it.
 */
#ifndef DROVER_COMPRESS_SWEEP_H
#define DROVER_COMPRESS_SWEEP_H

#include <stdint.h>
#include <sys/stat.h>

/* made: the file just compressed (NULL: none), made_name: its new entry,
 * which is kept. Returns the bytes left in the directory. */
uint64_t compress_sweep(int dirfd, uint64_t max_size, const struct stat *made,
                        const char *made_name);

#endif
