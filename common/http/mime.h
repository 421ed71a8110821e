/*
 * mime: Content-Type from a file name's extension.
 *
 * A built-in table of common types; lookup is case-insensitive on the
 * extension (the part after the last dot of the last path segment).
 * Unknown or missing extensions give "application/octet-stream".
 * Returned strings are static. The config's mime_types are looked up by
 * the caller first (the file cache), with the same mime_extension().
 */
#ifndef DROVER_MIME_H
#define DROVER_MIME_H

#include <stddef.h>

#include "str.h"

#define MIME_DEFAULT "application/octet-stream"
#define MIME_EXT_MAX 15 /* longer extensions are not looked up */

const char *mime_type(const char *path, size_t len);

/* The extension of the last segment of path, without its dot: a slice of
 * path, empty when there is none ("a/b", "a.d/b", "a.", ".profile" has
 * "profile"). */
str_t mime_extension(const char *path, size_t len);

/* The built-in type of an extension, or NULL when the table has none. */
const char *mime_type_of_extension(str_t ext);

#endif
