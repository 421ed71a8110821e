/*
 * real_ip: see real_ip.h.
 */
#include "real_ip.h"

#include <string.h>
#include <strings.h>

static str_t real_ip__trim(str_t s)
{
    while (s.len > 0 && (s.p[0] == ' ' || s.p[0] == '\t'))
        s.p++, s.len--;
    while (s.len > 0 && (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\t'))
        s.len--;
    return s;
}

/* Forwarded: the value of for= among the element's ;-separated pairs. */
static str_t real_ip__for(str_t e)
{
    while (e.len > 0) {
        const char *semi = memchr(e.p, ';', e.len);
        str_t pair = real_ip__trim(str_make(e.p, semi != NULL ? (size_t)(semi - e.p) : e.len));
        if (pair.len > 4 && strncasecmp(pair.p, "for=", 4) == 0) {
            str_t v = str_make(pair.p + 4, pair.len - 4);
            if (v.len >= 2 && v.p[0] == '"' && v.p[v.len - 1] == '"')
                v = str_make(v.p + 1, v.len - 2);
            return v;
        }
        if (semi == NULL)
            break;
        e = str_make(semi + 1, e.len - (size_t)(semi + 1 - e.p));
    }
    return str_make(NULL, 0);
}

int real_ip_parse(str_t entry, int forwarded, int *family, unsigned char addr[16])
{
    str_t s = real_ip__trim(entry);
    if (forwarded)
        s = real_ip__for(s);
    char buf[INET6_ADDRSTRLEN + 1];
    if (s.len == 0 || s.len >= 64)
        return -1;
    if (s.p[0] == '[') {
        const char *end = memchr(s.p, ']', s.len);
        if (end == NULL)
            return -1;
        s = str_make(s.p + 1, (size_t)(end - s.p - 1));
    } else {
        /* "192.0.2.1:443": a port after the only colon. */
        const char *colon = memchr(s.p, ':', s.len);
        if (colon != NULL && memchr(colon + 1, ':', s.len - (size_t)(colon + 1 - s.p)) == NULL)
            s.len = (size_t)(colon - s.p);
    }
    if (s.len == 0 || s.len >= sizeof(buf))
        return -1;
    memcpy(buf, s.p, s.len);
    buf[s.len] = '\0';
    if (inet_pton(AF_INET, buf, addr) == 1) {
        *family = AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, buf, addr) == 1) {
        *family = AF_INET6;
        return 0;
    }
    return -1;
}

static void real_ip__set(real_ip_t *out, int family, const void *addr)
{
    out->family = family;
    memcpy(out->addr, addr, family == AF_INET6 ? 16 : 4);
}

void real_ip_resolve(const conf_real_ip_t *conf, const http_request_t *req, int family,
                     const void *addr, real_ip_t *out)
{
    real_ip__set(out, family, addr);
    out->text[0] = '\0';
    if (conf == NULL || !conf_value_cidr_match(conf->trusted, conf->num_trusted, family, addr))
        return;
    size_t hlen = strlen(conf->header);
    int moved = 0;
    /* Later header lines were appended by later proxies: right to left
     * means the last line first. */
    for (size_t i = req->num_headers; i > 0; i--) {
        const http_header_t *hd = &req->headers[i - 1];
        if (hd->name.len != hlen || strncasecmp(hd->name.p, conf->header, hlen) != 0)
            continue;
        str_t v = hd->value;
        while (v.len > 0) {
            size_t j = v.len;
            while (j > 0 && v.p[j - 1] != ',')
                j--;
            str_t e = str_make(v.p + j, v.len - j);
            v.len = j > 0 ? j - 1 : 0;
            int f;
            unsigned char a[16];
            if (real_ip_parse(e, conf->forwarded, &f, a) < 0)
                goto done;
            real_ip__set(out, f, a);
            moved = 1;
            if (!conf_value_cidr_match(conf->trusted, conf->num_trusted, f, a))
                goto done;
        }
    }
done:
    if (moved && inet_ntop(out->family, out->addr, out->text, sizeof(out->text)) == NULL)
        out->text[0] = '\0';
}
