/*
 * Unit tests for worker/rules (the matcher) and worker/rule_vars, on
 * configurations loaded by common/conf/conf_rules: nginx's order on tricky sets
 * (exact over everything, ^~ over regexes, regexes over plain prefixes, the
 * first regex in file order, the longest prefix whatever the file order),
 * caseless regexes, a runaway regex counted as no match, captures and
 * variables, and the config errors of locations.
 */
#include "config.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "conf_rules.h"
#include "rule_pattern.h"
#include "rule_vars.h"
#include "rules.h"

static char conf_path[64];

/* Loads body as a config file; NULL with err filled when it is refused. */
static conf_t *load(const char *body, char *err)
{
    snprintf(conf_path, sizeof(conf_path), "/tmp/check_rules.XXXXXX");
    int fd = mkstemp(conf_path);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "listen: [\"127.0.0.1:1\"]\nroot: /tmp\n%s", body);
    fclose(f);
    conf_t *c = conf_load(conf_path, err);
    unlink(conf_path);
    return c;
}

static conf_t *load_ok(const char *body)
{
    char err[CONF_ERR_LEN];
    conf_t *c = load(body, err);
    ck_assert_msg(c != NULL, "refused: %s", err);
    return c;
}

/* The pattern of the rule that serves path, or "none". */
static const char *which(const conf_t *c, const char *path)
{
    static rules_matcher_t m;
    rules_match_t out;
    if (m.md == NULL)
        ck_assert_int_eq(rules_matcher_init(&m), 0);
    const conf_rule_t *r = rules_match(&m, c->locations, path, strlen(path), &out);
    return r != NULL ? r->pattern : "none";
}

START_TEST(test_nginx_order)
{
    /* The set of nginx's documentation ("location" directive), A to E. */
    conf_t *c = load_ok("locations:\n"
                        "  \"= /\": {return: 200}\n"                 /* A */
                        "  \"/\": {return: 201}\n"                   /* B */
                        "  \"/documents/\": {return: 202}\n"         /* C */
                        "  \"^~ /images/\": {return: 203}\n"         /* D */
                        "  '~* \\.(gif|jpg|jpeg)$': {return: 204}\n"); /* E */
    ck_assert_str_eq(which(c, "/"), "= /");
    ck_assert_str_eq(which(c, "/index.html"), "/");
    ck_assert_str_eq(which(c, "/documents/document.html"), "/documents/");
    ck_assert_str_eq(which(c, "/images/1.gif"), "^~ /images/");
    ck_assert_str_eq(which(c, "/documents/1.jpg"), "~* \\.(gif|jpg|jpeg)$");
    ck_assert_str_eq(which(c, "/documents/1.JPG"), "~* \\.(gif|jpg|jpeg)$");
    conf_free(c);
}
END_TEST

START_TEST(test_longest_prefix_whatever_the_order)
{
    conf_t *c = load_ok("locations:\n"
                        "  \"/a/\": {return: 200}\n"
                        "  \"/a/b/c/\": {return: 200}\n"
                        "  \"/a/b/\": {return: 200}\n"
                        "  \"/ab\": {return: 200}\n");
    ck_assert_str_eq(which(c, "/a/b/c/d"), "/a/b/c/");
    ck_assert_str_eq(which(c, "/a/b/x"), "/a/b/");
    ck_assert_str_eq(which(c, "/a/x"), "/a/");
    ck_assert_str_eq(which(c, "/abc"), "/ab");
    ck_assert_str_eq(which(c, "/a"), "none"); /* "/a/" is longer than the path */
    ck_assert_str_eq(which(c, "/b"), "none");
    conf_free(c);
}
END_TEST

START_TEST(test_regex_first_in_file_order)
{
    conf_t *c = load_ok("locations:\n"
                        "  '~ \\.php$': {return: 200}\n"
                        "  '~ ^/x/': {return: 200}\n"
                        "  \"/x/\": {return: 200}\n"
                        "  \"^~ /x/static/\": {return: 200}\n");
    ck_assert_str_eq(which(c, "/x/a.php"), "~ \\.php$");       /* first of two regexes */
    ck_assert_str_eq(which(c, "/x/a.html"), "~ ^/x/");         /* a regex beats a prefix */
    ck_assert_str_eq(which(c, "/x/static/a.php"), "^~ /x/static/"); /* ^~ skips regexes */
    ck_assert_str_eq(which(c, "/y/a.PHP"), "none");            /* ~ is case-sensitive */
    conf_free(c);
}
END_TEST

/* The literal a regex promises at the start of every match: the matcher
 * skips the regex on a path without it, so a literal too long would hide
 * a match. Each row is checked against PCRE2 on subjects that do match. */
START_TEST(test_regex_literal_prefix)
{
    static const struct { const char *re, *lit, *subject; } rows[] = {
        { "^/blog/(\\d+)/([a-z-]+)$", "/blog/", "/blog/1/a-b" },
        { "^/a\\.b\\/c", "/a.b/c", "/a.b/c" },
        { "^/ab?c", "/a", "/ac" },
        { "^/ab*", "/a", "/a" },
        { "^/ab{0,2}", "/a", "/a" },
        { "^/ab+", "/ab", "/abbb" },
        { "^/a|/b", "", "/b" },            /* a top-level alternative */
        { "^(/a|/b)", "", "/b" },
        { "^/x(/a|/b)", "/x", "/x/b" },
        { "^/x[|]y", "/x", "/x|y" },       /* "|" in a class is a member */
        { "^/x[]|]y", "/x", "/x]y" },
        { "^/x\\Q|\\E", "/x", "/x|" },
        { "\\.php$", "", "/a.php" },       /* not anchored */
        { "^\\d", "", "1" },
        { "^/a\\d", "/a", "/a1" },
        { "^/a.b", "/a", "/axb" },
        { "^/a(?i)B", "/a", "/ab" },
        { "^", "", "/" },
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char lit[64];
        size_t n = rule_pattern_regex_prefix(rows[i].re, strlen(rows[i].re), lit);
        ck_assert_msg(n == strlen(rows[i].lit) && memcmp(lit, rows[i].lit, n) == 0,
                      "%s: literal \"%.*s\", want \"%s\"", rows[i].re, (int)n, lit, rows[i].lit);
        int code;
        PCRE2_SIZE off;
        pcre2_code *re = pcre2_compile((PCRE2_SPTR)rows[i].re, PCRE2_ZERO_TERMINATED, 0, &code,
                                       &off, NULL);
        ck_assert_ptr_nonnull(re);
        pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
        ck_assert_msg(pcre2_match(re, (PCRE2_SPTR)rows[i].subject, PCRE2_ZERO_TERMINATED, 0, 0,
                                  md, NULL) > 0, "%s does not match %s", rows[i].re, rows[i].subject);
        ck_assert_int_eq(strncmp(rows[i].subject, lit, n), 0);
        pcre2_match_data_free(md);
        pcre2_code_free(re);
    }
}
END_TEST

/* The same answers through the matcher: a literal, the prefix buckets
 * and "/" (a one-byte prefix, the fallback of every bucket). */
START_TEST(test_buckets_and_literals)
{
    conf_t *c = load_ok("locations:\n"
                        "  \"/\": {return: 200}\n"
                        "  \"/a\": {return: 200}\n"
                        "  \"/assets/\": {return: 200}\n"
                        "  \"/b/\": {return: 200}\n"
                        "  '~ ^/blog/(\\d+)$': {return: 200}\n"
                        "  '~ ^/ab?c': {return: 200}\n"
                        "  '~ ^/x|/y': {return: 200}\n");
    ck_assert_str_eq(which(c, "/assets/x"), "/assets/");
    ck_assert_str_eq(which(c, "/ax"), "/a");
    ck_assert_str_eq(which(c, "/b/x"), "/b/");
    ck_assert_str_eq(which(c, "/bx"), "/");
    ck_assert_str_eq(which(c, "/"), "/");
    ck_assert_str_eq(which(c, "/blog/12"), "~ ^/blog/(\\d+)$");
    ck_assert_str_eq(which(c, "/blog/x"), "/");
    ck_assert_str_eq(which(c, "/ac"), "~ ^/ab?c");
    ck_assert_str_eq(which(c, "/abc"), "~ ^/ab?c");
    ck_assert_str_eq(which(c, "/z/y"), "~ ^/x|/y");
    conf_free(c);
}
END_TEST

START_TEST(test_shorter_stop_prefix_does_not_skip)
{
    /* ^~ only counts when it is the longest prefix: here "/p/q/" is. */
    conf_t *c = load_ok("locations:\n"
                        "  \"^~ /p/\": {return: 200}\n"
                        "  \"/p/q/\": {return: 200}\n"
                        "  '~ \\.txt$': {return: 200}\n");
    ck_assert_str_eq(which(c, "/p/q/a.txt"), "~ \\.txt$");
    ck_assert_str_eq(which(c, "/p/a.txt"), "^~ /p/");
    ck_assert_str_eq(which(c, "/p/q/a.html"), "/p/q/");
    conf_free(c);
}
END_TEST

START_TEST(test_exact_many)
{
    char body[65536];
    size_t n = (size_t)snprintf(body, sizeof(body), "locations:\n");
    for (int i = 0; i < 500; i++)
        n += (size_t)snprintf(body + n, sizeof(body) - n, "  \"= /e/%d\": {return: 200}\n", i * 7);
    conf_t *c = load_ok(body);
    char path[32], want[40];
    for (int i = 0; i < 500; i++) {
        snprintf(path, sizeof(path), "/e/%d", i * 7);
        snprintf(want, sizeof(want), "= /e/%d", i * 7);
        ck_assert_str_eq(which(c, path), want);
        snprintf(path, sizeof(path), "/e/%d", i * 7 + 1);
        if ((i * 7 + 1) % 7 != 0)
            ck_assert_str_eq(which(c, path), "none");
    }
    conf_free(c);
}
END_TEST

START_TEST(test_runaway_regex_is_no_match)
{
    conf_t *c = load_ok("locations:\n"
                        "  '~ ^(a+)+$': {return: 200}\n"
                        "  \"/\": {return: 201}\n");
    char path[64] = "/";
    memset(path + 1, 'a', 40);
    strcpy(path + 41, "b");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert_str_eq(which(c, path), "/");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    ck_assert_msg(took < 1.0, "a runaway regex took %.3f s", took);
    conf_free(c);
}
END_TEST

START_TEST(test_captures_and_vars)
{
    conf_t *c = load_ok("locations:\n"
                        "  '~ ^/blog/(\\d+)/(?<slug>[^/]+)$': {redirect: \"/posts/$1-$slug?$args\"}\n");
    static rules_matcher_t m;
    ck_assert_int_eq(rules_matcher_init(&m), 0);
    rules_match_t out;
    const char *path = "/blog/42/hello";
    ck_assert_ptr_nonnull(rules_match(&m, c->locations, path, strlen(path), &out));
    rule_vars_t v = { .match = &out, .uri = str_make(path, strlen(path)),
                      .request_uri = STR_LIT("/blog/42/hello?a=1"), .args = STR_LIT("a=1"),
                      .host = STR_LIT("example.com"), .scheme = STR_LIT("https"),
                      .port = STR_LIT("8443") };
    char buf[256];
    ck_assert_int_gt(rule_vars_expand(out.rule->conf->redirect_to, &v, buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "/posts/42-hello?a=1");
    ck_assert_int_gt(rule_vars_expand("$scheme://$host:$port$uri|${1}x|$9|$nope|$", &v, buf,
                                      sizeof(buf)), 0);
    ck_assert_str_eq(buf, "https://example.com:8443/blog/42/hello|42x||$nope|$");
    ck_assert_int_eq(rule_vars_expand("$request_uri", &v, buf, 5), -1); /* does not fit */
    /* An absent query is STR_NULL (p == NULL): expands to nothing. */
    v.args = STR_NULL;
    ck_assert_int_eq(rule_vars_expand("a=$args.", &v, buf, sizeof(buf)), 3);
    ck_assert_str_eq(buf, "a=.");
    rules_matcher_free(&m);
    conf_free(c);
}
END_TEST

START_TEST(test_rule_keys_inherit_from_host)
{
    conf_t *c = load_ok("index: [home.html]\nautoindex: true\n"
                        "locations:\n"
                        "  \"/dl/\": {alias: /srv/files, autoindex: false}\n"
                        "  \"/x/\": {cache_control: \"no-cache\"}\n"
                        "  \"/y/\": {headers: {X-A: b, X-Powered-By: null}}\n");
    const conf_rules_t *rs = c->locations;
    ck_assert_uint_eq(rs->n, 3);
    const conf_t *dl = rs->items[0].conf;
    ck_assert_str_eq(dl->alias, "/srv/files/");
    ck_assert_str_eq(dl->root, "/srv/files");
    ck_assert_int_eq(dl->autoindex, 0);
    ck_assert_str_eq(dl->index[0], "home.html"); /* the host's */
    ck_assert_int_eq(rs->items[0].own_files, 1);
    ck_assert_str_eq(conf_map_get(&rs->items[1].conf->cache_control, "default", 7), "no-cache");
    ck_assert_int_eq(rs->items[2].own_files, 0);
    ck_assert_str_eq(conf_map_get(&rs->items[2].conf->rule_headers, "X-Powered-By", 12), "");
    /* The hosts' locations are their own: a host has none of the top's. */
    conf_free(c);
    c = load_ok("locations: {\"/a/\": {return: 200}}\n"
                "hosts: {b.test: {root: /tmp}}\n");
    ck_assert_ptr_nonnull(c->locations);
    ck_assert_ptr_null(c->hosts[0].conf->locations);
    conf_free(c);
}
END_TEST

/* Each refused with its line and a word of why. */
START_TEST(test_errors)
{
    static const struct {
        const char *body, *want;
    } bad[] = {
        { "locations:\n  \"/x/\": {bogus: 1}\n", ":4: location \"/x/\": bogus: unknown key" },
        { "locations:\n  '~ ^/(unclosed': {return: 200}\n", "offset" },
        { "locations:\n  \"/x/\": {redirect: {to: /y, code: 305}}\n", "305 is not a redirect code" },
        { "locations:\n  \"/x/\": {try_files: []}\n", "at least one entry" },
        { "locations:\n  \"/x/\": {alias: /a, root: /b}\n", "alias and root together" },
        { "locations:\n  \"/x/\": {try_files: [$uri, \"@nope\"]}\n", "@nope" },
        { "locations:\n  \"/a/\": {return: 200}\n  \"^~ /a/\": {return: 200}\n", "line 4" },
        { "locations:\n  \"assets/\": {return: 200}\n", ":4: locations" },
        { "locations:\n  \"~ x\": {alias: /a}\n", "alias is for prefix" },
        { "locations:\n  \"/x/\": {methods: [GET, FETCH]}\n", "FETCH" },
        { "locations:\n  \"/x/\": {return: 200, redirect: /y}\n", "return and redirect" },
        { "locations:\n  \"/x/\": {return: 99}\n", "200 to 599" },
        { "locations:\n  \"/x/\": {try_files: [\"=404\", $uri]}\n", "only the last" },
        { "locations: [a]\n", "expected a mapping" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[CONF_ERR_LEN];
        conf_t *c = load(bad[i].body, err);
        ck_assert_msg(c == NULL, "accepted: %s", bad[i].body);
        ck_assert_msg(strstr(err, bad[i].want) != NULL, "%s: got \"%s\", want \"%s\"",
                      bad[i].body, err, bad[i].want);
    }
}
END_TEST

static Suite *rules_suite(void)
{
    Suite *s = suite_create("rules");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_nginx_order);
    tcase_add_test(tc, test_longest_prefix_whatever_the_order);
    tcase_add_test(tc, test_regex_first_in_file_order);
    tcase_add_test(tc, test_shorter_stop_prefix_does_not_skip);
    tcase_add_test(tc, test_regex_literal_prefix);
    tcase_add_test(tc, test_buckets_and_literals);
    tcase_add_test(tc, test_exact_many);
    tcase_add_test(tc, test_runaway_regex_is_no_match);
    tcase_add_test(tc, test_captures_and_vars);
    tcase_add_test(tc, test_rule_keys_inherit_from_host);
    tcase_add_test(tc, test_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(rules_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
