/*
 * siphash: SipHash-2-4 (Aumasson and Bernstein, 2012), a keyed hash for
 * tables whose keys come from clients (redirect map paths, credential and
 * client-address tables): without the key an attacker cannot aim many keys
 * at one bucket.
 */
#ifndef DROVER_SIPHASH_H
#define DROVER_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

/* The hash of data[0..len) under key. */
uint64_t siphash_24(const uint64_t key[2], const char *data, size_t len);

/* A fresh random key (never fails: falls back to clocks and the pid). */
void siphash_key(uint64_t key[2]);

#endif
