/*
 * response: the description of a response, which handlers fill and a
 * protocol frames.
 *
 * A handler (static.c, autoindex.c, status.c, error_page.c) decides a
 * response_t from a request and never touches a connection: status, header
 * lines, and a body that is one of
 *   none, bytes (in memory), a file range (a descriptor), or pieces (a
 *   multipart/byteranges body: part headers interleaved with ranges of one
 *   file, in memory or on disk).
 * http1.c writes the description onto a connection; HTTP/2 will frame the
 * same description. The protocol also drops the body of a HEAD response:
 * handlers always describe the whole body.
 *
 * Ownership: the body's bytes or descriptor belong to ref (a file cache
 * entry the response holds a reference to) when ref is set; a descriptor
 * without ref (a generated body in a memfd) belongs to the response. Whoever
 * frames the response takes both over, or calls response_release().
 * Header lines and small bodies the handler makes itself live in the
 * response's scratch space (response_alloc), so a response_t must outlive
 * its framing; it is meant to live on the stack of one request.
 *
 * response_head() is the HTTP/1 serialisation of the status line and the
 * header lines; it is a pure function of its arguments, unit-tested in
 * tests/unit/check_response.c.
 */
#ifndef DROVER_RESPONSE_H
#define DROVER_RESPONSE_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "http_range.h"
#include "str.h"

#define RESPONSE_MAX_LINES 8
/* Room for what a handler builds: the longest Location (a 4 KiB path,
 * percent-encoded) or the part headers of a multipart body. */
#define RESPONSE_SCRATCH 16384

struct file_cache_entry_s;
struct file_cache_s;

typedef enum {
    RESPONSE_BODY_NONE = 0,
    RESPONSE_BODY_BYTES,   /* bytes[0, length) */
    RESPONSE_BODY_FILE,    /* fd's range [off, off + length) */
    RESPONSE_BODY_PIECES,  /* parts, see response_part_t */
} response_body_t;

/* Part i of a multipart body: parts[end of part i-1's header, head_end),
 * then the file's range [off, end) (empty for the closing boundary). */
typedef struct {
    size_t head_end;
    off_t off, end;
} response_part_t;

typedef struct {
    int status;
    unsigned close : 1;         /* the connection must close after it */
    unsigned overflow : 1;      /* something did not fit: answer 500 instead */
    unsigned pending : 1;       /* no answer yet: the request waits (auth_pool.h) */
    /* No answer yet: the location's keys (a conf_t *) forward the request
     * to its proxy (worker/proxy/proxy.h), with the prefix its matched
     * location pattern has (a URL proxy's path replaces it). */
    const void *proxy;
    str_t proxy_prefix;
    str_t proxy_path;           /* the decoded, normalised path it matched (in scratch) */
    unsigned nlines;
    str_t lines[RESPONSE_MAX_LINES]; /* each whole "Name: value\r\n" lines */

    response_body_t body;
    uint64_t length;            /* body bytes (the whole multipart body for PIECES) */
    const char *bytes;          /* BYTES; PIECES of a file in memory (else NULL) */
    int fd;                     /* FILE; PIECES of a file on disk; else -1 */
    off_t off;                  /* FILE */
    struct file_cache_entry_s *ref; /* the reference that owns bytes or fd, or NULL */
    const char *parts;          /* PIECES: the part headers */
    response_part_t part[HTTP_RANGE_MAX + 1];
    unsigned nparts;            /* ranges; part[nparts] is the closing boundary */

    /* Site rules (worker/rule_handler.c): the rule that answered (its
     * pattern, for the access log; NULL: none), and the log the request
     * goes to instead of its host's (an access_log_t *; NULL: the host's). */
    const char *rule;
    void *log;
    unsigned nolog : 1;         /* the rule's access_log: off */
    /* The rule's headers ("Name: value\r\n" lines), added after the host's,
     * and the names it removes ("Name\0Name\0"); NULL: none. */
    const char *rule_headers;
    size_t rule_headers_len;
    const char *rule_unset;
    /* The answering host's own hsts (conf_t.host_hsts) when hsts_set; else
     * the top level's tls.hsts goes out over HTTPS. */
    const char *hsts;
    int hsts_set;
    size_t rule_unset_len;

    size_t used;                /* of scratch */
    char scratch[RESPONSE_SCRATCH];
} response_t;

/* Starts r with status and nothing else (scratch is left as it is: the
 * hot path does not pay for clearing it). */
void response_init(response_t *r, int status);

/* Adds header lines ("Name: value\r\n"..., len bytes), which must outlive r
 * or be in its scratch. */
void response_add(response_t *r, const char *lines, size_t len);

/* Formats header lines into scratch and adds them. */
void response_addf(response_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* n bytes of scratch, or NULL (and r->overflow) when there is no room. */
char *response_alloc(response_t *r, size_t n);

/* Removes every header line named name[0..len) (case-insensitive) that r
 * has so far, copying the blocks that held one into scratch. */
void response_remove_header(response_t *r, const char *name, size_t len);

/* Adds lines ("Name: value\r\n"...), replacing the lines of the same names
 * that r has so far: a configured header is sent once, never beside
 * drover's own (Cache-Control, Content-Type...). */
void response_replace_headers(response_t *r, const char *lines, size_t len);

/* Bodies. ref: as above. */
void response_bytes(response_t *r, const char *p, size_t len, struct file_cache_entry_s *ref);
void response_file(response_t *r, int fd, off_t off, uint64_t len, struct file_cache_entry_s *ref);

/* Drops the body: the reference or descriptor it holds is released. */
void response_release(response_t *r, struct file_cache_s *fc);

/* Writes "HTTP/1.1 <status> <reason>\r\nServer: drover\r\nDate: <wall>\r\n"
 * and r's header lines into out (no blank line: the protocol adds its own
 * lines first). Returns the bytes written, or -1 when they do not fit in
 * cap (out's content is then undefined). */
ssize_t response_head(const response_t *r, time_t wall, char *out, size_t cap);

/* The Server header's value: server_tokens off, and on (with the version). */
#define RESPONSE_SERVER "drover"
#define RESPONSE_SERVER_VERSION "drover/" PACKAGE_VERSION

/* The same as a connection sends it, for HTTP/1 and HTTP/2 alike: server
 * is the Server value (server_tokens), hsts (NULL: none) the
 * Strict-Transport-Security value an HTTPS response carries. */
ssize_t response_head_as(const response_t *r, time_t wall, const char *server, const char *hsts,
                         char *out, size_t cap);

#endif
