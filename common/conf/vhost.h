/*
 * vhost: which virtual host a request's Host names, in constant time.
 *
 * A table maps host names to host numbers. Exact names and aliases are
 * stored as themselves; a wildcard "*.example.com" is stored as its suffix
 * with the dot, ".example.com", in the same hash, so it can never collide
 * with an exact name (a name never starts with a dot). A lookup tries the
 * exact name once, then each suffix that starts at a dot, longest first:
 * the first hit is the longest matching wildcard. The cost depends on the
 * number of labels in the request's Host, never on the number of hosts.
 *
 * Names are stored in normal form (lower case, without one trailing dot),
 * the form http_host_normalize() gives a request's Host. The table owns
 * copies of its names. This module is pure: no I/O, no globals.
 *
 * Functions return 0 ok, -1 on error (errno: ENOMEM), as noted.
 */
#ifndef DROVER_VHOST_H
#define DROVER_VHOST_H

#include <stddef.h>

#include "str.h"

#define VHOST_NAME_MAX 253   /* a DNS name; IPv6 literals are shorter */
#define VHOST_DEFAULT (-1)   /* vhost_match: no host matched */

typedef struct vhost_table_s vhost_table_t;

/* A table sized for about n names. NULL when out of memory. */
vhost_table_t *vhost_table_new(size_t n);
void vhost_table_free(vhost_table_t *t);

/*
 * 1 when name (as written in a config) is a host name this module can
 * match: a name made of letters, digits, '-', '_' and '.', an IPv4 address,
 * an IPv6 literal in brackets, or "*." followed by such a name. Case and
 * one trailing dot do not matter.
 */
int vhost_name_ok(const char *name);

/* Writes the normal form of a config name into out (VHOST_NAME_MAX + 2
 * bytes): lower case, one trailing dot removed. Returns its length. */
size_t vhost_name_normal(const char *name, char *out);

/*
 * Adds name (valid, see vhost_name_ok) for host, seen on line. Returns 0,
 * 1 when the name is already in the table (then *dup_line is the line it
 * was added with and *dup_host its host), or -1 when out of memory.
 */
int vhost_table_add(vhost_table_t *t, const char *name, int host, unsigned line,
                    unsigned *dup_line, int *dup_host);

/* The host that the normalised name[0..len) selects: an exact name, else
 * the longest matching wildcard, else VHOST_DEFAULT. */
int vhost_match(const vhost_table_t *t, const char *name, size_t len);

/* The same for a raw Host header value (as sent, with any port), made
 * normal here: lower case, without the port and one trailing dot. An
 * absent or empty value selects VHOST_DEFAULT. The value is not validated
 * again (the parser answers an invalid Host with 400): a value that is not
 * a configured name simply matches nothing. */
int vhost_match_header(const vhost_table_t *t, str_t host);

/* 1 when the table holds exactly name[0..len) (a wildcard as ".suffix"). */
int vhost_table_has(const vhost_table_t *t, const char *name, size_t len);

#endif
