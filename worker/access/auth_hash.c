/*
 * auth_hash: see auth_hash.h.
 */
#include "auth_hash.h"

#include <crypt.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

static const char auth_hash__itoa64[] =
    "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static char *auth_hash__to64(char *s, unsigned long v, int n)
{
    while (--n >= 0) {
        *s++ = auth_hash__itoa64[v & 0x3f];
        v >>= 6;
    }
    return s;
}

static int auth_hash__md5(EVP_MD_CTX *ctx, const void *a, size_t alen, const void *b, size_t blen,
                          const void *c, size_t clen, unsigned char out[16])
{
    unsigned int n = 16;
    return EVP_DigestInit_ex(ctx, EVP_md5(), NULL) == 1 && EVP_DigestUpdate(ctx, a, alen) == 1 &&
                   EVP_DigestUpdate(ctx, b, blen) == 1 && EVP_DigestUpdate(ctx, c, clen) == 1 &&
                   EVP_DigestFinal_ex(ctx, out, &n) == 1
               ? 0
               : -1;
}

/* Poul-Henning Kamp's md5crypt with Apache's magic, as APR writes it. */
int auth_hash_apr1(const char *pw, size_t pwlen, const char *setting, char *out, size_t size)
{
    static const char magic[] = "$apr1$";
    const size_t mlen = sizeof(magic) - 1;
    if (strncmp(setting, magic, mlen) != 0 || size < mlen + 8 + 1 + 22 + 1)
        return -1;
    const char *salt = setting + mlen;
    size_t slen = 0;
    while (slen < 8 && salt[slen] != '\0' && salt[slen] != '$')
        slen++;
    unsigned char fin[16], alt[16];
    int ok = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL)
        return -1;
    if (auth_hash__md5(ctx, pw, pwlen, salt, slen, pw, pwlen, alt) < 0)
        goto fail;
    if (EVP_DigestInit_ex(ctx, EVP_md5(), NULL) != 1 || EVP_DigestUpdate(ctx, pw, pwlen) != 1 ||
        EVP_DigestUpdate(ctx, magic, mlen) != 1 || EVP_DigestUpdate(ctx, salt, slen) != 1)
        goto fail;
    for (size_t i = pwlen; i > 0; i -= i > 16 ? 16 : i)
        if (EVP_DigestUpdate(ctx, alt, i > 16 ? 16 : i) != 1)
            goto fail;
    for (size_t i = pwlen; i > 0; i >>= 1)
        if (EVP_DigestUpdate(ctx, (i & 1) ? "" : pw, 1) != 1)
            goto fail;
    unsigned int n = 16;
    if (EVP_DigestFinal_ex(ctx, fin, &n) != 1)
        goto fail;
    /* A thousand rounds, to slow a guesser down (it was 1994). */
    for (int i = 0; i < 1000; i++) {
        const void *a = (i & 1) ? (const void *)pw : fin;
        size_t al = (i & 1) ? pwlen : 16;
        const void *c = (i & 1) ? (const void *)fin : pw;
        size_t cl = (i & 1) ? 16 : pwlen;
        if (EVP_DigestInit_ex(ctx, EVP_md5(), NULL) != 1 || EVP_DigestUpdate(ctx, a, al) != 1 ||
            ((i % 3) && EVP_DigestUpdate(ctx, salt, slen) != 1) ||
            ((i % 7) && EVP_DigestUpdate(ctx, pw, pwlen) != 1) ||
            EVP_DigestUpdate(ctx, c, cl) != 1 || EVP_DigestFinal_ex(ctx, fin, &n) != 1)
            goto fail;
    }
    char *p = out;
    memcpy(p, magic, mlen);
    p += mlen;
    memcpy(p, salt, slen);
    p += slen;
    *p++ = '$';
    p = auth_hash__to64(p, ((unsigned long)fin[0] << 16) | ((unsigned long)fin[6] << 8) | fin[12], 4);
    p = auth_hash__to64(p, ((unsigned long)fin[1] << 16) | ((unsigned long)fin[7] << 8) | fin[13], 4);
    p = auth_hash__to64(p, ((unsigned long)fin[2] << 16) | ((unsigned long)fin[8] << 8) | fin[14], 4);
    p = auth_hash__to64(p, ((unsigned long)fin[3] << 16) | ((unsigned long)fin[9] << 8) | fin[15], 4);
    p = auth_hash__to64(p, ((unsigned long)fin[4] << 16) | ((unsigned long)fin[10] << 8) | fin[5], 4);
    p = auth_hash__to64(p, fin[11], 2);
    *p = '\0';
    ok = 1;
fail:
    EVP_MD_CTX_free(ctx);
    OPENSSL_cleanse(fin, sizeof(fin));
    OPENSSL_cleanse(alt, sizeof(alt));
    return ok ? 0 : -1;
}

static int auth_hash__same(const char *a, size_t alen, str_t b)
{
    return alen == b.len && CRYPTO_memcmp(a, b.p, alen) == 0;
}

int auth_hash_verify(const htpasswd_user_t *u, const char *pass, size_t len)
{
    char buf[128];
    int ok = 0;
    switch (u->kind) {
    case HTPASSWD_APR1:
        ok = auth_hash_apr1(pass, len, u->hash.p, buf, sizeof(buf)) == 0 &&
             auth_hash__same(buf, strlen(buf), u->hash);
        break;
    case HTPASSWD_SHA1: {
        unsigned char md[20];
        unsigned int n = sizeof(md);
        if (EVP_Digest(pass, len, md, &n, EVP_sha1(), NULL) != 1)
            break;
        int b = EVP_EncodeBlock((unsigned char *)buf, md, 20);
        ok = b == 28 && auth_hash__same(buf, 28, str_make(u->hash.p + 5, u->hash.len - 5));
        break;
    }
    default: {
        /* struct crypt_data is 32 KiB: on the caller's stack, never shared. */
        struct crypt_data cd;
        memset(&cd, 0, sizeof(cd));
        const char *r = crypt_rn(pass, u->hash.p, &cd, (int)sizeof(cd));
        ok = r != NULL && r[0] != '*' && auth_hash__same(r, strlen(r), u->hash);
        OPENSSL_cleanse(&cd, sizeof(cd));
        break;
    }
    }
    OPENSSL_cleanse(buf, sizeof(buf));
    return ok;
}
