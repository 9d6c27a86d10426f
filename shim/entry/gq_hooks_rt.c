/*
 * The runtime symbols libgqshim.so exports (list: gpu/gq_real.h). Each is a
 * forward: the decisions live in core/ (gq_route.h, gq_alloc.h), which the
 * unit tests link directly.
 */
#include "entry/gq_hooks.h"

#include "base/gq_layer.h"
#include "base/gq_trace.h"
#include "core/gq_alloc.h"
#include "core/gq_route.h"
#include "gpu/gq_real.h"

/* Prototypes for every hook: the _ptsz/_ptds names are declared by the CUDA
 * headers only in per-thread builds. */
#define GQ_DECLARE(ret, name, params, args) GQ_EXPORT ret name params;
GQ_RT_HOOKS(GQ_DECLARE)
#undef GQ_DECLARE

/* real_<name>(args): the real entry point, or a status when the runtime
 * lacks it. The thread is marked inside meanwhile: the driver calls a
 * dynamic runtime makes for this call reach our driver hooks, which must not
 * decide the same copy (or count the same allocation) again. */
#define GQ_REAL_CALL(ret, name, params, args)     \
    static inline ret real_##name params          \
    {                                             \
        ret(*fn) params = gq_real()->name;        \
        if (!fn)                                  \
            return cudaErrorInitializationError;  \
        gq_layer_enter();                         \
        ret r = fn args;                          \
        gq_layer_leave();                         \
        return r;                                 \
    }
GQ_RT_HOOKS(GQ_REAL_CALL)
#undef GQ_REAL_CALL

/* The status of a copy the shim made. Since CUDA 10.1 the runtime's error
 * codes carry the driver's numbers for every error a stream synchronisation
 * can report (1 invalid value, 2 out of memory, 400 invalid handle, 700
 * illegal address, 719 launch failure, ...): the number passes through. */
static cudaError_t copied(struct gq_verdict v) { return (cudaError_t)v.status; }

GQ_EXPORT cudaError_t cudaMalloc(void **p, size_t n)
{
    GQ_TRACE_SITE("cudaMalloc");
    cudaError_t r = real_cudaMalloc(p, n);
    if (r == cudaSuccess && p)
        gq_on_dev_alloc(*p, n);
    return r;
}

GQ_EXPORT cudaError_t cudaMallocAsync(void **p, size_t n, cudaStream_t s)
{
    GQ_TRACE_SITE("cudaMallocAsync");
    cudaError_t r = real_cudaMallocAsync(p, n, s);
    if (r == cudaSuccess && p)
        gq_on_dev_alloc(*p, n);
    return r;
}

GQ_EXPORT cudaError_t cudaMallocAsync_ptsz(void **p, size_t n, cudaStream_t s)
{
    GQ_TRACE_SITE("cudaMallocAsync_ptsz");
    cudaError_t r = real_cudaMallocAsync_ptsz(p, n, s);
    if (r == cudaSuccess && p)
        gq_on_dev_alloc(*p, n);
    return r;
}

GQ_EXPORT cudaError_t cudaFree(void *p)
{
    gq_on_dev_free(p);
    return real_cudaFree(p);
}

GQ_EXPORT cudaError_t cudaFreeAsync(void *p, cudaStream_t s)
{
    gq_on_dev_free(p);
    return real_cudaFreeAsync(p, s);
}

GQ_EXPORT cudaError_t cudaFreeAsync_ptsz(void *p, cudaStream_t s)
{
    gq_on_dev_free(p);
    return real_cudaFreeAsync_ptsz(p, s);
}

GQ_EXPORT cudaError_t cudaMallocHost(void **p, size_t n)
{
    GQ_TRACE_SITE("cudaMallocHost");
    const struct gq_rule *rule;
    if (gq_host_alloc(p, n, cudaHostAllocDefault, &rule))
        return cudaSuccess;
    cudaError_t r = real_cudaMallocHost(p, n);
    gq_on_host_alloc(p, n, rule, r == cudaSuccess);
    return r;
}

GQ_EXPORT cudaError_t cudaHostAlloc(void **p, size_t n, unsigned f)
{
    GQ_TRACE_SITE("cudaHostAlloc");
    const struct gq_rule *rule;
    if (gq_host_alloc(p, n, f, &rule))
        return cudaSuccess;
    cudaError_t r = real_cudaHostAlloc(p, n, f);
    gq_on_host_alloc(p, n, rule, r == cudaSuccess);
    return r;
}

GQ_EXPORT cudaError_t cudaFreeHost(void *p)
{
    if (gq_host_free_owned(p))
        return cudaSuccess;
    size_t extent = gq_host_extent(p);
    cudaError_t r = real_cudaFreeHost(p);
    if (r == cudaSuccess)
        gq_on_host_freed(p, extent);
    return r;
}

GQ_EXPORT cudaError_t cudaHostRegister(void *p, size_t n, unsigned f)
{
    return real_cudaHostRegister(p, n, f);
}

GQ_EXPORT cudaError_t cudaHostUnregister(void *p)
{
    size_t extent = gq_host_extent(p);
    cudaError_t r = real_cudaHostUnregister(p);
    if (r == cudaSuccess)
        gq_on_host_range_changed(p, extent);
    return r;
}

GQ_EXPORT cudaError_t cudaMemcpy(void *d, const void *s, size_t n, enum cudaMemcpyKind k)
{
    GQ_TRACE_SITE("cudaMemcpy");
    struct gq_verdict v = gq_copy(d, s, n, k, 0, GQ_COPY_SYNC);
    return v.done ? copied(v) : real_cudaMemcpy(d, s, n, k);
}

GQ_EXPORT cudaError_t cudaMemcpy_ptds(void *d, const void *s, size_t n, enum cudaMemcpyKind k)
{
    GQ_TRACE_SITE("cudaMemcpy_ptds");
    struct gq_verdict v = gq_copy(d, s, n, k, 0, GQ_COPY_SYNC | GQ_COPY_PTDS);
    return v.done ? copied(v) : real_cudaMemcpy_ptds(d, s, n, k);
}

GQ_EXPORT cudaError_t cudaMemcpyAsync(void *d, const void *s, size_t n, enum cudaMemcpyKind k,
                                      cudaStream_t st)
{
    GQ_TRACE_SITE("cudaMemcpyAsync");
    struct gq_verdict v = gq_copy(d, s, n, k, (CUstream)st, 0);
    return v.done ? copied(v) : real_cudaMemcpyAsync(d, s, n, k, st);
}

GQ_EXPORT cudaError_t cudaMemcpyAsync_ptsz(void *d, const void *s, size_t n,
                                           enum cudaMemcpyKind k, cudaStream_t st)
{
    GQ_TRACE_SITE("cudaMemcpyAsync_ptsz");
    struct gq_verdict v = gq_copy(d, s, n, k, (CUstream)st, GQ_COPY_PTDS);
    return v.done ? copied(v) : real_cudaMemcpyAsync_ptsz(d, s, n, k, st);
}

GQ_EXPORT cudaError_t cudaDeviceReset(void)
{
    gq_on_device_reset();
    return real_cudaDeviceReset();
}

GQ_EXPORT cudaError_t cudaPointerGetAttributes(struct cudaPointerAttributes *a, const void *p)
{
    if (gq_pointer_attributes(a, p))
        return cudaSuccess;
    return real_cudaPointerGetAttributes(a, p);
}
