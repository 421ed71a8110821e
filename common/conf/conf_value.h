/*
 * conf_value: the scalar values of the configuration, parsed and printed
 * without YAML and without allocating: durations, sizes, listen addresses,
 * CIDR networks, booleans, integers, enumerations, and the predicates that
 * the mapping keys (cache_control, error_pages, mime_types) check.
 *
 * Every parser is a pure function of a NUL-terminated string: 0 ok, -1 bad
 * value, and on -1 the output is left unspecified. They know nothing of keys
 * or lines; common/conf/conf.c turns a -1 into "file:line: key: problem". The
 * printers write the form a parser reads back to the same value, which is
 * what lets `drover -T` print a config that loads again.
 */
#ifndef DROVER_CONF_VALUE_H
#define DROVER_CONF_VALUE_H

#include <stddef.h>

/* A listen address. spec is owned by the conf_t that holds the entry;
 * conf_value_listen() leaves it NULL. */
typedef struct {
    char *spec;        /* as written: "127.0.0.1:8080", "[::1]:80", ":80" */
    char host[64];     /* "" for any address */
    int port;
    int family;        /* AF_INET or AF_INET6 */
    /* From the mapping form {address, tls, redirect_https, proxy_protocol};
     * a plain string leaves them 0. */
    int tls;            /* HTTPS on this listener */
    int redirect_https; /* every request: 301 to https://host/path?query */
    int proxy_protocol; /* a PROXY protocol header precedes each connection */
    unsigned line;      /* where the entry was written, for later errors */
} conf_listen_t;

/* An entry of tls.certificates: a PEM chain and its key, absolute paths
 * owned by the conf_t. */
typedef struct {
    char *cert;
    char *key;
    unsigned line;
} conf_tls_cert_t;

/* An address or network, such as an entry of status.allow. */
typedef struct {
    int family;        /* AF_INET or AF_INET6 */
    unsigned char addr[16];
    int bits;          /* prefix length */
} conf_cidr_t;

/* digits [ "." digits ] [ ms | s | m | h | d ]; a bare number is seconds. */
int conf_value_duration(const char *s, double *seconds);
/* Writes a duration in the shortest form conf_value_duration() reads back
 * ("500ms", "15s", "2m", "0.0005"); returns out. */
char *conf_value_duration_str(double seconds, char *out, size_t size);

/* digits [ k | m | g ] (powers of 1024, either case). */
int conf_value_size(const char *s, size_t *bytes);
/* "16k", "1m" when exact, else the bytes; returns out. */
char *conf_value_size_str(size_t bytes, char *out, size_t size);

/* "host:port", "[v6]:port" or ":port"; "*" and "localhost" are accepted. */
int conf_value_listen(const char *s, conf_listen_t *l);

/* "a.b.c.d", "v6", either with "/bits". */
int conf_value_cidr(const char *s, conf_cidr_t *c);
/* The address of a CIDR without its prefix when it covers one host
 * ("127.0.0.1"), else "10.0.0.0/8"; returns out. */
char *conf_value_cidr_str(const conf_cidr_t *c, char *out, size_t size);
/* 1 when the address (family, 4 or 16 bytes) is inside one of the list. */
int conf_value_cidr_match(const conf_cidr_t *list, size_t n, int family, const void *addr);

/* true/yes/on or false/no/off, any case. */
int conf_value_bool(const char *s, int *out);

/* A decimal integer with an optional '-', in long's range. */
int conf_value_int(const char *s, long *out);

/* The index of s in names (NULL-terminated), compared exactly. */
int conf_value_enum(const char *s, const char *const *names, int *out);

/* Predicates, 1 when s is one of these. */
int conf_value_is_extension(const char *s);      /* html, tar+gz: as mime_extension() finds */
int conf_value_is_header_value(const char *s, size_t max); /* printable, no edge spaces */
int conf_value_is_media_type(const char *s);     /* type/subtype [; params] */
int conf_value_is_error_status(const char *s);   /* 400..599 */
int conf_value_is_page_path(const char *s);      /* /a/b.html, normalised, no dotfiles */
int conf_value_is_file_name(const char *s);      /* an index name: no '/', no leading dot */
int conf_value_is_url_path(const char *s);       /* /status: absolute, no space ? # % */

/* 1 when s is a field name (RFC 9110 5.1 token, up to 64 bytes) that is not
 * one the server frames the response with (Content-Length, Transfer-Encoding,
 * Connection, Keep-Alive, Upgrade, Date, Server): those it writes itself. */
int conf_value_is_extra_header(const char *s);

#endif
