/* gq_parse.c — value syntaxes and message quoting; see gq_parse.h. */
#include "gq_parse.h"

#include <stdarg.h>

#include <stdio.h>
#include <string.h>

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

void gq_trim(const char **s, size_t *n)
{
    while (*n > 0 && is_space((*s)[0])) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && is_space((*s)[*n - 1]))
        (*n)--;
}

bool gq_span_ieq(const char *s, size_t n, const char *word)
{
    size_t wn = strlen(word);
    if (wn != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (lower(s[i]) != lower(word[i]))
            return false;
    return true;
}

/* Reads the leading digits of the span; *used is how many were read. */
static enum gq_parse_rc parse_digits(const char *s, size_t n, uint64_t *out, size_t *used)
{
    uint64_t v = 0;
    size_t i = 0;
    bool overflow = false;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            overflow = true; /* keep scanning so trailing garbage is still a syntax error */
        else
            v = v * 10 + d;
    }
    *used = i;
    if (i == 0)
        return GQ_PARSE_SYNTAX;
    *out = v;
    return overflow ? GQ_PARSE_RANGE : GQ_PARSE_OK;
}

enum gq_parse_rc gq_parse_u64(const char *s, size_t n, uint64_t *out)
{
    uint64_t v;
    size_t used;
    enum gq_parse_rc rc = parse_digits(s, n, &v, &used);
    if (used != n || used == 0)
        return GQ_PARSE_SYNTAX;
    if (rc == GQ_PARSE_OK)
        *out = v;
    return rc;
}

enum gq_parse_rc gq_parse_size(const char *s, size_t n, uint64_t *out)
{
    uint64_t v;
    size_t used;
    enum gq_parse_rc rc = parse_digits(s, n, &v, &used);
    if (used == 0)
        return GQ_PARSE_SYNTAX;
    const char *suf = s + used;
    size_t sn = n - used;
    unsigned shift = 0;
    if (sn > 0) {
        switch (lower(suf[0])) {
        case 'k': shift = 10; break;
        case 'm': shift = 20; break;
        case 'g': shift = 30; break;
        default: return GQ_PARSE_SYNTAX;
        }
        if (sn != 1 && !gq_span_ieq(suf + 1, sn - 1, "ib"))
            return GQ_PARSE_SYNTAX;
    }
    if (rc != GQ_PARSE_OK)
        return rc;
    if (shift && v > (UINT64_MAX >> shift))
        return GQ_PARSE_RANGE;
    *out = v << shift;
    return GQ_PARSE_OK;
}

enum gq_parse_rc gq_parse_bool(const char *s, size_t n, bool *out)
{
    static const char *const yes[] = { "1", "true", "yes", "on" };
    static const char *const no[] = { "0", "false", "no", "off" };
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (gq_span_ieq(s, n, yes[i])) {
            *out = true;
            return GQ_PARSE_OK;
        }
        if (gq_span_ieq(s, n, no[i])) {
            *out = false;
            return GQ_PARSE_OK;
        }
    }
    return GQ_PARSE_SYNTAX;
}

/* Appends one byte to a bounded buffer, keeping room for the terminator. */
static void put(char *dst, size_t cap, size_t *len, char c)
{
    if (*len + 1 < cap)
        dst[*len] = c;
    (*len)++;
}

static void puts_b(char *dst, size_t cap, size_t *len, const char *str)
{
    for (; *str; str++)
        put(dst, cap, len, *str);
}

size_t gq_quote(char *dst, size_t cap, const char *s, size_t n)
{
    return gq_quote_max(dst, cap, s, n, GQ_QUOTE_SHOWN);
}

size_t gq_quote_max(char *dst, size_t cap, const char *s, size_t n, size_t max_shown)
{
    static const char hex[] = "0123456789abcdef";
    size_t len = 0;
    if (cap == 0)
        return 0;
    if (!s) {
        puts_b(dst, cap, &len, "(unset)");
    } else {
        size_t shown = n > max_shown ? max_shown : n;
        put(dst, cap, &len, '\'');
        for (size_t i = 0; i < shown; i++) {
            unsigned char c = (unsigned char)s[i];
            if (c < 0x20 || c > 0x7e || c == '\'' || c == '\\') {
                put(dst, cap, &len, '\\');
                put(dst, cap, &len, 'x');
                put(dst, cap, &len, hex[c >> 4]);
                put(dst, cap, &len, hex[c & 15]);
            } else {
                put(dst, cap, &len, (char)c);
            }
        }
        if (shown < n) {
            char tail[40];
            snprintf(tail, sizeof tail, "...' (%zu bytes)", n);
            puts_b(dst, cap, &len, tail);
        } else {
            put(dst, cap, &len, '\'');
        }
    }
    size_t end = len < cap ? len : cap - 1;
    dst[end] = '\0';
    return end;
}

int gq_format_size(char *dst, size_t cap, uint64_t v)
{
    static const struct { unsigned shift; char suffix; } units[] = {
        { 30, 'G' }, { 20, 'M' }, { 10, 'K' },
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        uint64_t unit = (uint64_t)1 << units[i].shift;
        if (v != 0 && v % unit == 0)
            return snprintf(dst, cap, "%llu%c", (unsigned long long)(v / unit), units[i].suffix);
    }
    return snprintf(dst, cap, "%llu", (unsigned long long)v);
}

void gq_out_emit(struct gq_out *o, const char *fmt, ...)
{
    char scratch[1];
    va_list ap;
    va_start(ap, fmt);
    int n = o->len < o->cap ? vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap)
                            : vsnprintf(scratch, 0, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->len += (size_t)n;
}

int gq_out_finish(struct gq_out *o)
{
    if (o->cap > 0)
        o->buf[o->len < o->cap ? o->len : o->cap - 1] = '\0';
    return (int)o->len;
}
