/*
 * static: answers GET and HEAD from the files under the root.
 *
 * What a path resolves to comes from the worker's file cache, which opens
 * files with openat2(RESOLVE_BENEATH) relative to the root: path_normalize()
 * already refused every way out of the root, and the kernel refuses them
 * again (a symlink that points outside included).
 *
 * The common case, a 200 for a small file, is one file_cache_get() and a
 * response that points at the entry's prebuilt header lines and bytes:
 * everything that varies by file (type, validators, encodings,
 * Cache-Control) was decided when the entry was built. Conditional
 * requests, ranges and negotiation cost only the requests that ask for
 * them: each is behind a test of whether its field was sent at all.
 */
#ifndef DROVER_STATIC_H
#define DROVER_STATIC_H

#include "handler.h"
#include "response.h"

void static_respond(const handler_req_t *h, response_t *r);

/* The same for path[0..plen), already normalised (path_normalize), under
 * w->fc's root; uri[0..ulen) is the request's normalised path, which a
 * directory's redirect to its slash form is built from (they differ under
 * a location's alias). */
void static_respond_path(const handler_req_t *h, response_t *r, const char *path, size_t plen,
                         const char *uri, size_t ulen);

#endif
