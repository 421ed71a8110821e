/*
 * auth: see auth.h.
 */
#include "auth.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "auth_hash.h"
#include "auth_pool.h"
#include "htpasswd.h"
#include "siphash.h"

/* The failure counts' zone in the limit table: no limit's zone (those are
 * SipHashes of their host and location) is expected to be this. */
#define AUTH__FAIL_ZONE 0x61757468u

static int auth__b64(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int auth_decode(str_t v, char *out, size_t size, size_t *len, size_t *colon)
{
    if (v.len < 6 || strncasecmp(v.p, "basic", 5) != 0 || (v.p[5] != ' ' && v.p[5] != '\t'))
        return -1;
    str_t t = str_make(v.p + 6, v.len - 6);
    while (t.len > 0 && (t.p[0] == ' ' || t.p[0] == '\t'))
        t.p++, t.len--;
    while (t.len > 0 && (t.p[t.len - 1] == ' ' || t.p[t.len - 1] == '\t'))
        t.len--;
    /* Padded base64, as RFC 7617 sends it; unpadded is accepted too. */
    size_t pad = 0;
    while (pad < 2 && t.len > pad && t.p[t.len - 1 - pad] == '=')
        pad++;
    size_t n = t.len - pad;
    if (n == 0 || n % 4 == 1 || (pad > 0 && t.len % 4 != 0) || n / 4 * 3 + 3 > size)
        return -1;
    size_t o = 0;
    uint32_t acc = 0;
    for (size_t i = 0; i < n; i++) {
        int d = auth__b64((unsigned char)t.p[i]);
        if (d < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)d;
        if (i % 4 == 3) {
            out[o++] = (char)(acc >> 16);
            out[o++] = (char)(acc >> 8);
            out[o++] = (char)acc;
            acc = 0;
        }
    }
    if (n % 4 == 2) {
        out[o++] = (char)(acc >> 4);
    } else if (n % 4 == 3) {
        out[o++] = (char)(acc >> 10);
        out[o++] = (char)(acc >> 2);
    }
    if (memchr(out, '\0', o) != NULL)
        return -1;
    const char *c = memchr(out, ':', o);
    if (c == NULL || c == out)
        return -1;
    *len = o;
    *colon = (size_t)(c - out);
    out[o] = '\0';
    return 0;
}

static str_t auth__header(const http_request_t *req, int *twice)
{
    str_t v = str_make(NULL, 0);
    *twice = 0;
    for (size_t i = 0; i < req->num_headers; i++)
        if (STR_EQ(req->headers[i].name, "authorization") ||
            (req->headers[i].name.len == 13 &&
             strncasecmp(req->headers[i].name.p, "authorization", 13) == 0)) {
            if (v.p != NULL)
                *twice = 1;
            v = req->headers[i].value;
        }
    return v;
}

static uint64_t auth__hash(const auth_cache_t *c, const conf_auth_t *a, str_t v)
{
    char buf[AUTH_HEADER_MAX + sizeof(a)];
    memcpy(buf, &a, sizeof(a));
    memcpy(buf + sizeof(a), v.p, v.len);
    return siphash_24(c->key, buf, sizeof(a) + v.len);
}

static auth_result_t auth__failed(limit_table_t *lt, uint64_t key, int64_t now)
{
    int64_t retry;
    if (lt != NULL)
        limit_table_req(lt, key, now, AUTH_FAIL_INTERVAL_US, AUTH_FAIL_BURST, 0, &retry);
    return AUTH_DENIED;
}

void auth_remember(auth_cache_t *cache, uint64_t hash, const conf_auth_t *a, int ok)
{
    if (cache == NULL)
        return;
    size_t i = hash % AUTH_CACHE_SIZE;
    if (ok) {
        cache->slot[i].hash = hash;
        cache->slot[i].auth = a;
    } else {
        cache->failed[i].hash = hash;
        cache->failed[i].auth = a;
    }
}

auth_result_t auth_check(auth_cache_t **cachep, limit_table_t *lt, struct auth_pool_s *pool,
                         void *waiter, void **job, const conf_auth_t *a,
                         const http_request_t *req, const real_ip_t *client, int64_t now,
                         int *retry_s)
{
    int twice;
    str_t v = auth__header(req, &twice);
    if (v.p == NULL || twice || v.len > AUTH_HEADER_MAX)
        return AUTH_DENIED;
    if (*cachep == NULL && (*cachep = calloc(1, sizeof(**cachep))) != NULL)
        siphash_key((*cachep)->key);
    auth_cache_t *cache = *cachep;
    uint64_t h = 0;
    if (cache != NULL) {
        h = auth__hash(cache, a, v);
        size_t i = h % AUTH_CACHE_SIZE;
        if (cache->slot[i].hash == h && cache->slot[i].auth == a)
            return AUTH_OK;
    }
    uint64_t fail_key = lt != NULL ? limit_table_key(lt, AUTH__FAIL_ZONE, client->family, client->addr) : 0;
    if (cache != NULL && cache->failed[h % AUTH_CACHE_SIZE].hash == h &&
        cache->failed[h % AUTH_CACHE_SIZE].auth == a) {
        /* The pool's verdict for this very request, run again: once. */
        cache->failed[h % AUTH_CACHE_SIZE].hash = 0;
        return auth__failed(lt, fail_key, now);
    }
    int64_t retry;
    if (lt != NULL &&
        limit_table_req(lt, fail_key, now, AUTH_FAIL_INTERVAL_US, AUTH_FAIL_BURST, 1, &retry)) {
        *retry_s = (int)((retry + 999999) / 1000000);
        return AUTH_LIMITED;
    }
    char cred[AUTH_HEADER_MAX];
    size_t len, colon;
    if (auth_decode(v, cred, sizeof(cred), &len, &colon) < 0)
        return auth__failed(lt, fail_key, now);
    const htpasswd_user_t *u = htpasswd_find(a->users, str_make(cred, colon));
    int ok = 0;
    if (u != NULL && pool != NULL && waiter != NULL && cache != NULL) {
        *job = auth_pool_submit(pool, a, u, h, cred + colon + 1, len - colon - 1, waiter);
        OPENSSL_cleanse(cred, sizeof(cred));
        if (*job == NULL) {
            *retry_s = 1;
            return AUTH_LIMITED;
        }
        cache->hashed++;
        return AUTH_PENDING;
    }
    if (u != NULL) {
        ok = auth_hash_verify(u, cred + colon + 1, len - colon - 1);
        if (cache != NULL)
            cache->hashed++;
    }
    OPENSSL_cleanse(cred, sizeof(cred));
    if (!ok)
        return auth__failed(lt, fail_key, now);
    if (cache != NULL) {
        size_t i = h % AUTH_CACHE_SIZE;
        cache->slot[i].hash = h;
        cache->slot[i].auth = a;
    }
    return AUTH_OK;
}
