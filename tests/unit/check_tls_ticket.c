/*
 * Unit tests for common/tls/tls_ticket: generated keys and their rotation, key
 * files (nginx's 80-byte format) and their errors, the shared page seen
 * from a forked reader, and the seqlock's bounded reader. Resumption with
 * real handshakes is in check_tls_ctx.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tls_ticket.h"
#include "tls_test_util.h"

static char dir[256];

static char *key_file(const char *name, size_t len, unsigned char fill)
{
    static char path[512];
    unsigned char buf[128];
    int fd;

    memset(buf, fill, sizeof(buf));
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
    close(fd);
    return path;
}

START_TEST(test_generate_and_rotate)
{
    tls_ticket_ring_t *r = tls_ticket_ring_new_shared();
    tls_ticket_key_t k0, k1, k2, old;
    char err[256];
    time_t t0 = 1000000;

    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(tls_ticket_read_key(r, 0, &k0), -1); /* empty */
    ck_assert_int_eq(tls_ticket_generate(r, t0, err, sizeof(err)), 0);
    ck_assert_uint_eq(r->nkeys, 1);
    ck_assert_int_eq(tls_ticket_next_rotation(r), t0 + TLS_TICKET_PERIOD);
    ck_assert_int_eq(tls_ticket_read_key(r, 0, &k0), 0);
    ck_assert_int_eq(tls_ticket_rotate(r, t0 + TLS_TICKET_PERIOD - 1), 0);
    ck_assert_uint_eq(r->nkeys, 1);

    ck_assert_int_eq(tls_ticket_rotate(r, t0 + TLS_TICKET_PERIOD), 1);
    ck_assert_uint_eq(r->nkeys, 2);
    ck_assert_int_eq(tls_ticket_read_key(r, 0, &k1), 0);
    ck_assert_int_eq(tls_ticket_read_key(r, 1, &old), 0);
    ck_assert_mem_eq(old.name, k0.name, TLS_TICKET_NAME_LEN); /* still decrypts */
    ck_assert_mem_ne(k1.name, k0.name, TLS_TICKET_NAME_LEN);
    ck_assert_mem_ne(k1.aes, k0.aes, TLS_TICKET_AES_LEN);
    ck_assert_int_eq(tls_ticket_next_rotation(r), t0 + 2 * TLS_TICKET_PERIOD);

    ck_assert_int_eq(tls_ticket_rotate(r, t0 + 2 * TLS_TICKET_PERIOD), 1);
    ck_assert_uint_eq(r->nkeys, 2); /* k0 has had its extra period */
    ck_assert_int_eq(tls_ticket_read_key(r, 0, &k2), 0);
    ck_assert_int_eq(tls_ticket_read_key(r, 1, &old), 0);
    ck_assert_mem_eq(old.name, k1.name, TLS_TICKET_NAME_LEN);
    ck_assert_int_eq(tls_ticket_read_key(r, 2, &old), -1);
    ck_assert_uint_eq(r->seq % 2, 0);
    ck_assert_uint_eq(r->generation, 3);
    tls_ticket_ring_free_shared(r);
}
END_TEST

/* A binary upgrade: the new master's ring takes the old one's keys, dates
 * and all, so the rotation goes on where it was. */
START_TEST(test_copy_keys)
{
    tls_ticket_ring_t *a = tls_ticket_ring_new_shared(), *b = tls_ticket_ring_new_shared();
    tls_ticket_ring_t snap;
    tls_ticket_key_t ka, kb;
    char err[256];
    time_t t0 = 1000000;

    ck_assert_int_eq(tls_ticket_generate(a, t0, err, sizeof(err)), 0);
    ck_assert_int_eq(tls_ticket_rotate(a, t0 + TLS_TICKET_PERIOD), 1);
    ck_assert_int_eq(tls_ticket_ring_snapshot(a, &snap), 1);
    uint32_t gen = b->generation;
    tls_ticket_ring_copy_keys(b, &snap);
    ck_assert_uint_eq(b->nkeys, 2);
    ck_assert_uint_eq(b->from_files, 0);
    ck_assert_uint_gt(b->generation, gen);
    ck_assert_uint_eq(b->seq % 2, 0);
    for (uint32_t i = 0; i < 2; i++) {
        ck_assert_int_eq(tls_ticket_read_key(a, i, &ka), 0);
        ck_assert_int_eq(tls_ticket_read_key(b, i, &kb), 0);
        ck_assert_mem_eq(&ka, &kb, sizeof(ka));
    }
    ck_assert_int_eq(tls_ticket_next_rotation(b), tls_ticket_next_rotation(a));

    /* Fewer keys over more: the keys past the new count are wiped, not
     * left in the shared page. */
    ck_assert_int_eq(tls_ticket_generate(a, t0, err, sizeof(err)), 0);
    ck_assert_int_eq(tls_ticket_ring_snapshot(a, &snap), 1);
    tls_ticket_ring_copy_keys(b, &snap);
    ck_assert_uint_eq(b->nkeys, 1);
    static const tls_ticket_key_t zero;
    ck_assert_mem_eq(&b->keys[1], &zero, sizeof(zero));
    tls_ticket_ring_free_shared(a);
    tls_ticket_ring_free_shared(b);
}
END_TEST

START_TEST(test_key_files)
{
    tls_ticket_ring_t *r = tls_ticket_ring_new_shared();
    char *paths[2];
    tls_ticket_key_t k;
    char err[256];
    unsigned char want[TLS_TICKET_FILE_LEN];
    int fd;

    paths[0] = strdup(key_file("a.key", 80, 0));
    paths[1] = strdup(key_file("b.key", 80, 0xbb));
    /* a.key: distinct bytes, to check the 16/32/32 split */
    for (int i = 0; i < TLS_TICKET_FILE_LEN; i++)
        want[i] = (unsigned char)i;
    fd = open(paths[0], O_WRONLY | O_TRUNC);
    ck_assert_int_eq(write(fd, want, sizeof(want)), (ssize_t)sizeof(want));
    close(fd);
    ck_assert_int_eq(tls_ticket_load_files(r, paths, 2, 5, err, sizeof(err)), 0);
    ck_assert_uint_eq(r->nkeys, 2);
    ck_assert_uint_eq(r->from_files, 1);
    ck_assert_int_eq(tls_ticket_read_key(r, 0, &k), 0); /* the first encrypts */
    ck_assert_mem_eq(k.name, want, 16);
    ck_assert_mem_eq(k.hmac, want + 16, 32);
    ck_assert_mem_eq(k.aes, want + 48, 32);
    ck_assert_int_eq(tls_ticket_read_key(r, 1, &k), 0);
    ck_assert_uint_eq(k.name[0], 0xbb);
    /* files are rotated by whoever shares them, never here */
    ck_assert_int_eq(tls_ticket_rotate(r, 5 + 10 * TLS_TICKET_PERIOD), 0);
    ck_assert_int_eq(tls_ticket_next_rotation(r), 0);
    free(paths[0]);
    free(paths[1]);
    tls_ticket_ring_free_shared(r);
}
END_TEST

/* A bad file is refused naming it, and the ring keeps its keys. */
static void assert_load_refused(char **paths, size_t n, const char *want1, const char *want2)
{
    tls_ticket_ring_t *r = tls_ticket_ring_new_shared();
    tls_ticket_key_t before, after;
    char err[512] = "";
    uint32_t gen;

    ck_assert_int_eq(tls_ticket_generate(r, 1, err, sizeof(err)), 0);
    ck_assert_int_eq(tls_ticket_read_key(r, 0, &before), 0);
    gen = r->generation;
    ck_assert_int_eq(tls_ticket_load_files(r, paths, n, 2, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, want1) != NULL, "\"%s\" lacks \"%s\"", err, want1);
    ck_assert_msg(strstr(err, want2) != NULL, "\"%s\" lacks \"%s\"", err, want2);
    ck_assert_uint_eq(r->generation, gen);
    ck_assert_int_eq(tls_ticket_read_key(r, 0, &after), 0);
    ck_assert_mem_eq(before.name, after.name, TLS_TICKET_NAME_LEN);
    tls_ticket_ring_free_shared(r);
}

START_TEST(test_key_file_errors)
{
    char *good = strdup(key_file("good.key", 80, 1));
    char *p[TLS_TICKET_MAX_KEYS + 1];

    p[0] = good;
    p[1] = strdup(key_file("short.key", 79, 2));
    assert_load_refused(p, 2, "short.key", "79 bytes, expected 80");
    free(p[1]);
    p[1] = strdup(key_file("long.key", 81, 2));
    assert_load_refused(p, 2, "long.key", "more than 80 bytes");
    free(p[1]);
    p[1] = strdup(key_file("legacy48.key", 48, 2)); /* nginx's AES-128 size */
    assert_load_refused(p, 2, "legacy48.key", "48 bytes");
    free(p[1]);
    p[1] = strdup(key_file("empty.key", 0, 2));
    assert_load_refused(p, 2, "empty.key", "0 bytes");
    free(p[1]);
    p[1] = strdup(key_file("same.key", 80, 1));
    assert_load_refused(p, 2, "same.key", "same key name");
    free(p[1]);
    p[1] = strdup("/nonexistent/drover.key");
    assert_load_refused(p, 2, "/nonexistent/drover.key", "No such file");
    free(p[1]);
    for (int i = 0; i <= TLS_TICKET_MAX_KEYS; i++)
        p[i] = good;
    assert_load_refused(p, TLS_TICKET_MAX_KEYS + 1, "ticket_key_file", "expected 1 to");
    free(good);
}
END_TEST

/* The master's rotation, seen by a forked reader through the shared page. */
START_TEST(test_shared_with_fork)
{
    tls_ticket_ring_t *r = tls_ticket_ring_new_shared();
    tls_ticket_key_t k;
    char err[256];
    int go[2], back[2];
    unsigned char name[TLS_TICKET_NAME_LEN];
    pid_t pid;
    int status;

    ck_assert_int_eq(tls_ticket_generate(r, 100, err, sizeof(err)), 0);
    ck_assert_int_eq(pipe(go), 0);
    ck_assert_int_eq(pipe(back), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        char c;
        tls_ticket_key_t ck;
        if (read(go[0], &c, 1) != 1 || tls_ticket_read_key(r, 0, &ck) < 0)
            _exit(1);
        _exit(write(back[1], ck.name, sizeof(ck.name)) == (ssize_t)sizeof(ck.name) ? 0 : 1);
    }
    close(back[1]);
    ck_assert_int_eq(tls_ticket_rotate(r, 100 + TLS_TICKET_PERIOD), 1); /* after fork */
    ck_assert_int_eq(write(go[1], "x", 1), 1);
    ck_assert_int_eq(read(back[0], name, sizeof(name)), (ssize_t)sizeof(name));
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_int_eq(tls_ticket_read_key(r, 0, &k), 0);
    ck_assert_mem_eq(name, k.name, TLS_TICKET_NAME_LEN);
    close(go[0]);
    close(go[1]);
    close(back[0]);
    tls_ticket_ring_free_shared(r);
}
END_TEST

/* A writer that died mid-write (odd seq) makes readers give up, bounded. */
START_TEST(test_reader_gives_up_on_torn_write)
{
    tls_ticket_ring_t *r = tls_ticket_ring_new_shared();
    tls_ticket_key_t k;
    char err[256];

    ck_assert_int_eq(tls_ticket_generate(r, 1, err, sizeof(err)), 0);
    ck_assert_int_eq(tls_ticket_read_key(r, 0, &k), 0);
    r->seq++;
    ck_assert_int_eq(tls_ticket_read_key(r, 0, &k), -1);
    r->seq++;
    ck_assert_int_eq(tls_ticket_read_key(r, 0, &k), 0);
    tls_ticket_ring_free_shared(r);
}
END_TEST

static Suite *tls_ticket_suite(void)
{
    Suite *s = suite_create("tls_ticket");
    TCase *tc = tcase_create("ring");

    tcase_add_test(tc, test_generate_and_rotate);
    tcase_add_test(tc, test_copy_keys);
    tcase_add_test(tc, test_key_files);
    tcase_add_test(tc, test_key_file_errors);
    tcase_add_test(tc, test_shared_with_fork);
    tcase_add_test(tc, test_reader_gives_up_on_torn_write);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr;
    int failed;
    const char *tmp = getenv("TMPDIR");

    snprintf(dir, sizeof(dir), "%s/drover-tls-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return EXIT_FAILURE;
    }
    sr = srunner_create(tls_ticket_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    tls_test_remove(dir);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
