/*
 * conf_hosts: the hosts: section: its parsing (with the same table and
 * mapping walker as the top level), freeing, which keys a host set itself
 * (for `drover -T`), and the warnings of `drover -t`.
 */
#include "conf_hosts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf_keys.h"
#include "conf_rules.h"
#include "conf_walk.h"
#include "vhost.h"

void conf_hosts_free(conf_t *c)
{
    for (size_t i = 0; i < c->num_hosts; i++) {
        free(c->hosts[i].name);
        if (c->hosts[i].conf != NULL) {
            conf_rules_free(c->hosts[i].conf);
            conf__free_scope(c->hosts[i].conf, CONF_SCOPE_ALL);
            free(c->hosts[i].conf);
        }
    }
    free(c->hosts);
    c->hosts = NULL;
    c->num_hosts = 0;
    vhost_table_free(c->vhosts);
    c->vhosts = NULL;
}

int conf_host_sets(const conf_host_t *h, const char *name)
{
    const conf_key_t *k = conf__key_find(name, CONF_SCOPE_HOST);
    if (k == NULL)
        return 0;
    size_t row = (size_t)(k - conf__keys);
    return row < 8 * sizeof(h->set) && (h->set[row / 8] >> (row % 8)) & 1;
}

/*
 * A wildcard matches unboundedly many names, so no finite set of exact
 * names can shadow one entirely: that warning could never fire. What does
 * surprise people is the other direction: "*.example.com" does not match
 * example.com itself, which then goes to the default host. -t says so when
 * the suffix is not a host (or alias) of its own.
 */
int conf_hosts_warn(const conf_t *conf, FILE *out)
{
    int n = 0;
    for (size_t i = 0; i < conf->num_hosts; i++) {
        const conf_host_t *h = &conf->hosts[i];
        const char *names[CONF_MAX_ALIASES + 1];
        size_t nn = 0;
        names[nn++] = h->name;
        for (size_t j = 0; j < h->conf->num_aliases; j++)
            names[nn++] = h->conf->aliases[j];
        for (size_t j = 0; j < nn; j++) {
            char norm[VHOST_NAME_MAX + 2];
            if (names[j][0] != '*')
                continue;
            size_t len = vhost_name_normal(names[j], norm);
            /* norm is ".example.com": the bare suffix is norm + 1. */
            if (vhost_table_has(conf->vhosts, norm + 1, len - 1))
                continue;
            fprintf(out, "drover: warning: %s:%u: \"%s\" does not match \"%s\" itself: requests "
                    "for it go to the default host\n", conf->file, h->line, names[j], norm + 1);
            n++;
        }
    }
    return n;
}

/* Adds name (on line) for host i to the table: a name seen before is an
 * error naming both lines. */
static int conf__host_name(conf_ctx_t *ctx, conf_t *c, yaml_node_t *node, const char *name,
                           size_t i)
{
    unsigned line = (unsigned)node->start_mark.line + 1, dup_line;
    int dup_host;
    int r = vhost_table_add(c->vhosts, name, (int)i, line, &dup_line, &dup_host);
    if (r < 0)
        return conf_scalar_error(ctx, node, "hosts", "out of memory");
    if (r > 0)
        return conf_scalar_error(ctx, node, "hosts", "\"%s\" (line %u) is already a name of host "
                                 "\"%s\" (line %u)", name, line, c->hosts[dup_host].name, dup_line);
    return 0;
}

/* hosts: each entry a conf_t that starts as a copy of the top level's
 * per-host keys, then reads its own mapping over it (conf_hosts.c). */
int conf_hosts_parse(conf_ctx_t *ctx, yaml_node_t *v, conf_t *c)
{
    char keys[256], prefix[VHOST_NAME_MAX + 16];
    conf__keys_list(CONF_SCOPE_HOST, keys, sizeof(keys));
    if (v->type != YAML_MAPPING_NODE)
        return conf_scalar_error(ctx, v, "hosts", "expected a mapping of host names to {%s}", keys);
    size_t n = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
    if (n > CONF_MAX_HOSTS)
        return conf_scalar_error(ctx, v, "hosts", "more than %d hosts", CONF_MAX_HOSTS);
    if ((c->hosts = calloc(n ? n : 1, sizeof(*c->hosts))) == NULL ||
        (c->vhosts = vhost_table_new(n * 2)) == NULL)
        return conf_scalar_error(ctx, v, "hosts", "out of memory");
    for (yaml_node_pair_t *pair = v->data.mapping.pairs.start; pair < v->data.mapping.pairs.top;
         pair++) {
        yaml_node_t *kn = yaml_document_get_node(ctx->doc, pair->key);
        yaml_node_t *hv = yaml_document_get_node(ctx->doc, pair->value);
        const char *name = (const char *)kn->data.scalar.value;
        if (kn->type != YAML_SCALAR_NODE || !vhost_name_ok(name))
            return conf_scalar_error(ctx, kn, "hosts", "\"%s\" is not a host name such as "
                                     "example.com or *.example.com",
                                     kn->type == YAML_SCALAR_NODE ? name : "?");
        if (hv->type != YAML_MAPPING_NODE)
            return conf_scalar_error(ctx, hv, "hosts", "host %s: expected a mapping (keys: %s)",
                                     name, keys);
        conf_host_t *h = &c->hosts[c->num_hosts];
        h->line = (unsigned)kn->start_mark.line + 1;
        if ((h->name = strdup(name)) == NULL || (h->conf = calloc(1, sizeof(conf_t))) == NULL ||
            conf__copy_scope(h->conf, c, CONF_SCOPE_HOST) < 0)
            return conf_scalar_error(ctx, kn, "hosts", "out of memory");
        c->num_hosts++;
        if (conf__host_name(ctx, c, kn, name, c->num_hosts - 1) < 0)
            return -1;
        snprintf(prefix, sizeof(prefix), "host %s: ", name);
        ctx->prefix = prefix;
        ctx->set = h->set;
        ctx->locations = NULL;
        int r = conf_walk_mapping(ctx, hv, CONF_SCOPE_HOST, "a host", (char *)h->conf);
        ctx->set = NULL;
        if (r == 0)
            r = conf_rules_parse(ctx, h->conf);
        ctx->prefix = "";
        if (r < 0)
            return -1;
        /* The aliases again, from their nodes: the table wants their lines. */
        for (yaml_node_pair_t *p = hv->data.mapping.pairs.start; p < hv->data.mapping.pairs.top; p++) {
            yaml_node_t *an = yaml_document_get_node(ctx->doc, p->key);
            yaml_node_t *av = yaml_document_get_node(ctx->doc, p->value);
            if (strcmp((const char *)an->data.scalar.value, "aliases") != 0)
                continue;
            for (yaml_node_item_t *it = av->data.sequence.items.start; it < av->data.sequence.items.top; it++) {
                yaml_node_t *item = yaml_document_get_node(ctx->doc, *it);
                if (conf__host_name(ctx, c, item, (const char *)item->data.scalar.value, c->num_hosts - 1) < 0)
                    return -1;
            }
        }
        /* A host's own certificate is enough for HTTPS: without a top-level
         * tls section the defaults of one apply (ciphers, versions, tickets),
         * and the first such host's certificate answers clients without SNI,
         * as nginx's default server does. */
        if (h->conf->tls_cert != NULL && c->tls_ciphers == NULL &&
            conf_walk_defaults(ctx, (char *)c, CONF_SCOPE_TLS) < 0)
            return -1;
        const char *tls[2] = { h->conf->tls_cert, h->conf->tls_key };
        for (size_t j = 0; j < 2; j++)
            if (tls[j] != NULL && access(tls[j], R_OK) < 0)
                return conf_scalar_error(ctx, kn, "hosts", "host %s: tls: %s: %s", name,
                                         tls[j], strerror(errno));
    }
    return 0;
}

