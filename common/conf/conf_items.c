/*
 * conf_items: the kinds of list item and of mapping entry that the rows of
 * the key table (conf_keys.c) point at; see conf_items.h.
 */
#include "conf_items.h"

#include <stdlib.h>
#include <string.h>

#include "conf_value.h"
#include "vhost.h"

/* --- list items ------------------------------------------------------------ */

static int conf_items__listen_parse(const char *s, void *item)
{
    return conf_value_listen(s, item);
}

static int conf_items__listen_keep(void *item, const char *s)
{
    conf_listen_t *l = item;
    if (l->spec != NULL) /* the mapping form stored it already */
        return 0;
    return (l->spec = strdup(s)) != NULL ? 0 : -1;
}

/* The mapping form: address was stored as spec by its row; parse it while
 * keeping the flags the other rows set. */
static int conf_items__listen_finish(void *item, const char **why)
{
    conf_listen_t *l = item, saved = *l;
    if (conf_value_listen(saved.spec, l) < 0) {
        *l = saved;
        *why = "address: expected \"host:port\", \"[v6]:port\" or \":port\"";
        return -1;
    }
    l->spec = saved.spec;
    l->tls = saved.tls;
    l->redirect_https = saved.redirect_https;
    l->proxy_protocol = saved.proxy_protocol;
    l->line = saved.line;
    if (l->tls && l->redirect_https) {
        *why = "tls and redirect_https together would redirect HTTPS to itself";
        return -1;
    }
    return 0;
}

static int conf_items__listen_same(const void *a, const void *b)
{
    const conf_listen_t *x = a, *y = b;
    return x->port == y->port && x->family == y->family && strcmp(x->host, y->host) == 0;
}

static void conf_items__listen_print(FILE *out, const void *item)
{
    const conf_listen_t *l = item;
    if (!l->tls && !l->redirect_https && !l->proxy_protocol) {
        conf__print_quoted(out, l->spec);
        return;
    }
    fputs("{address: ", out);
    conf__print_quoted(out, l->spec);
    if (l->tls)
        fputs(", tls: true", out);
    if (l->redirect_https)
        fputs(", redirect_https: true", out);
    if (l->proxy_protocol)
        fputs(", proxy_protocol: true", out);
    fputc('}', out);
}

static void conf_items__listen_free(void *item)
{
    conf_listen_t *l = item;
    free(l->spec);
    l->spec = NULL;
}

const conf_list_kind_t conf_items_listen = {
    sizeof(conf_listen_t), conf_items__listen_parse, "\"host:port\", \"[v6]:port\" or \":port\"",
    conf_items__listen_keep, conf_items__listen_same, conf_items__listen_print,
    conf_items__listen_free,
    CONF_SCOPE_LISTEN, conf_items__listen_finish, 0,
};

static int conf_items__name_parse(const char *s, void *item)
{
    return conf_value_is_file_name(s) ? 0 : -1;
}

static int conf_items__name_keep(void *item, const char *s)
{
    return (*(char **)item = strdup(s)) != NULL ? 0 : -1;
}

static void conf_items__name_print(FILE *out, const void *item)
{
    conf__print_quoted(out, *(char *const *)item);
}

static void conf_items__name_free(void *item)
{
    free(*(char **)item);
    *(char **)item = NULL;
}

const conf_list_kind_t conf_items_index = {
    sizeof(char *), conf_items__name_parse, "a plain file name (no '/', no leading dot)",
    conf_items__name_keep, NULL, conf_items__name_print, conf_items__name_free, 0, NULL, 0,
};

/* Duplicates, in one list or across hosts, are found with both lines by
 * the hosts' table (vhost.c). */
static int conf_items__host_parse(const char *s, void *item)
{
    (void)item;
    return vhost_name_ok(s) ? 0 : -1;
}

const conf_list_kind_t conf_items_alias = {
    sizeof(char *), conf_items__host_parse, "a host name such as www.example.com or *.example.com",
    conf_items__name_keep, NULL, conf_items__name_print, conf_items__name_free, 0, NULL, 0,
};

static int conf_items__cidr_parse(const char *s, void *item)
{
    return conf_value_cidr(s, item);
}

static void conf_items__cidr_print(FILE *out, const void *item)
{
    char buf[64];
    conf__print_quoted(out, conf_value_cidr_str(item, buf, sizeof(buf)));
}

const conf_list_kind_t conf_items_cidr = {
    sizeof(conf_cidr_t), conf_items__cidr_parse,
    "an address or network such as 127.0.0.1 or 10.0.0.0/8",
    NULL, NULL, conf_items__cidr_print, NULL, 0, NULL, 0,
};

/* tls.certificates: only the mapping form {cert, key}. */
static int conf_items__tls_cert_parse(const char *s, void *item)
{
    (void)s;
    (void)item;
    return -1;
}

static void conf_items__tls_cert_print(FILE *out, const void *item)
{
    const conf_tls_cert_t *t = item;
    fputs("{cert: ", out);
    conf__print_quoted(out, t->cert);
    fputs(", key: ", out);
    conf__print_quoted(out, t->key);
    fputc('}', out);
}

static void conf_items__tls_cert_free(void *item)
{
    conf_tls_cert_t *t = item;
    free(t->cert);
    free(t->key);
    t->cert = t->key = NULL;
}

static int conf_items__tls_cert_finish(void *item, const char **why)
{
    (void)item;
    (void)why;
    return 0;
}

const conf_list_kind_t conf_items_tls_cert = {
    sizeof(conf_tls_cert_t), conf_items__tls_cert_parse, "a mapping {cert: file.pem, key: file.key}",
    NULL, NULL, conf_items__tls_cert_print, conf_items__tls_cert_free,
    CONF_SCOPE_TLS_CERT, conf_items__tls_cert_finish, 0,
};

static int conf_items__path_parse(const char *s, void *item)
{
    (void)item;
    return s[0] != '\0' ? 0 : -1;
}

const conf_list_kind_t conf_items_ticket_key = {
    sizeof(char *), conf_items__path_parse, "a path", conf_items__name_keep, NULL,
    conf_items__name_print, conf_items__name_free, 0, NULL, 1,
};

/* --- mappings ---------------------------------------------------------------- */

static int conf_items__is_cache_control(const char *s)
{
    return conf_value_is_header_value(s, 256);
}

const conf_map_kind_t conf_items_cache_control = {
    conf_value_is_extension, "a file extension (or default)",
    conf_items__is_cache_control, "a Cache-Control value (printable ASCII, up to 256 bytes)",
    "{default: \"max-age=60\", html: no-cache}",
    0,
};
const conf_map_kind_t conf_items_error_pages = {
    conf_value_is_error_status, "a status from 400 to 599",
    conf_value_is_page_path, "a normalised path under root such as /404.html (no dotfiles)",
    "{404: /404.html, 500: /50x.html}",
    0,
};
const conf_map_kind_t conf_items_mime_types = {
    conf_value_is_extension, "a file extension",
    conf_value_is_media_type, "a media type such as text/markdown (printable ASCII, up to 127 bytes)",
    "{md: text/markdown}",
    0,
};

static int conf_items__is_extra_header(const char *s)
{
    return conf_value_is_extra_header(s);
}

static int conf_items__is_header_value(const char *s)
{
    return conf_value_is_header_value(s, 1024);
}

const conf_map_kind_t conf_items_headers = {
    conf_items__is_extra_header, "a header name (a token; not Content-Length, Transfer-Encoding, "
    "Connection, Keep-Alive, Upgrade, Date or Server)",
    conf_items__is_header_value, "a header value (printable ASCII, up to 1024 bytes)",
    "{X-Frame-Options: DENY}",
    .keep_case = 1,
};
