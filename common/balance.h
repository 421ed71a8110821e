/*
 * balance: the accept balance, shared between the master and its workers.
 *
 * Each worker's open connections, so that a worker far above the mean can
 * step back from the shared listening sockets and let EPOLLEXCLUSIVE wake a
 * less loaded one. The master makes the mapping before the first fork and
 * writes the list of accepting cells; each worker writes only its own cell.
 * Values may be a moment stale: the result is a heuristic, never a
 * correctness question.
 */
#ifndef DROVER_BALANCE_H
#define DROVER_BALANCE_H

#include <stdint.h>

#define BALANCE_CELLS 1024

typedef struct balance_s {
    uint32_t nactive;
    uint16_t active[BALANCE_CELLS];
    uint32_t conns[BALANCE_CELLS];
} balance_t;

#endif
