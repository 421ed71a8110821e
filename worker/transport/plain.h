/*
 * plain: the transport for plain TCP sockets (see transport.h): recv, send and
 * writev with MSG_MORE, sendfile, shutdown(SHUT_WR), close.
 */
#ifndef DROVER_PLAIN_H
#define DROVER_PLAIN_H

#include "transport.h"

extern const transport_t plain_transport;

#endif
