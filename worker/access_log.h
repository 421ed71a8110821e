/*
 * access_log: the combined-format access log of a worker.
 *
 * Lines are appended to a 64 KiB buffer and written when it fills, at least
 * once a second, and at exit, with O_APPEND writes of whole lines so the
 * workers' lines never interleave.
 */
#ifndef DROVER_ACCESS_LOG_H
#define DROVER_ACCESS_LOG_H

#include "conn.h"

/* path NULL: logging off. Returns 0 or -1 with errno. */
int access_log_open(const char *path);
int access_log_reopen(void);
void access_log_write(conn_t *c, time_t now);
void access_log_flush(void);
void access_log_close(void);

#endif
