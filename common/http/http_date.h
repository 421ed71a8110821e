/*
 * http_date: IMF-fixdate formatting and parsing (RFC 9110 section 5.6.7).
 *
 * Formatting a Date header per request costs a gmtime_r and a snprintf; the
 * cache keeps the formatted string of the current second, so a worker pays
 * that once a second at most.
 */
#ifndef DROVER_HTTP_DATE_H
#define DROVER_HTTP_DATE_H

#include <stddef.h>
#include <time.h>

#define HTTP_DATE_LEN 29 /* "Sun, 06 Nov 1994 08:49:37 GMT" */

/* Writes exactly HTTP_DATE_LEN bytes plus a NUL into out (size >= 30). */
void http_date_format(time_t t, char *out);

/* Parses IMF-fixdate, and the obsolete RFC 850 and asctime forms that
 * RFC 9110 says a recipient must accept. Returns 0 and sets *t, or -1. */
int http_date_parse(const char *p, size_t len, time_t *t);

/* Returns the formatted date of `now`, cached for the second. */
const char *http_date_now(time_t now);

/* Common log format time: "22/Nov/2026:07:00:00 +0000", 26 bytes + NUL. */
#define HTTP_DATE_CLF_LEN 26
void http_date_clf(time_t t, char *out);

#endif
