/* The counters (see gq_counters.h). */
#include "base/gq_counters.h"

#include "gq_rules.h"

#include <string.h>
#include <time.h>

struct gq_stats gq_stats_g;
struct gq_held gq_held_g;
struct gq_tensor_stats gq_tensors_g[GQ_STATS_TENSORS];
uint64_t gq_tensors_untracked;
static struct timespec start_real, start_mono;

_Static_assert(GQ_STATS_RULES >= GQ_RULES_MAX, "every GQSHIM_RULES rule needs a per-rule row");

/* The rule behind each per-rule row, for its name: rules are never freed. */
static const struct gq_rule *rule_of[GQ_STATS_RULES];

static void rule_add(const struct gq_rule *rule, int restore, uint64_t logical, uint64_t moved)
{
    if (!rule || rule->index >= GQ_STATS_RULES)
        return;
    struct gq_rule_stats *r = &gq_stats_g.rule[rule->index];
    __atomic_store_n(&rule_of[rule->index], rule, __ATOMIC_RELAXED);
    __atomic_fetch_add(restore ? &r->restores : &r->offloads, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&r->logical_bytes, logical, __ATOMIC_RELAXED);
    __atomic_fetch_add(&r->moved_bytes, moved, __ATOMIC_RELAXED);
}

void gq_stats_offload(const struct gq_rule *rule, uint64_t logical, uint64_t moved)
{
    GQ_STAT_ADD(offloads, 1);
    GQ_STAT_ADD(logical_bytes, logical);
    GQ_STAT_ADD(moved_bytes, moved);
    rule_add(rule, 0, logical, moved);
}

void gq_stats_restore(const struct gq_rule *rule, uint64_t logical, uint64_t moved)
{
    GQ_STAT_ADD(restores, 1);
    GQ_STAT_ADD(logical_bytes, logical);
    GQ_STAT_ADD(moved_bytes, moved);
    rule_add(rule, 1, logical, moved);
}

void gq_stats_offload_undone(const struct gq_rule *rule, uint64_t logical, uint64_t moved, int why)
{
    /* The offload may not be counted yet (its thread is between the launch
     * and gq_stats_offload): the totals are right once both have run. */
    GQ_STAT_ADD(offloads, -1);
    GQ_STAT_ADD(logical_bytes, -logical);
    GQ_STAT_ADD(moved_bytes, -moved);
    if (why >= 0 && why < GQ_PASS_COUNT)
        GQ_STAT_ADD(passed[why], 1);
    GQ_STAT_ADD(passthrough_bytes, logical);
    if (!rule || rule->index >= GQ_STATS_RULES)
        return;
    struct gq_rule_stats *r = &gq_stats_g.rule[rule->index];
    __atomic_fetch_sub(&r->offloads, 1, __ATOMIC_RELAXED);
    __atomic_fetch_sub(&r->logical_bytes, logical, __ATOMIC_RELAXED);
    __atomic_fetch_sub(&r->moved_bytes, moved, __ATOMIC_RELAXED);
}

const struct gq_rule *gq_stats_rule_of(unsigned i)
{
    return i < GQ_STATS_RULES ? __atomic_load_n(&rule_of[i], __ATOMIC_RELAXED) : NULL;
}

static const char *const pass_text[GQ_PASS_COUNT] = {
#define GQ_X(id, text) [GQ_PASS_##id] = text,
    GQ_PASS_REASONS(GQ_X)
#undef GQ_X
};

static const char *const pass_key[GQ_PASS_COUNT] = {
#define GQ_X(id, text) [GQ_PASS_##id] = #id,
    GQ_PASS_REASONS(GQ_X)
#undef GQ_X
};

const char *gq_stats_pass_text(int why)
{
    return why >= 0 && why < GQ_PASS_COUNT ? pass_text[why] : "?";
}

const char *gq_stats_pass_key(int why)
{
    return why >= 0 && why < GQ_PASS_COUNT ? pass_key[why] : "?";
}

void gq_stats_held(int sign, uint64_t block, uint64_t plain)
{
    if (sign < 0) {
        __atomic_fetch_sub(&gq_held_g.plain_bytes, plain, __ATOMIC_RELAXED);
        __atomic_fetch_sub(&gq_held_g.block_bytes, block, __ATOMIC_RELAXED);
        return;
    }
    uint64_t p = __atomic_add_fetch(&gq_held_g.plain_bytes, plain, __ATOMIC_RELAXED);
    uint64_t now = __atomic_add_fetch(&gq_held_g.block_bytes, block, __ATOMIC_RELAXED);
    uint64_t peak = __atomic_load_n(&gq_held_g.peak_block_bytes, __ATOMIC_RELAXED);
    while (now > peak) {
        if (__atomic_compare_exchange_n(&gq_held_g.peak_block_bytes, &peak, now, 0,
                                        __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
            /* The pair is read apart: exact when one thread offloads at a time. */
            __atomic_store_n(&gq_held_g.plain_at_peak, p, __ATOMIC_RELAXED);
            break;
        }
    }
}

unsigned gq_stats_tensor(const struct gq_rule *rule, uintptr_t host, uint64_t len)
{
    if (!host) {
        __atomic_fetch_add(&gq_tensors_untracked, 1, __ATOMIC_RELAXED);
        return GQ_STATS_TENSORS;
    }
    unsigned h = (unsigned)(((uint64_t)host * 0x9E3779B97F4A7C15ull) >> 54) % GQ_STATS_TENSORS;
    for (unsigned k = 0; k < GQ_STATS_TENSORS; k++) {
        struct gq_tensor_stats *t = &gq_tensors_g[(h + k) % GQ_STATS_TENSORS];
        uintptr_t cur = __atomic_load_n(&t->host, __ATOMIC_ACQUIRE);
        if (cur == 0) {
            /* Claim the row; len and rule are written before anyone counts
             * in it (a racing finder of the same key waits below). */
            if (__atomic_compare_exchange_n(&t->host, &cur, host, 0,
                                            __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
                static uint64_t next_seq;
                __atomic_store_n(&t->rule, rule ? rule->index : 0, __ATOMIC_RELAXED);
                __atomic_store_n(&t->seq, __atomic_fetch_add(&next_seq, 1, __ATOMIC_RELAXED),
                                 __ATOMIC_RELAXED);
                __atomic_store_n(&t->len, len, __ATOMIC_RELEASE);
                return (unsigned)(t - gq_tensors_g);
            }
        }
        if (cur == host) {
            uint64_t l;
            while ((l = __atomic_load_n(&t->len, __ATOMIC_ACQUIRE)) == 0)
                ; /* its claimer is between two stores */
            if (l == len)
                return (unsigned)(t - gq_tensors_g);
        }
    }
    __atomic_fetch_add(&gq_tensors_untracked, 1, __ATOMIC_RELAXED);
    return GQ_STATS_TENSORS;
}

void gq_stats_tensor_copy(unsigned t, int restore, uint64_t logical, uint64_t moved)
{
    if (t >= GQ_STATS_TENSORS)
        return;
    struct gq_tensor_stats *r = &gq_tensors_g[t];
    __atomic_fetch_add(restore ? &r->restores : &r->offloads, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&r->logical_bytes, logical, __ATOMIC_RELAXED);
    __atomic_fetch_add(&r->moved_bytes, moved, __ATOMIC_RELAXED);
}

static void add_f64(uint64_t *bits, double v)
{
    uint64_t old = __atomic_load_n(bits, __ATOMIC_RELAXED), upd;
    do {
        double d;
        memcpy(&d, &old, sizeof d);
        d += v;
        memcpy(&upd, &d, sizeof upd);
    } while (!__atomic_compare_exchange_n(bits, &old, upd, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
}

void gq_stats_tensor_verify(unsigned t, uint64_t elements, double sse, double ss,
                            uint32_t max_abs_bits)
{
    if (t >= GQ_STATS_TENSORS)
        return;
    struct gq_tensor_stats *r = &gq_tensors_g[t];
    __atomic_fetch_add(&r->v_offloads, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&r->v_elements, elements, __ATOMIC_RELAXED);
    add_f64(&r->v_sse_bits, sse);
    add_f64(&r->v_ss_bits, ss);
    uint32_t cur = __atomic_load_n(&r->v_max_bits, __ATOMIC_RELAXED);
    while (max_abs_bits > cur &&
           !__atomic_compare_exchange_n(&r->v_max_bits, &cur, max_abs_bits, 0, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED))
        ;
}

void gq_stats_mark_start(void)
{
    clock_gettime(CLOCK_REALTIME, &start_real);
    clock_gettime(CLOCK_MONOTONIC, &start_mono);
}

void gq_stats_start(struct timespec *realtime, struct timespec *monotonic)
{
    *realtime = start_real;
    *monotonic = start_mono;
}
