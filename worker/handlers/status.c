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

#include "error_page.h"
#include "log.h"
#include "status_page.h"

void status_respond(const handler_req_t *h, response_t *r)
{
    worker_t *w = h->w;
    const conf_t *conf = w->a.conf;
    if (!conf_cidr_match(conf->status_allow, conf->num_status_allow, h->family, h->addr)) {
        error_page_status(w, r, 403);
        return;
    }
    if (w->a.page == NULL) {
        error_page_status(w, r, 503);
        return;
    }
    /* Status requests are rare: a buffer for each is cheaper than one
     * kept for the worker's life. */
    char *json = malloc(STATUS_PAGE_SIZE);
    long n = json != NULL ? status_page_read(w->a.page, json, STATUS_PAGE_SIZE) : -1;
    if (n <= 0) {
        int status = json == NULL ? 500 : 503;
        free(json);
        error_page_status(w, r, status);
        return;
    }
    /* Up to 256 KiB: more than the write buffer, so it goes out like a
     * generated listing, from an anonymous file. */
    int fd = memfd_create("drover-status", MFD_CLOEXEC);
    if (fd < 0 || write(fd, json, (size_t)n) != n) {
        log_error("memfd_create/write(status): %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        free(json);
        error_page_status(w, r, 500);
        return;
    }
    free(json);
    response_init(r, 200);
    response_addf(r, "Content-Type: application/json\r\nContent-Length: %ld\r\n"
                     "Cache-Control: no-store\r\n", n);
    response_file(r, fd, 0, (uint64_t)n, NULL);
}
