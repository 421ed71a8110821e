/*
 * Unit tests for the hosts: section of common/conf/conf (conf.c, conf_hosts.c,
 * conf_print.c): what a host inherits and what it sets, the names table,
 * errors that name the host and the lines, the -t warning and -T.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "vhost.h"

static char path[64];
static char err[CONF_ERR_LEN];

static conf_t *load(const char *yaml)
{
    strcpy(path, "/tmp/drover-ch-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, yaml, strlen(yaml)), (int)strlen(yaml));
    close(fd);
    conf_t *c = conf_load(path, err);
    unlink(path);
    return c;
}

START_TEST(test_inherits_what_it_does_not_set)
{
    conf_t *c = load("root: /srv/top\nindex: [a.html, b.html]\ngzip_static: false\n"
                     "error_pages: {404: /404.html}\nheaders: {X-Top: t}\n"
                     "hosts:\n"
                     "  Example.com:\n    root: /srv/ex\n    aliases: [www.example.com]\n"
                     "    headers: {X-A: a}\n"
                     "  \"*.w.example.com\": {autoindex: true}\n");
    ck_assert_msg(c != NULL, "%s", err);
    ck_assert_uint_eq(c->num_hosts, 2);
    const conf_host_t *h = &c->hosts[0];
    ck_assert_str_eq(h->name, "Example.com");
    ck_assert_uint_eq(h->line, 7);
    ck_assert_str_eq(h->conf->root, "/srv/ex");
    ck_assert_uint_eq(h->conf->num_index, 2);             /* inherited, copied */
    ck_assert_str_eq(h->conf->index[1], "b.html");
    ck_assert_ptr_ne(h->conf->index[1], c->index[1]);
    ck_assert_int_eq(h->conf->gzip_static, 0);
    ck_assert_str_eq(conf_map_get(&h->conf->error_pages, "404", 3), "/404.html");
    ck_assert_uint_eq(h->conf->headers.n, 1);             /* its own, not both */
    ck_assert_ptr_null(conf_map_get(&h->conf->headers, "x-top", 5));
    ck_assert(conf_host_sets(h, "root"));
    ck_assert(conf_host_sets(h, "headers"));
    ck_assert(!conf_host_sets(h, "index"));
    ck_assert(!conf_host_sets(h, "nonsense"));
    const conf_host_t *w = &c->hosts[1];
    ck_assert_str_eq(w->conf->root, "/srv/top");
    ck_assert_int_eq(w->conf->autoindex, 1);
    ck_assert_int_eq(c->autoindex, 0);
    ck_assert_str_eq(conf_map_get(&w->conf->headers, "X-Top", 5), "t");
    ck_assert_int_eq(vhost_match(c->vhosts, "example.com", 11), 0);
    ck_assert_int_eq(vhost_match(c->vhosts, "www.example.com", 15), 0);
    ck_assert_int_eq(vhost_match(c->vhosts, "a.b.w.example.com", 17), 1);
    ck_assert_int_eq(vhost_match(c->vhosts, "w.example.com", 13), VHOST_DEFAULT);
    conf_free(c);
}
END_TEST

START_TEST(test_no_hosts)
{
    conf_t *c = load("root: /srv\n");
    ck_assert_msg(c != NULL, "%s", err);
    ck_assert_uint_eq(c->num_hosts, 0);
    ck_assert_ptr_null(c->vhosts);
    ck_assert_int_eq(c->log_format, CONF_LOG_COMBINED);
    conf_free(c);
    c = load("root: /srv\nlog_format: json\nhosts: {}\n");
    ck_assert_msg(c != NULL, "%s", err);
    ck_assert_int_eq(c->log_format, CONF_LOG_JSON);
    conf_free(c);
}
END_TEST

static void refused(const char *yaml, const char *want)
{
    conf_t *c = load(yaml);
    ck_assert_msg(c == NULL, "accepted: %s", yaml);
    ck_assert_msg(strstr(err, want) != NULL, "error \"%s\" lacks \"%s\"", err, want);
}

/* A host's own certificate without a top-level tls section brings the
 * section's defaults (the master then builds the TLS context from it). */
START_TEST(test_host_tls_alone)
{
    conf_t *c = load("hosts:\n  a.test:\n    tls: {cert: /etc/hostname, key: /etc/hostname}\n");
    ck_assert_msg(c != NULL, "%s", err);
    ck_assert_str_eq(c->tls_ciphers, "default");
    ck_assert_int_eq(c->tls_session_tickets, 1);
    ck_assert_ptr_null(c->tls_hsts);
    ck_assert_uint_eq(c->num_tls_certs, 0);
    ck_assert_int_eq(conf_has_certificates(c), 1);
    conf_free(c);
    c = load("hosts:\n  a.test: {}\n");
    ck_assert_msg(c != NULL, "%s", err);
    ck_assert_ptr_null(c->tls_ciphers);
    ck_assert_int_eq(conf_has_certificates(c), 0);
    conf_free(c);
}
END_TEST

START_TEST(test_errors)
{
    refused("hosts:\n  a.test:\n    root: /x\n    listen: [\":80\"]\n",
            ":4: host a.test: listen: unknown key in a host (expected root, index");
    refused("hosts:\n  a.test: {}\n  b.test:\n    aliases: [c.test, A.TEST.]\n",
            ":4: hosts: \"A.TEST.\" (line 4) is already a name of host \"a.test\" (line 2)");
    refused("hosts:\n  a.test: {}\n  A.test: {}\n",
            ":3: hosts: \"A.test\" (line 3) is already a name of host \"a.test\" (line 2)");
    refused("hosts:\n  a.test:\n    aliases: [x.test, x.test]\n", "is already a name of host");
    refused("hosts:\n  \"a_b c\": {}\n", "is not a host name");
    refused("hosts:\n  \"*\": {}\n", "is not a host name");
    refused("hosts: [a, b]\n", "hosts: expected a mapping of host names");
    refused("hosts:\n  a.test: [x]\n", "host a.test: expected a mapping");
    refused("hosts:\n  a.test:\n    tls: {cert: /nonexistent}\n", "key is missing");
    refused("hosts:\n  a.test:\n    headers: {Server: x}\n", "is not a header name");
    refused("headers: {\"bad name\": x}\n", "is not a header name");
    refused("log_format: xml\n", "expected combined, vhost_combined or json");
}
END_TEST

START_TEST(test_warning)
{
    conf_t *c = load("hosts:\n  \"*.a.test\": {}\n  b.test:\n    aliases: [\"*.b.test\"]\n");
    ck_assert_msg(c != NULL, "%s", err);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    ck_assert_int_eq(conf_hosts_warn(c, out), 1);
    fclose(out);
    ck_assert_msg(strstr(buf, ":2: \"*.a.test\" does not match \"a.test\" itself") != NULL, "%s", buf);
    free(buf);
    conf_free(c);
}
END_TEST

START_TEST(test_print_reads_back)
{
    conf_t *c = load("hosts:\n  a.test:\n    root: /srv/a\n    redirect: \"https://b.test\"\n");
    ck_assert_msg(c != NULL, "%s", err);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    ck_assert_int_eq(conf_print(c, out), 0);
    fclose(out);
    ck_assert_msg(strstr(buf, "  \"a.test\":  # line 2\n    root: \"/srv/a\"\n") != NULL, "%s", buf);
    ck_assert_msg(strstr(buf, "    # inherited: gzip_static: true\n") != NULL, "%s", buf);
    conf_t *again = load(buf);
    ck_assert_msg(again != NULL, "%s", err);
    ck_assert_str_eq(again->hosts[0].conf->redirect, "https://b.test");
    ck_assert(!conf_host_sets(&again->hosts[0], "gzip_static"));
    conf_free(again);
    free(buf);
    conf_free(c);
}
END_TEST

static Suite *conf_hosts_suite(void)
{
    Suite *s = suite_create("conf_hosts");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_inherits_what_it_does_not_set);
    tcase_add_test(tc, test_no_hosts);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_host_tls_alone);
    tcase_add_test(tc, test_warning);
    tcase_add_test(tc, test_print_reads_back);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(conf_hosts_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
