/*
 * Unit tests for common/log: repeated lines are folded into "last message
 * repeated N times" (written when another line comes, or at log_tick), so
 * a fault that fails every request does not flood the error log.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static char path[64];

static void setup(void)
{
    strcpy(path, "/tmp/drover-log-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(log_open(path, LOG_LEVEL_INFO), 0);
}

static void teardown(void)
{
    log_close();
    unlink(path);
}

/* The log's lines without their time and pid prefix, joined by '|'. */
static void messages(char *out, size_t cap)
{
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char line[4096];
    size_t n = 0;
    out[0] = '\0';
    while (fgets(line, sizeof(line), f) != NULL) {
        char *m = strstr(line, "]");
        m = m ? strstr(m, ": ") : NULL;
        ck_assert_ptr_nonnull(m);
        m += 2;
        m[strcspn(m, "\n")] = '\0';
        n += (size_t)snprintf(out + n, cap - n, "%s%s", n ? "|" : "", m);
    }
    fclose(f);
}

START_TEST(test_repeats_are_folded)
{
    char got[4096];
    for (int i = 0; i < 1000; i++)
        log_error("open(\"%s\"): %s", "/f", "Too many open files");
    log_warn("something else");
    messages(got, sizeof(got));
    ck_assert_str_eq(got, "open(\"/f\"): Too many open files|last message repeated 999 times|"
                          "something else");
}
END_TEST

START_TEST(test_tick_writes_the_count)
{
    char got[4096];
    log_error("x");
    log_error("x");
    log_tick();
    log_error("x");
    log_tick();
    log_tick(); /* nothing counted: nothing written */
    messages(got, sizeof(got));
    ck_assert_str_eq(got, "x|last message repeated 1 time|last message repeated 1 time");
}
END_TEST

START_TEST(test_level_or_text_differs)
{
    char got[4096];
    log_error("x");
    log_warn("x");
    log_warn("y");
    messages(got, sizeof(got));
    ck_assert_str_eq(got, "x|x|y");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_repeats_are_folded);
    tcase_add_test(tc, test_tick_writes_the_count);
    tcase_add_test(tc, test_level_or_text_differs);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
