/*
 * conf_file: the config file as a file: opening it (a regular file only,
 * never blocking on a FIFO), making paths absolute, and the lenient read of
 * pid_file that `drover -s` needs when the rest of the file is invalid.
 */
#include "conf.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "conf_keys.h"

char *conf__abspath(const char *base, const char *path)
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
FILE *conf__open(const char *path, char *err)
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

char *conf_pid_file(const char *path)
{
    /* Read only the pid_file key, leniently: `drover -s stop` must find a
     * running master even when the file on disk no longer validates. */
    char *out = NULL, err[CONF_ERR_LEN];
    FILE *f = conf__open(path, err);
    yaml_parser_t parser;
    yaml_document_t doc;
    if (f != NULL && yaml_parser_initialize(&parser)) {
        yaml_parser_set_input_file(&parser, f);
        if (yaml_parser_load(&parser, &doc)) {
            yaml_node_t *root = yaml_document_get_root_node(&doc);
            if (root != NULL && root->type == YAML_MAPPING_NODE) {
                for (yaml_node_pair_t *pair = root->data.mapping.pairs.start;
                     pair < root->data.mapping.pairs.top; pair++) {
                    yaml_node_t *k = yaml_document_get_node(&doc, pair->key);
                    yaml_node_t *v = yaml_document_get_node(&doc, pair->value);
                    if (k->type == YAML_SCALAR_NODE && v->type == YAML_SCALAR_NODE &&
                        strcmp((const char *)k->data.scalar.value, "pid_file") == 0) {
                        free(out);
                        out = conf__abspath(NULL, (const char *)v->data.scalar.value);
                    }
                }
            }
            yaml_document_delete(&doc);
        }
        yaml_parser_delete(&parser);
    }
    if (f != NULL)
        fclose(f);
    return out != NULL ? out : conf__abspath(NULL, "drover.pid");
}

