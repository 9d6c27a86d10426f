/*
 * gq_fork.h — the shim across fork().
 *
 * A fork copies one thread; any lock another thread held at that moment
 * stays held forever in the child, and the data it guarded may be half
 * updated. So before the fork every lock of the shim is taken (the data are
 * then consistent), and after it the parent releases them and the child
 * re-initialises them (glibc's rwlocks remember their writer's thread id,
 * which the child's thread no longer has).
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

enum gq_fork_phase { GQ_FORK_PREPARE, GQ_FORK_PARENT, GQ_FORK_CHILD };

/* Each file that owns a lock: take it (prepare), release it (parent), or
 * make it fresh (child). No shim lock is held while taking another, so the
 * order among files does not matter. */
void gq_entries_atfork(enum gq_fork_phase ph);
void gq_hostmem_atfork(enum gq_fork_phase ph);
void gq_regions_atfork(enum gq_fork_phase ph);
void gq_store_atfork(enum gq_fork_phase ph);
void gq_driver_atfork(enum gq_fork_phase ph);
void gq_ktime_atfork(enum gq_fork_phase ph);
void gq_api_atfork(enum gq_fork_phase ph);
/* In the child: drop the userfaultfd and pagemap descriptors. */
void gq_wtrack_atfork_child(void);
/* In the child: turn the shim off (gq_active() is 0 from now on). */
void gq_state_atfork_child(void);

/* 1 in the child of a fork of a process where the shim was active. */
int gq_forked(void);

/* Mutex helper for the files above. */
#include <pthread.h>
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
