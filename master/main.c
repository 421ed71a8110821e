/*
 * main: the command line. Everything else happens in master_run().
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "control.h"
#include "daemon.h"
#include "log.h"
#include "master.h"
#include "top.h"
#include "tls_setup.h"
#include "rule_explain.h"
#include "upgrade.h"
#include "user.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: drover [-c FILE] [-t | -T [/path [-H host]]] [-s stop|quit|reload|reopen|status|upgrade|top [-n N]] [-f] [-v] [-h]\n"
            "  -c FILE   configuration file (default: %s/drover/drover.yaml,\n"
            "            or etc/drover.yaml beside the binary in a source tree)\n"
            "  -t        check the configuration and exit\n"
            "  -T        check it and print it with every default filled in\n"
            "  -T /path  [-H host]: which host and location serve that path, and why\n"
            "  -s SIGNAL send a signal to the running master: stop (TERM), quit (QUIT),\n"
            "            reload (HUP, and wait for its outcome), reopen (USR1),\n"
            "            upgrade (USR2: start the binary again, hand over, wait for\n"
            "            the outcome);\n"
            "            status prints the master's view of its workers;\n"
            "            top shows them live, every second (q or Ctrl-C leaves)\n"
            "  -n N      with -s top: N refreshes, then exit\n"
            "  -f        stay in the foreground even with daemon: true\n"
            "  -v        print the version and exit\n"
            "  -h        print this help and exit\n",
            SYSCONFDIR);
}

/* The source tree's etc/drover.yaml when the binary sits at the top of a
 * source tree, else the installed one. */
static const char *default_config(char *buf, size_t size)
{
    char exe[PATH_MAX - 32];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash != NULL) {
            *slash = '\0';
            snprintf(buf, size, "%s/etc/drover.yaml", exe);
            if (access(buf, R_OK) == 0)
                return buf;
        }
    }
    snprintf(buf, size, "%s/drover/drover.yaml", SYSCONFDIR);
    return buf;
}

/* reload and status go through the control socket, which can answer;
 * a reload falls back to a plain SIGHUP when the socket is not there. */
static int control(pid_t pid, const char *cmd)
{
    static char out[STATUS_PAGE_SIZE];
    /* A reload may wait for a new generation to be ready (10 s at most),
     * an upgrade for a new master (UPGRADE_WAIT_TIMEOUT). */
    int upgrade = strcmp(cmd, "upgrade") == 0;
    if (control_request(pid, cmd, upgrade ? UPGRADE_WAIT_TIMEOUT + 10 : 20.0, out, sizeof(out)) < 0) {
        if ((strcmp(cmd, "reload") == 0 || upgrade) && errno == ECONNREFUSED) {
            int sig = upgrade ? SIGUSR2 : SIGHUP;
            if (kill(pid, sig) < 0) {
                fprintf(stderr, "drover: kill(%ld, %s): %s\n", (long)pid, strsignal(sig), strerror(errno));
                return 1;
            }
            fprintf(stderr, "drover: sent %s to %ld (no control socket: outcome unknown)\n",
                    upgrade ? "SIGUSR2" : "SIGHUP", (long)pid);
            return 0;
        }
        fprintf(stderr, "drover: %s: master %ld does not answer: %s\n", cmd, (long)pid,
                strerror(errno));
        return 1;
    }
    if (strcmp(cmd, "reload") == 0 || upgrade) {
        int ok = strncmp(out, "ok", 2) == 0;
        fprintf(ok ? stdout : stderr, "drover: %s %s", cmd, out);
        /* Say what a refusal means for the server, unless it is going away. */
        if (!ok && strstr(out, "stopping") == NULL && strstr(out, "exited") == NULL &&
            kill(pid, 0) == 0)
            fprintf(stderr, upgrade ? "drover: master %ld is still serving\n"
                                : "drover: the running configuration is unchanged: master %ld is "
                                  "still serving with it\n", (long)pid);
        return ok ? 0 : 1;
    }
    fputs(out, stdout);
    return strncmp(out, "error", 5) == 0 ? 1 : 0;
}

static int send_signal(const char *pid_file, const char *name, int top_count)
{
    static const struct {
        const char *name;
        int sig;
    } sigs[] = { { "stop", SIGTERM }, { "quit", SIGQUIT }, { "reload", SIGHUP }, { "reopen", SIGUSR1 } };
    int sig = 0;
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        if (strcmp(name, sigs[i].name) == 0)
            sig = sigs[i].sig;
    int ctl = strcmp(name, "status") == 0 || strcmp(name, "reload") == 0 ||
              strcmp(name, "upgrade") == 0 || strcmp(name, "top") == 0;
    if (sig == 0 && !ctl) {
        fprintf(stderr, "drover: -s %s: expected stop, quit, reload, reopen, status, upgrade or top\n",
                name);
        return 2;
    }
    char err[512];
    pid_t pid = daemon_read_pid(pid_file, err, sizeof(err));
    if (pid < 0) {
        fprintf(stderr, "drover: no running master: %s\n", err);
        return 1;
    }
    if (!daemon_is_drover(pid)) {
        fprintf(stderr, "drover: no running master: pid %ld from %s is not a drover process\n",
                (long)pid, pid_file);
        return 1;
    }
    if (strcmp(name, "top") == 0)
        return top_run(pid, top_count);
    if (ctl)
        return control(pid, name);
    if (kill(pid, sig) < 0) {
        fprintf(stderr, "drover: kill(%ld, %s): %s\n", (long)pid, strsignal(sig), strerror(errno));
        return 1;
    }
    return 0;
}

/* -t reads every certificate, key and ticket key file as a start would. */
static int main__check_tls(const conf_t *conf, char *err, size_t errlen)
{
    tls_ticket_ring_t *ring = tls_ticket_ring_new_shared();
    tls_ctx_t *tls = NULL;
    if (ring == NULL) {
        snprintf(err, errlen, "mmap(ticket keys): %s", strerror(errno));
        return -1;
    }
    tls_ticket_ring_t keys;
    int r = tls_setup_build(conf, ring, &keys, &tls, err, errlen);
    tls_setup_drop_keys(&keys);
    tls_ctx_free(tls);
    tls_ticket_ring_free_shared(ring);
    return r;
}

int main(int argc, char **argv)
{
    const char *conf_path = NULL, *signame = NULL, *explain_host = NULL, *explain = NULL;
    int test = 0, foreground = 0, top_count = 0, opt;
    char buf[PATH_MAX], err[CONF_ERR_LEN];
    pid_t predecessor;
    int predecessor_fd;

    /* Before getopt and any chdir: whether we are the new master of an
     * upgrade, and the path to start for the next one. */
    upgrade_child_env(&predecessor, &predecessor_fd);

    while ((opt = getopt(argc, argv, "c:tTH:s:n:fvh")) != -1) {
        switch (opt) {
        case 'c': conf_path = optarg; break;
        case 't': test = 1; break;
        case 'T': test = 2; break;
        case 's': signame = optarg; break;
        case 'H': explain_host = optarg; break;
        case 'f': foreground = 1; break;
        case 'n': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end != '\0' || v < 1 || v > 1000000) {
                fprintf(stderr, "drover: -n %s: expected a number of refreshes from 1 to 1000000\n", optarg);
                return 2;
            }
            top_count = (int)v;
            break;
        }
        case 'v': printf("drover %s\n", DROVER_VERSION); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    /* -T /path: which host and location serve it (getopt moved it here). */
    if (test == 2 && optind < argc && argv[optind][0] == '/')
        explain = argv[optind++];
    if (explain_host != NULL && explain == NULL) {
        fprintf(stderr, "drover: -H %s: goes with -T /path\n", explain_host);
        return 2;
    }
    if (optind < argc) {
        fprintf(stderr, "drover: unexpected argument \"%s\"\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (conf_path == NULL)
        conf_path = default_config(buf, sizeof(buf));

    /* -t answers in one line: what loading the certificates has to say at
     * info level (no kernel TLS here, ...) belongs in the log of a start,
     * not in a check; warnings and errors still show. */
    if (test)
        log_set_level(LOG_LEVEL_WARN);

    conf_t *conf = conf_load(conf_path, err);
    if (conf == NULL && signame != NULL) {
        /* Stopping or asking a running master must not depend on the file
         * on disk still being valid. A reload with a bad file is still
         * sent: the master reads the file itself, refuses it, logs why and
         * counts it (drover_reloads_total{result="refused"}), so its log
         * and metrics know of every refused reload; its answer names the
         * error again. An upgrade goes on likewise: the new master refuses
         * the file, and the running master logs why and answers with it. */
        fprintf(stderr, strcmp(signame, "reload") == 0 ? "drover: %s\n" : "drover: warning: %s\n",
                err);
        char *pid_file = conf_pid_file(conf_path);
        int rc = send_signal(pid_file, signame, top_count);
        free(pid_file);
        return rc;
    }
    if (conf == NULL) {
        fprintf(stderr, "drover: %s\n", err);
        upgrade_report_fail(&predecessor_fd, err);
        if (test)
            fprintf(stderr, "drover: configuration file %s test failed\n", conf_path);
        return 1;
    }
    uid_t uid;
    gid_t gid;
    if (user_resolve(conf, &uid, &gid, err, sizeof(err)) < 0) {
        fprintf(stderr, "drover: %s\n", err);
        upgrade_report_fail(&predecessor_fd, err);
        conf_free(conf);
        return 1;
    }
    if (test && main__check_tls(conf, err, sizeof(err)) < 0) {
        fprintf(stderr, "drover: %s\n", err);
        fprintf(stderr, "drover: configuration file %s test failed\n", conf->file);
        conf_free(conf);
        return 1;
    }
    if (test) {
        conf_hosts_warn(conf, stderr);
        fprintf(stderr, "drover: configuration file %s test is successful\n", conf->file);
        int rc = explain != NULL ? rule_explain(conf, explain_host, explain, stdout)
                 : test == 2 && conf_print(conf, stdout) < 0 ? 1 : 0;
        conf_free(conf);
        return rc;
    }
    if (signame != NULL) {
        int rc = send_signal(conf->pid_file, signame, top_count);
        conf_free(conf);
        return rc;
    }

    if (log_open(conf->error_log, conf->log_level) < 0) {
        snprintf(err, sizeof(err), "open(\"%s\"): %s", conf->error_log, strerror(errno));
        fprintf(stderr, "drover: %s\n", err);
        upgrade_report_fail(&predecessor_fd, err);
        conf_free(conf);
        return 1;
    }
    log_also_stderr(1);
    return master_run(conf, foreground, upgrade_exe_path(argv[0]), predecessor, predecessor_fd);
}
