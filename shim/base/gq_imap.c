/* Sorted array of disjoint ranges (see gq_imap.h). */
#include "base/gq_imap.h"

#include <stdlib.h>
#include <string.h>

void gq_imap_rdlock(struct gq_imap *m) { pthread_rwlock_rdlock(&m->lock); }
void gq_imap_wrlock(struct gq_imap *m) { pthread_rwlock_wrlock(&m->lock); }
void gq_imap_unlock(struct gq_imap *m) { pthread_rwlock_unlock(&m->lock); }

void gq_imap_atfork(struct gq_imap *m, int phase)
{
    if (phase == 0) {
        pthread_rwlock_wrlock(&m->lock);
    } else if (phase == 1) {
        pthread_rwlock_unlock(&m->lock);
    } else {
        pthread_rwlock_t fresh = PTHREAD_RWLOCK_INITIALIZER;
        m->lock = fresh;
    }
}

size_t gq_imap_first_overlap(const struct gq_imap *m, uintptr_t start)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->v[mid].end <= start)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

struct gq_ival *gq_imap_find(struct gq_imap *m, uintptr_t addr)
{
    size_t i = gq_imap_first_overlap(m, addr);
    if (i < m->n && m->v[i].start <= addr)
        return &m->v[i];
    return NULL;
}

uintptr_t gq_imap_union_lo_ = UINTPTR_MAX, gq_imap_union_hi_ = 0;

/* Widen the bounds of every map together to hold [lo, hi). Never narrowed:
 * a stale, wider bound only sends a copy on to the per-map checks. */
static void widen_union(uintptr_t lo, uintptr_t hi)
{
    uintptr_t cur = __atomic_load_n(&gq_imap_union_lo_, __ATOMIC_RELAXED);
    while (lo < cur && !__atomic_compare_exchange_n(&gq_imap_union_lo_, &cur, lo, 0,
                                                    __ATOMIC_RELEASE, __ATOMIC_RELAXED))
        ;
    cur = __atomic_load_n(&gq_imap_union_hi_, __ATOMIC_RELAXED);
    while (hi > cur && !__atomic_compare_exchange_n(&gq_imap_union_hi_, &cur, hi, 0,
                                                    __ATOMIC_RELEASE, __ATOMIC_RELAXED))
        ;
}

static void publish_bounds(struct gq_imap *m)
{
    uintptr_t lo = m->n ? m->v[0].start : UINTPTR_MAX;
    uintptr_t hi = m->n ? m->v[m->n - 1].end : 0;
    if (m->n)
        widen_union(lo, hi); /* before the map's own: a reader passing this map's check passes the union's */
    __atomic_store_n(&m->lo, lo, __ATOMIC_RELEASE);
    __atomic_store_n(&m->hi, hi, __ATOMIC_RELEASE);
}

int gq_imap_insert(struct gq_imap *m, uintptr_t start, uintptr_t end, void *val)
{
    if (end <= start)
        return -1;
    size_t i = gq_imap_first_overlap(m, start);
    if (i < m->n && m->v[i].start < end)
        return -1;
    if (m->n == m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 64;
        struct gq_ival *v = realloc(m->v, cap * sizeof *v);
        if (!v)
            return -1;
        m->v = v;
        m->cap = cap;
    }
    memmove(&m->v[i + 1], &m->v[i], (m->n - i) * sizeof *m->v);
    m->v[i] = (struct gq_ival){start, end, val};
    m->n++;
    publish_bounds(m);
    return 0;
}

void *gq_imap_remove_at(struct gq_imap *m, size_t i)
{
    void *val = m->v[i].val;
    memmove(&m->v[i], &m->v[i + 1], (m->n - i - 1) * sizeof *m->v);
    m->n--;
    publish_bounds(m);
    return val;
}
