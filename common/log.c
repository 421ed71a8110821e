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

/* Repeats: a line equal to the one before (same level and message) is
 * counted instead of written, and "last message repeated N times" follows
 * when another line comes or at log_tick(), so a fault that fails every
 * request (EMFILE under load) costs a line a second, not thousands. */
#define LOG_LINE_MAX 2048

static struct {
    int fd;
    log_level_t level;
    char *path; /* NULL for stderr */
    int also_stderr;
    char last_error[512]; /* the message of the latest error line */
    log_level_t last_level;
    size_t last_len;    /* of last: 0 when nothing to compare with */
    unsigned long repeats;
    char last[LOG_LINE_MAX];
} log_state = { STDERR_FILENO, LOG_LEVEL_INFO, NULL, 0, "", LOG_LEVEL_DEBUG, 0, 0, { 0 } };

static const char *const log_level_names[] = { "debug", "info", "warn", "error" };

static void log__flush_repeats(void);

static int log__open_path(const char *path)
{
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

int log_open(const char *path, log_level_t level)
{
    /* A new destination starts afresh: what was counted goes to the old. */
    log__flush_repeats();
    log_state.last_len = 0;
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

/* Writes one line: the time, level and pid, then msg. */
static void log__emit(log_level_t level, const char *msg, size_t len)
{
    char line[LOG_LINE_MAX + 64];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    size_t n = strftime(line, sizeof(line), "%Y/%m/%d %H:%M:%S", &tm);
    int m = snprintf(line + n, sizeof(line) - n, " [%s] %ld: ", log_level_names[level], (long)getpid());
    if (m > 0)
        n += (size_t)m;
    if (len > sizeof(line) - n - 1)
        len = sizeof(line) - n - 1;
    memcpy(line + n, msg, len);
    n += len;
    line[n++] = '\n';

    ssize_t w;
    do {
        w = write(log_state.fd, line, n);
    } while (w < 0 && errno == EINTR);
    if (log_state.also_stderr && log_state.fd != STDERR_FILENO && level >= LOG_LEVEL_WARN) {
        w = write(STDERR_FILENO, line, n);
        (void)w;
    }
}

static void log__flush_repeats(void)
{
    if (log_state.repeats == 0)
        return;
    char msg[96];
    int m = snprintf(msg, sizeof(msg), "last message repeated %lu time%s", log_state.repeats,
                     log_state.repeats == 1 ? "" : "s");
    log_state.repeats = 0;
    log__emit(log_state.last_level, msg, (size_t)m);
}

void log_tick(void)
{
    int saved_errno = errno;
    log__flush_repeats();
    errno = saved_errno;
}

void log_write(log_level_t level, const char *fmt, ...)
{
    if (level < log_state.level)
        return;

    int saved_errno = errno;
    char msg[LOG_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    size_t len = m < 0 ? 0 : (size_t)m < sizeof(msg) ? (size_t)m : sizeof(msg) - 1;
    if (level == LOG_LEVEL_ERROR) {
        size_t k = len < sizeof(log_state.last_error) - 1 ? len : sizeof(log_state.last_error) - 1;
        memcpy(log_state.last_error, msg, k);
        log_state.last_error[k] = '\0';
    }

    if (level == log_state.last_level && len == log_state.last_len && len > 0 &&
        memcmp(msg, log_state.last, len) == 0) {
        log_state.repeats++;
        errno = saved_errno;
        return;
    }
    log__flush_repeats();
    memcpy(log_state.last, msg, len);
    log_state.last_len = len;
    log_state.last_level = level;
    log__emit(level, msg, len);
    errno = saved_errno;
}
