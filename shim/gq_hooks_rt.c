/*
 * The runtime symbols libgqshim.so exports. Each is a forward: the decisions
 * live in plain C (gq_shim.h), which the unit tests link directly.
 */
#include "gq_real.h"
#include "gq_shim.h"
#include "gq_trace.h"

#define GQ_EXPORT __attribute__((visibility("default")))

/* Prototypes for every hook: the _ptsz/_ptds names are declared by the CUDA
 * headers only in per-thread builds. */
#define GQ_DECLARE(ret, name, params, args) GQ_EXPORT ret name params;
GQ_RT_HOOKS(GQ_DECLARE)
#undef GQ_DECLARE

/* The real entry point, or a status when the runtime lacks it. The thread is
 * marked inside meanwhile: the driver calls a dynamic runtime makes for this
 * call reach our driver hooks, which must not decide the same copy (or count
 * the same allocation) again. */
#define REAL(name, args)                                                    \
    ({                                                                      \
        cudaError_t real_r_ = cudaErrorInitializationError;                 \
        if (gq_real()->name) {                                              \
            gq_layer_enter();                                               \
            real_r_ = gq_real()->name args;                                 \
            gq_layer_leave();                                               \
        }                                                                   \
        real_r_;                                                            \
    })

GQ_EXPORT cudaError_t cudaMalloc(void **p, size_t n)
{
    GQ_TRACE_SITE("cudaMalloc");
    cudaError_t r = REAL(cudaMalloc, (p, n));
    if (r == cudaSuccess && p)
        gq_on_dev_alloc(*p, n);
    return r;
}

GQ_EXPORT cudaError_t cudaMallocAsync(void **p, size_t n, cudaStream_t s)
{
    GQ_TRACE_SITE("cudaMallocAsync");
    cudaError_t r = REAL(cudaMallocAsync, (p, n, s));
    if (r == cudaSuccess && p)
        gq_on_dev_alloc(*p, n);
    return r;
}

GQ_EXPORT cudaError_t cudaMallocAsync_ptsz(void **p, size_t n, cudaStream_t s)
{
    GQ_TRACE_SITE("cudaMallocAsync_ptsz");
    cudaError_t r = REAL(cudaMallocAsync_ptsz, (p, n, s));
    if (r == cudaSuccess && p)
        gq_on_dev_alloc(*p, n);
    return r;
}

GQ_EXPORT cudaError_t cudaFree(void *p)
{
    gq_on_dev_free(p);
    return REAL(cudaFree, (p));
}

GQ_EXPORT cudaError_t cudaFreeAsync(void *p, cudaStream_t s)
{
    gq_on_dev_free(p);
    return REAL(cudaFreeAsync, (p, s));
}

GQ_EXPORT cudaError_t cudaFreeAsync_ptsz(void *p, cudaStream_t s)
{
    gq_on_dev_free(p);
    return REAL(cudaFreeAsync_ptsz, (p, s));
}

GQ_EXPORT cudaError_t cudaMallocHost(void **p, size_t n)
{
    GQ_TRACE_SITE("cudaMallocHost");
    GQ_HOST_ALLOC_BODY(cudaSuccess, p, n, cudaHostAllocDefault, REAL(cudaMallocHost, (p, n)));
}

GQ_EXPORT cudaError_t cudaHostAlloc(void **p, size_t n, unsigned f)
{
    GQ_TRACE_SITE("cudaHostAlloc");
    GQ_HOST_ALLOC_BODY(cudaSuccess, p, n, f, REAL(cudaHostAlloc, (p, n, f)));
}

GQ_EXPORT cudaError_t cudaFreeHost(void *p)
{
    GQ_HOST_FREE_BODY(cudaSuccess, p, REAL(cudaFreeHost, (p)));
}

GQ_EXPORT cudaError_t cudaHostRegister(void *p, size_t n, unsigned f)
{
    return REAL(cudaHostRegister, (p, n, f));
}

GQ_EXPORT cudaError_t cudaHostUnregister(void *p)
{
    GQ_HOST_UNREGISTER_BODY(cudaSuccess, p, REAL(cudaHostUnregister, (p)));
}

GQ_EXPORT cudaError_t cudaMemcpy(void *d, const void *s, size_t n, enum cudaMemcpyKind k)
{
    GQ_TRACE_SITE("cudaMemcpy");
    cudaError_t st;
    if (gq_copy(d, s, n, k, 0, GQ_COPY_SYNC, &st))
        return st;
    return REAL(cudaMemcpy, (d, s, n, k));
}

GQ_EXPORT cudaError_t cudaMemcpy_ptds(void *d, const void *s, size_t n, enum cudaMemcpyKind k)
{
    GQ_TRACE_SITE("cudaMemcpy_ptds");
    cudaError_t st;
    if (gq_copy(d, s, n, k, 0, GQ_COPY_SYNC | GQ_COPY_PTDS, &st))
        return st;
    return REAL(cudaMemcpy_ptds, (d, s, n, k));
}

GQ_EXPORT cudaError_t cudaMemcpyAsync(void *d, const void *s, size_t n, enum cudaMemcpyKind k,
                                      cudaStream_t st)
{
    GQ_TRACE_SITE("cudaMemcpyAsync");
    cudaError_t r;
    if (gq_copy(d, s, n, k, st, 0, &r))
        return r;
    return REAL(cudaMemcpyAsync, (d, s, n, k, st));
}

GQ_EXPORT cudaError_t cudaMemcpyAsync_ptsz(void *d, const void *s, size_t n,
                                           enum cudaMemcpyKind k, cudaStream_t st)
{
    GQ_TRACE_SITE("cudaMemcpyAsync_ptsz");
    cudaError_t r;
    if (gq_copy(d, s, n, k, st, GQ_COPY_PTDS, &r))
        return r;
    return REAL(cudaMemcpyAsync_ptsz, (d, s, n, k, st));
}

GQ_EXPORT cudaError_t cudaDeviceReset(void)
{
    gq_on_device_reset();
    return REAL(cudaDeviceReset, ());
}

GQ_EXPORT cudaError_t cudaPointerGetAttributes(struct cudaPointerAttributes *a, const void *p)
{
    if (gq_pointer_attributes(a, p))
        return cudaSuccess;
    return REAL(cudaPointerGetAttributes, (a, p));
}
