/*
 * status_buf: the bounded buffer the status formatters (status.c,
 * tls_status.c) write into, made so that what they write is always whole.
 *
 * The status goes out through fixed buffers (STATUS_PAGE_SIZE: the page
 * of shared memory the workers serve as JSON, and the control socket's
 * answer to drover -s status), and its lists have no useful bound: up to
 * MASTER_MAX_WORKERS worker rows, a certificate per virtual host. So a
 * list is written an item at a time (a worker's row, a certificate), each
 * item whole or not at all, and no item goes into the last
 * STATUS_BUF_RESERVE bytes: those are kept for what closes the output
 * (totals, the TLS summary, the JSON's closing brackets), which is short
 * and bounded. A list cut short says so (a total beside it).
 *
 * Invariant: len < size and p[len] == '\0' whenever size > 0. Outside an
 * item a write that does not fit is cut (still NUL-terminated); a buffer
 * smaller than STATUS_BUF_RESERVE holds no item at all.
 */
#ifndef DROVER_STATUS_BUF_H
#define DROVER_STATUS_BUF_H

#include <stddef.h>

/* What closes the output needs about 1 KiB at most (counters at their
 * largest); check_tls_status holds it to less than this. */
#define STATUS_BUF_RESERVE 4096

typedef struct {
    char *p;      /* not owned */
    size_t len, size;
    size_t end;   /* writes stop before this: size, or size - STATUS_BUF_RESERVE in an item */
    int full;     /* a write in the current item did not fit */
} status_buf_t;

void status_buf_init(status_buf_t *b, char *buf, size_t size);
void status_buf_printf(status_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* s as a JSON string: quotes, backslashes and control bytes escaped. */
void status_buf_json_str(status_buf_t *b, const char *s);

/* An item: begin returns a mark; end keeps what was written since (1), or
 * removes all of it when it did not fit (0): the list stops there. */
size_t status_buf_item_begin(status_buf_t *b);
int status_buf_item_end(status_buf_t *b, size_t mark);

#endif
