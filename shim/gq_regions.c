/* Registered allocations (see gq_regions.h). */
#include "gq_regions.h"

#include "gq_fork.h"
#include "gq_imap.h"
#include "gq_log.h"
#include "gq_state.h"
#include "gq_stats.h"

#include <stdlib.h>

static struct gq_imap maps[2] = {GQ_IMAP_INIT, GQ_IMAP_INIT};

const struct gq_rule *gq_regions_match(enum gq_on on, size_t size)
{
    if (!size || !gq_active())
        return NULL;
    return gq_rules_match(&gq_cfg()->rules, on, size);
}

const struct gq_rule *gq_regions_on_alloc(enum gq_on on, void *p, size_t size)
{
    const struct gq_rule *rule = p ? gq_regions_match(on, size) : NULL;
    if (rule)
        gq_regions_add(on, p, size, rule);
    return rule;
}

void gq_regions_add(enum gq_on on, void *p, size_t size, const struct gq_rule *rule)
{
    struct gq_region *r = malloc(sizeof *r);
    if (!r)
        return;
    *r = (struct gq_region){(uintptr_t)p, size, on, rule};
    struct gq_imap *m = &maps[on];
    gq_imap_wrlock(m);
    /* A stale range at this address means we missed its free (an API we do
     * not intercept): the new allocation replaces it. */
    size_t i;
    while ((i = gq_imap_first_overlap(m, r->start)) < m->n && m->v[i].start < r->start + size)
        free(gq_imap_remove_at(m, i));
    int rc = gq_imap_insert(m, r->start, r->start + size, r);
    gq_imap_unlock(m);
    if (rc != 0) {
        free(r);
        return;
    }
    if (on == GQ_ON_DEV)
        GQ_STAT_ADD(regions_dev, 1);
    else
        GQ_STAT_ADD(regions_host, 1);
    gq_debug("rule %s takes %s allocation %p (%zu bytes)", rule->name, gq_on_name(on), p, size);
}

void gq_regions_on_free(enum gq_on on, void *p)
{
    struct gq_imap *m = &maps[on];
    if (!p || !gq_imap_may_hold(m, p, 1))
        return;
    gq_imap_wrlock(m);
    struct gq_ival *iv = gq_imap_find(m, (uintptr_t)p);
    void *r = iv && iv->start == (uintptr_t)p ? gq_imap_remove_at(m, (size_t)(iv - m->v)) : NULL;
    gq_imap_unlock(m);
    free(r);
}

int gq_regions_may_hold(enum gq_on on, const void *p, size_t len)
{
    return gq_imap_may_hold(&maps[on], p, len);
}

int gq_regions_lookup(enum gq_on on, const void *p, size_t len, struct gq_region *out)
{
    struct gq_imap *m = &maps[on];
    if (!gq_imap_may_hold(m, p, len))
        return 0;
    int found = 0;
    gq_imap_rdlock(m);
    struct gq_ival *iv = gq_imap_find(m, (uintptr_t)p);
    if (iv && (uintptr_t)p + len <= iv->end) {
        *out = *(const struct gq_region *)iv->val;
        found = 1;
    }
    gq_imap_unlock(m);
    return found;
}

void gq_regions_atfork(enum gq_fork_phase ph)
{
    gq_imap_atfork(&maps[GQ_ON_DEV], (int)ph);
    gq_imap_atfork(&maps[GQ_ON_HOST], (int)ph);
}
