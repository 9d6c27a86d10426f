/* gq_parse.h — the value syntaxes shared by the option table and the rule
 * grammar, and safe quoting of user text inside one-line messages.
 *
 * Every parser works on a span (pointer + length) so that rule tokens can be
 * parsed in place without copying; none of them allocates, none reads past
 * s[n - 1], none accepts leading or trailing garbage. Callers trim whitespace.
 */
#ifndef GQ_PARSE_H
#define GQ_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum gq_parse_rc {
    GQ_PARSE_OK = 0,
    GQ_PARSE_SYNTAX = -1, /* not in the accepted spelling (includes empty, signs, garbage) */
    GQ_PARSE_RANGE = -2,  /* well formed, but does not fit in 64 bits */
};

/* What gq_parse_size accepts, for messages and help text. */
#define GQ_ACCEPT_SIZE "bytes as digits with an optional suffix K, M, G (or KiB, MiB, GiB) = 2^10, 2^20, 2^30"
#define GQ_ACCEPT_BOOL "1|0|true|false|yes|no|on|off"

/* A size: decimal digits, then optionally one of K, M, G (case-insensitive),
 * optionally followed by "iB" (e.g. 4K, 4k, 4KiB). No sign, no spaces, no
 * fraction. Overflow of 64 bits is GQ_PARSE_RANGE. */
enum gq_parse_rc gq_parse_size(const char *s, size_t n, uint64_t *out);

/* A plain unsigned decimal integer: digits only. */
enum gq_parse_rc gq_parse_u64(const char *s, size_t n, uint64_t *out);

/* A boolean: one of GQ_ACCEPT_BOOL, case-insensitive. */
enum gq_parse_rc gq_parse_bool(const char *s, size_t n, bool *out);

/* Shrinks [*s, *s + *n) to drop leading and trailing ASCII whitespace. */
void gq_trim(const char **s, size_t *n);

/* True when the span equals the NUL-terminated word, ignoring ASCII case. */
bool gq_span_ieq(const char *s, size_t n, const char *word);

/* Writes s[0..n) into dst as a single-quoted, printable, bounded string:
 * bytes outside 0x20..0x7e (and the quote and backslash) become \xNN, and
 * beyond GQ_QUOTE_SHOWN shown bytes the text ends in "...' (N bytes)". Always
 * NUL-terminates when cap > 0; returns strlen(dst). A NULL s quotes as
 * (unset). The result never contains a newline. */
#define GQ_QUOTE_SHOWN 48
size_t gq_quote(char *dst, size_t cap, const char *s, size_t n);
/* The same with at most `shown` bytes of s shown. */
size_t gq_quote_max(char *dst, size_t cap, const char *s, size_t n, size_t shown);

/* Formats a byte count with the largest suffix that divides it exactly
 * (1048576 -> "1M", 1536 -> "1536", 3072 -> "3K"); gq_parse_size reads the
 * result back to the same value. Returns what snprintf would. */
int gq_format_size(char *dst, size_t cap, uint64_t v);

/* A bounded text appender that keeps counting past the end, like snprintf:
 * the renderers report the length they needed even when truncated. */
struct gq_out {
    char *buf;
    size_t cap;
    size_t len;
};

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void gq_out_emit(struct gq_out *o, const char *fmt, ...);

/* NUL-terminates what fits; returns the full length needed. */
int gq_out_finish(struct gq_out *o);

#endif
