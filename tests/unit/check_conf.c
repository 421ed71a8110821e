/*
 * Unit tests for common/conf/conf: defaults of SPEC.md, every key, every kind of
 * error (each must name the file, the line and the key), scopes, and the
 * printer of drover -T. Each test gets its own throwaway directory, which is also its
 * working directory, so relative paths resolve somewhere known.
 *
 * Longer than ~600 lines because of its tables (bad configs, messages) and
 * because every test shares the directory fixture above; the value parsers
 * have their own suite, check_conf_value.c.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "conf_keys.h"
#include "conf_suggest.h"

static char basedir[256];       /* made by main(), removed by main() */
static char tmpdir[PATH_MAX];   /* one per test, under basedir */
static char oldcwd[PATH_MAX];

/* Runs in the test's process. A failed assertion ends that process before
 * any teardown, so the files are removed by main() instead. */
static void setup(void)
{
    ck_assert_ptr_nonnull(getcwd(oldcwd, sizeof(oldcwd)));
    snprintf(tmpdir, sizeof(tmpdir), "%s/t.XXXXXX", basedir);
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    /* Resolve symlinks (/tmp may be one) so paths compare with getcwd(). */
    ck_assert_int_eq(chdir(tmpdir), 0);
    ck_assert_ptr_nonnull(getcwd(tmpdir, sizeof(tmpdir)));
}

static void teardown(void)
{
    if (chdir(oldcwd) != 0)
        perror("chdir");
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

/* Writes a file in the test directory; returns its absolute path (static). */
static const char *write_file(const char *name, const char *content)
{
    static char path[PATH_MAX + 64];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    f = fopen(path, "w");
    ck_assert_msg(f != NULL, "fopen(%s): %s", path, strerror(errno));
    ck_assert_int_eq(fputs(content, f) >= 0, 1);
    ck_assert_int_eq(fclose(f), 0);
    return path;
}

static conf_t *load_ok(const char *content)
{
    char err[CONF_ERR_LEN] = "";
    const char *path = write_file("drover.yaml", content);
    conf_t *c = conf_load(path, err);

    ck_assert_msg(c != NULL, "conf_load failed: %s\n--- config:\n%s", err, content);
    return c;
}

static void in_tmp(char *out, size_t size, const char *rel)
{
    snprintf(out, size, "%s/%s", tmpdir, rel);
}

static int cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    return n > 0 ? (int)n : 1;
}

/* The defaults of SPEC.md, resolved against the working directory. */
static void assert_defaults(const conf_t *c)
{
    char want[PATH_MAX + 64];

    ck_assert_uint_eq(c->num_listen, 1);
    ck_assert_ptr_nonnull(c->listen[0].spec);
    ck_assert_str_eq(c->listen[0].spec, "0.0.0.0:8080");
    ck_assert_int_eq(c->listen[0].port, 8080);
    ck_assert_int_eq(c->listen[0].family, AF_INET);
    ck_assert_msg(strcmp(c->listen[0].host, "0.0.0.0") == 0 || c->listen[0].host[0] == '\0',
                  "default listen host \"%s\"", c->listen[0].host);
    ck_assert_int_eq(c->workers, cpu_count());

    in_tmp(want, sizeof(want), "www");
    ck_assert_ptr_nonnull(c->root);
    ck_assert_str_eq(c->root, want);
    ck_assert_uint_eq(c->num_index, 1);
    ck_assert_str_eq(c->index[0], "index.html");
    ck_assert_int_eq(c->daemon, 0);
    in_tmp(want, sizeof(want), "drover.pid");
    ck_assert_ptr_nonnull(c->pid_file);
    ck_assert_str_eq(c->pid_file, want);
    ck_assert_str_eq(c->error_log, "stderr");
    ck_assert_int_eq(c->log_level, LOG_LEVEL_INFO);
    ck_assert_ptr_null(c->access_log);
    ck_assert_ptr_null(c->user);
    ck_assert_ptr_null(c->group);
    ck_assert_int_eq(c->worker_connections, 4096);
    ck_assert_double_eq_tol(c->keepalive_timeout, 15, 1e-9);
    ck_assert_int_eq(c->keepalive_requests, 10000);
    ck_assert_double_eq_tol(c->client_header_timeout, 10, 1e-9);
    ck_assert_double_eq_tol(c->send_timeout, 30, 1e-9);
    ck_assert_double_eq_tol(c->shutdown_timeout, 30, 1e-9);
    ck_assert_double_eq_tol(c->worker_timeout, 30, 1e-9);
    ck_assert_uint_eq(c->max_header_size, 8192);
    ck_assert_int_eq(c->gzip_static, 1);
    ck_assert_int_eq(c->autoindex, 0);
    ck_assert_int_eq(c->server_tokens, 0);
    ck_assert_double_eq_tol(c->client_body_timeout, 10, 1e-9);
}

/* ---- loading valid files ----------------------------------------------- */

START_TEST(test_defaults)
{
    conf_t *c = conf_defaults();

    ck_assert_ptr_nonnull(c);
    assert_defaults(c);
    conf_free(c);
}
END_TEST

/* SPEC: an empty config document is an error (issue 15). Before, an empty
 * or comment-only file was every default, listening on 0.0.0.0:8080. */
static void assert_empty_refused(const char *yaml)
{
    char err[CONF_ERR_LEN] = "";
    char path[PATH_MAX + 64];

    snprintf(path, sizeof(path), "%s", write_file("drover.yaml", yaml));
    ck_assert_msg(conf_load(path, err) == NULL, "accepted:\n%s", yaml);
    ck_assert_msg(strstr(err, path) != NULL, "error \"%s\" does not name the file", err);
    ck_assert_msg(strstr(err, "config is empty") != NULL, "error \"%s\" does not say empty", err);
}

START_TEST(test_empty_file)
{
    assert_empty_refused("");
    assert_empty_refused("\n\n");
    assert_empty_refused("---\n...\n");
    assert_empty_refused("{}\n");
}
END_TEST

START_TEST(test_comment_only_file)
{
    assert_empty_refused("# nothing but a comment\n\n# and another\n");
}
END_TEST

START_TEST(test_minimal_file)
{
    conf_t *c = load_ok("log_level: info\n");

    assert_defaults(c);
    conf_free(c);
    c = load_ok("---\nworkers: auto\n...\n");
    assert_defaults(c);
    conf_free(c);
}
END_TEST

/* listen entries may be mappings; a string keeps its meaning. */
START_TEST(test_listen_mapping)
{
    conf_t *c = load_ok("listen:\n"
                        "  - \"127.0.0.1:8081\"\n"
                        "  - {address: \"[::1]:8443\", tls: true}\n"
                        "  - {address: \":8082\", redirect_https: true, proxy_protocol: yes}\n"
                        "tls:\n"
                        "  certificates: [{cert: a.pem, key: a.key}]\n");
    ck_assert_uint_eq(c->num_listen, 3);
    ck_assert_str_eq(c->listen[0].spec, "127.0.0.1:8081");
    ck_assert_int_eq(c->listen[0].tls + c->listen[0].redirect_https + c->listen[0].proxy_protocol, 0);
    ck_assert_str_eq(c->listen[1].spec, "[::1]:8443");
    ck_assert_str_eq(c->listen[1].host, "::1");
    ck_assert_int_eq(c->listen[1].port, 8443);
    ck_assert_int_eq(c->listen[1].family, AF_INET6);
    ck_assert_int_eq(c->listen[1].tls, 1);
    ck_assert_uint_eq(c->listen[1].line, 3);
    ck_assert_int_eq(c->listen[1].redirect_https, 0);
    ck_assert_str_eq(c->listen[2].host, "");
    ck_assert_int_eq(c->listen[2].port, 8082);
    ck_assert_int_eq(c->listen[2].redirect_https, 1);
    ck_assert_int_eq(c->listen[2].proxy_protocol, 1);
    ck_assert_int_eq(c->listen[2].tls, 0);
    ck_assert_uint_eq(c->num_tls_certs, 1);
    ck_assert_uint_eq(c->tls_certs[0].line, 6);
    ck_assert_ptr_nonnull(strstr(c->tls_certs[0].key, "/a.key"));
    ck_assert_ptr_null(c->tls_hsts);
    ck_assert_uint_eq(c->num_tls_ticket_key_files, 0);
    ck_assert_int_eq(c->tls_session_tickets, 1);
    conf_free(c);
}
END_TEST

/* An HTTPS listener needs a certificate: the error names its line. */
START_TEST(test_tls_listener_without_certificate)
{
    char err[CONF_ERR_LEN] = "";
    const char *path = write_file("drover.yaml", "listen:\n"
                                  "  - \":8081\"\n"
                                  "  - {address: \":8443\", tls: true}\n");
    ck_assert_ptr_null(conf_load(path, err));
    ck_assert_msg(strstr(err, "drover.yaml:3:") != NULL && strstr(err, "tls") != NULL, "%s", err);
}
END_TEST

START_TEST(test_every_key)
{
    char yaml[4 * PATH_MAX + 1024], want[PATH_MAX + 64];
    conf_t *c;

    snprintf(yaml, sizeof(yaml),
             "# every key of SPEC.md\n"
             "listen: [\"127.0.0.1:8081\", \"[::1]:8082\", \":8083\"]\n"
             "workers: 3\n"
             "root: %s/site\n"
             "index:\n"
             "  - index.html\n"
             "  - index.htm\n"
             "daemon: true\n"
             "pid_file: %s/run/d.pid\n"
             "error_log: %s/logs/error.log\n"
             "log_level: debug\n"
             "access_log: %s/logs/access.log\n"
             "user: nobody\n"
             "group: nogroup\n"
             "worker_connections: 1024\n"
             "keepalive_timeout: 5s\n"
             "keepalive_requests: 100\n"
             "client_header_timeout: 500ms\n"
             "send_timeout: 2m\n"
             "shutdown_timeout: 1h\n"
             "worker_timeout: 20\n"
             "max_header_size: 16k\n"
             "gzip_static: false\n"
             "autoindex: true\n"
             "server_tokens: true\n"
             "client_body_timeout: 2500ms\n",
             tmpdir, tmpdir, tmpdir, tmpdir);
    c = load_ok(yaml);

    ck_assert_uint_eq(c->num_listen, 3);
    ck_assert_str_eq(c->listen[0].spec, "127.0.0.1:8081");
    ck_assert_str_eq(c->listen[0].host, "127.0.0.1");
    ck_assert_int_eq(c->listen[0].port, 8081);
    ck_assert_int_eq(c->listen[0].family, AF_INET);
    ck_assert_str_eq(c->listen[1].spec, "[::1]:8082");
    ck_assert_str_eq(c->listen[1].host, "::1");
    ck_assert_int_eq(c->listen[1].port, 8082);
    ck_assert_int_eq(c->listen[1].family, AF_INET6);
    ck_assert_str_eq(c->listen[2].spec, ":8083");
    ck_assert_str_eq(c->listen[2].host, "");
    ck_assert_int_eq(c->listen[2].port, 8083);
    ck_assert_int_eq(c->workers, 3);
    in_tmp(want, sizeof(want), "site");
    ck_assert_str_eq(c->root, want);
    ck_assert_uint_eq(c->num_index, 2);
    ck_assert_str_eq(c->index[0], "index.html");
    ck_assert_str_eq(c->index[1], "index.htm");
    ck_assert_int_eq(c->daemon, 1);
    in_tmp(want, sizeof(want), "run/d.pid");
    ck_assert_str_eq(c->pid_file, want);
    in_tmp(want, sizeof(want), "logs/error.log");
    ck_assert_str_eq(c->error_log, want);
    ck_assert_int_eq(c->log_level, LOG_LEVEL_DEBUG);
    in_tmp(want, sizeof(want), "logs/access.log");
    ck_assert_ptr_nonnull(c->access_log);
    ck_assert_str_eq(c->access_log, want);
    ck_assert_ptr_nonnull(c->user);
    ck_assert_str_eq(c->user, "nobody");
    ck_assert_ptr_nonnull(c->group);
    ck_assert_str_eq(c->group, "nogroup");
    ck_assert_int_eq(c->worker_connections, 1024);
    ck_assert_double_eq_tol(c->keepalive_timeout, 5, 1e-9);
    ck_assert_int_eq(c->keepalive_requests, 100);
    ck_assert_double_eq_tol(c->client_header_timeout, 0.5, 1e-9);
    ck_assert_double_eq_tol(c->send_timeout, 120, 1e-9);
    ck_assert_double_eq_tol(c->shutdown_timeout, 3600, 1e-9);
    ck_assert_double_eq_tol(c->worker_timeout, 20, 1e-9);
    ck_assert_uint_eq(c->max_header_size, 16384);
    ck_assert_int_eq(c->gzip_static, 0);
    ck_assert_int_eq(c->autoindex, 1);
    ck_assert_int_eq(c->server_tokens, 1);
    ck_assert_double_eq_tol(c->client_body_timeout, 2.5, 1e-9);
    conf_free(c);
}
END_TEST

/* Relative paths are resolved against the working directory at load time
 * and stay absolute; "root" keeps no trailing slash. */
START_TEST(test_relative_paths)
{
    char want[PATH_MAX + 64];
    conf_t *c = load_ok("root: site/\n"
                        "pid_file: run/drover.pid\n"
                        "error_log: error.log\n"
                        "access_log: logs/access.log\n");

    in_tmp(want, sizeof(want), "site");
    ck_assert_str_eq(c->root, want);
    in_tmp(want, sizeof(want), "run/drover.pid");
    ck_assert_str_eq(c->pid_file, want);
    in_tmp(want, sizeof(want), "error.log");
    ck_assert_str_eq(c->error_log, want);
    in_tmp(want, sizeof(want), "logs/access.log");
    ck_assert_str_eq(c->access_log, want);

    /* a later chdir changes nothing */
    ck_assert_int_eq(chdir("/"), 0);
    in_tmp(want, sizeof(want), "site");
    ck_assert_str_eq(c->root, want);
    conf_free(c);
}
END_TEST

/* The file itself is kept absolute, even when named relatively. */
START_TEST(test_relative_file)
{
    char err[CONF_ERR_LEN] = "", want[PATH_MAX + 64];
    conf_t *c;

    write_file("rel.yaml", "workers: 2\n");
    c = conf_load("rel.yaml", err);
    ck_assert_msg(c != NULL, "%s", err);
    in_tmp(want, sizeof(want), "rel.yaml");
    ck_assert_str_eq(c->file, want);
    ck_assert_int_eq(c->workers, 2);
    conf_free(c);
}
END_TEST

START_TEST(test_workers_auto)
{
    conf_t *c = load_ok("workers: auto\n");

    ck_assert_int_eq(c->workers, cpu_count());
    conf_free(c);
    c = load_ok("workers: 1\n");
    ck_assert_int_eq(c->workers, 1);
    conf_free(c);
}
END_TEST

START_TEST(test_access_log_off)
{
    conf_t *c = load_ok("access_log: off\nerror_log: stderr\n");

    ck_assert_ptr_null(c->access_log);
    ck_assert_str_eq(c->error_log, "stderr");
    conf_free(c);
}
END_TEST

START_TEST(test_log_levels)
{
    static const struct {
        const char *name;
        log_level_t level;
    } l[] = {
        { "debug", LOG_LEVEL_DEBUG },
        { "info", LOG_LEVEL_INFO },
        { "warn", LOG_LEVEL_WARN },
        { "error", LOG_LEVEL_ERROR },
    };
    size_t i;

    for (i = 0; i < sizeof(l) / sizeof(l[0]); i++) {
        char yaml[64];
        conf_t *c;

        snprintf(yaml, sizeof(yaml), "log_level: %s\n", l[i].name);
        c = load_ok(yaml);
        ck_assert_msg(c->log_level == l[i].level, "%s: %d", l[i].name, (int)c->log_level);
        conf_free(c);
    }
}
END_TEST

/* Durations and sizes as plain numbers. */
START_TEST(test_plain_numbers)
{
    conf_t *c = load_ok("keepalive_timeout: 7\n"
                        "send_timeout: 45\n"
                        "max_header_size: 4096\n"
                        "daemon: false\n"
                        "gzip_static: true\n");

    ck_assert_double_eq_tol(c->keepalive_timeout, 7, 1e-9);
    ck_assert_double_eq_tol(c->send_timeout, 45, 1e-9);
    ck_assert_uint_eq(c->max_header_size, 4096);
    ck_assert_int_eq(c->daemon, 0);
    ck_assert_int_eq(c->gzip_static, 1);
    conf_free(c);
}
END_TEST

START_TEST(test_block_lists)
{
    conf_t *c = load_ok("listen:\n"
                        "  - 127.0.0.1:9001\n"
                        "  - \"[::]:9002\"\n"
                        "index:\n"
                        "  - default.htm\n");

    ck_assert_uint_eq(c->num_listen, 2);
    ck_assert_int_eq(c->listen[0].port, 9001);
    ck_assert_str_eq(c->listen[1].host, "::");
    ck_assert_int_eq(c->listen[1].family, AF_INET6);
    ck_assert_uint_eq(c->num_index, 1);
    ck_assert_str_eq(c->index[0], "default.htm");
    conf_free(c);
}
END_TEST

/* ---- errors ---------------------------------------------------------------- */

/* Two harmless lines first, so that the bad one is on line 3. */
#define PRELUDE "# test config\nlog_level: info\n"

typedef struct {
    const char *yaml;
    int line;
    const char *key;
} bad_conf_t;

static const bad_conf_t bad[] = {
    { PRELUDE "bogus: 1\n", 3, "bogus" },
    { PRELUDE "Workers: 2\n", 3, "Workers" },
    /* wrong types: a list or a mapping for a scalar */
    { PRELUDE "workers: [1, 2]\n", 3, "workers" },
    { PRELUDE "root: [a, b]\n", 3, "root" },
    { PRELUDE "keepalive_timeout: [15]\n", 3, "keepalive_timeout" },
    { PRELUDE "daemon: {a: 1}\n", 3, "daemon" },
    { PRELUDE "log_level: [info]\n", 3, "log_level" },
    /* wrong types: a scalar or a mapping for a list */
    { PRELUDE "listen: \"127.0.0.1:8080\"\n", 3, "listen" },
    { PRELUDE "index: index.html\n", 3, "index" },
    { PRELUDE "index: {a: b}\n", 3, "index" },
    { PRELUDE "listen: {a: b}\n", 3, "listen" },
    { PRELUDE "listen: []\n", 3, "listen" },
    /* null where a value is needed */
    { PRELUDE "root:\n", 3, "root" },
    { PRELUDE "user: ~\n", 3, "user" },
    { PRELUDE "pid_file: null\n", 3, "pid_file" },
    /* wrong scalar types */
    { PRELUDE "workers: many\n", 3, "workers" },
    { PRELUDE "workers: 2.5\n", 3, "workers" },
    { PRELUDE "workers:\n", 3, "workers" },
    { PRELUDE "worker_connections: lots\n", 3, "worker_connections" },
    { PRELUDE "keepalive_requests: 1e3x\n", 3, "keepalive_requests" },
    { PRELUDE "daemon: maybe\n", 3, "daemon" },
    { PRELUDE "gzip_static: 2\n", 3, "gzip_static" },
    { PRELUDE "autoindex: sure\n", 3, "autoindex" },
    /* out of range */
    { PRELUDE "workers: 0\n", 3, "workers" },
    { PRELUDE "workers: -1\n", 3, "workers" },
    { PRELUDE "worker_connections: 0\n", 3, "worker_connections" },
    { PRELUDE "worker_connections: -5\n", 3, "worker_connections" },
    /* bad durations and sizes */
    { PRELUDE "keepalive_timeout: 15x\n", 3, "keepalive_timeout" },
    { PRELUDE "send_timeout: -1\n", 3, "send_timeout" },
    { PRELUDE "client_header_timeout: fast\n", 3, "client_header_timeout" },
    { PRELUDE "shutdown_timeout: 10 s\n", 3, "shutdown_timeout" },
    { PRELUDE "max_header_size: 8q\n", 3, "max_header_size" },
    { PRELUDE "max_header_size: -8k\n", 3, "max_header_size" },
    /* bad listen addresses */
    { PRELUDE "listen: [nohost]\n", 3, "listen" },
    { PRELUDE "listen: [\":99999\"]\n", 3, "listen" },
    { PRELUDE "listen: [\"[::1\"]\n", 3, "listen" },
    { PRELUDE "listen: [\"0.0.0.0:0\"]\n", 3, "listen" },
    { PRELUDE "listen: [\"127.0.0.1:\"]\n", 3, "listen" },
    { PRELUDE "listen: [\"127.0.0.1:8080\", \":http\"]\n", 3, "listen" },
    /* bad log level */
    { PRELUDE "log_level: verbose\n", 3, "log_level" },
    { PRELUDE "log_level: INFO!\n", 3, "log_level" },
    /* a key given twice */
    { PRELUDE "workers: 2\nlog_level: warn\n", 4, "log_level" },
    /* the line of the bad item of a block list */
    { PRELUDE "listen:\n  - 127.0.0.1:8080\n  - nohost\n", 5, "listen" },
    /* cache_control: extension -> a header value that cannot break the line */
    { PRELUDE "cache_control: \"max-age=60\"\n", 3, "cache_control" },
    { PRELUDE "cache_control: [max-age=60]\n", 3, "cache_control" },
    { PRELUDE "cache_control: {html: [no-cache]}\n", 3, "cache_control" },
    { PRELUDE "cache_control: {html: ~}\n", 3, "cache_control" },
    { PRELUDE "cache_control: {\"h.tml\": no-cache}\n", 3, "cache_control" },
    { PRELUDE "cache_control: {\".html\": no-cache}\n", 3, "cache_control" },
    { PRELUDE "cache_control: {averyveryverylongextension: no-cache}\n", 3, "cache_control" },
    { PRELUDE "cache_control: {html: \"no-cache\\r\\nX-Evil: 1\"}\n", 3, "cache_control" },
    { PRELUDE "cache_control: {html: \"no-cache\\x01\"}\n", 3, "cache_control" },
    { PRELUDE "cache_control: {html: \"\"}\n", 3, "cache_control" },
    { PRELUDE "cache_control: {html: \" no-cache\"}\n", 3, "cache_control" },
    { PRELUDE "cache_control: {html: a, HTML: b}\n", 3, "cache_control" },
    { PRELUDE "cache_control:\n  html: no-cache\n  css: \"max-age=1\\n\"\n", 5, "cache_control" },
    /* error_pages: status -> a normalised path under root */
    { PRELUDE "error_pages: [/404.html]\n", 3, "error_pages" },
    { PRELUDE "error_pages: {404: 404.html}\n", 3, "error_pages" },
    { PRELUDE "error_pages: {200: /ok.html}\n", 3, "error_pages" },
    { PRELUDE "error_pages: {600: /x.html}\n", 3, "error_pages" },
    { PRELUDE "error_pages: {4040: /x.html}\n", 3, "error_pages" },
    { PRELUDE "error_pages: {not_found: /x.html}\n", 3, "error_pages" },
    { PRELUDE "error_pages: {404: /../etc/passwd}\n", 3, "error_pages" },
    { PRELUDE "error_pages: {404: /a/./b.html}\n", 3, "error_pages" },
    { PRELUDE "error_pages: {404: //b.html}\n", 3, "error_pages" },
    { PRELUDE "error_pages: {404: /.hidden.html}\n", 3, "error_pages" },
    { PRELUDE "error_pages: {404: /errors/}\n", 3, "error_pages" },
    { PRELUDE "error_pages: {404: /}\n", 3, "error_pages" },
    { PRELUDE "error_pages: {404: /a%2e.html}\n", 3, "error_pages" },
    { PRELUDE "error_pages: {404: /a.html, 404: /b.html}\n", 3, "error_pages" },
    /* mime_types: extension -> media type */
    { PRELUDE "mime_types: {md: markdown}\n", 3, "mime_types" },
    { PRELUDE "mime_types: {md: /markdown}\n", 3, "mime_types" },
    { PRELUDE "mime_types: {md: text/}\n", 3, "mime_types" },
    { PRELUDE "mime_types: {md: \"text/markdown\\r\\nX-Evil: 1\"}\n", 3, "mime_types" },
    { PRELUDE "mime_types: {\"m/d\": text/markdown}\n", 3, "mime_types" },
    { PRELUDE "mime_types: text/markdown\n", 3, "mime_types" },
    /* the keys added as table rows */
    { PRELUDE "server_tokens: maybe\n", 3, "server_tokens" },
    { PRELUDE "server_tokens: \"true\"\n", 3, "server_tokens" },
    { PRELUDE "client_body_timeout: 0\n", 3, "client_body_timeout" },
    { PRELUDE "client_body_timeout: fast\n", 3, "client_body_timeout" },
    /* scopes: status's keys only inside status, top-level keys not inside it */
    { PRELUDE "path: /status\n", 3, "path" },
    /* (allow is also an access-control key of its own at the top level) */
    { PRELUDE "allow: [10.0.0.0/33]\n", 3, "allow" },
    { PRELUDE "deny: [not-an-address]\n", 3, "deny" },
    { PRELUDE "real_ip: {header: X-Forwarded-For}\n", 3, "real_ip" },
    { PRELUDE "real_ip: {trusted: [10.0.0.0/8], header: \"bad header\"}\n", 3, "real_ip" },
    { PRELUDE "real_ip: {trusted: [10.0.0.300]}\n", 3, "real_ip" },
    { PRELUDE "limit_req: {rate: 10/h}\n", 3, "limit_req" },
    { PRELUDE "limit_req: {rate: 0/s}\n", 3, "limit_req" },
    { PRELUDE "limit_req: {burst: 3}\n", 3, "limit_req" },
    { PRELUDE "limit_req: {rate: 1/s, key: cookie}\n", 3, "limit_req" },
    { PRELUDE "limit_req: {rate: 1/s, status: 200}\n", 3, "limit_req" },
    { PRELUDE "limit_conn: {max: 0}\n", 3, "limit_conn" },
    { PRELUDE "limit_conn: 5\n", 3, "limit_conn" },
    { PRELUDE "auth: {realm: x}\n", 3, "auth" },
    { PRELUDE "auth: {htpasswd: /nonexistent/htpasswd}\n", 3, "auth" },
    { PRELUDE "auth: {realm: \"a\\\"b\", htpasswd: /etc/passwd}\n", 3, "auth" },
    { PRELUDE "status: {path: /s, workers: 2}\n", 3, "workers" },
    { PRELUDE "status: {allow: [127.0.0.1]}\n", 3, "status" },
    { PRELUDE "status: {path: status}\n", 3, "status.path" },
    { PRELUDE "status: {path: /s, allow: [10.0.0.0/33]}\n", 3, "status.allow" },
    { PRELUDE "status: /status\n", 3, "status" },
};

#define NUM_BAD (int)(sizeof(bad) / sizeof(bad[0]))

static void assert_error(const char *err, const char *path, int line, const char *key,
                         const char *yaml)
{
    char want_line[32];

    snprintf(want_line, sizeof(want_line), ":%d:", line);
    ck_assert_msg(strstr(err, path) != NULL, "error \"%s\" does not name the file %s\n%s", err,
                  path, yaml);
    if (line > 0)
        ck_assert_msg(strstr(err, want_line) != NULL,
                      "error \"%s\" does not name line %d\n--- config:\n%s", err, line, yaml);
    if (key != NULL)
        ck_assert_msg(strstr(err, key) != NULL,
                      "error \"%s\" does not name the key %s\n--- config:\n%s", err, key, yaml);
}

START_TEST(test_bad)
{
    char err[CONF_ERR_LEN];
    char path[PATH_MAX + 64];
    conf_t *c;

    snprintf(path, sizeof(path), "%s", write_file("drover.yaml", bad[_i].yaml));
    memset(err, 0, sizeof(err));
    c = conf_load(path, err);
    ck_assert_msg(c == NULL, "accepted:\n%s", bad[_i].yaml);
    assert_error(err, path, bad[_i].line, bad[_i].key, bad[_i].yaml);
}
END_TEST

START_TEST(test_bad_yaml_syntax)
{
    static const char yaml[] = PRELUDE "root: www: oops\n";
    char err[CONF_ERR_LEN] = "";
    char path[PATH_MAX + 64];
    conf_t *c;

    snprintf(path, sizeof(path), "%s", write_file("drover.yaml", yaml));
    c = conf_load(path, err);
    ck_assert_ptr_null(c);
    assert_error(err, path, 3, NULL, yaml);
}
END_TEST

START_TEST(test_bad_yaml_unclosed)
{
    static const char yaml[] = PRELUDE "index: [a, b\n";
    char err[CONF_ERR_LEN] = "";
    char path[PATH_MAX + 64];
    conf_t *c;

    snprintf(path, sizeof(path), "%s", write_file("drover.yaml", yaml));
    c = conf_load(path, err);
    ck_assert_ptr_null(c);
    /* libyaml finds the problem at the end of the stream (line 3 or 4) */
    ck_assert_msg(strstr(err, path) != NULL, "%s", err);
    ck_assert_msg(strstr(err, ":3:") != NULL || strstr(err, ":4:") != NULL, "%s", err);
}
END_TEST

START_TEST(test_not_a_mapping)
{
    static const char yaml[] = "- listen\n- workers\n";
    char err[CONF_ERR_LEN] = "";
    char path[PATH_MAX + 64];
    conf_t *c;

    snprintf(path, sizeof(path), "%s", write_file("drover.yaml", yaml));
    c = conf_load(path, err);
    ck_assert_ptr_null(c);
    assert_error(err, path, 1, NULL, yaml);
}
END_TEST

START_TEST(test_missing_file)
{
    char err[CONF_ERR_LEN] = "";
    char path[PATH_MAX + 64];
    conf_t *c;

    in_tmp(path, sizeof(path), "no-such.yaml");
    c = conf_load(path, err);
    ck_assert_ptr_null(c);
    ck_assert_msg(strstr(err, path) != NULL, "error \"%s\" does not name %s", err, path);
    ck_assert_msg(strstr(err, strerror(ENOENT)) != NULL, "error \"%s\" does not say why", err);
}
END_TEST

/* Issue 15: what a message says, beyond file, line and key. */
static const struct {
    const char *yaml;
    const char *want;
} messages[] = {
    /* quotes make a string: said, not guessed at */
    { "workers: \"2\"\n",
      "workers: expected a number or \"auto\", got the string \"2\" (quotes make a string)" },
    { "worker_connections: '10'\n",
      "worker_connections: expected a number, got the string \"10\" (quotes make a string)" },
    { "gzip_static: \"true\"\n",
      "gzip_static: expected true or false, got the string \"true\" (quotes make a string)" },
    /* an out-of-range value names the range */
    { "workers: 0\n", "workers: 0 is out of range 1..512" },
    { "worker_connections: 2000000\n", "worker_connections: 2000000 is out of range 1..1048576" },
    { "max_header_size: 2m\n", "max_header_size: 2m is out of range 1k..1m bytes" },
    { "client_header_timeout: 0\n", "client_header_timeout: \"0\" is out of range 1ms..365d" },
    { "worker_timeout: 500ms\n", "worker_timeout: \"500ms\" is out of range 1s..365d" },
    { "keepalive_timeout: 400d\n", "keepalive_timeout: \"400d\" is out of range 0s..365d" },
    /* scopes */
    { "path: /status\n", ":1: path: unknown key" },
    { "status: {path: /s, colour: red}\n",
      "status.colour: unknown key in status (expected path or allow)" },
    { "status: {allow: [127.0.0.1]}\n", "status: path is missing" },
    /* a typo is answered with the key of that scope it is nearest to */
    { "keepalive_timout: 5s\n", ":1: keepalive_timout: unknown key: did you mean keepalive_timeout?" },
    { "Workers: 2\n", "Workers: unknown key: did you mean workers?" },
    { "gzip_statc: true\n", "gzip_statc: unknown key: did you mean gzip_static?" },
    { "status: {pahts: /s}\n", "status.pahts: unknown key in status: did you mean path? (expected path or allow)" },
    { "hosts: {a.test: {rot: /tmp}}\n", "rot: unknown key in a host: did you mean root?" },
};

/* Too far from every key (or a key of another scope): no guess. */
START_TEST(test_no_suggestion)
{
    static const char *const far[] = { "zzzzzzzz: 1\n", "path: /status\n", "pid: 1\n" };
    char err[CONF_ERR_LEN] = "";
    for (size_t i = 0; i < sizeof(far) / sizeof(far[0]); i++) {
        const char *path = write_file("drover.yaml", far[i]);
        ck_assert_ptr_null(conf_load(path, err));
        ck_assert_msg(strstr(err, "unknown key") != NULL, "%s", err);
        ck_assert_msg(strstr(err, "did you mean") == NULL, "%s: guessed: %s", far[i], err);
    }
}
END_TEST

START_TEST(test_suggest_distance)
{
    ck_assert_uint_eq(conf_suggest_distance("keepalive_timout", "keepalive_timeout", 3), 1);
    ck_assert_uint_eq(conf_suggest_distance("wokrers", "workers", 3), 1); /* a swap */
    ck_assert_uint_eq(conf_suggest_distance("ROOT", "root", 3), 0);
    ck_assert_uint_eq(conf_suggest_distance("abc", "xyz", 3), 3);
    ck_assert_uint_eq(conf_suggest_distance("abcdef", "uvwxyz", 2), 3); /* capped at limit + 1 */
    ck_assert_uint_eq(conf_suggest_distance("", "root", 5), 4);
    ck_assert_str_eq(conf_suggest_key("keepalive_timout", CONF_SCOPE_TOP), "keepalive_timeout");
    ck_assert_ptr_null(conf_suggest_key("qqqqqqqqqqqq", CONF_SCOPE_TOP));
}
END_TEST

START_TEST(test_messages)
{
    char err[CONF_ERR_LEN] = "";
    const char *path = write_file("drover.yaml", messages[_i].yaml);

    ck_assert_msg(conf_load(path, err) == NULL, "accepted:\n%s", messages[_i].yaml);
    ck_assert_msg(strstr(err, messages[_i].want) != NULL, "error \"%s\" does not say \"%s\"", err,
                  messages[_i].want);
}
END_TEST

/* Only a regular file is a config: a directory says so (it was "input
 * error"), and a FIFO is refused at once (it hung drover -t: the tcase's
 * timeout catches that). */
START_TEST(test_not_a_regular_file)
{
    char err[CONF_ERR_LEN] = "", path[PATH_MAX + 64];

    in_tmp(path, sizeof(path), "dir.yaml");
    ck_assert_int_eq(mkdir(path, 0755), 0);
    ck_assert_ptr_null(conf_load(path, err));
    ck_assert_msg(strstr(err, path) != NULL && strstr(err, "is a directory") != NULL, "%s", err);

    in_tmp(path, sizeof(path), "fifo.yaml");
    ck_assert_int_eq(mkfifo(path, 0644), 0);
    ck_assert_ptr_null(conf_load(path, err));
    ck_assert_msg(strstr(err, path) != NULL && strstr(err, "is a FIFO") != NULL, "%s", err);
    /* and -s stop's lenient reader does not hang on it either */
    char *pid = conf_pid_file(path);
    ck_assert_ptr_nonnull(pid);
    free(pid);
}
END_TEST

START_TEST(test_status_section)
{
    conf_t *c = load_ok("status: {path: /st}\n");

    ck_assert_str_eq(c->status_path, "/st");
    ck_assert_uint_eq(c->num_status_allow, 2); /* loopback by default */
    ck_assert_int_eq(c->status_allow[0].family, AF_INET);
    ck_assert_int_eq(c->status_allow[1].family, AF_INET6);
    conf_free(c);
    c = load_ok("status:\n  allow: [10.0.0.0/8]\n  path: /status\n");
    ck_assert_str_eq(c->status_path, "/status");
    ck_assert_uint_eq(c->num_status_allow, 1);
    ck_assert_int_eq(c->status_allow[0].bits, 8);
    conf_free(c);
    c = load_ok("workers: 1\n");
    ck_assert_ptr_null(c->status_path);
    ck_assert_uint_eq(c->num_status_allow, 0);
    conf_free(c);
}
END_TEST

/* conf_print() into a file of the test directory; returns its contents. */
static char *print_to(const conf_t *c, const char *name)
{
    char path[PATH_MAX + 64];
    static char bufs[2][16384];
    static int which;
    char *buf = bufs[which++ % 2];

    in_tmp(path, sizeof(path), name);
    FILE *f = fopen(path, "w+");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(conf_print(c, f), 0);
    rewind(f);
    size_t n = fread(buf, 1, sizeof(bufs[0]) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* drover -T prints a config that loads back to the same configuration:
 * printing the reloaded one gives the same text. */
START_TEST(test_print_round_trip)
{
    char err[CONF_ERR_LEN] = "", path[PATH_MAX + 64];
    conf_t *c = load_ok("listen: [\"127.0.0.1:8081\", \"[::1]:8082\", \":8083\"]\n"
                        "workers: 3\n"
                        "root: \"site with \\\"quotes\\\" and \\\\\"\n"
                        "index: [index.html, \"odd name.htm\"]\n"
                        "access_log: logs/access.log\n"
                        "user: nobody\n"
                        "shutdown_timeout: 1.5m\n"
                        "keepalive_timeout: 0.0005\n"
                        "max_body_size: 1536\n"
                        "log_level: warn\n"
                        "server_tokens: yes\n"
                        "status: {path: /st, allow: [10.0.0.0/8, \"::1\", 192.168.0.1]}\n"
                        "cache_control: {default: \"max-age=60\", HTML: no-cache}\n"
                        "error_pages: {404: /404.html}\n"
                        "mime_types: {md: \"text/markdown; charset=utf-8\"}\n");
    char *first = print_to(c, "printed.yaml");

    in_tmp(path, sizeof(path), "printed.yaml");
    conf_t *again = conf_load(path, err);
    ck_assert_msg(again != NULL, "%s\n--- printed:\n%s", err, first);
    char *second = print_to(again, "printed2.yaml");
    /* the first line names the file, which differs */
    ck_assert_str_eq(strchr(first, '\n'), strchr(second, '\n'));
    ck_assert_str_eq(again->root, c->root);
    ck_assert_uint_eq(again->num_listen, 3);
    ck_assert_str_eq(again->index[1], "odd name.htm");
    ck_assert_int_eq(again->workers, 3);
    ck_assert_double_eq_tol(again->shutdown_timeout, 90, 1e-9);
    ck_assert_double_eq_tol(again->keepalive_timeout, 0.0005, 1e-12);
    ck_assert_uint_eq(again->max_body_size, 1536);
    ck_assert_int_eq(again->server_tokens, 1);
    ck_assert_uint_eq(again->num_status_allow, 3);
    ck_assert_str_eq(conf_map_get(&again->cache_control, "html", 4), "no-cache");
    ck_assert_ptr_nonnull(strstr(first, "workers: 3\n"));
    ck_assert_ptr_nonnull(strstr(first, "shutdown_timeout: 90s\n"));
    ck_assert_ptr_nonnull(strstr(first, "user: \"nobody\"\n"));
    ck_assert_ptr_nonnull(strstr(first, "# group: not set\n"));
    ck_assert_ptr_nonnull(strstr(first, "  allow: [\"10.0.0.0/8\", \"::1\", \"192.168.0.1\"]\n"));
    conf_free(again);
    conf_free(c);
}
END_TEST

/* Every key of the table is printed with its default: a new row needs no
 * printer code. */
START_TEST(test_print_defaults)
{
    conf_t *c = conf_defaults();
    char *out = print_to(c, "defaults.yaml");

    for (size_t i = 0; i < conf__num_keys; i++) {
        char want[128];
        if (!(conf__keys[i].scope & CONF_SCOPE_TOP))
            continue;
        snprintf(want, sizeof(want), "\n%s:", conf__keys[i].name);
        if (strstr(out, want) == NULL)
            snprintf(want, sizeof(want), "\n# %s: not set", conf__keys[i].name);
        ck_assert_msg(strstr(out, want) != NULL, "%s missing from\n%s", conf__keys[i].name, out);
    }
    ck_assert_ptr_nonnull(strstr(out, "\nserver_tokens: false\n"));
    ck_assert_ptr_nonnull(strstr(out, "\nclient_body_timeout: 10s\n"));
    ck_assert_ptr_nonnull(strstr(out, "\nlisten: [\"0.0.0.0:8080\"]\n"));
    ck_assert_ptr_nonnull(strstr(out, "\naccess_log: off\n"));
    ck_assert_ptr_nonnull(strstr(out, "\nmax_header_size: 8k\n"));
    conf_free(c);
}
END_TEST

/* cache_control, error_pages and mime_types: mappings, keys lower-cased. */
START_TEST(test_maps)
{
    conf_t *c = load_ok("cache_control: {default: \"max-age=60\", HTML: no-cache, css: "
                        "\"public, max-age=86400\"}\n"
                        "error_pages:\n"
                        "  404: /errors/404.html\n"
                        "  500: /50x.html\n"
                        "  403: \"/errors/forbidden page.html\"\n"
                        "mime_types: {md: text/markdown, Log: \"text/plain; charset=utf-8\"}\n");

    ck_assert_uint_eq(c->cache_control.n, 3);
    ck_assert_str_eq(conf_map_get(&c->cache_control, "default", 7), "max-age=60");
    ck_assert_str_eq(conf_map_get(&c->cache_control, "html", 4), "no-cache");
    ck_assert_str_eq(conf_map_get(&c->cache_control, "HTML", 4), "no-cache");
    ck_assert_str_eq(conf_map_get(&c->cache_control, "cssx", 3), "public, max-age=86400");
    ck_assert_ptr_null(conf_map_get(&c->cache_control, "js", 2));
    ck_assert_ptr_null(conf_map_get(&c->cache_control, "htm", 3));
    ck_assert_uint_eq(c->error_pages.n, 3);
    ck_assert_str_eq(conf_map_get(&c->error_pages, "404", 3), "/errors/404.html");
    ck_assert_str_eq(conf_map_get(&c->error_pages, "500", 3), "/50x.html");
    ck_assert_str_eq(conf_map_get(&c->error_pages, "403", 3), "/errors/forbidden page.html");
    ck_assert_ptr_null(conf_map_get(&c->error_pages, "502", 3));
    ck_assert_uint_eq(c->mime_types.n, 2);
    ck_assert_str_eq(conf_map_get(&c->mime_types, "md", 2), "text/markdown");
    ck_assert_str_eq(conf_map_get(&c->mime_types, "log", 3), "text/plain; charset=utf-8");
    conf_free(c);

    /* empty mappings are allowed, and are the default */
    c = load_ok("cache_control: {}\nerror_pages: {}\nmime_types: {}\n");
    ck_assert_uint_eq(c->cache_control.n, 0);
    ck_assert_uint_eq(c->error_pages.n, 0);
    ck_assert_uint_eq(c->mime_types.n, 0);
    ck_assert_ptr_null(conf_map_get(&c->cache_control, "default", 7));
    conf_free(c);
    c = conf_defaults();
    ck_assert_uint_eq(c->cache_control.n + c->error_pages.n + c->mime_types.n, 0);
    conf_free(c);
}
END_TEST

static Suite *conf_suite(void)
{
    Suite *s = suite_create("conf");
    TCase *tc;

    tc = tcase_create("load");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_empty_file);
    tcase_add_test(tc, test_comment_only_file);
    tcase_add_test(tc, test_minimal_file);
    tcase_add_test(tc, test_every_key);
    tcase_add_test(tc, test_listen_mapping);
    tcase_add_test(tc, test_tls_listener_without_certificate);
    tcase_add_test(tc, test_relative_paths);
    tcase_add_test(tc, test_relative_file);
    tcase_add_test(tc, test_workers_auto);
    tcase_add_test(tc, test_access_log_off);
    tcase_add_test(tc, test_log_levels);
    tcase_add_test(tc, test_plain_numbers);
    tcase_add_test(tc, test_block_lists);
    tcase_add_test(tc, test_maps);
    tcase_add_test(tc, test_status_section);
    tcase_add_test(tc, test_print_round_trip);
    tcase_add_test(tc, test_print_defaults);
    suite_add_tcase(s, tc);

    tc = tcase_create("errors");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 10);
    tcase_add_loop_test(tc, test_bad, 0, NUM_BAD);
    tcase_add_test(tc, test_bad_yaml_syntax);
    tcase_add_test(tc, test_bad_yaml_unclosed);
    tcase_add_test(tc, test_not_a_mapping);
    tcase_add_test(tc, test_missing_file);
    tcase_add_loop_test(tc, test_messages, 0, (int)(sizeof(messages) / sizeof(messages[0])));
    tcase_add_test(tc, test_not_a_regular_file);
    tcase_add_test(tc, test_no_suggestion);
    tcase_add_test(tc, test_suggest_distance);
    suite_add_tcase(s, tc);

    return s;
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    SRunner *sr;
    int failed;

    if (tmp == NULL || tmp[0] != '/')
        tmp = "/tmp";
    snprintf(basedir, sizeof(basedir), "%s/check_conf.XXXXXX", tmp);
    if (mkdtemp(basedir) == NULL) {
        perror("mkdtemp");
        return EXIT_FAILURE;
    }
    sr = srunner_create(conf_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    nftw(basedir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
