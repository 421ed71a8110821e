/*
 * conf_hosts: what the hosts: section leaves behind, besides its parsing
 * (conf.c reads it with the same table and mapping walker as the top
 * level): freeing, which keys a host set itself (for `drover -T`), and the
 * warnings of `drover -t`.
 */
#include "conf.h"

#include <stdlib.h>
#include <string.h>

#include "conf_keys.h"
#include "vhost.h"

void conf_hosts_free(conf_t *c)
{
    for (size_t i = 0; i < c->num_hosts; i++) {
        free(c->hosts[i].name);
        if (c->hosts[i].conf != NULL) {
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
