/*
 * siphash: see siphash.h.
 */
#include "siphash.h"

#include <fcntl.h>
#include <stdint.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* ---- SipHash-2-4 (Aumasson and Bernstein, 2012) ------------------------- */

#define SIPHASH__ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))
#define SIPHASH__SIPROUND                                                                    \
    do {                                                                                           \
        v0 += v1;                                                                                  \
        v1 = SIPHASH__ROTL(v1, 13);                                                           \
        v1 ^= v0;                                                                                  \
        v0 = SIPHASH__ROTL(v0, 32);                                                           \
        v2 += v3;                                                                                  \
        v3 = SIPHASH__ROTL(v3, 16);                                                           \
        v3 ^= v2;                                                                                  \
        v0 += v3;                                                                                  \
        v3 = SIPHASH__ROTL(v3, 21);                                                           \
        v3 ^= v0;                                                                                  \
        v2 += v1;                                                                                  \
        v1 = SIPHASH__ROTL(v1, 17);                                                           \
        v1 ^= v2;                                                                                  \
        v2 = SIPHASH__ROTL(v2, 32);                                                           \
    } while (0)

/* Little-endian whatever the host, as the algorithm is defined; compilers
 * turn this into one load on the hosts that are. */
static uint64_t siphash__le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

uint64_t siphash_24(const uint64_t key[2], const char *data, size_t len)
{
    const unsigned char *p = (const unsigned char *)data;
    uint64_t v0 = key[0] ^ 0x736f6d6570736575ULL;
    uint64_t v1 = key[1] ^ 0x646f72616e646f6dULL;
    uint64_t v2 = key[0] ^ 0x6c7967656e657261ULL;
    uint64_t v3 = key[1] ^ 0x7465646279746573ULL;
    size_t blocks = len & ~(size_t)7;
    for (size_t i = 0; i < blocks; i += 8) {
        uint64_t m = siphash__le64(p + i);
        v3 ^= m;
        SIPHASH__SIPROUND;
        SIPHASH__SIPROUND;
        v0 ^= m;
    }
    uint64_t b = (uint64_t)len << 56;
    for (size_t i = len - blocks; i > 0; i--)
        b |= (uint64_t)p[blocks + i - 1] << (8 * (i - 1));
    v3 ^= b;
    SIPHASH__SIPROUND;
    SIPHASH__SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPHASH__SIPROUND;
    SIPHASH__SIPROUND;
    SIPHASH__SIPROUND;
    SIPHASH__SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

/*
 * A fresh key for a table. getrandom() does not block here (GRND_NONBLOCK):
 * a master started early in boot must still start, so it falls back to
 * /dev/urandom and, in a sandbox with neither, to the clocks and the pid.
 * Those are guessable, but only the keying suffers: the table still works.
 */
void siphash_key(uint64_t key[2])
{
    if (getrandom(key, 2 * sizeof(key[0]), GRND_NONBLOCK) == (ssize_t)(2 * sizeof(key[0])))
        return;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, key, 2 * sizeof(key[0]));
        close(fd);
        if (n == (ssize_t)(2 * sizeof(key[0])))
            return;
    }
    struct timespec rt, mt;
    clock_gettime(CLOCK_REALTIME, &rt);
    clock_gettime(CLOCK_MONOTONIC, &mt);
    key[0] = ((uint64_t)rt.tv_sec * 1000000000u + (uint64_t)rt.tv_nsec) ^ ((uint64_t)getpid() << 40);
    key[1] = ((uint64_t)mt.tv_sec * 1000000000u + (uint64_t)mt.tv_nsec) ^ (uint64_t)(uintptr_t)key;
}

