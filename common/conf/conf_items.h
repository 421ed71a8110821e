/*
 * conf_items: how the items of the list keys and the entries of the mapping
 * keys are read, checked, kept, compared, printed and freed, internal to
 * common/conf/conf*.c.
 *
 * A row of the key table (conf_keys.c) that holds a list points at one of
 * the conf_list_kind_t here (listen entries, index file names, host
 * aliases, CIDRs, tls.certificates, ticket key files); a row that holds a
 * mapping points at one of the conf_map_kind_t (cache_control, error_pages,
 * mime_types, headers). The table says where a value goes and in which
 * scope; these say what one item or entry must be. Scalar keys need
 * nothing here: their checks are a line beside their row.
 *
 * An item's print() writes it in a form the loader reads back to the same
 * value (conf_print.c, `drover -T`); free() leaves it zeroed, so freeing
 * twice is harmless.
 */
#ifndef DROVER_CONF_ITEMS_H
#define DROVER_CONF_ITEMS_H

#include "conf_keys.h"

/* listen: "host:port", "[v6]:port", ":port", or the mapping form {address,
 * tls, redirect_https, proxy_protocol} (conf_listen_t; no two the same). */
extern const conf_list_kind_t conf_items_listen;
/* index: plain file names (no '/', no leading dot), as char *. */
extern const conf_list_kind_t conf_items_index;
/* aliases: host names such as www.example.com or *.example.com, as char *. */
extern const conf_list_kind_t conf_items_alias;
/* allow, deny, status's and metrics's allow, proxy_trusted: conf_cidr_t. */
extern const conf_list_kind_t conf_items_cidr;
/* tls.certificates: only the mapping form {cert, key} (conf_tls_cert_t). */
extern const conf_list_kind_t conf_items_tls_cert;
/* tls.ticket_key_file: paths, made absolute before they are read. */
extern const conf_list_kind_t conf_items_ticket_key;

/* extension (or default) -> Cache-Control value */
extern const conf_map_kind_t conf_items_cache_control;
/* status 400..599 -> a page under the root */
extern const conf_map_kind_t conf_items_error_pages;
/* extension -> media type */
extern const conf_map_kind_t conf_items_mime_types;
/* header name -> value; names keep the case they were written in */
extern const conf_map_kind_t conf_items_headers;

#endif
