/*
 * conf_print: `drover -T`, the effective configuration as YAML.
 *
 * Walks the same table as the loader (conf_keys.c), so a new key is printed
 * without a line here. Every value is written in a form the loader reads
 * back to the same value: strings double-quoted, durations and sizes in
 * their shortest exact unit, keys that are unset (user, status) as
 * comments. tests/integration/test_config.py checks the round trip.
 */
#include "conf.h"

#include <stdio.h>
#include <string.h>

#include "conf_keys.h"
#include "conf_value.h"

static void conf__print_value(FILE *out, const conf_key_t *k, const char *base,
                              const char *indent)
{
    const void *at = base + k->offset;
    char buf[64];
    switch (k->kind) {
    case CONF_KIND_BOOL:
        fprintf(out, "%s%s: %s\n", indent, k->name, *(const int *)at ? "true" : "false");
        break;
    case CONF_KIND_INT:
        fprintf(out, "%s%s: %d\n", indent, k->name, *(const int *)at);
        break;
    case CONF_KIND_ENUM:
        fprintf(out, "%s%s: %s\n", indent, k->name, k->names[*(const int *)at]);
        break;
    case CONF_KIND_SIZE:
        fprintf(out, "%s%s: %s\n", indent, k->name,
                conf_value_size_str(*(const size_t *)at, buf, sizeof(buf)));
        break;
    case CONF_KIND_DURATION:
        fprintf(out, "%s%s: %s\n", indent, k->name,
                conf_value_duration_str(*(const double *)at, buf, sizeof(buf)));
        break;
    case CONF_KIND_PATH:
    case CONF_KIND_STRING: {
        const char *s = *(char *const *)at;
        if (s == NULL && (k->flags & CONF_F_NONE)) {
            fprintf(out, "%s%s: none\n", indent, k->name);
        } else if (s == NULL && (k->flags & CONF_F_OFF)) {
            fprintf(out, "%s%s: off\n", indent, k->name);
        } else if (s == NULL) {
            fprintf(out, "%s# %s: not set\n", indent, k->name);
        } else {
            fprintf(out, "%s%s: ", indent, k->name);
            conf__print_quoted(out, s);
            fputc('\n', out);
        }
        break;
    }
    case CONF_KIND_LIST: {
        size_t n = *(const size_t *)(const void *)(base + k->count_offset);
        if (n == 0 && (k->flags & CONF_F_NONE)) {
            fprintf(out, "%s%s: none\n", indent, k->name);
            break;
        }
        fprintf(out, "%s%s: [", indent, k->name);
        for (size_t i = 0; i < n; i++) {
            if (i > 0)
                fputs(", ", out);
            k->list->print(out, (const char *)at + i * k->list->size);
        }
        fputs("]\n", out);
        break;
    }
    case CONF_KIND_MAP: {
        const conf_map_t *m = at;
        fprintf(out, "%s%s:%s\n", indent, k->name, m->n == 0 ? " {}" : "");
        for (size_t i = 0; i < m->n; i++) {
            fprintf(out, "%s  ", indent);
            conf__print_quoted(out, m->items[i].key);
            fputs(": ", out);
            conf__print_quoted(out, m->items[i].value);
            fputc('\n', out);
        }
        break;
    }
    case CONF_KIND_SECTION:
    case CONF_KIND_HOSTS:
        break;
    }
}

static void conf__print_scope(FILE *out, const char *base, unsigned scope, const char *indent);

/* Each host with the keys it sets, then what it inherits as comments:
 * the output still reads back to the same configuration. */
static void conf__print_hosts(FILE *out, const conf_t *c)
{
    if (c->num_hosts == 0) {
        fputs("hosts: {}\n", out);
        return;
    }
    fputs("hosts:\n", out);
    for (size_t i = 0; i < c->num_hosts; i++) {
        const conf_host_t *h = &c->hosts[i];
        fputs("  ", out);
        conf__print_quoted(out, h->name);
        fprintf(out, ":  # line %u\n", h->line);
        for (int own = 1; own >= 0; own--) {
            for (size_t j = 0; j < conf__num_keys; j++) {
                const conf_key_t *k = &conf__keys[j];
                if (!(k->scope & CONF_SCOPE_HOST) || conf_host_sets(h, k->name) != own)
                    continue;
                if (!own && (k->scope & CONF_SCOPE_TOP) == 0)
                    continue; /* aliases, redirect, tls: nothing to inherit */
                const char *base = (const char *)h->conf;
                if (k->kind == CONF_KIND_SECTION) {
                    fprintf(out, "    %s:\n", k->name);
                    conf__print_scope(out, base, k->inner, "      ");
                } else {
                    conf__print_value(out, k, base, own ? "    " : "    # inherited: ");
                }
            }
        }
    }
}

static void conf__print_scope(FILE *out, const char *base, unsigned scope, const char *indent)
{
    for (size_t i = 0; i < conf__num_keys; i++) {
        const conf_key_t *k = &conf__keys[i];
        if (!(k->scope & scope))
            continue;
        if (k->doc != NULL)
            fprintf(out, "%s# %s\n", indent, k->doc);
        if (k->kind == CONF_KIND_HOSTS) {
            conf__print_hosts(out, (const conf_t *)(const void *)base);
        } else if (k->kind != CONF_KIND_SECTION) {
            conf__print_value(out, k, base, indent);
        } else if (*(char *const *)(const void *)(base + k->offset) == NULL) {
            fprintf(out, "%s# %s: not set\n", indent, k->name);
        } else {
            char inner[32];
            snprintf(inner, sizeof(inner), "%s  ", indent);
            fprintf(out, "%s%s:\n", indent, k->name);
            conf__print_scope(out, base, k->inner, inner);
        }
    }
}

int conf_print(const conf_t *conf, FILE *out)
{
    fputs("# drover -T: the effective configuration of ", out);
    conf__print_quoted(out, conf->file != NULL ? conf->file : "(defaults)");
    fputs(",\n# every default filled in.\n", out);
    conf__print_scope(out, (const char *)conf, CONF_SCOPE_TOP, "");
    return fflush(out) == 0 && !ferror(out) ? 0 : -1;
}
