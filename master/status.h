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

/* Both return the length written into buf (truncated at size, always
 * NUL-terminated when size > 0). */
size_t status_render_text(const master_t *m, char *buf, size_t size);
size_t status_render_json(const master_t *m, char *buf, size_t size);

/* Renders the JSON into the shared page and clears m->status_dirty. */
void status_publish(master_t *m);

#endif
