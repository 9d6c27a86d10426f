/* Copies whose data was not of their rule's dtype (see gq_foreign.h). */
#include "base/gq_foreign.h"

#include "base/gq_counters.h"
#include "base/gq_log.h"
#include "gq_dtype.h"

static uint64_t refused[GQ_STATS_RULES]; /* atomic */
static int warned[GQ_STATS_RULES];       /* atomic */
static int warned_unlisted;

int gq_foreign_refused(const struct gq_header *h)
{
    struct gq_params p = {h->bits, h->group, h->dtype, h->axis, h->cols};
    struct gq_layout l;
    uint32_t foreign = __atomic_load_n(&h->foreign, __ATOMIC_ACQUIRE);
    if (!__atomic_load_n(&h->overflow, __ATOMIC_ACQUIRE) || foreign == 0 ||
        gq_layout_init(&l, &p, h->n_elems, 0) != GQ_OK)
        return 0;
    return foreign > gq_dtype_foreign_limit(l.n_groups);
}

void gq_foreign_note(const struct gq_rule *rule, size_t bytes)
{
    int *once = &warned_unlisted;
    if (rule && rule->index < GQ_STATS_RULES) {
        __atomic_fetch_add(&refused[rule->index], 1, __ATOMIC_RELAXED);
        once = &warned[rule->index];
    }
    if (__atomic_exchange_n(once, 1, __ATOMIC_RELAXED))
        return;
    gq_warn("rule %s (dtype=%s): a copy of %zu bytes does not hold %s data (integers, another "
            "float type or packed blocks); such copies stay exact, uncompressed (stats: FOREIGN)",
            rule ? rule->name : "?", rule ? gq_rule_dtype_name(rule->dtype) : "?", bytes,
            rule ? gq_rule_dtype_name(rule->dtype) : "its");
}

uint64_t gq_foreign_count(unsigned rule_index)
{
    return rule_index < GQ_STATS_RULES ? __atomic_load_n(&refused[rule_index], __ATOMIC_RELAXED) : 0;
}

unsigned gq_foreign_plausible(const void *p, size_t bytes)
{
    static const uint32_t dtypes[3] = {GQ_F16, GQ_BF16, GQ_F32};
    unsigned mask = 0;
    if (bytes > ((size_t)256 << 10))
        bytes = (size_t)256 << 10;
    for (int i = 0; i < 3; i++) {
        struct gq_params q = {4, 64, dtypes[i], GQ_DIM_LAST, 0};
        struct gq_layout l;
        uint64_t n = bytes / gq_dtype_size(dtypes[i]);
        if (((uintptr_t)p & (gq_dtype_size(dtypes[i]) - 1)) || n == 0 ||
            gq_layout_init(&l, &q, n, 0) != GQ_OK)
            continue;
        if (!gq_foreign_scan(&q, &l, p))
            mask |= 1u << dtypes[i];
    }
    return mask;
}

int gq_foreign_scan(const struct gq_params *p, const struct gq_layout *l, const void *src)
{
    uint64_t g, bad = 0, limit = gq_dtype_foreign_limit(l->n_groups);
    for (g = 0; g < l->n_groups; g++) {
        bad += (uint64_t)gq_dtype_group_foreign(l, p->group, p->dtype, src, g);
        if (bad > limit)
            return 1;
    }
    return 0;
}
