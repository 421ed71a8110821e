/*
 * status: the status page, served by workers from the master's shared
 * status page (common/status_page.h), to the addresses in status.allow.
 */
#ifndef DROVER_STATUS_H
#define DROVER_STATUS_H

#include "conn.h"

void status_respond(conn_t *c, int head_only);

#endif
