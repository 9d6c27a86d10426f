/*
 * gq_route.h — where an intercepted copy goes: compressed by the shim
 * (xfer/gq_xfer.h), or to the real call unchanged.
 *
 * The exported hooks (entry/) call gq_copy and, unless it says the shim made
 * the copy, call the real function. Runtime and driver stream handles are
 * the same objects; 0 keeps its meaning (the legacy default stream, or the
 * per-thread one under GQ_COPY_PTDS). Never fails the program's copy on the
 * shim's own trouble.
 */
#ifndef GQ_ROUTE_H
#define GQ_ROUTE_H

#include "base/gq_copy_flags.h"
#include "xfer/gq_xfer.h"

#include <cuda.h>
#include <cuda_runtime_api.h>
#include <stddef.h>

/* Decide and, when eligible, make the copy. cudaMemcpyDefault: the direction
 * comes from the pointers. Passes are counted (GQSHIM_STATS) and traced. */
struct gq_verdict gq_copy(void *dst, const void *src, size_t count, enum cudaMemcpyKind kind,
                          CUstream stream, unsigned flags);

#endif
