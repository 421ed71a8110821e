/*
 * notify: the systemd notification protocol (sd_notify), for Type=notify.
 *
 * The master tells the service manager READY=1 once its first generation
 * serves, RELOADING=1 ... READY=1 around a reload, STOPPING=1, MAINPID= when
 * an upgrade hands over to a new master, and a one-line STATUS=. Without
 * $NOTIFY_SOCKET (not run by systemd) every call is a no-op.
 */
#ifndef DROVER_NOTIFY_H
#define DROVER_NOTIFY_H

/* Sends one notification (newline-separated assignments). Failures are
 * logged as warnings, never fatal: the server works without the manager. */
void notify_send(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* CLOCK_MONOTONIC in microseconds, for RELOADING=1's MONOTONIC_USEC=. */
unsigned long long notify_monotonic_usec(void);

#endif
