/*
 * http_accept: content-coding negotiation from Accept-Encoding
 * (RFC 9110 section 12.5.3), for precompressed files.
 *
 * The server has the file itself (identity) and may have encoded copies of
 * it beside it (file.gz, file.br); http_accept_encoding_select() picks the
 * one to send. Pure functions, no allocation, bounded by the field's length.
 *
 * Choices where the RFC leaves room, on the side of never sending a coding
 * a client did not ask for:
 *   - no Accept-Encoding, or an empty one: identity (RFC 9110 would allow
 *     any coding; nginx's gzip_static also wants gzip named);
 *   - q=0 refuses a coding; "*" stands for every coding not named;
 *   - among the available encoded copies the highest q wins, br before
 *     gzip on a tie (br files are smaller);
 *   - identity wins over them only when the client names it (or "*") with
 *     a higher q; identity is always the fallback, even when the client
 *     refuses it (a 406 helps nobody for a static file);
 *   - "x-gzip" is gzip (section 8.4.1.3); an unparsable q refuses the coding;
 *   - a field with a member that does not parse at all is treated as absent.
 */
#ifndef DROVER_HTTP_ACCEPT_H
#define DROVER_HTTP_ACCEPT_H

#include "str.h"

typedef enum {
    HTTP_CODING_IDENTITY = 0,
    HTTP_CODING_GZIP = 1,
    HTTP_CODING_BR = 2,
    HTTP_CODING_ZSTD = 3,
} http_coding_t;

#define HTTP_CODING_COUNT 4
#define HTTP_CODING_MASK(c) (1u << (c))

/*
 * The weight of `coding` in an Accept-Encoding value, in thousandths
 * (0..1000): the member that names it, else "*", else -1 when neither is
 * there. qvalue syntax is strict: "0", "0.5", "1", "1.000"; a malformed
 * weight counts as 0.
 */
int http_accept_encoding_q(str_t value, http_coding_t coding);

/*
 * The coding to send, among HTTP_CODING_IDENTITY and the codings of
 * `available` (a mask of HTTP_CODING_MASK bits), by the rules above.
 * value.p == NULL means the request has no Accept-Encoding.
 */
http_coding_t http_accept_encoding_select(str_t value, unsigned available);

/*
 * The same with the server's preference: pref[0..npref) lists codings
 * (http_coding_t values) most preferred first; among those available, the
 * highest q wins and the earlier one on a tie. A malformed field (a member
 * that is not token *(;param)) is treated as absent: identity.
 * http_accept_encoding_select() is this with br, zstd, gzip.
 */
http_coding_t http_accept_encoding_choose(str_t value, unsigned available, const int *pref,
                                          size_t npref);

/* "gzip", "br", "zstd", or NULL for identity: the Content-Encoding value. */
const char *http_coding_name(http_coding_t coding);

#endif
