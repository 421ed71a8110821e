/*
 * vhost: see vhost.h.
 *
 * Open addressing with linear probing in a power-of-two table kept at most
 * half full, so a miss ends after a probe or two; the hash is FNV-1a over
 * the normal form, taken from the end, so one pass over the request's name
 * gives the hash of every suffix too. A Host has a handful of labels, so a
 * wildcard lookup is a handful of probes whatever the size of the table.
 */
#include "vhost.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>


typedef struct {
    char *name;       /* normal form; a wildcard as ".suffix"; NULL: empty slot */
    size_t len;
    uint64_t hash;
    int host;
    unsigned line;
} vhost_slot_t;

struct vhost_table_s {
    vhost_slot_t *slots;
    size_t mask;      /* slots - 1 */
    size_t used;
    size_t wildcards; /* none: a miss on the exact name is the answer */
    /* Filters that let a Host skip the suffix probes no wildcard could
     * answer: bit k of wild_labels is set when some wildcard's suffix has
     * k labels (".a.example.com": 3); wild_tld holds one bit per hash of a
     * wildcard's last label (".com"), 256 bits. A Host such as "127.0.0.1"
     * or "example.org" beside "*.customers.example.com" then costs one
     * probe, the exact name's, as with no wildcards at all. */
    uint64_t wild_labels;
    uint64_t wild_tld[4];
};

#define VHOST__TLD_BIT(h) ((h) & 255)
/* A suffix of 63 labels or more shares bit 63 (a DNS name has up to 127). */
#define VHOST__LABELS_BIT(n) (1ULL << ((n) < 63 ? (n) : 63))


/* FNV-1a from the last byte to the first: the hash of every suffix of a
 * name is a step of the one pass over it (vhost_match). */
#define VHOST__SEED 1469598103934665603ULL
#define VHOST__STEP(h, c) (((h) ^ (unsigned char)(c)) * 1099511628211ULL)

static uint64_t vhost__hash(const char *p, size_t len)
{
    uint64_t h = VHOST__SEED;
    while (len > 0)
        h = VHOST__STEP(h, p[--len]);
    return h;
}

vhost_table_t *vhost_table_new(size_t n)
{
    vhost_table_t *t = calloc(1, sizeof(*t));
    size_t size = 16;
    while (size < 2 * n + 2)
        size *= 2;
    if (t == NULL || (t->slots = calloc(size, sizeof(*t->slots))) == NULL) {
        free(t);
        return NULL;
    }
    t->mask = size - 1;
    return t;
}

void vhost_table_free(vhost_table_t *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i <= t->mask; i++)
        free(t->slots[i].name);
    free(t->slots);
    free(t);
}

static int vhost__grow(vhost_table_t *t)
{
    size_t size = 2 * (t->mask + 1);
    vhost_slot_t *slots = calloc(size, sizeof(*slots));
    if (slots == NULL)
        return -1;
    for (size_t i = 0; i <= t->mask; i++) {
        vhost_slot_t *s = &t->slots[i];
        if (s->name == NULL)
            continue;
        size_t j = s->hash & (size - 1);
        while (slots[j].name != NULL)
            j = (j + 1) & (size - 1);
        slots[j] = *s;
    }
    free(t->slots);
    t->slots = slots;
    t->mask = size - 1;
    return 0;
}

static const vhost_slot_t *vhost__find_hashed(const vhost_table_t *t, const char *name,
                                              size_t len, uint64_t h)
{
    for (size_t i = h & t->mask;; i = (i + 1) & t->mask) {
        const vhost_slot_t *s = &t->slots[i];
        if (s->name == NULL)
            return NULL;
        if (s->hash == h && s->len == len && memcmp(s->name, name, len) == 0)
            return s;
    }
}

static const vhost_slot_t *vhost__find(const vhost_table_t *t, const char *name, size_t len)
{
    return vhost__find_hashed(t, name, len, vhost__hash(name, len));
}

static int vhost__label_char(int c)
{
    return isalnum(c) || c == '-' || c == '_';
}

int vhost_name_ok(const char *name)
{
    size_t len = strlen(name);
    if (len > 0 && name[len - 1] == '.')
        len--;
    if (len == 0 || len > VHOST_NAME_MAX)
        return 0;
    if (name[0] == '[') {
        /* An IPv6 literal: what http_host_normalize keeps whole. */
        if (name[len - 1] != ']' || len < 4)
            return 0;
        for (size_t i = 1; i < len - 1; i++)
            if (!isxdigit((unsigned char)name[i]) && name[i] != ':' && name[i] != '.')
                return 0;
        return 1;
    }
    size_t i = 0;
    if (name[0] == '*') {
        if (len < 3 || name[1] != '.')
            return 0;
        i = 2;
    }
    /* Labels of letters, digits, '-' and '_', none empty. */
    int label = 0;
    for (; i < len; i++) {
        if (name[i] == '.') {
            if (label == 0)
                return 0;
            label = 0;
        } else if (vhost__label_char((unsigned char)name[i])) {
            label++;
        } else {
            return 0;
        }
    }
    return label > 0;
}

size_t vhost_name_normal(const char *name, char *out)
{
    size_t len = strlen(name);
    if (len > VHOST_NAME_MAX + 1)
        len = VHOST_NAME_MAX + 1;
    if (len > 0 && name[len - 1] == '.')
        len--;
    size_t skip = name[0] == '*' ? 1 : 0; /* "*.a.b" is kept as ".a.b" */
    for (size_t i = skip; i < len; i++)
        out[i - skip] = (char)tolower((unsigned char)name[i]);
    out[len - skip] = '\0';
    return len - skip;
}

int vhost_table_add(vhost_table_t *t, const char *name, int host, unsigned line,
                    unsigned *dup_line, int *dup_host)
{
    char norm[VHOST_NAME_MAX + 2];
    size_t len = vhost_name_normal(name, norm);
    const vhost_slot_t *old = vhost__find(t, norm, len);
    if (old != NULL) {
        *dup_line = old->line;
        *dup_host = old->host;
        return 1;
    }
    if (2 * (t->used + 1) > t->mask + 1 && vhost__grow(t) < 0)
        return -1;
    uint64_t h = vhost__hash(norm, len);
    size_t i = h & t->mask;
    while (t->slots[i].name != NULL)
        i = (i + 1) & t->mask;
    vhost_slot_t *s = &t->slots[i];
    if ((s->name = malloc(len + 1)) == NULL)
        return -1;
    memcpy(s->name, norm, len + 1);
    s->len = len;
    s->hash = h;
    s->host = host;
    s->line = line;
    t->used++;
    if (norm[0] == '.') {
        size_t labels = 0, last = 0;
        for (size_t k = 0; k < len; k++)
            if (norm[k] == '.') {
                labels++;
                last = k;
            }
        uint64_t tld = vhost__hash(norm + last, len - last);
        t->wildcards++;
        t->wild_labels |= VHOST__LABELS_BIT(labels);
        t->wild_tld[VHOST__TLD_BIT(tld) / 64] |= 1ULL << (VHOST__TLD_BIT(tld) % 64);
    }
    return 0;
}

int vhost_table_has(const vhost_table_t *t, const char *name, size_t len)
{
    return vhost__find(t, name, len) != NULL;
}

int vhost_match(const vhost_table_t *t, const char *name, size_t len)
{
    /* A leading dot is no name (and would find a wildcard's own entry). */
    if (t == NULL || t->used == 0 || len == 0 || len > VHOST_NAME_MAX || name[0] == '.')
        return VHOST_DEFAULT;
    /* One pass from the end: the whole name's hash, and on the way the
     * hash of each suffix that starts at a dot (".b.example.com", ...). */
    uint64_t at_dot[VHOST_NAME_MAX / 2 + 1];
    size_t dot[VHOST_NAME_MAX / 2 + 1], ndots = 0;
    uint64_t h = VHOST__SEED;
    for (size_t i = len; i-- > 0;) {
        h = VHOST__STEP(h, name[i]);
        /* The dot at 0 would be an empty first label, which Host never has. */
        if (name[i] == '.' && i > 0) {
            at_dot[ndots] = h;
            dot[ndots++] = i;
        }
    }
    const vhost_slot_t *s = vhost__find_hashed(t, name, len, h);
    if (s != NULL)
        return s->host;
    /* An IPv6 literal has no labels to walk. */
    if (name[0] == '[' || t->wildcards == 0 || ndots == 0)
        return VHOST_DEFAULT;
    /* at_dot[0] is the hash of ".tld": no wildcard ends in it, none can match. */
    uint64_t tld = VHOST__TLD_BIT(at_dot[0]);
    if (!(t->wild_tld[tld / 64] & (1ULL << (tld % 64))))
        return VHOST_DEFAULT;
    /* Longest suffix first: the dot nearest the start, found last; the
     * suffix at dot[k] has k + 1 labels. */
    while (ndots-- > 0) {
        if (!(t->wild_labels & VHOST__LABELS_BIT(ndots + 1)))
            continue;
        if ((s = vhost__find_hashed(t, name + dot[ndots], len - dot[ndots], at_dot[ndots])) != NULL)
            return s->host;
    }
    return VHOST_DEFAULT;
}

int vhost_match_header(const vhost_table_t *t, str_t host)
{
    char buf[VHOST_NAME_MAX + 2];
    if (host.p == NULL || host.len == 0 || t == NULL || t->used == 0)
        return VHOST_DEFAULT;
    /* The normal form, as http_host_normalize() makes it but without its
     * validation: the parser has refused an invalid Host already, and a
     * value that is not a name matches nothing in the table anyway. */
    size_t n = 0, i = 0;
    if (host.p[0] == '[') {
        while (i < host.len && host.p[i] != ']')
            i++;
        if (i == host.len)
            return VHOST_DEFAULT;
        i++;
    } else {
        while (i < host.len && host.p[i] != ':')
            i++;
        if (i > 0 && host.p[i - 1] == '.')
            i--;
    }
    if (i > VHOST_NAME_MAX)
        return VHOST_DEFAULT;
    for (; n < i; n++) {
        char c = host.p[n];
        buf[n] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
    }
    return vhost_match(t, buf, n);
}
