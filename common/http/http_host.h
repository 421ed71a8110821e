/*
 * http_host: the grammar of a Host header (and of an absolute-form
 * target's authority), and the normal form virtual hosts compare. Pure:
 * no allocation, no I/O; fuzzed with the request parser.
 */
#ifndef DROVER_HTTP_HOST_H
#define DROVER_HTTP_HOST_H

#include <stddef.h>
#include <sys/types.h>

#include "str.h"

/*
 * Host (RFC 9112 3.2, RFC 3986 3.2.2): uri-host [ ":" port ], where
 * uri-host is an IP-literal ("[v6]", or IPvFuture "[v1.x]"), or a reg-name
 * (IPv4 addresses included) made of letters, digits and "-._~" with no
 * empty label but one trailing dot. sub-delims and percent-encoding, valid
 * in a URI's reg-name, are refused: no DNS name holds them. The port is 1 to
 * 5 digits, at most 65535; an empty port ("host:") is refused. An empty
 * value is valid (RFC 9112 3.2: a target without authority).
 *
 * http_host_parse: 0 when value is valid, with *host the uri-host as sent
 * (an IP-literal with its brackets, a trailing dot kept; a slice of value)
 * and *port the port or -1 when none; -1 when invalid.
 *
 * http_host_normalize: writes the uri-host of a valid value into buf, lower
 * case, without the port and without one trailing dot; an IP-literal is kept
 * whole, brackets included. Returns its length (0 for an empty Host), or -1
 * when the value is invalid or the host is longer than size. buf is the
 * caller's and is not NUL-terminated. This is the form virtual hosts compare.
 */
int http_host_parse(str_t value, str_t *host, int *port);
ssize_t http_host_normalize(str_t value, char *buf, size_t size);

#endif
