/* The counters (see gq_counters.h). */
#include "base/gq_counters.h"

#include "gq_rules.h"

struct gq_stats gq_stats_g;

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
