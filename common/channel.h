/*
 * channel: the pipe protocol between the master and each of its workers.
 *
 * Every worker has two pipes: commands go down (master to worker), short
 * messages come up (worker to master). Every message is one byte, so a
 * read never splits one and several can be read at once; the order of
 * bytes is the order of events. Counters do not travel here but over the
 * message queue (report.h). A worker's exit status is part of the protocol
 * too: the master tells a worker that could not set up from one that
 * crashed.
 */
#ifndef DROVER_CHANNEL_H
#define DROVER_CHANNEL_H

/* Master to worker. */
#define CMD_DRAIN  'Q'  /* stop accepting (close the listening sockets), finish in-flight work, exit */
#define CMD_REOPEN 'O'  /* reopen log files */
#define CMD_STOP   'T'  /* exit now */

/* Worker to master. */
#define MSG_READY     'R' /* able to serve: sockets, logs, privileges done */
#define MSG_HEARTBEAT 'H' /* the event loop is turning */
#define MSG_RECYCLE   'M' /* reached worker_max_requests: please replace me */

/* Exit statuses a worker uses for failures the master understands. */
#define WORKER_EXIT_OK      0
#define WORKER_EXIT_SETUP   2  /* cannot open a log, cannot drop privileges */

#endif
