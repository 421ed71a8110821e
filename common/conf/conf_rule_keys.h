/*
 * conf_rule_keys: the values of a location's own keys that have more than
 * one shape or need more than one check, internal to common/conf/conf*.c; the
 * key table (conf_keys.c) points at them as CONF_KIND_NODE rows:
 *
 *   try_files: [$uri, $uri.html, $uri/, /index.html | =404 | @name]
 *   return:    404 | {code: 200, body: "ok\n", type: text/plain}
 *   redirect:  URL | {to: URL, code: 301|302|303|307|308}
 *   headers:   {Name: value | null}   (null: remove the host's or drover's)
 *   methods:   [GET, HEAD, POST]
 *
 * Each has the signature of conf_key_t.node: (conf_ctx_t *, row, the
 * yaml_node_t * value, the rule's conf_t as char *); 0, or -1 with the
 * message in the context. Values are stored into the conf_t fields that
 * conf.h lists as "set in a location's own conf_t only".
 */
#ifndef DROVER_CONF_RULE_KEYS_H
#define DROVER_CONF_RULE_KEYS_H

int conf_rule_keys_try_files(void *ctx, const void *row, void *value, char *base);
int conf_rule_keys_return(void *ctx, const void *row, void *value, char *base);
int conf_rule_keys_redirect(void *ctx, const void *row, void *value, char *base);
int conf_rule_keys_headers(void *ctx, const void *row, void *value, char *base);
int conf_rule_keys_methods(void *ctx, const void *row, void *value, char *base);

/* 1 when code is one a redirect may carry: 301, 302, 303, 307, 308. */
int conf_rule_keys_is_redirect_code(long code);

#endif
