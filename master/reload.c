/*
 * reload: the reload transaction and its generations (internal.h).
 *
 * SIGHUP (or "drover -s reload") reads the file again and starts a new
 * generation of workers beside the serving one. Nothing changes until every
 * worker of the new generation is READY: then the old generation drains
 * (commit). If the file does not load, a new address cannot be bound, the
 * error log cannot be opened, or a new worker dies or is late, the new
 * generation is killed and the old one keeps serving, unchanged (abort). A
 * reload asked for while a generation still starts or drains is queued, so
 * that there are never more than two generations at once.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "control.h"
#include "fd_budget.h"
#include "health.h"
#include "limit_counters.h"
#include "internal.h"
#include "log.h"
#include "notify.h"
#include "user.h"
#include "vhost_logs.h"

/* How long a reload's new generation has to report READY. */
#define RELOAD_READY_TIMEOUT 10.0

static void reload__unbind_unused(master_t *m)
{
    const conf_t *confs[2] = { m->conf, m->pending };
    listen_unbind_unused(m->listen, &m->num_listen, confs, 2);
}

static void reload__abort(master_t *m, const char *why)
{
    log_error("reload to generation %u failed: %s; generation %u keeps serving",
              m->pending_generation, why, m->generation);
    snprintf(m->last_reload, sizeof(m->last_reload),
             "generation %u failed: %s; generation %u keeps serving", m->pending_generation, why,
             m->generation);
    m->reloads_failed++;
    m->reloads_by[METRICS_RELOAD_ABORTED]++;
    m->status_dirty = 1;
    control_reload_done(m, 0, m->last_reload);
    notify_send("READY=1\nSTATUS=reload failed: generation %u keeps serving", m->generation);
    for (size_t i = 0; i < m->workers_end; i++) {
        master_worker_t *w = &m->workers[i];
        if (w->pid != 0 && w->generation == m->pending_generation) {
            w->killed = 1;
            kill(w->pid, SIGKILL);
        }
    }
    conf_free(m->pending);
    m->pending = NULL;
    tls_ctx_free(m->pending_tls);
    m->pending_tls = NULL;
    tls_setup_drop_keys(&m->pending_keys);
    m->pending_died = 0;
    reload__unbind_unused(m);
}

/* Called when every worker of the pending generation reported READY. */
static void reload__commit(master_t *m)
{
    unsigned old = m->generation;
    for (size_t i = 0; i < m->workers_end; i++) {
        master_worker_t *w = &m->workers[i];
        if (w->pid != 0 && w->generation != m->pending_generation)
            workers_drain(m, w, "reloaded");
    }
    if (strcmp(m->pending->error_log, m->conf->error_log) != 0 &&
        log_open(m->pending->error_log, m->pending->log_level) < 0)
        log_error("error_log: open(\"%s\"): %s; logging stays where it was",
                  m->pending->error_log, strerror(errno));
    conf_free(m->conf);
    m->conf = m->pending;
    m->pending = NULL;
    health_configure(m, m->conf);
    /* The old generation's workers hold their own copies (fork): the
     * master's is no longer needed by anyone it will start. */
    tls_ctx_free(m->tls);
    m->tls = m->pending_tls;
    m->pending_tls = NULL;
    /* The ticket keys the new configuration read (ticket_key_file), from
     * now on for every generation: the ring is one shared page. */
    tls_setup_install_keys(m->ticket_ring, &m->pending_keys);
    m->generation = m->pending_generation;
    if (m->uid != m->pending_uid)
        user_report(m->conf, m->pending_uid, m->pending_gid);
    m->uid = m->pending_uid;
    m->gid = m->pending_gid;
    m->target_workers = m->conf->workers;
    for (int s = 0; s < MASTER_MAX_WORKERS; s++)
        m->slots[s].spawn_at = 0;
    log_set_level(m->conf->log_level);
    reload__unbind_unused(m);
    log_info("reload done: generation %u is serving, generation %u is draining", m->generation, old);
    snprintf(m->last_reload, sizeof(m->last_reload),
             "generation %u is serving, generation %u is draining", m->generation, old);
    m->reloads_ok++;
    m->reloads_by[METRICS_RELOAD_OK]++;
    m->last_reload_ok = metrics_wall();
    m->status_dirty = 1;
    control_reload_done(m, 1, m->last_reload);
    notify_send("READY=1\nSTATUS=serving: generation %u, %d worker%s (reloaded)", m->generation,
                m->target_workers, m->target_workers == 1 ? "" : "s");
}

/* A reload that cannot happen: log it, tell waiting clients, keep serving. */
static void reload__refuse(master_t *m, const char *why)
{
    tls_setup_drop_keys(&m->pending_keys);
    log_error("reload failed, configuration unchanged (generation %u keeps serving): %s",
              m->generation, why);
    snprintf(m->last_reload, sizeof(m->last_reload), "failed, configuration unchanged: %s", why);
    m->reloads_failed++;
    m->reloads_by[METRICS_RELOAD_REFUSED]++;
    m->status_dirty = 1;
    control_reload_done(m, 0, m->last_reload);
    notify_send("READY=1\nSTATUS=reload refused: generation %u keeps serving", m->generation);
}

void reload_begin(master_t *m)
{
    char err[CONF_ERR_LEN];
    int most = m->target_workers > m->conf->workers ? m->target_workers : m->conf->workers;
    if (m->pending != NULL || workers_count(m, -1) > (size_t)most) {
        /* A generation is still starting or draining: starting another now
         * would pass 2 x workers processes. Do it when they are gone. */
        if (!m->reload_queued)
            log_info("reload queued: waiting for generation %u to %s", m->pending ? m->pending_generation : m->generation - 1,
                     m->pending ? "start" : "finish draining");
        m->reload_queued = 1;
        return;
    }
    m->reload_queued = 0;
    control_reload_start(m);
    log_info("reloading %s", m->conf->file);
    notify_send("RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading %s", notify_monotonic_usec(),
                m->conf->file);
    conf_t *c = conf_load_at(m->conf->file, m->conf->base, err);
    if (c == NULL) {
        reload__refuse(m, err);
        return;
    }
    uid_t uid;
    gid_t gid;
    if (user_resolve(c, &uid, &gid, err, sizeof(err)) < 0) {
        reload__refuse(m, err);
        conf_free(c);
        return;
    }
    /* Every certificate and key of the new configuration, checked before
     * anything changes: a broken one refuses the reload. Its ticket keys
     * wait in pending_keys until the reload commits. */
    tls_ctx_t *tls = NULL;
    if (tls_setup_build(c, m->ticket_ring, &m->pending_keys, &tls, err, sizeof(err)) < 0) {
        reload__refuse(m, err);
        conf_free(c);
        return;
    }
    int fds[CONF_MAX_LISTEN];
    if (listen_bind(m->listen, &m->num_listen, MASTER_MAX_LISTEN, c, fds) < 0) {
        tls_ctx_free(tls);
        reload__refuse(m, "cannot listen on a new address (see the error above)");
        conf_free(c);
        return;
    }
    if (strcmp(c->error_log, "stderr") != 0 && strcmp(c->error_log, m->conf->error_log) != 0) {
        /* Only checked here: the master switches logs when the reload
         * commits, so an aborted reload leaves it where it was. */
        int fd = open(c->error_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) {
            snprintf(err, sizeof(err), "error_log: open(\"%s\"): %s", c->error_log, strerror(errno));
            reload__refuse(m, err);
            conf_free(c);
            tls_ctx_free(tls);
            reload__unbind_unused(m);
            return;
        }
        close(fd);
    }
    if (geteuid() != 0) {
        uid = (uid_t)-1;
        gid = (gid_t)-1;
    }
    if (vhost_logs_prepare(c, uid, gid, err, sizeof(err)) < 0) {
        reload__refuse(m, err);
        conf_free(c);
        tls_ctx_free(tls);
        reload__unbind_unused(m);
        return;
    }
    /* Before the new generation forks: it inherits the mapping. */
    limit_counters_ensure(m, c);
    health_bind(m, c);
    m->pending_uid = uid;
    m->pending_gid = gid;
    m->pending = c;
    m->pending_tls = tls;
    m->pending_died = 0;
    m->pending_generation = m->next_generation++;
    m->pending_deadline = master__now() + RELOAD_READY_TIMEOUT;
    m->pending_wanted = c->workers;
    log_info("reload: starting generation %u (%d worker%s)", m->pending_generation, c->workers,
             c->workers == 1 ? "" : "s");
    /* A larger worker_connections needs a larger descriptor limit, which
     * the new workers inherit (raising never lowers it). */
    if (c->worker_connections > m->conf->worker_connections)
        fd_budget_raise(c->worker_connections);
    for (int s = 0; s < c->workers; s++) {
        if (workers_spawn(m, (unsigned)s, m->pending_generation, c) < 0) {
            reload__abort(m, "could not start its workers");
            return;
        }
    }
}

void reload_tick(master_t *m)
{
    if (m->pending != NULL && m->pending_died)
        reload__abort(m, "a worker of the new generation died");

    if (m->reload_queued && m->pending == NULL)
        reload_begin(m);

    if (m->pending != NULL) {
        size_t ready = 0;
        for (size_t i = 0; i < m->workers_end; i++)
            if (m->workers[i].pid != 0 && m->workers[i].generation == m->pending_generation &&
                m->workers[i].state == WORKER_READY)
                ready++;
        if (ready == (size_t)m->pending_wanted)
            reload__commit(m);
        else if (master__now() >= m->pending_deadline)
            reload__abort(m, "its workers were not ready in time");
    }
}
