/*
 * gq_real.h — the real CUDA runtime entry points behind the shim's hooks.
 *
 * GQ_RT_HOOKS lists every runtime symbol libgqshim.so exports, once, with its
 * signature: the table of real pointers and the exported forwards both come
 * from it, so the two can never drift apart.
 *
 * A real entry point is found with dlsym(RTLD_NEXT); when the runtime was
 * loaded outside the global scope (RTLD_LOCAL, as Python extensions are), it is
 * looked up in the already-loaded libcudart itself. A missing real symbol is a
 * status (cudaErrorNotSupported / cudaErrorInitializationError), never a call
 * through NULL.
 */
#ifndef GQ_REAL_H
#define GQ_REAL_H

#include <cuda_runtime_api.h>

/* X(return type, name, (parameters), (arguments)) */
#define GQ_RT_HOOKS(X)                                                                    \
    X(cudaError_t, cudaMalloc, (void **p, size_t n), (p, n))                              \
    X(cudaError_t, cudaFree, (void *p), (p))                                              \
    X(cudaError_t, cudaMallocAsync, (void **p, size_t n, cudaStream_t s), (p, n, s))      \
    X(cudaError_t, cudaMallocAsync_ptsz, (void **p, size_t n, cudaStream_t s), (p, n, s)) \
    X(cudaError_t, cudaFreeAsync, (void *p, cudaStream_t s), (p, s))                      \
    X(cudaError_t, cudaFreeAsync_ptsz, (void *p, cudaStream_t s), (p, s))                 \
    X(cudaError_t, cudaMallocHost, (void **p, size_t n), (p, n))                          \
    X(cudaError_t, cudaHostAlloc, (void **p, size_t n, unsigned f), (p, n, f))            \
    X(cudaError_t, cudaFreeHost, (void *p), (p))                                          \
    X(cudaError_t, cudaHostRegister, (void *p, size_t n, unsigned f), (p, n, f))          \
    X(cudaError_t, cudaHostUnregister, (void *p), (p))                                    \
    X(cudaError_t, cudaMemcpy,                                                            \
      (void *d, const void *s, size_t n, enum cudaMemcpyKind k), (d, s, n, k))            \
    X(cudaError_t, cudaMemcpy_ptds,                                                       \
      (void *d, const void *s, size_t n, enum cudaMemcpyKind k), (d, s, n, k))            \
    X(cudaError_t, cudaMemcpyAsync,                                                       \
      (void *d, const void *s, size_t n, enum cudaMemcpyKind k, cudaStream_t st),         \
      (d, s, n, k, st))                                                                   \
    X(cudaError_t, cudaMemcpyAsync_ptsz,                                                  \
      (void *d, const void *s, size_t n, enum cudaMemcpyKind k, cudaStream_t st),         \
      (d, s, n, k, st))                                                                   \
    X(cudaError_t, cudaPointerGetAttributes,                                              \
      (struct cudaPointerAttributes *a, const void *p), (a, p))                           \
    X(cudaError_t, cudaDeviceReset, (void), ())

#define GQ_REAL_FIELD(ret, name, params, args) ret(*name) params;
struct gq_real_rt {
    GQ_RT_HOOKS(GQ_REAL_FIELD)
};
#undef GQ_REAL_FIELD

/* The real runtime's entry points; fields are NULL where none was found.
 * Resolved once, on first use (thread-safe). */
const struct gq_real_rt *gq_real(void);

#endif
