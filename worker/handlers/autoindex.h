/*
 * autoindex: the listing of a directory that has no index file, when
 * autoindex is on: entries sorted by name (byte order), dotfiles hidden,
 * names percent-encoded in links and HTML-escaped in text. The listing is
 * written to an anonymous file (memfd) and sent like any other file.
 */
#ifndef DROVER_AUTOINDEX_H
#define DROVER_AUTOINDEX_H

#include <stddef.h>

#include "response.h"
#include "worker.h"

/* path: the normalised request path of the directory (ending in "/"). */
void autoindex_respond(worker_t *w, const char *path, size_t plen, response_t *r);

#endif
