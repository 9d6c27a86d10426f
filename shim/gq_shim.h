/*
 * gq_shim.h — the decisions behind the exported hooks.
 *
 * Each hook in gq_hooks_rt.c calls one of these and, unless it says it handled
 * the call, then calls the real runtime unchanged.
 */
#ifndef GQ_SHIM_H
#define GQ_SHIM_H

#include <cuda.h>
#include <cuda_runtime_api.h>
#include <stddef.h>

struct gq_rule;

/* How the program issued a copy. */
enum gq_copy_flags {
    GQ_COPY_SYNC = 1, /* cudaMemcpy: returns with the data in place */
    GQ_COPY_PTDS = 2, /* per-thread default stream build (_ptds / _ptsz) */
};

/* Offload or restore compressed when the copy is eligible. Returns 1 when the
 * shim performed the copy (its status in *status), 0 when the caller must make
 * the real call unchanged. Never fails the program's copy on the shim's own
 * trouble: anything that goes wrong before the copy is committed answers 0. */
int gq_copy(void *dst, const void *src, size_t count, enum cudaMemcpyKind kind,
            cudaStream_t stream, unsigned flags, cudaError_t *status);

/* Allocation events, after the real call succeeded / before the real free. */
void gq_on_dev_alloc(void *p, size_t size);
void gq_on_dev_free(void *p);
/* A pinned host allocation: *p gets a shim-owned range (returns 1) when a
 * rule takes it and it can be owned; else the caller allocates for real
 * (returns 0) and reports the result with gq_on_host_alloc. */
int gq_host_alloc(void **p, size_t size, unsigned flags, const struct gq_rule **rule);
void gq_on_host_alloc(void *p, size_t size, const struct gq_rule *rule);
/* Freeing pinned host memory, in three steps so that a free the runtime
 * refuses loses nothing: gq_host_free_owned releases a shim-owned range (1:
 * the real free must not run); else gq_host_extent says, before the real
 * free, how far the allocation at p reaches, and gq_on_host_freed drops what
 * the shim held there once the real free has succeeded. */
int gq_host_free_owned(void *p);
size_t gq_host_extent(const void *p);
void gq_on_host_freed(void *p, size_t extent);

/* The pinned-host protocol around the real call, written once for both
 * entry layers (runtime and driver hooks): OK is the layer's success status,
 * REAL_CALL the real function's call. Each expands to a function body. */
#define GQ_HOST_ALLOC_BODY(OK, p, n, flags, REAL_CALL)                  \
    do {                                                                \
        const struct gq_rule *rule_;                                    \
        if (gq_host_alloc(p, n, flags, &rule_))                         \
            return OK;                                                  \
        int r_ = (int)(REAL_CALL);                                      \
        if (r_ == (int)(OK) && (p))                                     \
            gq_on_host_alloc(*(p), n, rule_);                           \
        return r_;                                                      \
    } while (0)

#define GQ_HOST_FREE_BODY(OK, p, REAL_CALL)                             \
    do {                                                                \
        if (gq_host_free_owned(p))                                      \
            return OK;                                                  \
        size_t extent_ = gq_host_extent(p);                             \
        int r_ = (int)(REAL_CALL);                                      \
        if (r_ == (int)(OK))                                            \
            gq_on_host_freed(p, extent_);                               \
        return r_;                                                      \
    } while (0)

#define GQ_HOST_UNREGISTER_BODY(OK, p, REAL_CALL)                       \
    do {                                                                \
        size_t extent_ = gq_host_extent(p);                             \
        int r_ = (int)(REAL_CALL);                                      \
        if (r_ == (int)(OK))                                            \
            gq_on_host_range_changed(p, extent_);                       \
        return r_;                                                      \
    } while (0)
/* Before cudaDeviceReset: the context dies with its pinned memory (the
 * compressed store), events and modules. Every entry is settled and, when
 * it holds the only copy of a shim-owned buffer's bytes, materialised, then
 * dropped; idle store chunks go back to the driver; the context's kernels
 * are forgotten (a new context may come at the same address). */
void gq_on_device_reset(void);
/* 1 when p lies in a shim-owned range (then *a is filled as for pinned memory). */
int gq_pointer_attributes(struct cudaPointerAttributes *a, const void *p);
/* Host memory whose contents the shim can no longer vouch for (unregistered
 * from the driver, handed to an API that writes it). */
void gq_on_host_range_changed(const void *p, size_t size);

/* The driver-API entry to gq_copy (gq_hooks_drv.c): the direction comes from
 * the entry point (cudaMemcpyDefault for cuMemcpy[Async]); a CUstream is a
 * cudaStream_t, and 0 keeps its meaning (legacy, or per-thread under
 * GQ_COPY_PTDS); the status comes back as the driver's. */
int gq_copy_drv(void *dst, const void *src, size_t count, enum cudaMemcpyKind kind, CUstream s,
                unsigned flags, CUresult *status);

/* One copy, one decision, whichever layer sees it first. A thread is "inside"
 * while a runtime hook calls the real runtime (which may call the driver
 * through our driver hooks) or while a driver hook runs: driver hooks reached
 * from inside pass straight through. Nesting counts. */
void gq_layer_enter(void);
void gq_layer_leave(void);
int gq_layer_inside(void);

#endif
