/*
 * log: the error log, shared by master and workers.
 *
 * Lines read "2026/11/22 07:00:00 [info] 1234: message": local time, level,
 * pid of the writer. The log is either stderr or a file opened O_APPEND, so
 * that master and workers may write to the same file without interleaving
 * inside a line (each line is one write(2)). log_reopen() is for logrotate:
 * it opens the path again and swaps the descriptor. Repeated lines are
 * folded into "last message repeated N times" (see log_tick).
 */
#ifndef DROVER_LOG_H
#define DROVER_LOG_H

#include <stdarg.h>

typedef enum {
    LOG_LEVEL_DEBUG = 0,
    LOG_LEVEL_INFO,
    LOG_LEVEL_WARN,
    LOG_LEVEL_ERROR,
} log_level_t;

/* Returns 0 or -1 with errno set. path NULL or "stderr" means stderr. */
int log_open(const char *path, log_level_t level);
int log_reopen(void);
void log_set_level(log_level_t level);
int log_fd(void);
void log_close(void);

/* While on, warnings and errors also go to stderr when the log is a file:
 * the master's start-up errors reach the terminal that started it. */
void log_also_stderr(int on);

/* The message of the latest error logged by this process ("" if none): a
 * master that fails to start reports it to the one that started it. The
 * buffer is overwritten by the next error. */
const char *log_last_error(void);

void log_write(log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A line equal to the previous one is counted, not written; this writes
 * "last message repeated N times" for what was counted. Call it about once
 * a second (the worker's tick does). */
void log_tick(void);

#define log_debug(...) log_write(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_info(...) log_write(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_warn(...) log_write(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_error(...) log_write(LOG_LEVEL_ERROR, __VA_ARGS__)

#endif
