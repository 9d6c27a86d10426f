/*
 * gq_hazard.h — reading shared snapshots without a lock.
 *
 * The registry of allocations is read on every intercepted copy and written
 * only when a rule takes or frees an allocation. Writers build a new,
 * immutable snapshot and publish it; readers announce the snapshot they read
 * in a hazard slot of their own (one cache line per thread: no shared
 * writes, no lock, no syscall), and a writer frees an old snapshot only once
 * no slot names it.
 *
 * A thread that finds no free slot (more than GQ_HAZARD_SLOTS threads at
 * once) gets NULL from gq_hazard_acquire: its caller takes the locked path.
 */
#ifndef GQ_HAZARD_H
#define GQ_HAZARD_H

#define GQ_HAZARD_SLOTS 256

struct gq_hazard;

/* This thread's slot (claimed on first use, released at thread exit), or NULL. */
struct gq_hazard *gq_hazard_acquire(void);

/* Load *shared and protect it: it is not freed until gq_hazard_clear. */
void *gq_hazard_protect(struct gq_hazard *h, void *const *shared);
void gq_hazard_clear(struct gq_hazard *h);

/* 1 when some thread's slot names p (a writer must not free p yet). */
int gq_hazard_in_use(const void *p);

/* After fork, in the child: only the forking thread exists; free the rest. */
void gq_hazard_after_fork_child(void);

#endif
