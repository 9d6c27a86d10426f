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
    X(ESCAPES, "too many NaN/Inf groups (copied raw)")                 \
    X(FOREIGN, "data not of the rule's dtype (copied raw)")            \
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
    uint64_t escape_retries;     /* quantized again, with room for every escaped group */
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

/* Host memory held by compressed entries: the blocks' bytes and the plain
 * size of the tensors they hold, now and at the blocks' peak (sampled at
 * every change, so the peak survives the program freeing its buffers). */
struct gq_held {
    uint64_t block_bytes, plain_bytes;          /* now */
    uint64_t peak_block_bytes, plain_at_peak;   /* at the peak of block_bytes */
};
extern struct gq_held gq_held_g;

/* An entry of `block` compressed bytes holding `plain` bytes of a tensor
 * appeared (sign +1) or went away (-1). */
void gq_stats_held(int sign, uint64_t block, uint64_t plain);

/* Per tensor: one row per host range [host, host+len) that held a
 * compressed copy (the buffer an offload went into, or an upload=compress
 * range), found or added lock-free; GQ_STATS_TENSORS rows, the rest counted
 * in gq_tensors_untracked only. */
#define GQ_STATS_TENSORS 1024
struct gq_tensor_stats {
    uintptr_t host;          /* 0: free row */
    uint64_t len;
    unsigned rule;           /* gq_rule.index */
    uint64_t seq;            /* order in which rows were first used */
    uint64_t offloads, restores, logical_bytes, moved_bytes;
    /* GQSHIM_VERIFY, folded like the per-rule totals (xfer/gq_verify.c) */
    uint64_t v_offloads, v_elements, v_sse_bits, v_ss_bits;
    uint32_t v_max_bits;
};
extern struct gq_tensor_stats gq_tensors_g[GQ_STATS_TENSORS];
extern uint64_t gq_tensors_untracked;

/* The row of the tensor at [host, host+len) under `rule`, or
 * GQ_STATS_TENSORS when the table is full. */
unsigned gq_stats_tensor(const struct gq_rule *rule, uintptr_t host, uint64_t len);
void gq_stats_tensor_copy(unsigned t, int restore, uint64_t logical, uint64_t moved);
void gq_stats_tensor_verify(unsigned t, uint64_t elements, double sse, double ss,
                            uint32_t max_abs_bits);

/* Wall-clock start of the process's use of the shim (set at load). */
void gq_stats_mark_start(void);
struct timespec;
void gq_stats_start(struct timespec *realtime, struct timespec *monotonic);

#define GQ_STAT_ADD(field, n) __atomic_fetch_add(&gq_stats_g.field, (uint64_t)(n), __ATOMIC_RELAXED)

/* A compressed offload / restore under `rule`: the totals and the rule's row.
 * `logical` bytes the program asked to move, `moved` bytes that crossed. */
void gq_stats_offload(const struct gq_rule *rule, uint64_t logical, uint64_t moved);
void gq_stats_restore(const struct gq_rule *rule, uint64_t logical, uint64_t moved);

/* An asynchronous offload counted by gq_stats_offload turned out, once its
 * kernel had run, to have gone raw (`why`: ESCAPES or FOREIGN): moves its
 * counts to the pass-through side. */
void gq_stats_offload_undone(const struct gq_rule *rule, uint64_t logical, uint64_t moved,
                             int why);

/* The table's text for a pass-through reason ("not a registered tensor"),
 * and its JSON key ("NO_RULE"). */
const char *gq_stats_pass_text(int why);
const char *gq_stats_pass_key(int why);

/* The rule behind per-rule row i once it has counted something, else NULL. */
const struct gq_rule *gq_stats_rule_of(unsigned i);

#endif
