/*
 * status: the status page, served by workers from the master's shared
 * status page (common/status_page.h), to the addresses in status.allow.
 */
#ifndef DROVER_STATUS_H
#define DROVER_STATUS_H

#include "handler.h"
#include "response.h"

void status_respond(const handler_req_t *h, response_t *r);

#endif
