/*
 * daemon: see daemon.h.
 */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int daemon_detach(void)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid > 0)
        _exit(0);
    if (setsid() < 0)
        return -1;
    if (chdir("/") < 0)
        return -1;
    int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -1;
    if (dup2(fd, STDIN_FILENO) < 0 || dup2(fd, STDOUT_FILENO) < 0 ||
        dup2(fd, STDERR_FILENO) < 0) {
        close(fd);
        return -1;
    }
    if (fd > STDERR_FILENO)
        close(fd);
    return 0;
}

int daemon_is_drover(pid_t pid)
{
    if (pid <= 0 || (kill(pid, 0) < 0 && errno == ESRCH))
        return 0;
    char path[64], comm[64] = "";
    snprintf(path, sizeof(path), "/proc/%ld/comm", (long)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    if (fgets(comm, sizeof(comm), f) == NULL)
        comm[0] = '\0';
    fclose(f);
    comm[strcspn(comm, "\n")] = '\0';
    return strncmp(comm, "drover", 6) == 0;
}

pid_t daemon_read_pid(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, errlen, "cannot open pid file %s: %s", path, strerror(errno));
        return -1;
    }
    long pid = 0;
    int n = fscanf(f, "%ld", &pid);
    fclose(f);
    if (n != 1 || pid <= 0) {
        snprintf(err, errlen, "pid file %s holds no pid", path);
        return -1;
    }
    return (pid_t)pid;
}

int daemon_write_pid(const char *path, pid_t predecessor, char *err, size_t errlen)
{
    char tmp[64];
    pid_t old = daemon_read_pid(path, tmp, sizeof(tmp));
    if (old > 0 && old != getpid() && old != predecessor && daemon_is_drover(old)) {
        snprintf(err, errlen, "pid file %s names a running drover (pid %ld): already running?",
                 path, (long)old);
        return -1;
    }
    /* Written beside and renamed over: the file names one master or the
     * other at every moment, never none (a binary upgrade replaces it while
     * scripts may read it). */
    char next[4096];
    snprintf(next, sizeof(next), "%s.%ld.tmp", path, (long)getpid());
    int fd = open(next, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "open(\"%s\"): %s", next, strerror(errno));
        return -1;
    }
    int len = snprintf(tmp, sizeof(tmp), "%ld\n", (long)getpid());
    if (write(fd, tmp, (size_t)len) != len) {
        snprintf(err, errlen, "write(\"%s\"): %s", next, strerror(errno));
        close(fd);
        unlink(next);
        return -1;
    }
    close(fd);
    if (rename(next, path) < 0) {
        snprintf(err, errlen, "rename(\"%s\", \"%s\"): %s", next, path, strerror(errno));
        unlink(next);
        return -1;
    }
    return 0;
}

int daemon_remove_pid(const char *path)
{
    char err[64];
    if (daemon_read_pid(path, err, sizeof(err)) != getpid())
        return 0;
    return unlink(path);
}
