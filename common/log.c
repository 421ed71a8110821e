/*
 * log: see log.h. One write(2) per line keeps lines from different processes
 * whole in an O_APPEND file.
 */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct {
    int fd;
    log_level_t level;
    char *path; /* NULL for stderr */
    int also_stderr;
    char last_error[512]; /* the message of the latest error line */
} log_state = { STDERR_FILENO, LOG_LEVEL_INFO, NULL, 0, "" };

static const char *const log_level_names[] = { "debug", "info", "warn", "error" };

static int log__open_path(const char *path)
{
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

int log_open(const char *path, log_level_t level)
{
    log_state.level = level;
    if (path == NULL || strcmp(path, "stderr") == 0) {
        log_close();
        return 0;
    }
    int fd = log__open_path(path);
    if (fd < 0)
        return -1;
    char *copy = strdup(path);
    if (copy == NULL) {
        close(fd);
        return -1;
    }
    log_close();
    log_state.fd = fd;
    log_state.path = copy;
    return 0;
}

int log_reopen(void)
{
    if (log_state.path == NULL)
        return 0;
    int fd = log__open_path(log_state.path);
    if (fd < 0)
        return -1;
    /* dup2 keeps the descriptor number, so a worker forked earlier that
     * inherited it is not left writing to a closed descriptor. */
    if (dup2(fd, log_state.fd) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    close(fd);
    return 0;
}

void log_set_level(log_level_t level)
{
    log_state.level = level;
}

void log_also_stderr(int on)
{
    log_state.also_stderr = on;
}

const char *log_last_error(void)
{
    return log_state.last_error;
}

int log_fd(void)
{
    return log_state.fd;
}

void log_close(void)
{
    if (log_state.path != NULL) {
        close(log_state.fd);
        free(log_state.path);
        log_state.path = NULL;
    }
    log_state.fd = STDERR_FILENO;
}

void log_write(log_level_t level, const char *fmt, ...)
{
    if (level < log_state.level)
        return;

    int saved_errno = errno;
    char line[2048];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    size_t n = strftime(line, sizeof(line), "%Y/%m/%d %H:%M:%S", &tm);
    int m = snprintf(line + n, sizeof(line) - n, " [%s] %ld: ",
                     log_level_names[level], (long)getpid());
    if (m > 0)
        n += (size_t)m;

    va_list ap;
    va_start(ap, fmt);
    m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
    va_end(ap);
    if (level == LOG_LEVEL_ERROR)
        snprintf(log_state.last_error, sizeof(log_state.last_error), "%s", line + n);
    if (m > 0)
        n += (size_t)m < sizeof(line) - n - 1 ? (size_t)m : sizeof(line) - n - 2;
    line[n++] = '\n';

    ssize_t w;
    do {
        w = write(log_state.fd, line, n);
    } while (w < 0 && errno == EINTR);
    if (log_state.also_stderr && log_state.fd != STDERR_FILENO && level >= LOG_LEVEL_WARN) {
        w = write(STDERR_FILENO, line, n);
        (void)w;
    }
    errno = saved_errno;
}
