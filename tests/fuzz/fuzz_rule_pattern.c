/*
 * libFuzzer target for location patterns: whatever the key, the parser
 * either refuses it with a reason or returns a slice inside the key, of
 * the form its kind promises (a path starts with "/" and has no space);
 * and a regex's literal start is never longer than the regex, and is empty
 * unless the regex begins with "^".
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rule_pattern.h"

static void fuzz_regex_prefix(const char *re, size_t size)
{
    char *lit = malloc(size ? size : 1);
    if (lit == NULL)
        return;
    size_t n = rule_pattern_regex_prefix(re, size, lit);
    if (n > size || (n > 0 && re[0] != '^') || (n > 0 && size < 2))
        abort();
    for (size_t i = 0; i < n; i++)
        if (memchr(re + 1, lit[i], size - 1) == NULL)
            abort();
    free(lit);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_regex_prefix((const char *)data, size);
    rule_pattern_t p;
    const char *why = NULL;
    const char *key = (const char *)data;
    if (rule_pattern_parse(key, size, &p, &why) < 0) {
        if (why == NULL || why[0] == '\0')
            abort();
        return 0;
    }
    if (p.len == 0 || p.off > size || p.len > size - p.off)
        abort();
    const char *t = key + p.off;
    switch (p.kind) {
    case RULE_PATTERN_EXACT:
    case RULE_PATTERN_PREFIX:
    case RULE_PATTERN_PREFIX_STOP:
        if (t[0] != '/' || memchr(t, ' ', p.len) != NULL || memchr(t, '\0', p.len) != NULL)
            abort();
        break;
    case RULE_PATTERN_REGEX:
        if (memchr(t, '\0', p.len) != NULL)
            abort();
        break;
    case RULE_PATTERN_NAMED:
        if (t[0] != '@' || p.len < 2)
            abort();
        break;
    default:
        abort();
    }
    return 0;
}
