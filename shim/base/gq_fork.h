/*
 * gq_fork.h — the shim across fork(): what every layer shares.
 *
 * A fork copies one thread; any lock another thread held at that moment
 * stays held forever in the child, and the data it guarded may be half
 * updated. So before the fork every lock of the shim is taken (the data are
 * then consistent), and after it the parent releases them and the child
 * re-initialises them (glibc's rwlocks remember their writer's thread id,
 * which the child's thread no longer has). Each module that owns a lock
 * declares its own `gq_<module>_atfork(enum gq_fork_phase)`; the one list
 * of them, in the order they run, is in entry/gq_startup.c.
 *
 * What the child is left with: CUDA's state of the parent is unusable there
 * (the real driver and cudasim refuse it), so the shim turns itself off in
 * the child — every call passes through, and fails as the runtime says —
 * and drops its userfaultfd descriptors, which still name the parent's
 * address space. The fault thread does not exist in the child, and
 * userfaultfd registrations are not inherited (no UFFD_FEATURE_EVENT_FORK):
 * pages of a shim-owned buffer that were materialised before the fork are
 * the child's copies; pages that were not read as zeros. No stats are
 * written by the child (its counters are the parent's).
 */
#ifndef GQ_FORK_H
#define GQ_FORK_H

#include <pthread.h>

enum gq_fork_phase { GQ_FORK_PREPARE, GQ_FORK_PARENT, GQ_FORK_CHILD };

/* 1 in the child of a fork (the shim is off there). */
int gq_forked(void);

/* Called once in the child, before any module's child handler. */
void gq_fork_mark_child(void);

/* A mutex across fork: take it (prepare), release it (parent), or make it
 * fresh (child). No shim lock is held while taking another, so the order
 * among modules does not matter. */
static inline void gq_mutex_atfork(pthread_mutex_t *m, enum gq_fork_phase ph)
{
    if (ph == GQ_FORK_PREPARE) {
        pthread_mutex_lock(m);
    } else if (ph == GQ_FORK_PARENT) {
        pthread_mutex_unlock(m);
    } else {
        pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
        *m = fresh;
    }
}

#endif
