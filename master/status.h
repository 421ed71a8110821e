/*
 * status: the master's view of its workers as text (drover -s status) or
 * JSON (the status page, shared with the workers through status_page.h).
 *
 * A pure formatter: it reads a master_t and calls nothing else in master/.
 */
#ifndef DROVER_MASTER_STATUS_H
#define DROVER_MASTER_STATUS_H

#include <stddef.h>

#include "internal.h"

/* Both return the length written into buf, always NUL-terminated when
 * size > 0. Given a few times STATUS_BUF_RESERVE (every caller gives about
 * STATUS_PAGE_SIZE), the result is whole: worker rows and certificates
 * that do not fit are left out, with their totals, and the totals, the TLS
 * counters and the JSON's closing brackets are always there. */
size_t status_render_text(const master_t *m, char *buf, size_t size);
size_t status_render_json(const master_t *m, char *buf, size_t size);

/* Renders the JSON into the shared page and clears m->status_dirty. */
void status_publish(master_t *m);

#endif
