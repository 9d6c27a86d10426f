/* gq_rules.h — the GQSHIM_RULES grammar (README.md, "Rules") and matching.
 *
 *   GQSHIM_RULES = rule { ';' rule } [ ';' ]
 *   rule  = key=value { ',' key=value }
 *
 *   key     value                      default        notes
 *   on      host | dev                 (required)     which allocations the rule sees
 *   min     SIZE                       0              allocation size >= min
 *   max     SIZE                       no limit       allocation size <= max
 *   size    SIZE { '|' SIZE }          any            exact sizes, up to GQ_RULE_SIZES_MAX
 *   nth     A | A-B                    every          1 <= A <= B, see gq_rules_match
 *   dtype   f16 | bf16 | f32           f16
 *   bits    2 | 4 | 8                  GQSHIM_BITS    (4 when that is unset)
 *   group   N                          GQSHIM_GROUP   even, 8..1024 (64 when GQSHIM_GROUP is unset)
 *   dim     last | 0                   last
 *   cols    N                          -              1..2^31-1; required with dim=0, forbidden otherwise
 *   upload  compress                   -              on=host only: compress a range at its
 *                                                     first upload, upload it compressed after
 *   name    LABEL                      rule<k>        [A-Za-z0-9_.-]{1,32}; unique; k is the
 *                                                     1-based position of the rule
 *
 * SIZE is gq_parse_size's syntax (K, M, G = KiB, MiB, GiB). Whitespace around
 * keys, values and separators is ignored; one trailing ';' is allowed. An empty
 * or all-blank text parses to zero rules (the same as an unset variable).
 * Keys are case-sensitive (lower case), as are enum values.
 *
 * These are policy types only: dtype/bits/group/dim/cols are plain enums and
 * integers here, and the shim maps them onto the codec's own types.
 */
#ifndef GQ_RULES_H
#define GQ_RULES_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GQ_RULES_MAX 32          /* rules in one GQSHIM_RULES */
#define GQ_RULES_INPUT_MAX 4096  /* bytes of GQSHIM_RULES text */
#define GQ_RULE_SIZES_MAX 16     /* entries of one size= list */
#define GQ_RULE_NAME_MAX 32      /* characters of a name= label */
#define GQ_RULE_GROUP_MIN 8
#define GQ_RULE_GROUP_MAX 1024
#define GQ_RULE_COLS_MAX 2147483647u
#define GQ_RULES_ERR_MAX 640     /* room for one error line, NUL included */

enum gq_on { GQ_ON_HOST, GQ_ON_DEV };
enum gq_rule_dtype { GQ_RULE_F16, GQ_RULE_BF16, GQ_RULE_F32 };
enum gq_rule_dim { GQ_RULE_DIM_LAST, GQ_RULE_DIM_0 };

struct gq_rule {
    enum gq_on on;
    uint64_t min;                          /* inclusive */
    uint64_t max;                          /* inclusive; UINT64_MAX when unset */
    unsigned nsizes;                       /* 0: any size within [min, max] */
    uint64_t sizes[GQ_RULE_SIZES_MAX];
    uint64_t nth_lo, nth_hi;               /* 0, 0: every allocation; else 1 <= lo <= hi */
    enum gq_rule_dtype dtype;
    unsigned bits;                         /* 2, 4 or 8 */
    unsigned group;                        /* even, GQ_RULE_GROUP_MIN..GQ_RULE_GROUP_MAX */
    enum gq_rule_dim dim;
    uint64_t cols;                         /* dim=0 only; 0 with dim=last */
    char name[GQ_RULE_NAME_MAX + 1];
    bool upload_compress;                  /* upload=compress: compress at the first H2D */
    bool named;                            /* name= was given (the printer omits default names) */
    /* bits= / group= were given: the others inherit GQSHIM_BITS / GQSHIM_GROUP
     * (gq_rule_inherit); the printer writes exactly the explicit ones. */
    bool bits_set, group_set;
    unsigned index;                        /* 0-based position in the rule list */
    /* For a rule with nth=: allocations that reached this rule and passed its
     * on/size filter (rules without nth= do not count, to keep the hot path
     * free of shared writes). Only gq_rules_match changes it, atomically. */
    _Atomic uint64_t seen;
};

struct gq_rules {
    unsigned count;
    struct gq_rule rule[GQ_RULES_MAX];
};

/* Parses text (NUL-terminated; NULL means unset = zero rules) into *out.
 * Returns 0 on success. On error returns -1, leaves *out with zero rules, and
 * writes one line (no newline) into err[0..errcap) that names GQSHIM_RULES, the
 * rule (1-based, quoted), the key and the value at fault, and what is accepted.
 * Never allocates. Counters of the parsed rules start at zero. */
int gq_rules_parse(const char *text, struct gq_rules *out, char *err, size_t errcap);

/* The same for the span text[0..len), which needs no terminator (NULL text
 * with len 0 means unset). */
int gq_rules_parse_span(const char *text, size_t len, struct gq_rules *out, char *err,
                        size_t errcap);

/* True when `size` passes the rule's min/max/size filter (nth not considered). */
bool gq_rule_size_ok(const struct gq_rule *r, uint64_t size);

/* The rule that takes a new allocation of `size` bytes seen `on` host or dev,
 * or NULL. Rules are tried in order; a rule whose on/size filter passes counts
 * the allocation (atomically, lock-free: safe from many threads at once) and
 * takes it when the count lies in its nth range, else the next rule is tried.
 * So an allocation taken by an earlier rule is never counted by a later one.
 * No allocation, no locks, no system calls. */
const struct gq_rule *gq_rules_match(struct gq_rules *rules, enum gq_on on, uint64_t size);

/* What gq_rules_match would answer now, without counting: each rule's nth range
 * is checked against its count + 1. For tracing; a snapshot when other threads
 * allocate concurrently. */
const struct gq_rule *gq_rules_would_match(const struct gq_rules *rules, enum gq_on on,
                                           uint64_t size);

/* The values bits= and group= accept (the same checks GQSHIM_BITS and
 * GQSHIM_GROUP use). */
bool gq_rule_bits_ok(uint64_t bits);
bool gq_rule_group_ok(uint64_t group);

/* Gives a rule that did not set bits= / group= these values (defaults from
 * GQSHIM_BITS / GQSHIM_GROUP); explicit values stay. */
void gq_rule_inherit(struct gq_rule *r, unsigned bits, unsigned group);

/* Sets every rule's nth counter back to zero. */
void gq_rules_reset_counts(struct gq_rules *rules);

/* Prints one rule / the whole list in canonical form (keys in grammar order,
 * defaults omitted except on=, bits= and group= exactly when given, sizes with
 * the largest exact suffix), which gq_rules_parse reads back to the same rules
 * (an inherited bits/group is left to the same GQSHIM_BITS / GQSHIM_GROUP). Returns what snprintf would:
 * the length needed, excluding the NUL; output is truncated to cap. */
int gq_rule_format(const struct gq_rule *r, char *buf, size_t cap);
int gq_rules_format(const struct gq_rules *rules, char *buf, size_t cap);

/* The grammar and every key with what it accepts and its default, as help
 * text (part of `gqrun --help`). Returns what snprintf would. */
int gq_rules_help(char *buf, size_t cap);

/* Spellings used by the parser and printer ("host", "f16", "last", ...). */
const char *gq_on_name(enum gq_on on);
const char *gq_rule_dtype_name(enum gq_rule_dtype dtype);
const char *gq_rule_dim_name(enum gq_rule_dim dim);

/* Bytes of one element of dtype (2, 2 or 4). */
unsigned gq_rule_dtype_size(enum gq_rule_dtype dtype);

#endif
