/*
 * limit_counters: see limits.h.
 */
#include "limit_counters.h"

#include <errno.h>
#include <string.h>

#include "conf_access.h"
#include "internal.h"
#include "limit_table.h"
#include "log.h"

void limit_counters_ensure(master_t *m, const conf_t *conf)
{
    if (m->limits != NULL || !conf_access_counts(conf))
        return;
    if ((m->limits = limit_table_create(&m->limits_fd)) == NULL)
        log_error("memfd_create/mmap(limit counters): %s: limit_req, limit_conn and the count "
                  "of failed logins are not applied", strerror(errno));
}
