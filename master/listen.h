/*
 * listen: the listening sockets, owned by the master.
 *
 * The master binds every address itself, before it forks, and keeps the
 * sockets for its whole life: workers inherit them, a reload reuses them
 * (no gap in which a connection could be refused), and only an address that
 * left the config is closed.
 */
#ifndef DROVER_LISTEN_H
#define DROVER_LISTEN_H

#include "conf.h"

#define LISTEN_BACKLOG 4096

typedef struct {
    conf_listen_t addr; /* spec not owned: compare by family/host/port */
    int fd;
    int in_use;         /* set while some generation's config lists it */
} listen_sock_t;

/* Opens a non-blocking listening socket (SO_REUSEADDR; IPV6_V6ONLY for v6).
 * Returns the fd, or -1 with a message in err naming the address and errno. */
int listen_open(const conf_listen_t *addr, char *err, size_t errlen);

/* TCP_DEFER_ACCEPT on or off: with it, the kernel hands a connection over
 * only once its first bytes arrive (a client that sends nothing is handed
 * over after about a second), so idle connects hold no worker slot and a
 * worker wakes once per connection, not twice. Set on every bind and again
 * on reload, since sockets are kept across reloads. 0, or -1 with errno. */
int listen_set_defer(int fd, int on);

int listen_same(const conf_listen_t *a, const conf_listen_t *b);

/*
 * The master's set of sockets: set[0 .. *num) with room for max. Every
 * address that a configuration in use lists is in the set exactly once.
 */

/* Finds or opens a socket for every listen entry of conf and fills fds in
 * conf's order (TCP_DEFER_ACCEPT set again as conf says). 0, or -1 with the
 * error logged and the set as it was: what this call opened is closed. */
int listen_bind(listen_sock_t *set, size_t *num, size_t max, const conf_t *conf, int *fds);

/* Closes the sockets that none of confs[0 .. nconfs) lists (NULL entries
 * are skipped) and compacts the set. */
void listen_unbind_unused(listen_sock_t *set, size_t *num, const conf_t *const *confs, size_t nconfs);

/* The first fd of the systemd convention: LISTEN_FDS sockets from fd 3. */
#define LISTEN_FDS_START 3

/* Adopts the sockets passed by systemd's convention (socket activation, or
 * a binary upgrade): when LISTEN_PID is our pid, each of the LISTEN_FDS fds
 * from fd 3 whose bound address (getsockname) is that of a listen entry of
 * conf joins the set as if bound here; the others are closed. Unsets the
 * three variables in every case. Returns how many were adopted. */
int listen_adopt(listen_sock_t *set, size_t *num, size_t max, const conf_t *conf);

/* The socket's name in LISTEN_FDNAMES: its address, with '_' for ':'
 * (which separates names there), e.g. "127.0.0.1_8080", "[__1]_8080". */
void listen_fdname(const listen_sock_t *s, char *buf, size_t size);

/* Closes every socket of the set: no new connection can be made. */
void listen_close_all(listen_sock_t *set, size_t *num);

#endif
