/*
 * check_proxy_balance: smooth weighted round robin, backups, passive health,
 * and the active checks' verdict read from a server's shared row.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "proxy_balance.h"

static conf_upstream_t up;
static proxy_peer_t peers[CONF_UPSTREAM_SERVERS_MAX];

static void setup(int n, const int *weights, const int *backup)
{
    memset(&up, 0, sizeof(up));
    memset(peers, 0, sizeof(peers));
    up.name = "t";
    up.nservers = (size_t)n;
    up.max_fails = 1;
    up.fail_timeout = 10;
    for (int i = 0; i < n; i++) {
        up.servers[i].weight = weights[i];
        up.servers[i].backup = backup != NULL ? backup[i] : 0;
    }
}

START_TEST(test_smooth_order)
{
    /* nginx's example: weights 5, 1, 1 give a a b a c a a. */
    int w[] = { 5, 1, 1 };
    setup(3, w, NULL);
    int want[] = { 0, 0, 1, 0, 2, 0, 0 };
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 7; i++)
            ck_assert_int_eq(proxy_balance_pick(peers, &up, 0, 0), want[i]);
}
END_TEST

START_TEST(test_shares)
{
    int w[] = { 3, 1, 2 };
    setup(3, w, NULL);
    int count[3] = { 0 };
    for (int i = 0; i < 600; i++)
        count[proxy_balance_pick(peers, &up, 0, 0)]++;
    ck_assert_int_eq(count[0], 300);
    ck_assert_int_eq(count[1], 100);
    ck_assert_int_eq(count[2], 200);
}
END_TEST

START_TEST(test_tried_skipped_then_backup)
{
    int w[] = { 1, 1, 1 };
    int b[] = { 0, 0, 1 };
    setup(3, w, b);
    for (int i = 0; i < 10; i++)
        ck_assert_int_ne(proxy_balance_pick(peers, &up, 0, 0), 2);
    ck_assert_int_eq(proxy_balance_pick(peers, &up, 1u, 0), 1);
    ck_assert_int_eq(proxy_balance_pick(peers, &up, 2u, 0), 0);
    ck_assert_int_eq(proxy_balance_pick(peers, &up, 3u, 0), 2);
    ck_assert_int_eq(proxy_balance_pick(peers, &up, 7u, 0), -1);
}
END_TEST

START_TEST(test_passive_health)
{
    int w[] = { 1, 1 };
    setup(2, w, NULL);
    up.max_fails = 2;
    ck_assert_int_eq(proxy_balance_failed(peers, &up, 0, 100.0), 0);
    ck_assert_int_eq(proxy_balance_failed(peers, &up, 0, 101.0), 1);
    /* Out for fail_timeout: only server 1, then 0 again. */
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(proxy_balance_pick(peers, &up, 0, 105.0), 1);
    int seen0 = 0;
    for (int i = 0; i < 4; i++)
        seen0 += proxy_balance_pick(peers, &up, 0, 111.5) == 0;
    ck_assert_int_eq(seen0, 2);
    /* Failures further apart than fail_timeout do not add up. */
    ck_assert_int_eq(proxy_balance_failed(peers, &up, 1, 200.0), 0);
    ck_assert_int_eq(proxy_balance_failed(peers, &up, 1, 215.0), 0);
    /* A success forgets them. */
    proxy_balance_ok(peers, 1);
    ck_assert_int_eq(proxy_balance_failed(peers, &up, 1, 216.0), 0);
    /* Both down: nothing to pick (502 at once). */
    ck_assert_int_eq(proxy_balance_failed(peers, &up, 1, 216.5), 1);
    ck_assert_int_eq(proxy_balance_failed(peers, &up, 0, 216.5), 0);
    ck_assert_int_eq(proxy_balance_failed(peers, &up, 0, 216.6), 1);
    ck_assert_int_eq(proxy_balance_pick(peers, &up, 0, 217.0), -1);
}
END_TEST

START_TEST(test_single_server_never_down)
{
    int w[] = { 1 };
    setup(1, w, NULL);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(proxy_balance_failed(peers, &up, 0, 1.0), 0);
    ck_assert_int_eq(proxy_balance_pick(peers, &up, 0, 2.0), 0);
}
END_TEST

START_TEST(test_active_down_skipped)
{
    /* The master's verdict (upstream_table.h): a primary down goes to the
     * other, both down to the backup, everything down is -1 (502 at once),
     * even for a group of one, which passive health never takes out. */
    static upstream_row_t rows[3];
    int w[] = { 1, 1, 1 };
    int b[] = { 0, 0, 1 };
    setup(3, w, b);
    memset(rows, 0, sizeof(rows));
    for (int i = 0; i < 3; i++)
        peers[i].row = &rows[i];
    rows[0].down = 1;
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(proxy_balance_pick(peers, &up, 0, 0), 1);
    rows[1].down = 1;
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(proxy_balance_pick(peers, &up, 0, 0), 2);
    rows[2].down = 1;
    ck_assert_int_eq(proxy_balance_pick(peers, &up, 0, 0), -1);
    rows[0].down = 0;
    ck_assert_int_eq(proxy_balance_pick(peers, &up, 0, 0), 0);

    setup(1, w, NULL);
    memset(rows, 0, sizeof(rows));
    peers[0].row = &rows[0];
    rows[0].down = 1;
    ck_assert_int_eq(proxy_balance_pick(peers, &up, 0, 0), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("proxy_balance");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_smooth_order);
    tcase_add_test(tc, test_shares);
    tcase_add_test(tc, test_tried_skipped_then_backup);
    tcase_add_test(tc, test_passive_health);
    tcase_add_test(tc, test_single_server_never_down);
    tcase_add_test(tc, test_active_down_skipped);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
