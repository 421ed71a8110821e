/*
 * conf: see conf.h.
 *
 * The file is loaded as a libyaml document and walked as one mapping; every
 * node carries its line, so each error can name "file:line: key: problem".
 * Which keys exist, and what each may hold, is the table in conf_keys.c;
 * conf_walk.c walks the mappings, conf_hosts.c the hosts and conf_rules.c
 * the locations, and conf_scalar.c applies single values. A conf_t
 * is built in a zeroed struct and either returned whole or freed through
 * the single fail path.
 */
#include "conf.h"
#include "conf_access.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "conf_hosts.h"
#include "conf_keys.h"
#include "conf_compress.h"
#include "conf_rules.h"
#include "conf_scalar.h"
#include "conf_upstreams.h"
#include "conf_walk.h"
#include "conf_value.h"
#include "vhost.h"


/* --- conf_t -------------------------------------------------------------- */

static conf_t *conf__defaults(const char *base, char *err)
{
    conf_ctx_t ctx = { "(defaults)", err, NULL, base, "", NULL, NULL, NULL };
    conf_t *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->base = base ? strdup(base) : conf_scalar_abspath(NULL, ".");
    conf_compress_defaults(&c->compress);
    if (c->base == NULL || conf_walk_defaults(&ctx, (char *)c, CONF_SCOPE_TOP) < 0) {
        conf_free(c);
        return NULL;
    }
    return c;
}

conf_t *conf_defaults(void)
{
    char err[CONF_ERR_LEN];
    conf_t *c = conf__defaults(NULL, err);
    if (c != NULL && conf_compress_finish(c) < 0) {
        conf_free(c);
        return NULL;
    }
    return c;
}

void conf_free(conf_t *c)
{
    if (c == NULL)
        return;
    free(c->file);
    free(c->base);
    conf_rules_free(c);
    conf__free_scope(c, CONF_SCOPE_ALL);
    conf_hosts_free(c);
    free(c);
}

char *conf_pid_file(const char *path)
{
    /* Read only the pid_file key, leniently: `drover -s stop` must find a
     * running master even when the file on disk no longer validates. */
    char *out = NULL, err[CONF_ERR_LEN];
    FILE *f = conf_scalar_open(path, err);
    yaml_parser_t parser;
    yaml_document_t doc;
    if (f != NULL && yaml_parser_initialize(&parser)) {
        yaml_parser_set_input_file(&parser, f);
        if (yaml_parser_load(&parser, &doc)) {
            yaml_node_t *root = yaml_document_get_root_node(&doc);
            if (root != NULL && root->type == YAML_MAPPING_NODE) {
                for (yaml_node_pair_t *pair = root->data.mapping.pairs.start;
                     pair < root->data.mapping.pairs.top; pair++) {
                    yaml_node_t *k = yaml_document_get_node(&doc, pair->key);
                    yaml_node_t *v = yaml_document_get_node(&doc, pair->value);
                    if (k->type == YAML_SCALAR_NODE && v->type == YAML_SCALAR_NODE &&
                        strcmp((const char *)k->data.scalar.value, "pid_file") == 0) {
                        free(out);
                        out = conf_scalar_abspath(NULL, (const char *)v->data.scalar.value);
                    }
                }
            }
            yaml_document_delete(&doc);
        }
        yaml_parser_delete(&parser);
    }
    if (f != NULL)
        fclose(f);
    return out != NULL ? out : conf_scalar_abspath(NULL, "drover.pid");
}

/* Checks across keys: an HTTPS listener needs a certificate, under
 * tls.certificates or a host's own tls. */
static int conf__check_tls(const conf_t *c, const char *path, char *err)
{
    if (conf_has_certificates(c))
        return 0;
    for (size_t i = 0; i < c->num_listen; i++)
        if (c->listen[i].tls) {
            snprintf(err, CONF_ERR_LEN, "%s:%u: listen: %s has tls: true but %s", path,
                     c->listen[i].line, c->listen[i].spec,
                     c->tls_ciphers == NULL ? "there is no tls section with certificates"
                                            : "tls.certificates is empty");
            return -1;
        }
    return 0;
}

int conf_has_certificates(const conf_t *c)
{
    if (c->num_tls_certs > 0)
        return 1;
    for (size_t i = 0; i < c->num_hosts; i++)
        if (c->hosts[i].conf->tls_cert != NULL)
            return 1;
    return 0;
}

conf_t *conf_load(const char *path, char *err)
{
    return conf_load_at(path, NULL, err);
}

conf_t *conf_load_at(const char *path, const char *base, char *err)
{
    conf_t *c = NULL;
    FILE *f = NULL;
    yaml_parser_t parser;
    yaml_document_t doc;
    int parser_ok = 0, doc_ok = 0;
    conf_ctx_t ctx = { path, err, &doc, base, "", NULL, NULL, NULL };

    err[0] = '\0';
    f = conf_scalar_open(path, err);
    if (f == NULL)
        goto fail;
    c = conf__defaults(base, err);
    if (c == NULL || (c->file = conf_scalar_abspath(base, path)) == NULL) {
        if (c == NULL && err[0] != '\0')
            goto fail;
        snprintf(err, CONF_ERR_LEN, "%s: out of memory", path);
        goto fail;
    }
    if (!yaml_parser_initialize(&parser)) {
        snprintf(err, CONF_ERR_LEN, "%s: cannot initialise the YAML parser", path);
        goto fail;
    }
    parser_ok = 1;
    yaml_parser_set_input_file(&parser, f);
    if (!yaml_parser_load(&parser, &doc)) {
        snprintf(err, CONF_ERR_LEN, "%s:%lu: YAML syntax error: %s%s%s", path,
                 (unsigned long)parser.problem_mark.line + 1,
                 parser.problem ? parser.problem : "unknown problem",
                 parser.context ? " " : "", parser.context ? parser.context : "");
        goto fail;
    }
    doc_ok = 1;

    /* SPEC: an empty document is an error. Accepting it would mean "every
     * default", which is never what an empty or truncated file was for. */
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    const char *s;
    if (root == NULL ||
        (root->type == YAML_MAPPING_NODE &&
         root->data.mapping.pairs.top == root->data.mapping.pairs.start) ||
        (root->type == YAML_SCALAR_NODE && root->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
         ((s = (const char *)root->data.scalar.value)[0] == '\0' || !strcmp(s, "~") ||
          !strcmp(s, "null")))) {
        snprintf(err, CONF_ERR_LEN, "%s: the config is empty (no keys); an empty file is "
                 "refused rather than read as every default: write at least listen", path);
        goto fail;
    }
    if (root->type != YAML_MAPPING_NODE) {
        snprintf(err, CONF_ERR_LEN, "%s:%lu: expected a mapping of keys to values", path,
                 (unsigned long)root->start_mark.line + 1);
        goto fail;
    }
    if (conf_walk_mapping(&ctx, root, CONF_SCOPE_TOP, NULL, (char *)c) < 0)
        goto fail;
    /* After the walk: the default cache directory is beside pid_file. */
    if (conf_compress_finish(c) < 0) {
        snprintf(err, CONF_ERR_LEN, "%s: out of memory", path);
        goto fail;
    }
    /* The top level's locations before the hosts: hosts do not inherit them. */
    if (conf_rules_parse(&ctx, c) < 0)
        goto fail;
    if (ctx.hosts != NULL && conf_hosts_parse(&ctx, ctx.hosts, c) < 0)
        goto fail;
    if (conf__check_tls(c, path, err) < 0)
        goto fail;
    if (conf_upstreams_link(c, err) < 0)
        goto fail;
    conf_access_zones(c);

    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    fclose(f);
    return c;

fail:
    if (doc_ok)
        yaml_document_delete(&doc);
    if (parser_ok)
        yaml_parser_delete(&parser);
    if (f != NULL)
        fclose(f);
    conf_free(c);
    return NULL;
}
