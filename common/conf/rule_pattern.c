/*
 * rule_pattern: see rule_pattern.h.
 */
#include "rule_pattern.h"

#include <ctype.h>
#include <string.h>

int rule_pattern_parse(const char *key, size_t len, rule_pattern_t *out, const char **why)
{
    size_t i = 0;
    memset(out, 0, sizeof(*out));
    if (len == 0) {
        *why = "an empty pattern";
        return -1;
    }
    if (key[0] == '@') {
        out->kind = RULE_PATTERN_NAMED;
        if (len < 2) {
            *why = "a named location needs a name after @";
            return -1;
        }
        for (i = 1; i < len; i++)
            if ((unsigned char)key[i] <= 0x20 || (unsigned char)key[i] >= 0x7f) {
                *why = "a named location's name is printable, without spaces";
                return -1;
            }
        out->len = len;
        return 0;
    }
    if (key[0] == '/') {
        out->kind = RULE_PATTERN_PREFIX;
    } else {
        /* A modifier, then at least one space. */
        size_t m = 0;
        while (m < len && key[m] != ' ' && key[m] != '\t')
            m++;
        if (m == 1 && key[0] == '=')
            out->kind = RULE_PATTERN_EXACT;
        else if (m == 2 && key[0] == '^' && key[1] == '~')
            out->kind = RULE_PATTERN_PREFIX_STOP;
        else if (m == 1 && key[0] == '~')
            out->kind = RULE_PATTERN_REGEX;
        else if (m == 2 && key[0] == '~' && key[1] == '*')
            out->kind = RULE_PATTERN_REGEX, out->caseless = 1;
        else {
            *why = "expected \"= /path\", \"/prefix\", \"^~ /prefix\", \"~ regex\", \"~* regex\" "
                   "or \"@name\"";
            return -1;
        }
        i = m;
        while (i < len && (key[i] == ' ' || key[i] == '\t'))
            i++;
        if (i == m || i == len) {
            *why = "expected a path or regex after the modifier and a space";
            return -1;
        }
    }
    out->off = i;
    out->len = len - i;
    if (out->kind != RULE_PATTERN_REGEX) {
        if (key[i] != '/') {
            *why = "a path starts with /";
            return -1;
        }
        for (size_t j = i; j < len; j++)
            if ((unsigned char)key[j] <= 0x20 || (unsigned char)key[j] >= 0x7f) {
                *why = "a path is matched decoded: write it without spaces or control "
                       "characters (a regex can match those)";
                return -1;
            }
    } else {
        for (size_t j = i; j < len; j++)
            if (key[j] == '\0') {
                *why = "a NUL byte in a regex";
                return -1;
            }
    }
    return 0;
}


/* 1 when re[0..len) has a "|" outside every group and class: "^/a|/b"
 * is anchored in its first alternative only. \Q...\E quotes. */
static int rule_pattern__top_alternative(const char *re, size_t len)
{
    int depth = 0;
    for (size_t i = 0; i < len; i++) {
        char c = re[i];
        if (c == '\\') {
            if (i + 1 < len && re[i + 1] == 'Q') {
                for (i += 2; i + 1 < len && !(re[i] == '\\' && re[i + 1] == 'E'); i++)
                    ;
            }
            i++;
        } else if (c == '[') {
            /* A "]" first in the class ("[]a]", "[^]a]") is a member. */
            i++;
            if (i < len && re[i] == '^')
                i++;
            if (i < len && re[i] == ']')
                i++;
            for (; i < len && re[i] != ']'; i++)
                if (re[i] == '\\')
                    i++;
        } else if (c == '(') {
            depth++;
        } else if (c == ')') {
            depth--;
        } else if (c == '|' && depth <= 0) {
            return 1;
        }
    }
    return 0;
}

size_t rule_pattern_regex_prefix(const char *re, size_t len, char *lit)
{
    if (len < 2 || re[0] != '^' || rule_pattern__top_alternative(re, len))
        return 0;
    size_t n = 0;
    for (size_t i = 1; i < len; i++) {
        unsigned char c = (unsigned char)re[i];
        if (c == '?' || c == '*' || c == '{') {
            /* The byte before may be absent: "^/ab?" promises "/a". */
            return n > 0 ? n - 1 : 0;
        }
        if (c == '\\') {
            /* A backslash before a letter or digit is a class, an
             * assertion or a reference; before anything else, a literal. */
            if (i + 1 >= len || isalnum((unsigned char)re[i + 1]) || (unsigned char)re[i + 1] >= 0x80)
                return n;
            lit[n++] = re[++i];
            continue;
        }
        /* "+" keeps the byte before (it is there at least once). */
        if (c == '\0' || c >= 0x80 || strchr(".^$|()[]+", c) != NULL)
            return n;
        lit[n++] = (char)c;
    }
    return n;
}
