/*
 * redirect_map: see redirect_map.h.
 *
 * A map is three allocations: the struct, the slot table and the arena
 * that holds every FROM and TO. The arena is the file's own buffer: each
 * line's FROM and TO are moved down to the front of it as the line is
 * read, which is safe because a line always holds at least one separator
 * more than the bytes it keeps, so the write position never passes the
 * line being read. The buffer is then shrunk to what was kept. Loading
 * is one read of the file, one pass to count the lines that may be
 * redirects (to size the table once, never grow it), and one pass to
 * check, move and insert.
 *
 * The table is open addressing with linear probing in a power-of-two
 * table kept at most half full, so a miss ends after a probe or two. Each
 * slot keeps 32 bits of the hash that did not choose its position, so a
 * probe past a different FROM almost never costs a memcmp.
 *
 * The hash is SipHash-2-4 with a random key per map. A seeded FNV-1a
 * would be quicker, but its seed is not a key: FNV has no secret to keep a
 * colliding set from being found once and used against every map. A
 * redirect file may be generated from names that users chose (old profile
 * or article slugs), and a table of long probe chains would slow every
 * request to its host. SipHash is what Python, Perl, Rust and Redis use
 * for this; over a path of tens of bytes it costs well under a
 * microsecond, which a request does not notice.
 */
#include "config.h"

#include "redirect_map.h"

#include "siphash.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "str.h"

typedef struct {
    uint32_t tag;      /* the hash's high 32 bits; its low bits chose the slot */
    uint32_t off;      /* FROM at arena + off, its TO right after it */
    uint32_t line;     /* where it was read: a duplicate names it */
    uint16_t from_len; /* 0: an empty slot (a FROM is at least "/") */
    uint16_t to_len;
    uint16_t code;
} redirect_map__slot_t;

struct redirect_map_s {
    redirect_map__slot_t *slots;
    size_t mask;     /* slots - 1 */
    size_t count;
    size_t from_max; /* the longest FROM: a longer path misses unhashed */
    char *arena;
    uint64_t key[2];
};

/* A line's FROM and TO are at most a line long. */
_Static_assert(REDIRECT_MAP_LINE_MAX <= UINT16_MAX, "lengths are uint16_t");
/* The arena is indexed with 32 bits. */
_Static_assert(REDIRECT_MAP_FILE_MAX <= UINT32_MAX, "offsets are uint32_t");

/* ---- errors ------------------------------------------------------------- */

/* Paths are cut at 256 bytes so the problem, the part that matters, always
 * fits in the REDIRECT_MAP_ERR_LEN bytes: 256 + ":" + a line number of up
 * to 20 digits + ": " + a problem of up to 223 bytes is 502. The longest
 * problem (a fourth field quoted at 100 bytes) is about 160. */
#define REDIRECT_MAP__PROBLEM_LEN 224
_Static_assert(256 + 1 + 20 + 2 + REDIRECT_MAP__PROBLEM_LEN <= REDIRECT_MAP_ERR_LEN,
               "a message fits in err");
static void redirect_map__err(char *err, const char *path, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void redirect_map__err(char *err, const char *path, size_t line, const char *fmt, ...)
{
    char problem[REDIRECT_MAP__PROBLEM_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(problem, sizeof(problem), fmt, ap);
    va_end(ap);
    if (line > 0)
        snprintf(err, REDIRECT_MAP_ERR_LEN, "%.256s:%zu: %s", path, line, problem);
    else
        snprintf(err, REDIRECT_MAP_ERR_LEN, "%.256s: %s", path, problem);
}

/* A token quoted in a message: at most 100 bytes of it, "..." if cut. */
#define REDIRECT_MAP__QUOTE_MAX 100
#define REDIRECT_MAP__QUOTE(s)                                                                    \
    (int)((s).len > REDIRECT_MAP__QUOTE_MAX ? REDIRECT_MAP__QUOTE_MAX : (s).len), (s).p,          \
        (s).len > REDIRECT_MAP__QUOTE_MAX ? "..." : ""

/* ---- reading ------------------------------------------------------------ */

/* The whole file is held in memory while it loads, and offsets into it
 * are 32 bits. */
#define REDIRECT_MAP__TOO_BIG "larger than 1 GiB, more than a redirect file can be"
_Static_assert(REDIRECT_MAP_FILE_MAX == 1u << 30, "REDIRECT_MAP__TOO_BIG says 1 GiB");

/*
 * Reads the whole file into one buffer of *len bytes. A regular file is
 * read into a buffer one byte over its size, so the read that returns 0
 * needs no second allocation; a pipe (/dev/stdin) has no size ahead, and
 * a file may grow while it is read, so the buffer grows when full.
 */

static char *redirect_map__read(const char *path, size_t *len, char *err)
{
    char *buf = NULL;
    struct stat st;
    size_t size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, REDIRECT_MAP_ERR_LEN, "open(\"%.256s\"): %s", path, strerror(errno));
        goto fail;
    }
    if (fstat(fd, &st) < 0) {
        snprintf(err, REDIRECT_MAP_ERR_LEN, "fstat(\"%.256s\"): %s", path, strerror(errno));
        goto fail;
    }
    if (S_ISREG(st.st_mode) && (uintmax_t)st.st_size > REDIRECT_MAP_FILE_MAX) {
        redirect_map__err(err, path, 0, REDIRECT_MAP__TOO_BIG);
        goto fail;
    }
    size = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 65536;
    size_t used = 0;
    if ((buf = malloc(size)) == NULL) {
        redirect_map__err(err, path, 0, "out of memory reading %zu bytes", size);
        goto fail;
    }
    for (;;) {
        if (used == size) {
            if (used > REDIRECT_MAP_FILE_MAX) {
                redirect_map__err(err, path, 0, REDIRECT_MAP__TOO_BIG);
                goto fail;
            }
            size = size * 2 > (size_t)REDIRECT_MAP_FILE_MAX + 1 ? (size_t)REDIRECT_MAP_FILE_MAX + 1
                                                                 : size * 2;
            char *bigger = realloc(buf, size);
            if (bigger == NULL) {
                redirect_map__err(err, path, 0, "out of memory reading %zu bytes", size);
                goto fail;
            }
            buf = bigger;
        }
        ssize_t n = read(fd, buf + used, size - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, REDIRECT_MAP_ERR_LEN, "read(\"%.256s\"): %s", path, strerror(errno));
            goto fail;
        }
        if (n == 0)
            break;
        used += (size_t)n;
    }
    if (used > REDIRECT_MAP_FILE_MAX) {
        redirect_map__err(err, path, 0, REDIRECT_MAP__TOO_BIG);
        goto fail;
    }
    close(fd);
    *len = used;
    return buf;

fail:
    if (fd >= 0)
        close(fd);
    free(buf);
    return NULL;
}

/* ---- parsing ------------------------------------------------------------ */

static int redirect_map__blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Lines that hold something other than blanks or a comment: an upper bound
 * on the redirects, exact for a file that loads, so the table is sized
 * once. */
static size_t redirect_map__candidates(const char *p, const char *end)
{
    size_t n = 0;
    while (p < end) {
        while (p < end && redirect_map__blank(*p))
            p++;
        if (p < end && *p != '\n' && *p != '#')
            n++;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        p = nl != NULL ? nl + 1 : end;
    }
    return n;
}

/* Splits [p, end) at runs of blanks into f. Returns the number of fields,
 * 4 meaning "more than 3" (f[3] is then the fourth; the rest is unread). */
static int redirect_map__fields(const char *p, const char *end, str_t f[4])
{
    int n = 0;
    for (;;) {
        while (p < end && redirect_map__blank(*p))
            p++;
        if (p == end)
            return n;
        const char *start = p;
        while (p < end && !redirect_map__blank(*p))
            p++;
        f[n++] = str_make(start, (size_t)(p - start));
        if (n == 4)
            return n;
    }
}

static int redirect_map__code(str_t s)
{
    static const struct {
        const char *text;
        int code;
    } codes[] = { { "301", 301 }, { "302", 302 }, { "303", 303 }, { "307", 307 }, { "308", 308 } };
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        if (str_eq(s, codes[i].text, 3))
            return codes[i].code;
    return -1;
}

/* The first control byte in a field (a '\r' inside a TO would split the
 * Location header it ends up in), or NULL. */
static const char *redirect_map__control(str_t s)
{
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c < 0x20 || c == 0x7f)
            return s.p + i;
    }
    return NULL;
}

/*
 * Reads the lines of buf[0..len) into m, whose table is sized already,
 * moving each FROM and TO down into buf[0..*kept). 0, or -1 with err set.
 */
static int redirect_map__fill(redirect_map_t *m, char *buf, size_t len, const char *path,
                              char *err, size_t *kept)
{
    const char *end = buf + len;
    size_t w = 0;
    size_t line = 0;
    for (const char *ls = buf; ls < end;) {
        line++;
        const char *nl = memchr(ls, '\n', (size_t)(end - ls));
        const char *le = nl != NULL ? nl : end;
        const char *next = nl != NULL ? nl + 1 : end;
        if ((size_t)(le - ls) > REDIRECT_MAP_LINE_MAX) {
            redirect_map__err(err, path, line, "line longer than %d bytes", REDIRECT_MAP_LINE_MAX);
            return -1;
        }
        if (le > ls && le[-1] == '\r')
            le--;
        str_t f[4];
        int n = redirect_map__fields(ls, le, f);
        if (n == 0 || f[0].p[0] == '#') {
            ls = next;
            continue;
        }
        if (n == 1) {
            redirect_map__err(err, path, line, "expected \"FROM TO [CODE]\"");
            return -1;
        }
        if (n > 3) {
            redirect_map__err(err, path, line,
                              "more than 3 fields, from \"%.*s%s\" on (expected \"FROM TO [CODE]\")",
                              REDIRECT_MAP__QUOTE(f[3]));
            return -1;
        }
        for (int i = 0; i < n; i++) {
            const char *c = redirect_map__control(f[i]);
            if (c != NULL) {
                redirect_map__err(err, path, line, "control character 0x%02x at column %zu",
                                  (unsigned char)*c, (size_t)(c - ls) + 1);
                return -1;
            }
        }
        if (f[0].p[0] != '/') {
            redirect_map__err(err, path, line, "\"%.*s%s\" must start with /",
                              REDIRECT_MAP__QUOTE(f[0]));
            return -1;
        }
        int code = 301;
        if (n == 3 && (code = redirect_map__code(f[2])) < 0) {
            redirect_map__err(err, path, line,
                              "%.*s%s is not a redirect code (301, 302, 303, 307 or 308)",
                              REDIRECT_MAP__QUOTE(f[2]));
            return -1;
        }

        /* Probe before moving anything: a duplicate is reported from the
         * line as written. */
        uint64_t h = siphash_24(m->key, f[0].p, f[0].len);
        uint32_t tag = (uint32_t)(h >> 32);
        size_t i = (size_t)h & m->mask;
        for (;; i = (i + 1) & m->mask) {
            const redirect_map__slot_t *s = &m->slots[i];
            if (s->from_len == 0)
                break;
            if (s->tag == tag && s->from_len == f[0].len &&
                memcmp(m->arena + s->off, f[0].p, f[0].len) == 0) {
                redirect_map__err(err, path, line, "%.*s%s is already redirected on line %u",
                                  REDIRECT_MAP__QUOTE(f[0]), (unsigned)s->line);
                return -1;
            }
        }

        /* TO starts past FROM's end and a blank, and w <= ls <= FROM, so
         * moving FROM to w never reaches TO's bytes. */
        memmove(buf + w, f[0].p, f[0].len);
        memmove(buf + w + f[0].len, f[1].p, f[1].len);
        m->slots[i] = (redirect_map__slot_t){ .tag = tag,
                                              .off = (uint32_t)w,
                                              .line = (uint32_t)line,
                                              .from_len = (uint16_t)f[0].len,
                                              .to_len = (uint16_t)f[1].len,
                                              .code = (uint16_t)code };
        w += f[0].len + f[1].len;
        m->count++;
        if (f[0].len > m->from_max)
            m->from_max = f[0].len;
        ls = next;
    }
    *kept = w;
    return 0;
}

redirect_map_t *redirect_map_load(const char *path, char *err)
{
    size_t len = 0;
    char *buf = NULL;
    redirect_map_t *m = NULL;

    err[0] = '\0';
    if ((buf = redirect_map__read(path, &len, err)) == NULL)
        goto fail;
    /* Checked once, up front: every later step may then treat a line as
     * text, and the message can say this is not a text file at all. */
    const char *nul = memchr(buf, '\0', len);
    if (nul != NULL) {
        size_t line = 1;
        const char *ls = buf;
        for (const char *p = buf; p < nul; p++)
            if (*p == '\n') {
                line++;
                ls = p + 1;
            }
        redirect_map__err(err, path, line, "NUL byte at column %zu (not a text file?)",
                          (size_t)(nul - ls) + 1);
        goto fail;
    }

    size_t n = redirect_map__candidates(buf, buf + len);
    size_t size = 8;
    while (size < 2 * n)
        size *= 2;
    if ((m = calloc(1, sizeof(*m))) == NULL) {
        redirect_map__err(err, path, 0, "out of memory");
        goto fail;
    }
    if ((m->slots = calloc(size, sizeof(*m->slots))) == NULL) {
        redirect_map__err(err, path, 0, "out of memory for %zu slots", size);
        goto fail;
    }
    m->mask = size - 1;
    m->arena = buf;
    buf = NULL; /* m owns it from here: the one free on fail is m's */
    siphash_key(m->key);

    size_t kept;
    if (redirect_map__fill(m, m->arena, len, path, err, &kept) < 0)
        goto fail;
    /* Give back the comments, blanks and newlines. A failed shrink keeps
     * the bigger block, which is still right. */
    char *small = realloc(m->arena, kept > 0 ? kept : 1);
    if (small != NULL)
        m->arena = small;
    return m;

fail:
    free(buf);
    redirect_map_free(m);
    return NULL;
}

int redirect_map_get(const redirect_map_t *m, const char *path, size_t len, const char **to,
                     size_t *to_len, int *code)
{
    if (m == NULL || len == 0 || len > m->from_max)
        return 0;
    uint64_t h = siphash_24(m->key, path, len);
    uint32_t tag = (uint32_t)(h >> 32);
    for (size_t i = (size_t)h & m->mask;; i = (i + 1) & m->mask) {
        const redirect_map__slot_t *s = &m->slots[i];
        if (s->from_len == 0)
            return 0;
        if (s->tag == tag && s->from_len == len && memcmp(m->arena + s->off, path, len) == 0) {
            *to = m->arena + s->off + s->from_len;
            *to_len = s->to_len;
            *code = s->code;
            return 1;
        }
    }
}

size_t redirect_map_count(const redirect_map_t *m)
{
    return m != NULL ? m->count : 0;
}

void redirect_map_free(redirect_map_t *m)
{
    if (m == NULL)
        return;
    free(m->slots);
    free(m->arena);
    free(m);
}
