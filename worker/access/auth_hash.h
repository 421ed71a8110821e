/*
 * auth_hash: checks a password against one htpasswd entry (htpasswd.h).
 *
 * bcrypt, SHA-256/512-crypt and yescrypt go to libxcrypt's crypt_rn(),
 * which is reentrant (its state is the caller's struct crypt_data), so a
 * thread may call it. libxcrypt has no apr1 ($apr1$ is Apache's variant
 * of md5crypt with its own magic), so apr1 is done here over OpenSSL's MD5;
 * {SHA} is base64 of OpenSSL's SHA-1. The result is compared with
 * CRYPTO_memcmp, whose time does not depend on where the bytes differ.
 */
#ifndef DROVER_AUTH_HASH_H
#define DROVER_AUTH_HASH_H

#include <stddef.h>

#include "htpasswd.h"

/* 1 when pass (NUL-terminated, len bytes, no NUL inside) is u's password. */
int auth_hash_verify(const htpasswd_user_t *u, const char *pass, size_t len);

/* apr1's crypt of pass with the salt of setting ("$apr1$SALT$..."), into
 * out (at least 40 bytes): "$apr1$SALT$HASH". 0, or -1. */
int auth_hash_apr1(const char *pass, size_t len, const char *setting, char *out, size_t size);

#endif
