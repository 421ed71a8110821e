/*
 * http_accept: see http_accept.h.
 *
 * One pass over the field reads every member's coding and weight into a
 * small table (identity, gzip, br, "*"); the questions are then answered
 * from the table.
 */
#include "http_accept.h"

#define IS_OWS(c) ((c) == ' ' || (c) == '\t')

/* tchar of RFC 9110 section 5.6.2. */
static int http_accept__tchar(char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
        return 1;
    }
    return 0;
}

/* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ): thousandths,
 * or -1 when malformed. */
static int http_accept__qvalue(str_t v)
{
    if (v.len == 0 || v.len > 5 || (v.p[0] != '0' && v.p[0] != '1'))
        return -1;
    int q = (v.p[0] - '0') * 1000;
    if (v.len == 1)
        return q;
    if (v.p[1] != '.')
        return -1;
    int scale = 100;
    for (size_t i = 2; i < v.len; i++, scale /= 10) {
        if (v.p[i] < '0' || v.p[i] > '9')
            return -1;
        q += (v.p[i] - '0') * scale;
    }
    return q > 1000 ? -1 : q;
}

/* q[HTTP_CODING_COUNT] for the named codings and q[HTTP_CODING_COUNT] for
 * "*"; -1 where the member is absent. The first member naming a coding
 * counts. */
static int http_accept__table(str_t v, int q[HTTP_CODING_COUNT + 1])
{
    int malformed = 0;
    for (int k = 0; k <= HTTP_CODING_COUNT; k++)
        q[k] = -1;
    size_t i = 0;
    const char *p = v.p;
    /* Each turn consumes at least one byte. */
    for (size_t turn = 0; i < v.len && turn <= v.len; turn++) {
        while (i < v.len && (IS_OWS(p[i]) || p[i] == ','))
            i++;
        size_t s = i;
        while (i < v.len && http_accept__tchar(p[i]))
            i++;
        str_t name = str_make(p + s, i - s);
        int weight = 1000, ok = name.len > 0;
        /* *( OWS ";" OWS token "=" ( token / quoted-string ) ); each
         * parameter consumes at least its ";". */
        for (size_t pn = 0; pn < v.len; pn++) {
            size_t j = i;
            while (j < v.len && IS_OWS(p[j]))
                j++;
            if (j >= v.len || p[j] != ';')
                break;
            j++;
            while (j < v.len && IS_OWS(p[j]))
                j++;
            size_t ps = j;
            while (j < v.len && http_accept__tchar(p[j]))
                j++;
            str_t pname = str_make(p + ps, j - ps);
            i = j;
            if (pname.len == 0 || j >= v.len || p[j] != '=') {
                ok = 0;
                break;
            }
            j++;
            size_t vs = j;
            if (j < v.len && p[j] == '"') {
                for (j++; j < v.len && p[j] != '"'; j++)
                    if (p[j] == '\\' && j + 1 < v.len)
                        j++;
                if (j >= v.len) {
                    ok = 0;
                    i = j;
                    break;
                }
                j++;
            } else {
                while (j < v.len && http_accept__tchar(p[j]))
                    j++;
            }
            i = j;
            if (STR_CASEEQ(pname, "q")) {
                weight = http_accept__qvalue(str_make(p + vs, j - vs));
                if (weight < 0)
                    weight = 0; /* a weight we cannot read refuses */
            }
        }
        while (i < v.len && IS_OWS(p[i]))
            i++;
        if (i < v.len && p[i] != ',') {
            ok = 0; /* junk: skip the member */
            while (i < v.len && p[i] != ',')
                i++;
        }
        if (!ok) {
            malformed = 1;
            continue;
        }
        int k;
        if (STR_EQ(name, "*"))
            k = HTTP_CODING_COUNT;
        else if (STR_CASEEQ(name, "gzip") || STR_CASEEQ(name, "x-gzip"))
            k = HTTP_CODING_GZIP;
        else if (STR_CASEEQ(name, "br"))
            k = HTTP_CODING_BR;
        else if (STR_CASEEQ(name, "zstd"))
            k = HTTP_CODING_ZSTD;
        else if (STR_CASEEQ(name, "identity"))
            k = HTTP_CODING_IDENTITY;
        else
            continue;
        if (q[k] < 0)
            q[k] = weight;
    }
    return malformed ? -1 : 0;
}

int http_accept_encoding_q(str_t value, http_coding_t coding)
{
    int q[HTTP_CODING_COUNT + 1];
    http_accept__table(value, q);
    return q[coding] >= 0 ? q[coding] : q[HTTP_CODING_COUNT];
}

http_coding_t http_accept_encoding_select(str_t value, unsigned available)
{
    static const int order[] = { HTTP_CODING_BR, HTTP_CODING_ZSTD, HTTP_CODING_GZIP };
    return http_accept_encoding_choose(value, available, order, 3);
}

http_coding_t http_accept_encoding_choose(str_t value, unsigned available, const int *pref,
                                          size_t npref)
{
    if (value.p == NULL || value.len == 0 || available == 0)
        return HTTP_CODING_IDENTITY;
    int q[HTTP_CODING_COUNT + 1];
    if (http_accept__table(value, q) < 0)
        return HTTP_CODING_IDENTITY; /* malformed: as if absent, never a 400 */

    http_coding_t best = HTTP_CODING_IDENTITY;
    int best_q = 0;
    /* The server's order breaks ties: a strictly higher q is needed to
     * pass a coding named earlier. */
    for (size_t k = 0; k < npref; k++) {
        int c = pref[k];
        if (c <= 0 || c >= HTTP_CODING_COUNT || !(available & HTTP_CODING_MASK(c)))
            continue;
        int cq = q[c] >= 0 ? q[c] : q[HTTP_CODING_COUNT];
        if (cq > best_q) {
            best = (http_coding_t)c;
            best_q = cq;
        }
    }
    /* Identity competes only when the client weighs it itself. */
    int iq = q[HTTP_CODING_IDENTITY] >= 0 ? q[HTTP_CODING_IDENTITY] : q[HTTP_CODING_COUNT];
    if (best != HTTP_CODING_IDENTITY && iq > best_q)
        return HTTP_CODING_IDENTITY;
    return best;
}

const char *http_coding_name(http_coding_t coding)
{
    switch (coding) {
    case HTTP_CODING_GZIP: return "gzip";
    case HTTP_CODING_BR: return "br";
    case HTTP_CODING_ZSTD: return "zstd";
    default: return NULL;
    }
}
