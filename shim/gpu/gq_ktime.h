/*
 * gq_ktime.h — time spent in the shim's kernels (GQSHIM_STATS).
 *
 * Under GQSHIM_STATS, each launch is bracketed by two CUDA events (timing
 * enabled) recorded on the launch's own stream, so the figure is GPU time
 * between the kernel's start and end, not host time. The pair is read later,
 * without waiting: each new launch folds the pairs that have completed, and
 * gq_ktime_flush() waits for the rest at exit. Under cudasim the events are
 * stamped by its stream threads, so the time is that of the emulated kernel
 * on the CPU. With GQSHIM_STATS off nothing is recorded: one branch.
 *
 * The shim's CPU work (decoding a block into a program-owned host buffer in a
 * stream callback, faulting pages in) is not kernel time and is not counted.
 */
#ifndef GQ_KTIME_H
#define GQ_KTIME_H

#include <cuda.h>

struct gq_ktimer {
    CUevent start; /* NULL: this launch is not timed */
    int which;     /* enum gq_kfn (gpu/gq_modules.h) */
};

/* Before the launch: records the start event when stats are on. */
void gq_ktime_begin(struct gq_ktimer *t, int which, CUstream s);

/* After the launch (its status r): counts it, and records the end event
 * when it was queued; the pair is folded once it has completed. */
void gq_ktime_end(struct gq_ktimer *t, CUstream s, CUresult r);

/* Waits for every pending pair and folds it (at exit, before the report). */
void gq_ktime_flush(void);

#include "base/gq_fork.h"
void gq_ktime_atfork(enum gq_fork_phase ph);

#endif
