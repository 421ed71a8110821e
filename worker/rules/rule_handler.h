/*
 * rule_handler: runs the site rules of a host for a request (README
 * "Locations"): the redirect map first, then the matcher (rules.c) picks a
 * location, and its keys decide: methods (405 with Allow), return,
 * redirect, try_files, or the files under its root or alias.
 *
 * It answers the request itself (RULE_HANDLER_DONE), or leaves the files to
 * the caller (RULE_HANDLER_FILES): f names the path to serve and the
 * current cache (w->fc) is the location's, so handler.c serves a file of a
 * location exactly as it serves one of a host. The rule's headers, log and
 * name go into r for the caller and the protocols (response.h).
 */
#ifndef DROVER_RULE_HANDLER_H
#define DROVER_RULE_HANDLER_H

#include <stddef.h>

#include "handler.h"
#include "host.h"
#include "response.h"

#define RULE_HANDLER_PATH_MAX 4096

typedef struct {
    char path[RULE_HANDLER_PATH_MAX + 8]; /* under w->fc's root */
    size_t len;
    char uri[RULE_HANDLER_PATH_MAX + 8];  /* as the client names it */
    size_t uri_len;
} rule_files_t;

#define RULE_HANDLER_DONE 1
#define RULE_HANDLER_FILES 0

/* Sets w->fc and w->rule_conf for the files; the caller restores them.
 * used: the location that answered (NULL: none); mapped: the redirect map
 * did. The caller marks the finished response with them. */
int rule_handler_route(const handler_req_t *h, response_t *r, host_t *host, rule_files_t *f,
                       const host_rule_t **used, int *mapped);

/* Writes into r (once it is built: response_init clears them) the rule's
 * name, log and headers for the caller and the protocols. */
void rule_handler_mark(response_t *r, const host_rule_t *hr, int mapped);

#endif
