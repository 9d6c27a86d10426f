/* Registered allocations (see gq_regions.h). */
#include "base/gq_regions.h"

#include "base/gq_fork.h"
#include "base/gq_hazard.h"
#include "base/gq_imap.h"
#include "base/gq_log.h"
#include "base/gq_config.h"
#include "base/gq_counters.h"

#include <stdlib.h>
#include <string.h>

/* Writers keep the map (under its lock) and publish, after each change, an
 * immutable snapshot of it by value, which the copy path searches without a
 * lock (gq_hazard.h). Snapshots replaced while a reader may still hold one
 * wait in `retired` until no hazard slot names them. */
struct snapshot {
    size_t n;
    struct snapshot *next_retired;
    struct gq_region r[];
};

static struct gq_imap maps[2] = {GQ_IMAP_INIT, GQ_IMAP_INIT};
static struct snapshot *published[2];
static struct snapshot *retired[2];

/* With the map's write lock held: publish what the map holds now. On no
 * memory the old snapshot stays: readers then fall back to the lock (see
 * gq_regions_lookup), which always sees the map. */
static void republish(enum gq_on on)
{
    struct gq_imap *m = &maps[on];
    struct snapshot *s = malloc(sizeof *s + m->n * sizeof s->r[0]);
    if (!s) {
        struct snapshot *old = __atomic_exchange_n(&published[on], NULL, __ATOMIC_SEQ_CST);
        if (old) {
            old->next_retired = retired[on];
            retired[on] = old;
        }
        return;
    }
    s->n = m->n;
    s->next_retired = NULL;
    for (size_t i = 0; i < m->n; i++)
        s->r[i] = *(const struct gq_region *)m->v[i].val;
    struct snapshot *old = __atomic_exchange_n(&published[on], s, __ATOMIC_SEQ_CST);
    if (old) {
        old->next_retired = retired[on];
        retired[on] = old;
    }
    for (struct snapshot **pp = &retired[on]; *pp;) {
        struct snapshot *r = *pp;
        if (gq_hazard_in_use(r)) {
            pp = &r->next_retired;
            continue;
        }
        *pp = r->next_retired;
        free(r);
    }
}

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
    republish(on);
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
    if (r)
        republish(on);
    gq_imap_unlock(m);
    free(r);
}

int gq_regions_may_hold(enum gq_on on, const void *p, size_t len)
{
    return gq_imap_may_hold(&maps[on], p, len);
}

/* The snapshot's region containing all of [a, a+len), copied out. */
static int search(const struct snapshot *s, uintptr_t a, size_t len, struct gq_region *out)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->r[mid].start + s->r[mid].size <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < s->n && s->r[lo].start <= a && a + len <= s->r[lo].start + s->r[lo].size) {
        *out = s->r[lo];
        return 1;
    }
    return 0;
}

int gq_regions_lookup(enum gq_on on, const void *p, size_t len, struct gq_region *out)
{
    struct gq_imap *m = &maps[on];
    if (!gq_imap_may_hold(m, p, len))
        return 0;
    int found = 0;
    struct gq_hazard *h = gq_hazard_acquire();
    if (h) {
        const struct snapshot *s = gq_hazard_protect(h, (void *const *)&published[on]);
        if (s) {
            found = search(s, (uintptr_t)p, len, out);
            gq_hazard_clear(h);
            return found;
        }
        gq_hazard_clear(h);
    }
    gq_imap_rdlock(m); /* no slot for this thread, or no snapshot */
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
    if (ph == GQ_FORK_CHILD)
        gq_hazard_after_fork_child();
    gq_imap_atfork(&maps[GQ_ON_DEV], (int)ph);
    gq_imap_atfork(&maps[GQ_ON_HOST], (int)ph);
}
