/*
 * redirect_map: a site migration's redirect file, loaded once at config
 * load into an immutable hash, then looked up per request by exact path.
 *
 * The file has one redirect per line, "FROM TO [CODE]", fields separated
 * by spaces or tabs; blank lines and lines whose first non-blank byte is
 * '#' are ignored, and one '\r' before a line's end is dropped (a file
 * saved with CRLF). FROM is an exact path as the request's normalised,
 * decoded path reads (it starts with '/', no query); TO is a URL or a path
 * sent as it is in Location; CODE is 301, 302, 303, 307 or 308, 301 when
 * left out. A file that breaks any of this is refused whole, with the line
 * that broke it: a migration half loaded would redirect some old URLs and
 * 404 the rest without a word.
 *
 * The master loads the map before it forks (redirect_map_load reads the
 * file and does the only allocations); workers then share its pages and
 * only look up. A map never changes after it is loaded, so lookups need no
 * locks and never allocate. The hash is keyed with a random key per map,
 * so a path set cannot be prepared offline to collide in it.
 *
 * Ownership: the map owns every byte it hands out. The TO that
 * redirect_map_get() points to lives in the map, is not NUL-terminated,
 * and stays valid until redirect_map_free(). A path passed in is read only
 * during the call.
 */
#ifndef DROVER_REDIRECT_MAP_H
#define DROVER_REDIRECT_MAP_H

#include <stddef.h>

typedef struct redirect_map_s redirect_map_t;

#define REDIRECT_MAP_ERR_LEN 512          /* size of the err buffer */
#define REDIRECT_MAP_LINE_MAX 8192        /* bytes in a line, without its '\n' */
#define REDIRECT_MAP_FILE_MAX (1u << 30)  /* bytes in the file: 1 GiB */

/*
 * Reads the redirect file at path. Returns the map, owned by the caller
 * (redirect_map_free), or NULL with a message in err (REDIRECT_MAP_ERR_LEN
 * bytes, NUL-terminated): "<path>:<line>: <problem>" for what the file
 * says, such as a duplicate FROM (naming both lines) or a bad code;
 * "open(\"<path>\"): <strerror>" (or read, fstat) when it cannot be read;
 * "<path>: ..." for out of memory or a file over REDIRECT_MAP_FILE_MAX.
 * A file with no redirects gives an empty map.
 */
redirect_map_t *redirect_map_load(const char *path, char *err);

/*
 * Looks up the exact path[0..len) (need not be NUL-terminated). Returns 1
 * when it is a FROM, with *to and *to_len its TO (owned by the map, see
 * above) and *code its status; 0 when it is not (or m is NULL), leaving
 * the three untouched. Never allocates.
 */
int redirect_map_get(const redirect_map_t *m, const char *path, size_t len, const char **to,
                     size_t *to_len, int *code);

/* Redirects in the map; 0 for NULL. */
size_t redirect_map_count(const redirect_map_t *m);

/* Frees the map and every TO it handed out. NULL is fine. */
void redirect_map_free(redirect_map_t *m);

#endif
