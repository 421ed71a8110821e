/*
 * status: see status.h.
 */
#include "config.h"

#include "status.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "http.h"
#include "log.h"
#include "status_page.h"

void status_respond(conn_t *c, int head_only)
{
    const conf_t *conf = c->w->a.conf;
    const void *addr = c->sa.sa_family == AF_INET6 ? (const void *)&c->sa.in6.sin6_addr
                                                   : (const void *)&c->sa.in4.sin_addr;
    if (!conf_cidr_match(conf->status_allow, conf->num_status_allow, c->sa.sa_family, addr)) {
        http_respond_status(c, 403, head_only);
        return;
    }
    if (c->w->a.page == NULL) {
        http_respond_status(c, 503, head_only);
        return;
    }
    static char json[STATUS_PAGE_SIZE];
    long n = status_page_read(c->w->a.page, json, sizeof(json));
    if (n <= 0) {
        http_respond_status(c, 503, head_only);
        return;
    }
    /* Up to 256 KiB: more than the write buffer, so it goes out like a
     * generated listing, from an anonymous file. */
    int fd = memfd_create("drover-status", MFD_CLOEXEC);
    if (fd < 0 || write(fd, json, (size_t)n) != n) {
        log_error("memfd_create/write(status): %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        http_respond_status(c, 500, head_only);
        return;
    }
    http_respond_fd(c, 200, "application/json", "Cache-Control: no-store\r\n", fd, (size_t)n,
                    head_only);
}
