/*
 * conf_keys: the table of configuration keys, internal to common/conf/conf*.c.
 *
 * One row per key says everything the loader, the defaults, the freeing
 * and the printer need: its name, its kind, where in the scope's struct it
 * is stored (offsetof), its limits, its default (as the YAML text a user
 * would write) and its scope, the mappings it may appear in. A mapping
 * parsed under a scope accepts only the rows of that scope, so a key that
 * makes sense in more than one place says so in one row:
 * `CONF_SCOPE_TOP | CONF_SCOPE_HOST`.
 *
 * Invariant: the rows of one scope store into one struct type, the one
 * passed as `base` when that scope is parsed, defaulted, freed or printed;
 * TOP and STATUS both store into conf_t. A row valid in several scopes
 * stores at the same offset in each scope's struct (the per-host settings
 * will be a struct embedded at the same place in both).
 */
#ifndef DROVER_CONF_KEYS_H
#define DROVER_CONF_KEYS_H

#include <stddef.h>
#include <stdio.h>

#include "conf.h"

typedef enum {
    CONF_KIND_BOOL,     /* int: 0 or 1 */
    CONF_KIND_INT,      /* int, min..max */
    CONF_KIND_SIZE,     /* size_t bytes, min..max */
    CONF_KIND_DURATION, /* double seconds, min..max */
    CONF_KIND_PATH,     /* char *, absolute, owned */
    CONF_KIND_STRING,   /* char *, owned; check() when set */
    CONF_KIND_LIST,     /* an array of list->size items, count at count_offset */
    CONF_KIND_MAP,      /* conf_map_t, keys and values checked by map */
    CONF_KIND_ENUM,     /* int: the index in names */
    CONF_KIND_SECTION,  /* a mapping of the rows of scope inner; offset: a char *
                         * that is non-NULL when the section was given */
    CONF_KIND_HOSTS,    /* hosts: name -> a mapping of the rows of scope HOST, each
                         * into its own conf_t (conf_host_t, conf_hosts.c) */
    CONF_KIND_LOCATIONS, /* locations: pattern -> a mapping of the rows of scope RULE,
                          * read once the host's own keys are (conf_rules.c) */
    CONF_KIND_NODE,     /* read by node(): a value of more than one shape
                         * (return: 404 or {code, body}), conf_rules.c */
} conf_kind_t;

/* Where a key may appear. Per-host and per-listener scopes come next. */
#define CONF_SCOPE_TOP 0x1u
#define CONF_SCOPE_STATUS 0x2u /* inside status: {path, allow} */
#define CONF_SCOPE_METRICS 0x20u /* inside metrics: {path, allow} */
#define CONF_SCOPE_LISTEN 0x4u /* a listen entry as a mapping: conf_listen_t */
/* The scopes of list items store into the item, not into conf_t. */
#define CONF_SCOPE_TLS 0x8u     /* inside tls: {certificates, min_version, ...} */
#define CONF_SCOPE_TLS_CERT 0x10u /* an entry of tls.certificates: conf_tls_cert_t */
#define CONF_SCOPE_HOST 0x100u  /* inside a hosts: entry; stores into the host's conf_t */
#define CONF_SCOPE_HOST_TLS 0x200u /* inside a host's tls: {cert, key} */
#define CONF_SCOPE_RULE 0x400u  /* inside a locations: entry; stores into the rule's conf_t */
#define CONF_SCOPE_ITEMS (CONF_SCOPE_LISTEN | CONF_SCOPE_TLS_CERT)
/* Every scope is one bit of its own: two scopes sharing a bit would let the
 * keys of one appear (and take their defaults) inside the other. */
#define CONF_SCOPE__EACH                                                       \
    (CONF_SCOPE_TOP + CONF_SCOPE_STATUS + CONF_SCOPE_METRICS + CONF_SCOPE_LISTEN + \
     CONF_SCOPE_TLS + CONF_SCOPE_TLS_CERT + CONF_SCOPE_HOST + CONF_SCOPE_HOST_TLS + \
     CONF_SCOPE_RULE)
_Static_assert(CONF_SCOPE__EACH ==
                   (CONF_SCOPE_TOP | CONF_SCOPE_STATUS | CONF_SCOPE_METRICS | CONF_SCOPE_LISTEN |
                    CONF_SCOPE_TLS | CONF_SCOPE_TLS_CERT | CONF_SCOPE_HOST | CONF_SCOPE_HOST_TLS |
                    CONF_SCOPE_RULE),
               "two config scopes share a bit");
#define CONF_SCOPE_ALL (0xffffffffu & ~CONF_SCOPE_ITEMS) /* every scope stored in conf_t */

#define CONF_F_AUTO 0x1u     /* int: "auto" is the number of CPUs */
#define CONF_F_STDERR 0x2u   /* path: "stderr" stays "stderr" */
#define CONF_F_OFF 0x4u      /* path: "off" (or plain false) stores NULL */
#define CONF_F_REQUIRED 0x8u /* in a section: must be given */
#define CONF_F_NONE 0x10u    /* string: "none" stores NULL; list: a single value is a
                              * list of one, "none" an empty list */
#define CONF_F_SHARED 0x40u  /* node: a reference-counted pointer (conf_access.h) that
                              * a host or location inheriting it shares */
#define CONF_F_OWN 0x20u     /* a host key that a host does not inherit from the top
                              * level, nor a location from its host */

/* How the items of a list are read, kept, compared, printed and freed (the
 * kinds the table's rows use are in conf_items.c). */
typedef struct {
    size_t size;                              /* bytes per item */
    int (*parse)(const char *s, void *item);  /* 0 ok, -1 bad value */
    const char *expected;                     /* "a plain file name" */
    int (*keep)(void *item, const char *s);   /* copy what needs it; -1 ENOMEM */
    int (*same)(const void *a, const void *b); /* non-NULL: duplicates are errors */
    void (*print)(FILE *out, const void *item);
    void (*free)(void *item);
    /* Non-zero: an item may also be a mapping of the rows of this scope,
     * stored into the item; then finish() completes it (0 ok, -1 with
     * what went wrong in why). */
    unsigned item_scope;
    int (*finish)(void *item, const char **why);
    int paths;  /* items are paths, resolved to absolute before parse() */
} conf_list_kind_t;

/* What the keys and the values of a mapping must be (conf_items.c). */
typedef struct {
    int (*key_ok)(const char *);
    const char *key_what;
    int (*value_ok)(const char *);
    const char *value_what;
    const char *example;
    int keep_case; /* keys keep the case they were written in (header names
                    * go out as the user wrote them); else lower-cased */
} conf_map_kind_t;

typedef struct {
    const char *name;
    conf_kind_t kind;
    unsigned scope;            /* CONF_SCOPE_* bits */
    size_t offset;             /* where the value is stored in the scope's struct */
    const char *def;           /* the default as YAML text; lists: items separated
                                * by spaces; NULL: none (zero, NULL, empty) */
    double min, max;           /* int, size, duration */
    unsigned flags;            /* CONF_F_* */
    const char *const *names;  /* enum: NULL-terminated */
    const conf_list_kind_t *list;
    size_t max_items;          /* list: capacity of the array */
    size_t count_offset;       /* list: a size_t, the number of items */
    const conf_map_kind_t *map;
    int (*check)(const char *s); /* string: 1 when acceptable */
    const char *expected;      /* string: what check() wants, for errors */
    size_t line_offset;        /* string: an unsigned that gets the line (0: none) */
    unsigned inner;            /* section: the scope of its keys */
    /* node: reads value node (a yaml_node_t *) of this row into base, with
     * ctx a conf_ctx_t * for errors. 0, or -1 with the error set. */
    int (*node)(void *ctx, const void *row, void *value, char *base);
    const char *doc;           /* one line, printed by drover -T */
    /* node, when the value is inherited (TOP | HOST | RULE): copies src into
     * dst (0, or -1 ENOMEM) -- with CONF_F_SHARED by sharing a reference,
     * else deeply -- frees what base + offset owns, prints it (one line). */
    int (*node_copy)(void *dst, const void *src);
    void (*node_free)(void *at, const char *name);
    void (*node_print)(FILE *out, const char *name, const void *at, const char *indent);
} conf_key_t;

extern const conf_key_t conf__keys[];
extern const size_t conf__num_keys;

/* The row named name that may appear in scope, or NULL. */
const conf_key_t *conf__key_find(const char *name, unsigned scope);

/* A description of the keys of a scope ("path or allow"), for errors. */
void conf__keys_list(unsigned scope, char *out, size_t size);

/* Frees what the rows of scope own in base and zeroes them. */
void conf__free_scope(void *base, unsigned scope);

/* Copies the values of the rows of scope from src into dst (zeroed for
 * them), deeply: a host inheriting the top level's. A list item is copied
 * as its bytes when its kind has no keep(), else it must be a char * that
 * keep() copies. 0, or -1 (ENOMEM). */
int conf__copy_scope(void *dst, const void *src, unsigned scope);

/* Frees the hosts of a top-level conf_t (conf_hosts.c). */
void conf_hosts_free(conf_t *c);

/* Writes s as a YAML double-quoted scalar, which reads back as s. */
void conf__print_quoted(FILE *out, const char *s);

/* Frees the items of a map and empties it. */
void conf__map_free(conf_map_t *m);

#endif
