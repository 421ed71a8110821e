/*
 * Unit tests for worker/map_guard: a SIGBUS from a mapped file cut short
 * jumps back to the armed caller, again and again; one outside the armed
 * range still kills the process.
 */
#include "config.h"

#include <check.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "map_guard.h"

static int fd = -1;
static const char *map;
static size_t len;

/* Two pages of a temporary file, mapped, then the file cut to nothing:
 * every byte of the mapping is past the end now. */
static void setup(void)
{
    char path[] = "/tmp/drover-map-guard-XXXXXX";
    fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    unlink(path);
    len = 2 * (size_t)sysconf(_SC_PAGESIZE);
    ck_assert_int_eq(ftruncate(fd, (off_t)len), 0);
    void *m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
    ck_assert(m != MAP_FAILED);
    map = m;
    ck_assert_int_eq(ftruncate(fd, 0), 0);
    ck_assert_int_eq(map_guard_install(), 0);
}

static void teardown(void)
{
    munmap((void *)map, len);
    close(fd);
}

/* 1 when reading map[at] under the guard jumped back. */
static int read_jumps(size_t at)
{
    volatile int jumped = 0;
    volatile char sink = 0;
    map_guard_arm(map, len);
    if (sigsetjmp(map_guard.jmp, 0) != 0)
        jumped = 1;
    else
        sink = map[at];
    map_guard_disarm();
    (void)sink;
    return jumped;
}

START_TEST(test_sigbus_in_range_jumps_back)
{
    ck_assert_int_eq(read_jumps(0), 1);
    /* SIGBUS is not left blocked, nor the handler undone: again */
    ck_assert_int_eq(read_jumps(len - 1), 1);
    ck_assert_int_eq(map_guard.armed, 0);
}
END_TEST

START_TEST(test_sigbus_unarmed_kills)
{
    volatile char sink = map[0]; /* not armed: the default action */
    (void)sink;
}
END_TEST

static Suite *map_guard_suite(void)
{
    Suite *s = suite_create("map_guard");
    TCase *tc = tcase_create("sigbus");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_sigbus_in_range_jumps_back);
    tcase_add_test_raise_signal(tc, test_sigbus_unarmed_kills, SIGBUS);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(map_guard_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
