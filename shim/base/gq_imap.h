/*
 * gq_imap.h — a map from disjoint address ranges [start, end) to values.
 *
 * Used for the allocations that rules registered and for the host ranges that
 * hold compressed entries. Lookup by containment is a binary search over a
 * sorted array (O(log n)); insertion and removal shift the array (O(n)), which
 * is fine for the thousands of ranges a program holds.
 *
 * The hot path of every intercepted copy is gq_imap_may_hold(): two relaxed
 * atomic loads, no lock. Only an address inside [lowest start, highest end) of
 * the live ranges goes on to the locked search. Callers hold the lock
 * (gq_imap_rdlock / gq_imap_wrlock) around find/insert/remove and copy out
 * what they need, or take a reference, before unlocking.
 */
#ifndef GQ_IMAP_H
#define GQ_IMAP_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct gq_ival {
    uintptr_t start, end;
    void *val;
};

struct gq_imap {
    pthread_rwlock_t lock;
    struct gq_ival *v;
    size_t n, cap;
    uintptr_t lo, hi; /* bounds of all ranges; read without the lock */
};

#define GQ_IMAP_INIT {PTHREAD_RWLOCK_INITIALIZER, NULL, 0, 0, UINTPTR_MAX, 0}

/* Lock-free: 0 when no range can contain any byte of [addr, addr+len). */
static inline int gq_imap_may_hold(const struct gq_imap *m, const void *addr, size_t len)
{
    uintptr_t a = (uintptr_t)addr;
    return a < __atomic_load_n(&m->hi, __ATOMIC_ACQUIRE) &&
           a + len > __atomic_load_n(&m->lo, __ATOMIC_ACQUIRE);
}

/* Lock-free: 0 when no range of any map can contain any byte of
 * [addr, addr+len): one check before all the per-map ones, for the copies
 * (most of a program's) that touch nothing the shim registered. */
extern uintptr_t gq_imap_union_lo_, gq_imap_union_hi_;
static inline int gq_imap_any_may_hold(const void *addr, size_t len)
{
    uintptr_t a = (uintptr_t)addr;
    return a < __atomic_load_n(&gq_imap_union_hi_, __ATOMIC_ACQUIRE) &&
           a + len > __atomic_load_n(&gq_imap_union_lo_, __ATOMIC_ACQUIRE);
}

void gq_imap_rdlock(struct gq_imap *m);
/* Fork (gq_fork.h): phase 0 takes the write lock, 1 releases it, 2 (in the
 * child) makes the lock fresh. */
void gq_imap_atfork(struct gq_imap *m, int phase);
void gq_imap_wrlock(struct gq_imap *m);
void gq_imap_unlock(struct gq_imap *m);

/* The range containing addr, or NULL. */
struct gq_ival *gq_imap_find(struct gq_imap *m, uintptr_t addr);

/* Index of the first range whose end is above `start`; ranges from there on
 * overlap [start, end) while their start is below `end`. */
size_t gq_imap_first_overlap(const struct gq_imap *m, uintptr_t start);

/* Insert a range that overlaps none present. 0, or -1 on overlap or no memory. */
int gq_imap_insert(struct gq_imap *m, uintptr_t start, uintptr_t end, void *val);

/* Remove the range at index i; returns its value. */
void *gq_imap_remove_at(struct gq_imap *m, size_t i);

#endif
