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
#include "conf_compress.h"
#include "conf_rules.h"
#include "conf_upstreams.h"
#include "http_parser.h"
#include "conf_value.h"

/* The rule keys of more than one shape, in the shape they were read in. */
static void conf__print_node(FILE *out, const conf_key_t *k, const conf_t *c, const char *indent)
{
    if (k->node_print != NULL)
        k->node_print(out, k->name, (const char *)c + k->offset, indent);
    else if (strcmp(k->name, "try_files") == 0) {
        fprintf(out, "%stry_files: [", indent);
        for (size_t i = 0; i < c->num_try_files; i++) {
            fputs(i > 0 ? ", " : "", out);
            conf__print_quoted(out, c->try_files[i]);
        }
        fputs("]\n", out);
    } else if (strcmp(k->name, "return") == 0) {
        fprintf(out, "%sreturn: {code: %d", indent, c->return_code);
        if (c->return_body != NULL) {
            fputs(", body: ", out);
            conf__print_quoted(out, c->return_body);
        }
        if (c->return_type != NULL) {
            fputs(", type: ", out);
            conf__print_quoted(out, c->return_type);
        }
        fputs("}\n", out);
    } else if (strcmp(k->name, "redirect") == 0) {
        fprintf(out, "%sredirect: {to: ", indent);
        conf__print_quoted(out, c->redirect_to);
        fprintf(out, ", code: %d}\n", c->redirect_code);
    } else if (strcmp(k->name, "headers") == 0) {
        fprintf(out, "%sheaders: {", indent);
        for (size_t i = 0; i < c->rule_headers.n; i++) {
            fputs(i > 0 ? ", " : "", out);
            conf__print_quoted(out, c->rule_headers.items[i].key);
            fputs(": ", out);
            if (c->rule_headers.items[i].value[0] == '\0')
                fputs("null", out);
            else
                conf__print_quoted(out, c->rule_headers.items[i].value);
        }
        fputs("}\n", out);
    } else if (strcmp(k->name, "compress") == 0) {
        fprintf(out, "%scompress: ", indent);
        conf_compress_print(out, &c->compress, indent[0] == '\0');
    } else if (strcmp(k->name, "methods") == 0) {
        fprintf(out, "%smethods: [", indent);
        int first = 1;
        for (int m = 1; m < 32; m++)
            if ((c->methods & (1u << m)) && http_method_name((http_method_t)m) != NULL) {
                fprintf(out, "%s%s", first ? "" : ", ", http_method_name((http_method_t)m));
                first = 0;
            }
        fputs("]\n", out);
    }
}

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
    case CONF_KIND_NODE:
        conf__print_node(out, k, (const conf_t *)(const void *)base, indent);
        break;
    case CONF_KIND_SECTION:
    case CONF_KIND_HOSTS:
    case CONF_KIND_LOCATIONS:
        break;
    }
}

/* Each location with the keys it sets itself; the rest is its host's. */
static void conf__print_locations(FILE *out, const conf_t *c, const char *indent)
{
    const conf_rules_t *rs = c->locations;
    if (rs == NULL || rs->n == 0) {
        fprintf(out, "%slocations: {}\n", indent);
        return;
    }
    char inner[32];
    snprintf(inner, sizeof(inner), "%s    ", indent);
    fprintf(out, "%slocations:\n", indent);
    for (size_t i = 0; i < rs->n; i++) {
        const conf_rule_t *r = &rs->items[i];
        fprintf(out, "%s  ", indent);
        conf__print_quoted(out, r->pattern);
        fprintf(out, ":  # line %u\n", r->line);
        size_t keys = 0;
        for (size_t j = 0; j < conf__num_keys; j++) {
            const conf_key_t *k = &conf__keys[j];
            if (!(k->scope & CONF_SCOPE_RULE) || !conf_rule_sets(r, k->name))
                continue;
            conf__print_value(out, k, (const char *)r->conf, inner);
            keys++;
        }
        if (keys == 0)
            fprintf(out, "%s{}\n", inner);
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
                if (k->kind == CONF_KIND_LOCATIONS) {
                    if (own)
                        conf__print_locations(out, h->conf, "    ");
                } else if (k->kind == CONF_KIND_SECTION) {
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
        } else if (k->kind == CONF_KIND_LOCATIONS) {
            conf__print_locations(out, (const conf_t *)(const void *)base, indent);
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
