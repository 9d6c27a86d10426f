/*
 * gq_alloc.h — allocation events: which allocations rules take, which host
 * memory the shim owns, and what frees, resets and unregistrations
 * invalidate. The exported hooks (entry/) call these around the real call.
 *
 * The pinned-host protocol, the same for the runtime and the driver hooks:
 *
 *   allocate:  if gq_host_alloc(&p, n, flags, &rule) -> the shim owns the
 *              range, the hook returns success without a real call;
 *              else r = real call; gq_on_host_alloc(p, n, rule, r ok).
 *   free:      if gq_host_free_owned(p) -> done, success;
 *              else extent = gq_host_extent(p); r = real free;
 *              if r ok: gq_on_host_freed(p, extent).
 *   unregister: extent = gq_host_extent(p); r = real call;
 *              if r ok: gq_on_host_range_changed(p, extent).
 *
 * so that a free the runtime refuses loses nothing.
 */
#ifndef GQ_ALLOC_H
#define GQ_ALLOC_H

#include <cuda_runtime_api.h>
#include <stddef.h>

struct gq_rule;

/* Device allocations: after the real call succeeded / before the real free. */
void gq_on_dev_alloc(void *p, size_t size);
void gq_on_dev_free(void *p);

/* A pinned host allocation: *p gets a shim-owned range (returns 1) when a
 * rule takes it and it can be owned; else the caller allocates for real
 * (returns 0) and reports the result with gq_on_host_alloc. */
int gq_host_alloc(void **p, size_t size, unsigned flags, const struct gq_rule **rule);
/* `ok`: the real allocation succeeded (and *p is the program's). */
void gq_on_host_alloc(void **p, size_t size, const struct gq_rule *rule, int ok);

/* 1 when p was a shim-owned range, now released: the real free must not run. */
int gq_host_free_owned(void *p);
/* How far the pinned allocation at p reaches, asked before the real free. */
size_t gq_host_extent(const void *p);
void gq_on_host_freed(void *p, size_t extent);

/* Host memory whose contents the shim can no longer vouch for (unregistered
 * from the driver, handed to an API that writes it). */
void gq_on_host_range_changed(const void *p, size_t size);

/* Before cudaDeviceReset: the context dies with its pinned memory (the
 * compressed store), events and modules. Every entry is settled and, when
 * it holds the only copy of a shim-owned buffer's bytes, materialised, then
 * dropped; idle store chunks go back to the driver; the context's kernels
 * are forgotten (a new context may come at the same address). */
void gq_on_device_reset(void);

/* 1 when p lies in a shim-owned range (then *a is filled as for pinned memory). */
int gq_pointer_attributes(struct cudaPointerAttributes *a, const void *p);

#endif
