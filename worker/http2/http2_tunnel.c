/*
 * http2_tunnel: see http2_tunnel.h.
 */
#include "config.h"

#include "http2_tunnel.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "log.h"

int http2_tunnel_websocket(const http2_stream_t *s)
{
    for (unsigned i = 0; i < s->nfields; i++) {
        str_t name = str_make(s->buf + s->field[i].name, s->field[i].name_len);
        str_t value = str_make(s->buf + s->field[i].value, s->field[i].value_len);
        if (STR_EQ(name, ":protocol"))
            return STR_CASEEQ(value, "websocket");
    }
    return 0;
}

int http2_tunnel_key(char *out, size_t cap)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned char r[18] = {0};
    if (cap < HTTP2_TUNNEL_KEY || getrandom(r, 16, 0) != 16) {
        log_error("proxy: getrandom(): %s", strerror(errno));
        return -1;
    }
    size_t n = (size_t)snprintf(out, cap, "Sec-WebSocket-Key: ");
    for (size_t i = 0; i < 18; i += 3) {
        unsigned v = (unsigned)r[i] << 16 | (unsigned)r[i + 1] << 8 | r[i + 2];
        out[n++] = b64[v >> 18 & 63];
        out[n++] = b64[v >> 12 & 63];
        out[n++] = b64[v >> 6 & 63];
        out[n++] = b64[v & 63];
    }
    /* 16 bytes are 22 characters and "==" (the last two made from the zeros). */
    memcpy(out + n - 2, "==\r\n", 5);
    return 0;
}

size_t http2_tunnel_fields(const http_response_t *res, nghttp2_nv *nv, size_t max)
{
    static const struct {
        const char *lower, *name;
    } pass[] = {{"sec-websocket-protocol", "Sec-WebSocket-Protocol"},
                {"sec-websocket-extensions", "Sec-WebSocket-Extensions"}};
    size_t n = 0;
    nv[n++] = (nghttp2_nv){(uint8_t *)":status", (uint8_t *)"200", 7, 3, NGHTTP2_NV_FLAG_NONE};
    for (size_t k = 0; k < sizeof(pass) / sizeof(pass[0]) && n < max; k++) {
        for (size_t i = 0; i < res->num_headers; i++) {
            const http_header_t *hd = &res->headers[i];
            if (!str_caseeq(hd->name, pass[k].name, strlen(pass[k].name)))
                continue;
            nv[n++] = (nghttp2_nv){(uint8_t *)pass[k].lower, (uint8_t *)hd->value.p,
                                   strlen(pass[k].lower), hd->value.len, NGHTTP2_NV_FLAG_NONE};
            break;
        }
    }
    return n;
}

int http2_tunnel_send(int fd, char *in, size_t *len, size_t *took)
{
    *took = 0;
    for (int turn = 0; turn < 64 && *len > 0; turn++) {
        ssize_t k = send(fd, in, *len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (k < 0)
            return errno == EAGAIN ? 0 : -1;
        memmove(in, in + k, *len - (size_t)k);
        *len -= (size_t)k;
        *took += (size_t)k;
    }
    return 0;
}
