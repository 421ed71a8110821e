/*
 * mime: Content-Type from a file name's extension.
 *
 * A built-in table of common types; lookup is case-insensitive on the
 * extension (the part after the last dot of the last path segment).
 * Unknown or missing extensions give "application/octet-stream".
 * Returned strings are static.
 */
#ifndef DROVER_MIME_H
#define DROVER_MIME_H

#include <stddef.h>

const char *mime_type(const char *path, size_t len);

#endif
