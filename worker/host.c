/*
 * host: see host.h.
 */
#include "host.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "conf_rules.h"
#include "file_cache.h"
#include "log.h"
#include "tls.h"
#include "tls_ctx.h"
#include "vhost.h"

/* "Name: value\r\n" for each entry of m, in one block; NULL when none. */
static char *host__headers(const conf_map_t *m, size_t *len)
{
    size_t n = 0;
    *len = 0;
    for (size_t i = 0; i < m->n; i++)
        n += strlen(m->items[i].key) + strlen(m->items[i].value) + 4;
    if (n == 0)
        return NULL;
    char *out = malloc(n + 1);
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < m->n; i++)
        *len += (size_t)sprintf(out + *len, "%s: %s\r\n", m->items[i].key, m->items[i].value);
    return out;
}

/* The descriptor of root: the default host's, one this set opened for an
 * earlier host, or a new one. -1 (logged) when it cannot be opened: that
 * host answers 404, as the default host does. */
static int host__root(worker_t *w, host_set_t *s, size_t upto, const char *root)
{
    if (strcmp(root, w->a.conf->root) == 0)
        return w->root_fd;
    for (size_t i = 1; i < upto; i++)
        if (s->hosts[i].root_fd >= 0 && strcmp(s->hosts[i].conf->root, root) == 0)
            return s->hosts[i].root_fd;
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        log_error("open(\"%s\"): %s: every request for host %s will get 404", root,
                  strerror(errno), s->hosts[upto].name);
        return -1;
    }
    s->fds[s->nfds++] = fd;
    return fd;
}

static access_log_t *host__log(worker_t *w, host_set_t *s, const char *path)
{
    if (path == NULL)
        return &s->off;
    if (w->a.conf->access_log != NULL && strcmp(path, w->a.conf->access_log) == 0)
        return &w->access_log;
    for (size_t i = 0; i < s->nlogs; i++)
        if (strcmp(s->logs[i]->path, path) == 0)
            return s->logs[i];
    access_log_t *l = malloc(sizeof(*l));
    if (l == NULL) {
        log_error("virtual hosts: out of memory");
        return NULL;
    }
    if (access_log_open(l, path) < 0) {
        log_error("open(\"%s\"): %s", path, strerror(errno));
        free(l);
        return NULL;
    }
    l->format = w->a.conf->log_format;
    s->logs[s->nlogs++] = l;
    return l;
}

/* A host's ETag tag: a hash of its name, never 0 (the default host's). */
static unsigned host__tag(const char *name)
{
    uint32_t h = 2166136261u;
    for (const char *p = name; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return h != 0 ? h : 1;
}

/* "Name: value\r\n" lines of the rule's headers, and "Name\0" for each
 * it removes (a null value). 0, or -1 (out of memory). */
static int host__rule_headers(host_rule_t *hr, const conf_map_t *m)
{
    size_t set = 0, unset = 0;
    for (size_t i = 0; i < m->n; i++) {
        size_t k = strlen(m->items[i].key), v = strlen(m->items[i].value);
        if (v == 0)
            unset += k + 1;
        else
            set += k + v + 4;
    }
    if (set > 0 && (hr->headers = malloc(set + 1)) == NULL)
        return -1;
    if (unset > 0 && (hr->unset = malloc(unset)) == NULL)
        return -1;
    for (size_t i = 0; i < m->n; i++) {
        const char *k = m->items[i].key, *v = m->items[i].value;
        if (v[0] != '\0') {
            hr->headers_len += (size_t)sprintf(hr->headers + hr->headers_len, "%s: %s\r\n", k, v);
        } else {
            memcpy(hr->unset + hr->unset_len, k, strlen(k) + 1);
            hr->unset_len += strlen(k) + 1;
        }
    }
    return 0;
}

/* The worker's state of h's locations: each one's log, headers, and root
 * (opened now, before privileges are dropped, as the hosts' roots are). */
static int host__rules(worker_t *w, host_set_t *s, host_t *h)
{
    const conf_rules_t *rs = h->conf->locations;
    if (rs == NULL || rs->n == 0)
        return 0;
    if ((h->rules = calloc(rs->n, sizeof(*h->rules))) == NULL)
        return -1;
    for (size_t i = 0; i < rs->n; i++) {
        host_rule_t *hr = &h->rules[i];
        const conf_t *rc = rs->items[i].conf;
        hr->rule = &rs->items[i];
        hr->root_fd = -1;
        if (rc->access_log == NULL)
            hr->log = &s->off;
        else if (h->conf->access_log != NULL && strcmp(rc->access_log, h->conf->access_log) == 0)
            hr->log = h->log;
        else if ((hr->log = host__log(w, s, rc->access_log)) == NULL)
            return -1;
        if (host__rule_headers(hr, &rc->rule_headers) < 0)
            return -1;
        if (!hr->rule->own_files)
            continue;
        if (h->root_fd >= 0 && strcmp(rc->root, h->conf->root) == 0) {
            hr->root_fd = h->root_fd;
        } else if ((hr->root_fd = open(rc->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
            log_error("open(\"%s\"): %s: location \"%s\" of host %s will answer 404", rc->root,
                      strerror(errno), hr->rule->pattern, h->name[0] ? h->name : "(default)");
        } else {
            s->fds[s->nfds++] = hr->root_fd;
        }
    }
    return 0;
}

file_cache_t *host_rule_cache(worker_t *w, host_t *h, host_rule_t *hr)
{
    host_set_t *s = w->hosts;
    if (hr->fc == NULL && hr->root_fd >= 0) {
        hr->fc = file_cache_new(hr->root_fd, hr->rule->conf, s->fc_max);
        if (hr->fc == NULL) {
            log_error("file_cache_new(): out of memory: location \"%s\" answers 404",
                      hr->rule->pattern);
            return NULL;
        }
        file_cache_set_compress(hr->fc, w->cc);
        /* Another root's files: ETags that differ from the host's. */
        file_cache_set_tag(hr->fc, host__tag(h->name) ^ (unsigned)(hr - h->rules + 1) * 2654435761u);
        if (s->fc_budget.max > 0)
            file_cache_share(hr->fc, &s->fc_budget);
    }
    return hr->fc;
}

int host_open(worker_t *w)
{
    const conf_t *conf = w->a.conf;
    host_set_t *s = calloc(1, sizeof(*s));
    if (s == NULL)
        goto nomem;
    w->hosts = s;
    s->off.fd = -1;
    s->n = conf->num_hosts + 1;
    s->hosts = calloc(s->n, sizeof(*s->hosts));
    /* Roots: one per host and one per location with files of its own. */
    size_t nroots = s->n;
    for (size_t i = 0; i < s->n; i++) {
        const conf_t *hc = i == 0 ? conf : conf->hosts[i - 1].conf;
        nroots += hc->locations != NULL ? hc->locations->n : 0;
    }
    s->fds = calloc(nroots, sizeof(*s->fds));
    /* Pointers: each log has a 64 KiB buffer, and most hosts share the
     * top level's, so only the logs really opened are allocated. */
    s->logs = calloc(nroots, sizeof(*s->logs));
    if (s->hosts == NULL || s->fds == NULL || s->logs == NULL)
        goto nomem;
    w->access_log.format = conf->log_format;

    /* A host's cache holds up to a quarter of the default host's entries,
     * and all of them together, the default's included, no more than the
     * default's bound (file_cache_share in host_select): many hosts must
     * not take every descriptor between them. */
    struct rlimit rl;
    s->fc_max = 256;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur / 48 < s->fc_max)
        s->fc_max = rl.rlim_cur / 48 < 8 ? 8 : rl.rlim_cur / 48;

    host_t *d = &s->hosts[0];
    d->conf = conf;
    d->name = "";
    d->root_fd = w->root_fd;
    d->log = &w->access_log;
    d->headers = host__headers(&conf->headers, &d->headers_len);
    for (size_t i = 1; i < s->n; i++) {
        host_t *h = &s->hosts[i];
        h->conf = conf->hosts[i - 1].conf;
        h->name = conf->hosts[i - 1].name;
        h->root_fd = host__root(w, s, i, h->conf->root);
        if ((h->log = host__log(w, s, h->conf->access_log)) == NULL)
            return -1;
        h->headers = host__headers(&h->conf->headers, &h->headers_len);
        if (h->conf->headers.n > 0 && h->headers == NULL)
            goto nomem;
    }
    for (size_t i = 0; i < s->n; i++)
        if (host__rules(w, s, &s->hosts[i]) < 0)
            goto nomem;
    w->host = d;
    return 0;

nomem:
    log_error("virtual hosts: out of memory");
    return -1;
}

host_t *host_select(worker_t *w, const http_request_t *req)
{
    host_set_t *s = w->hosts;
    if (s == NULL)
        return NULL; /* a worker_t built without host_open (unit tests) */
    if (!s->default_fc) {
        /* worker.c made the default host's cache at setup: adopt it before
         * w->fc starts to follow the current host. Its bound is what the
         * worker kept descriptors aside for: every host's cache shares it. */
        s->hosts[0].fc = w->fc;
        s->default_fc = 1;
        if (w->fc != NULL && s->n > 1) {
            file_cache_budget_init(&s->fc_budget, file_cache_max_fds(w->fc));
            file_cache_share(w->fc, &s->fc_budget);
        }
    }
    int i = VHOST_DEFAULT;
    if (req != NULL && req->host.len > 0 && w->a.conf->num_hosts > 0) {
        if (req->host.len == s->memo_len && memcmp(req->host.p, s->memo, s->memo_len) == 0) {
            i = s->memo_host;
        } else {
            i = vhost_match_header(w->a.conf->vhosts, req->host);
            if (req->host.len <= sizeof(s->memo)) {
                memcpy(s->memo, req->host.p, req->host.len);
                s->memo_len = req->host.len;
                s->memo_host = i;
            }
        }
    }
    host_t *h = &s->hosts[i + 1];
    if (h->fc == NULL && h->root_fd >= 0) {
        h->fc = file_cache_new(h->root_fd, h->conf, s->fc_max);
        if (h->fc == NULL)
            log_error("file_cache_new(): out of memory: host %s answers 404", h->name);
        else
            file_cache_set_tag(h->fc, host__tag(h->name));
        if (h->fc != NULL)
            file_cache_set_compress(h->fc, w->cc);
        if (h->fc != NULL && s->fc_budget.max > 0)
            file_cache_share(h->fc, &s->fc_budget);
    }
    w->host = h;
    w->fc = h->fc;
    return h;
}

int host_misdirected(const conn_t *c, str_t host)
{
    const tls_ctx_t *tls = c->w->a.tls;
    const tls_conn_t *t = c->io.data;
    if (!c->https || tls == NULL || t == NULL || host.len == 0 || tls->nsets < 2)
        return 0; /* one certificate set: SNI could not have chosen another */
    char buf[VHOST_NAME_MAX + 2];
    ssize_t n = http_host_normalize(host, buf, sizeof(buf));
    if (n <= 0)
        return 0;
    /* The set a client naming this host in SNI would have got: its
     * certificate's, else the default (set 0). */
    ssize_t want = tls_ctx_find(tls, buf, (size_t)n);
    return (size_t)(want < 0 ? 0 : want) != tls_ctx_selected(tls, t->ssl);
}

void host_flush(worker_t *w)
{
    for (size_t i = 0; w->hosts != NULL && i < w->hosts->nlogs; i++)
        access_log_flush(w->hosts->logs[i]);
}

void host_reopen(worker_t *w)
{
    for (size_t i = 0; w->hosts != NULL && i < w->hosts->nlogs; i++)
        if (access_log_reopen(w->hosts->logs[i]) < 0)
            log_error("reopening the access log %s: %s", w->hosts->logs[i]->path, strerror(errno));
}

void host_close(worker_t *w)
{
    for (size_t i = 0; w->hosts != NULL && i < w->hosts->nlogs; i++)
        access_log_close(w->hosts->logs[i]);
}
