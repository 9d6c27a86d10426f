/*
 * gq_pool.h — the shim's threads for large CPU encodes and decodes.
 *
 * A decode that fills a span of a shim-owned buffer (host/gq_hostmem.h), the
 * decode of a whole block into a program's buffer (store/gq_entries.h) and
 * the CPU compression of upload=compress cut their work into parts
 * (kernels/gq_codec.h, gq_*_run) and hand them here. The pool's workers are
 * started on first need and stay (no thread is created per call, nor per
 * page fault); they block every signal. At most GQSHIM_THREADS threads work
 * on one call, the caller's among them, so the pool never holds more than
 * GQSHIM_THREADS - 1 workers.
 *
 * One call at a time owns the workers. A call that finds them busy runs all
 * its parts on its own thread: no caller ever waits for another's work.
 * That is what makes the pool safe for the fault thread: a worker of
 * another call may itself be waiting for the fault thread (it touched a
 * missing page of a shim-owned buffer), and the fault thread never waits
 * for it. Workers take no lock of the shim but the pool's own, never held
 * while a part runs; so stream callbacks may use the pool too.
 */
#ifndef GQ_POOL_H
#define GQ_POOL_H

#include "gq_format.h"

#include <stddef.h>
#include <stdint.h>

/* Threads one call may use: GQSHIM_THREADS, or when it is 0 (auto) the CPUs
 * this process may run on, at most GQ_POOL_AUTO_MAX. */
#define GQ_POOL_AUTO_MAX 8u
unsigned gq_pool_threads(void);

/* A part is worth a thread from this many raw bytes up: a worker's wake-up
 * costs some microseconds, about what decoding this much takes. */
#define GQ_POOL_MIN_BYTES ((size_t)512 << 10)

/* gq_decode_range / gq_encode of kernels/gq_codec.h, cut into
 * parts for the pool when large enough; the same bytes and statuses. */
int gq_pool_decode_range(const void *buf, size_t buf_size, uint64_t e0, uint64_t e1, void *dst);
int gq_pool_encode(const struct gq_params *p, const void *src, uint64_t n_elems,
                   uint32_t escape_capacity, void *dst, size_t dst_size);

/* Runs fn(arg, i) for every i in [0, n) on the pool and the calling thread
 * (kernels/gq_codec.h: gq_runner); returns once all have returned. */
void gq_pool_run(unsigned n, void (*fn)(void *arg, unsigned i), void *arg);

/* Workers started so far (tests: never more than GQSHIM_THREADS - 1). */
unsigned gq_pool_workers(void);

#include "base/gq_fork.h"
void gq_pool_atfork(enum gq_fork_phase ph);

#endif
