/*
 * http_date: see http_date.h.
 */
#include "http_date.h"

#include <stdio.h>
#include <string.h>

static const char *const http_date_days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char *const http_date_months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

void http_date_format(time_t t, char *out)
{
    struct tm tm;
    char tmp[64];
    gmtime_r(&t, &tm);
    /* Years past 9999 do not fit the format: clamp rather than overflow. */
    int year = tm.tm_year + 1900 > 9999 ? 9999 : tm.tm_year + 1900;
    snprintf(tmp, sizeof(tmp), "%s, %02d %s %04d %02d:%02d:%02d GMT",
             http_date_days[tm.tm_wday], tm.tm_mday, http_date_months[tm.tm_mon],
             year, tm.tm_hour, tm.tm_min, tm.tm_sec);
    memcpy(out, tmp, HTTP_DATE_LEN);
    out[HTTP_DATE_LEN] = '\0';
}

void http_date_clf(time_t t, char *out)
{
    struct tm tm;
    char tmp[64];
    gmtime_r(&t, &tm);
    int year = tm.tm_year + 1900 > 9999 ? 9999 : tm.tm_year + 1900;
    snprintf(tmp, sizeof(tmp), "%02d/%s/%04d:%02d:%02d:%02d +0000",
             tm.tm_mday, http_date_months[tm.tm_mon], year,
             tm.tm_hour, tm.tm_min, tm.tm_sec);
    memcpy(out, tmp, HTTP_DATE_CLF_LEN);
    out[HTTP_DATE_CLF_LEN] = '\0';
}

const char *http_date_now(time_t now)
{
    static time_t cached_at = -1;
    static char cached[HTTP_DATE_LEN + 1];
    if (now != cached_at) {
        http_date_format(now, cached);
        cached_at = now;
    }
    return cached;
}

static int http_date__month(const char *p)
{
    for (int i = 0; i < 12; i++)
        if (memcmp(p, http_date_months[i], 3) == 0)
            return i;
    return -1;
}

static int http_date__num(const char *p, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return 0;
}

/* Parses "HH:MM:SS" at p. */
static int http_date__clock(const char *p, struct tm *tm)
{
    if (p[2] != ':' || p[5] != ':')
        return -1;
    if (http_date__num(p, 2, &tm->tm_hour) || http_date__num(p + 3, 2, &tm->tm_min) ||
        http_date__num(p + 6, 2, &tm->tm_sec))
        return -1;
    if (tm->tm_hour > 23 || tm->tm_min > 59 || tm->tm_sec > 60)
        return -1;
    return 0;
}

int http_date_parse(const char *p, size_t len, time_t *t)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));

    if (len == 29 && p[3] == ',' && p[4] == ' ' && memcmp(p + 26, "GMT", 3) == 0) {
        /* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
        if (p[7] != ' ' || p[11] != ' ' || p[16] != ' ' || p[25] != ' ')
            return -1;
        if (http_date__num(p + 5, 2, &tm.tm_mday) || http_date__num(p + 12, 4, &tm.tm_year))
            return -1;
        tm.tm_mon = http_date__month(p + 8);
        if (http_date__clock(p + 17, &tm))
            return -1;
        tm.tm_year -= 1900;
    } else if (len == 24 && p[3] == ' ' && p[7] == ' ') {
        /* asctime: "Sun Nov  6 08:49:37 1994" */
        tm.tm_mon = http_date__month(p + 4);
        char d[2] = { p[8] == ' ' ? '0' : p[8], p[9] };
        if (http_date__num(d, 2, &tm.tm_mday) || p[10] != ' ' || p[19] != ' ')
            return -1;
        if (http_date__clock(p + 11, &tm) || http_date__num(p + 20, 4, &tm.tm_year))
            return -1;
        tm.tm_year -= 1900;
    } else {
        /* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT" */
        const char *c = memchr(p, ',', len < 12 ? len : 12);
        if (c == NULL)
            return -1;
        size_t off = (size_t)(c - p);
        if (len != off + 24 || c[1] != ' ' || c[4] != '-' || c[8] != '-' || c[11] != ' ' ||
            memcmp(c + 21, "GMT", 3) != 0)
            return -1;
        if (http_date__num(c + 2, 2, &tm.tm_mday) || http_date__num(c + 9, 2, &tm.tm_year))
            return -1;
        tm.tm_mon = http_date__month(c + 5);
        if (http_date__clock(c + 12, &tm))
            return -1;
        /* RFC 9110: a two-digit year more than 50 years in the future is in
         * the past century. */
        if (tm.tm_year < 70)
            tm.tm_year += 100;
    }
    static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (tm.tm_mon < 0 || tm.tm_mday < 1 || tm.tm_mday > mdays[tm.tm_mon])
        return -1;
    /* timegm() would roll "29 Feb" of a common year into March. */
    int year = tm.tm_year + 1900;
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (tm.tm_mon == 1 && tm.tm_mday == 29 && !leap)
        return -1;
    *t = timegm(&tm);
    return *t == (time_t)-1 ? -1 : 0;
}
