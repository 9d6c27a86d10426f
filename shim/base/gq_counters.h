/*
 * gq_counters.h — what the shim did, counted with relaxed atomics (no lock
 * on any path). The exit report that prints them is core/gq_report.c.
 */
#ifndef GQ_COUNTERS_H
#define GQ_COUNTERS_H

#include <stdint.h>

struct gq_rule;

/* Why an intercepted copy went to the real runtime unchanged.
 * X(ID, text for the table) */
#define GQ_PASS_REASONS(X)                                              \
    X(NO_RULE, "not a registered tensor")                               \
    X(DIRECTION, "direction not compressed (D2D, H2H)")                 \
    X(SMALL, "smaller than one page")                                   \
    X(ALIGN, "not aligned to elements / rows")                          \
    X(CAPTURING, "stream capturing a graph")                            \
    X(BUDGET, "store over GQSHIM_POOL_MAX")                             \
    X(DRIVER, "driver or kernel unavailable")                           \
    X(NOT_HELD, "copy-back of a range not held compressed")             \
    X(WRITTEN, "copy-back of a buffer written since offload")           \
    X(SPANS, "copy-back spanning several entries or plain memory")      \
    X(LAUNCH, "kernel launch failed")                                   \
    X(ESCAPES, "too many NaN/Inf groups (copied raw)")                  \
    X(GROWING, "store adding pinned memory (copied raw meanwhile)")

enum gq_pass_reason {
#define GQ_X(id, text) GQ_PASS_##id,
    GQ_PASS_REASONS(GQ_X)
#undef GQ_X
    GQ_PASS_COUNT
};

/* Per-rule counters are indexed by gq_rule.index: the GQSHIM_RULES positions
 * (< GQ_RULES_MAX, 32) and then the rules gq_register makes (256 more, see
 * gq_api.c). A rule past these is counted in the totals only. */
#define GQ_STATS_RULES (32 + 256)
/* The shim's kernels, indexed by enum gq_kfn (gpu/gq_ktime.c checks the bound). */
#define GQ_STATS_KERNELS 4

struct gq_rule_stats {
    uint64_t offloads, restores;
    uint64_t logical_bytes, moved_bytes;
};

struct gq_stats {
    uint64_t copies;             /* intercepted copies of any kind */
    uint64_t offloads;           /* D2H copies compressed */
    uint64_t restores;           /* H2D copies served from compressed entries */
    uint64_t passed[GQ_PASS_COUNT];
    uint64_t logical_bytes;      /* bytes the program asked to move, compressed copies */
    uint64_t moved_bytes;        /* bytes that crossed to or from the store for them */
    uint64_t passthrough_bytes;  /* bytes moved by pass-through copies */
    uint64_t escaped_groups;     /* groups kept raw (NaN/Inf) */
    uint64_t staged;             /* compressed copies staged through device memory */
    uint64_t unstaged;           /* ... made zero-copy: no staging, or a segment too big */
    uint64_t regions_dev, regions_host;
    /* GQSHIM_STATS only: launches of each kernel, how many of them were
     * timed with CUDA events, and their summed time (gq_ktime.h). */
    uint64_t kernel_launches[GQ_STATS_KERNELS];
    uint64_t kernel_timed[GQ_STATS_KERNELS];
    uint64_t kernel_ns[GQ_STATS_KERNELS];
    struct gq_rule_stats rule[GQ_STATS_RULES];
};

extern struct gq_stats gq_stats_g;

#define GQ_STAT_ADD(field, n) __atomic_fetch_add(&gq_stats_g.field, (uint64_t)(n), __ATOMIC_RELAXED)

/* A compressed offload / restore under `rule`: the totals and the rule's row.
 * `logical` bytes the program asked to move, `moved` bytes that crossed. */
void gq_stats_offload(const struct gq_rule *rule, uint64_t logical, uint64_t moved);
void gq_stats_restore(const struct gq_rule *rule, uint64_t logical, uint64_t moved);

/* The table's text for a pass-through reason ("not a registered tensor"),
 * and its JSON key ("NO_RULE"). */
const char *gq_stats_pass_text(int why);
const char *gq_stats_pass_key(int why);

/* The rule behind per-rule row i once it has counted something, else NULL. */
const struct gq_rule *gq_stats_rule_of(unsigned i);

#endif
