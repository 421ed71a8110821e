/*
 * http_conditional: see http_conditional.h.
 */
#include "http_conditional.h"

#include "http_date.h"

#define IS_OWS(c) ((c) == ' ' || (c) == '\t')

int http_etag_list_match(str_t list, str_t etag, int weak)
{
    size_t i = 0;
    const char *p = list.p;

    for (int n = 0; n < HTTP_CONDITIONAL_MAX_TAGS; n++) {
        while (i < list.len && (IS_OWS(p[i]) || p[i] == ','))
            i++;
        if (i >= list.len)
            return 0;
        int ok = 1;
        str_t tag = STR_NULL;
        int tag_weak = 0;
        if (p[i] == '*') {
            i++;
            tag = STR_LIT("*");
        } else {
            /* entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE; "W" is
             * case-sensitive. */
            if (list.len - i >= 2 && p[i] == 'W' && p[i + 1] == '/') {
                tag_weak = 1;
                i += 2;
            }
            if (i < list.len && p[i] == '"') {
                size_t s = i++;
                while (i < list.len && p[i] != '"')
                    i++;
                if (i >= list.len)
                    return 0; /* unterminated: nothing after it can be read */
                i++;
                tag = str_make(p + s, i - s);
            } else {
                ok = 0;
            }
        }
        while (i < list.len && IS_OWS(p[i]))
            i++;
        if (i < list.len && p[i] != ',')
            ok = 0; /* junk after the member: skip to the next one */
        while (i < list.len && p[i] != ',')
            i++;
        if (!ok)
            continue;
        if (STR_EQ(tag, "*"))
            return 1;
        if (tag_weak && !weak)
            continue;
        if (str_eq(tag, etag.p, etag.len))
            return 1;
    }
    return 0;
}

/* A list field (If-Match, If-None-Match) over every line it was sent on. */
static int http_conditional__tags(const http_request_t *req, str_t picked, const char *name,
                                  size_t nlen, str_t etag, int weak)
{
    int lines = 0;
    for (size_t i = 0; i < req->num_headers; i++) {
        if (!str_caseeq(req->headers[i].name, name, nlen))
            continue;
        lines++;
        if (http_etag_list_match(req->headers[i].value, etag, weak))
            return 1;
    }
    /* A request built by hand (tests) may carry only the picked field. */
    return lines == 0 && http_etag_list_match(picked, etag, weak);
}

/* A date field: 0 and *t when it was sent once, holds a valid HTTP-date and
 * that date is not in the future; -1 when it is to be ignored. */
static int http_conditional__date(const http_request_t *req, str_t picked, const char *name,
                                  size_t nlen, time_t now, time_t *t)
{
    if (picked.p == NULL)
        return -1;
    int lines = 0;
    for (size_t i = 0; i < req->num_headers; i++)
        if (str_caseeq(req->headers[i].name, name, nlen))
            lines++;
    if (lines > 1)
        return -1;
    if (http_date_parse(picked.p, picked.len, t) < 0)
        return -1;
    /* A date later than our clock says nothing about this file (and a
     * client that copies a bogus date must get the full response). */
    if (*t > now)
        return -1;
    return 0;
}

#define TAGS(req, f, name, etag, weak) \
    http_conditional__tags((req), (req)->f, (name), sizeof(name) - 1, (etag), (weak))
#define DATE(req, f, name, now, t) \
    http_conditional__date((req), (req)->f, (name), sizeof(name) - 1, (now), (t))

int http_conditional_check(const http_request_t *req, str_t etag, time_t mtime, time_t now)
{
    time_t t;

    /* Steps 1 and 2: the client's copy must be the current one. If-Match
     * takes the strong comparison; If-Unmodified-Since is ignored when
     * If-Match is present. */
    if (req->if_match.p != NULL) {
        if (!TAGS(req, if_match, "if-match", etag, 0))
            return 412;
    } else if (DATE(req, if_unmodified_since, "if-unmodified-since", now, &t) == 0 &&
               mtime > t) {
        return 412;
    }

    /* Steps 3 and 4: the client's copy is still good. If-None-Match takes
     * the weak comparison and makes If-Modified-Since ignored. For GET and
     * HEAD a match is a 304 (the only methods that get here). */
    if (req->if_none_match.p != NULL) {
        if (TAGS(req, if_none_match, "if-none-match", etag, 1))
            return 304;
    } else if (DATE(req, if_modified_since, "if-modified-since", now, &t) == 0 && mtime <= t) {
        return 304;
    }
    return 200;
}

int http_conditional_if_range(const http_request_t *req, str_t etag, time_t mtime, time_t now)
{
    str_t v = req->if_range;
    if (v.p == NULL)
        return 1;
    int lines = 0;
    for (size_t i = 0; i < req->num_headers; i++)
        if (STR_CASEEQ(req->headers[i].name, "if-range"))
            lines++;
    if (lines > 1 || v.len == 0)
        return 0;
    if (v.p[0] == '"')
        return str_eq(v, etag.p, etag.len); /* strong comparison: one tag */
    if (v.len >= 2 && v.p[0] == 'W' && v.p[1] == '/')
        return 0; /* a weak tag never matches If-Range */
    time_t t;
    if (http_date_parse(v.p, v.len, &t) < 0)
        return 0;
    /* Only an exact, strong Last-Modified matches (section 13.1.5). */
    return t == mtime && mtime < now;
}
