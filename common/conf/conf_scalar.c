/*
 * conf_scalar: see conf_scalar.h.
 */
#include "conf_scalar.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf_value.h"

int conf_scalar_error(conf_ctx_t *ctx, const yaml_node_t *node, const char *key,
                      const char *fmt, ...)
{
    char msg[CONF_ERR_LEN / 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(ctx->err, CONF_ERR_LEN, "%s:%lu: %s%s: %s", ctx->file,
             (unsigned long)(node ? node->start_mark.line + 1 : 0), ctx->prefix, key, msg);
    return -1;
}

char *conf_scalar_abspath(const char *base, const char *path)
{
    if (path[0] == '/')
        return strdup(path);
    while (path[0] == '.' && path[1] == '/')
        path += 2;
    char cwd[PATH_MAX];
    if (base != NULL)
        snprintf(cwd, sizeof(cwd), "%s", base);
    else if (getcwd(cwd, sizeof(cwd)) == NULL)
        return NULL;
    size_t n = strlen(cwd) + 1 + strlen(path) + 1;
    char *out = malloc(n);
    if (out == NULL)
        return NULL;
    if (strcmp(path, ".") == 0 || path[0] == '\0')
        snprintf(out, n, "%s", cwd);
    else
        snprintf(out, n, "%s%s%s", cwd, strcmp(cwd, "/") == 0 ? "" : "/", path);
    return out;
}

/* Opens the config file for reading, or says why not. Non-blocking, so a
 * FIFO cannot hang `drover -t`; then only a regular file is accepted. */
FILE *conf_scalar_open(const char *path, char *err)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, CONF_ERR_LEN, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    const char *what = NULL;
    if (fstat(fd, &st) < 0) {
        snprintf(err, CONF_ERR_LEN, "%s: fstat: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    if (S_ISDIR(st.st_mode))
        what = "a directory";
    else if (S_ISFIFO(st.st_mode))
        what = "a FIFO";
    else if (S_ISSOCK(st.st_mode))
        what = "a socket";
    else if (!S_ISREG(st.st_mode))
        what = "a device";
    if (what != NULL) {
        snprintf(err, CONF_ERR_LEN, "%s: is %s, not a config file (expected a regular file)",
                 path, what);
        close(fd);
        return NULL;
    }
    FILE *f = fdopen(fd, "rb");
    if (f == NULL) {
        snprintf(err, CONF_ERR_LEN, "%s: fdopen: %s", path, strerror(errno));
        close(fd);
    }
    return f;
}

static int conf__cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* --- scalars ------------------------------------------------------------- */

int conf_scalar_get(conf_ctx_t *ctx, yaml_node_t *v, const char *key, const char **out)
{
    if (v->type != YAML_SCALAR_NODE)
        return conf_scalar_error(ctx, v, key, "expected a single value, not a %s",
                           v->type == YAML_SEQUENCE_NODE ? "list" : "mapping");
    const char *s = (const char *)v->data.scalar.value;
    if (v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
        (s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0))
        return conf_scalar_error(ctx, v, key, "expected a value");
    *out = s;
    return 0;
}

/* Numbers and booleans are plain scalars: `workers: "2"` is the string
 * "2", and saying so is clearer than guessing what was meant. */
#define CONF__QUOTES "(quotes make a string)"

static int conf__set_path(conf_ctx_t *ctx, const conf_key_t *k, yaml_node_t *v, const char *s,
                          int quoted, char **out)
{
    char *p;
    if ((k->flags & CONF_F_OFF) && (!strcmp(s, "off") || (!quoted && !strcmp(s, "false")))) {
        /* "off", quoted or not, turns it off; a file named off is "./off". */
        p = NULL;
    } else if ((k->flags & CONF_F_STDERR) && !strcmp(s, "stderr")) {
        if ((p = strdup(s)) == NULL)
            return conf_scalar_error(ctx, v, k->name, "out of memory");
    } else {
        if ((p = conf_scalar_abspath(ctx->base, s)) == NULL)
            return conf_scalar_error(ctx, v, k->name, "cannot resolve \"%s\": %s", s, strerror(errno));
        size_t n = strlen(p);
        while (n > 1 && p[n - 1] == '/')
            p[--n] = '\0';
    }
    free(*out);
    *out = p;
    return 0;
}

/* Applies a scalar row to the text s: from the file (v is its node) or
 * from the row's default (v is NULL, s is k->def). */
int conf_scalar_set(conf_ctx_t *ctx, const conf_key_t *k, yaml_node_t *v, const char *s,
                     int quoted, char *base)
{
    void *at = base + k->offset;
    const char *name = k->name;
    char lo[32], hi[32];
    switch (k->kind) {
    case CONF_KIND_BOOL: {
        int b;
        if (quoted)
            return conf_scalar_error(ctx, v, name, "expected true or false, got the string \"%s\" "
                               CONF__QUOTES, s);
        if (conf_value_bool(s, &b) < 0)
            return conf_scalar_error(ctx, v, name, "expected true or false, got \"%s\"", s);
        *(int *)at = b;
        return 0;
    }
    case CONF_KIND_INT: {
        long n;
        const char *or_auto = (k->flags & CONF_F_AUTO) ? " or \"auto\"" : "";
        if ((k->flags & CONF_F_AUTO) && !strcmp(s, "auto")) {
            *(int *)at = conf__cpus();
            return 0;
        }
        if (quoted)
            return conf_scalar_error(ctx, v, name, "expected a number%s, got the string \"%s\" "
                               CONF__QUOTES, or_auto, s);
        if (conf_value_int(s, &n) < 0)
            return conf_scalar_error(ctx, v, name, "expected a number%s, got \"%s\"", or_auto, s);
        if (n < (long)k->min || n > (long)k->max)
            return conf_scalar_error(ctx, v, name, "%ld is out of range %ld..%ld", n, (long)k->min,
                               (long)k->max);
        *(int *)at = (int)n;
        return 0;
    }
    case CONF_KIND_SIZE: {
        size_t n;
        if (conf_value_size(s, &n) < 0)
            return conf_scalar_error(ctx, v, name,
                               "expected a size such as 8192, \"8k\" or \"1m\", got \"%s\"", s);
        if (n < (size_t)k->min || n > (size_t)k->max)
            return conf_scalar_error(ctx, v, name, "%s is out of range %s..%s bytes", s,
                               conf_value_size_str((size_t)k->min, lo, sizeof(lo)),
                               conf_value_size_str((size_t)k->max, hi, sizeof(hi)));
        *(size_t *)at = n;
        return 0;
    }
    case CONF_KIND_DURATION: {
        double d;
        if (conf_value_duration(s, &d) < 0)
            return conf_scalar_error(ctx, v, name, "expected a duration such as 30, \"500ms\", "
                               "\"15s\" or \"2m\", got \"%s\"", s);
        if (d < k->min || d > k->max)
            return conf_scalar_error(ctx, v, name, "\"%s\" is out of range %s..%s", s,
                               conf_value_duration_str(k->min, lo, sizeof(lo)),
                               conf_value_duration_str(k->max, hi, sizeof(hi)));
        *(double *)at = d;
        return 0;
    }
    case CONF_KIND_ENUM: {
        int i;
        if (conf_value_enum(s, k->names, &i) < 0) {
            char list[256];
            size_t n = 0;
            for (int j = 0; k->names[j] != NULL && n < sizeof(list); j++)
                n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s",
                                      j == 0 ? "" : k->names[j + 1] == NULL ? " or " : ", ",
                                      k->names[j]);
            return conf_scalar_error(ctx, v, name, "expected %s, got \"%s\"", list, s);
        }
        *(int *)at = i;
        return 0;
    }
    case CONF_KIND_PATH:
        if (conf__set_path(ctx, k, v, s, quoted, at) < 0)
            return -1;
        if (k->line_offset != 0 && v != NULL)
            *(unsigned *)(void *)(base + k->line_offset) = (unsigned)v->start_mark.line + 1;
        return 0;
    case CONF_KIND_STRING: {
        if ((k->flags & CONF_F_NONE) && strcmp(s, "none") == 0) {
            free(*(char **)at);
            *(char **)at = NULL;
            /* written, as "none": a host's hsts: none is not "unset" */
            if (k->line_offset != 0 && v != NULL)
                *(unsigned *)(void *)(base + k->line_offset) = (unsigned)v->start_mark.line + 1;
            return 0;
        }
        if (k->check != NULL && !k->check(s))
            return conf_scalar_error(ctx, v, name, "expected %s, got \"%s\"", k->expected, s);
        char *p = strdup(s);
        if (p == NULL)
            return conf_scalar_error(ctx, v, name, "out of memory");
        free(*(char **)at);
        *(char **)at = p;
        if (k->line_offset != 0 && v != NULL)
            *(unsigned *)(void *)(base + k->line_offset) = (unsigned)v->start_mark.line + 1;
        return 0;
    }
    default:
        return conf_scalar_error(ctx, v, name, "not a single value");
    }
}
