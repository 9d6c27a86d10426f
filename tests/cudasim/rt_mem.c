/* libcudart.so.13: device and pinned host memory, pointer attributes. */
#include "rt.h"

#include <string.h>

RT_ENTRY(cudaMalloc, (void **p, size_t n), (p, n))
{
    cudasim_guard("cudaMalloc", SIM_GUARD_IMPLICIT);
    RT_ENTER(dev);
    if (!p)
        return rt_error(cudaErrorInvalidValue);
    if (n == 0) {
        *p = NULL;
        return cudaSuccess;
    }
    CUdeviceptr d;
    CUresult r = cudasim_capture_unsafe() ?: cudasim_mem_alloc(dev, n, &d);
    if (r == CUDA_SUCCESS)
        *p = (void *)(uintptr_t)d;
    return rt_result(r);
}

/* cudaFree(NULL) only creates the context. */
RT_ENTRY(cudaFree, (void *p), (p))
{
    if (p)
        cudasim_guard("cudaFree", SIM_GUARD_IMPLICIT);
    RT_ENTER(dev);
    (void)dev;
    return p ? rt_result(cudasim_capture_unsafe() ?: cudasim_mem_free((CUdeviceptr)(uintptr_t)p, NULL, 0))
             : cudaSuccess;
}

static cudaError_t malloc_async(void **p, size_t n, cudaStream_t s, int ptds)
{
    RT_ENTER(dev);
    if (!p || n == 0)
        return rt_error(cudaErrorInvalidValue);
    /* The stream must exist even though the memory is reserved at once. */
    int status;
    CUresult r = cudasim_stream_capture_status((CUstream)s, ptds, &status);
    if (r)
        return rt_result(r);
    CUdeviceptr d;
    r = cudasim_mem_alloc(dev, n, &d);
    if (r == CUDA_SUCCESS)
        *p = (void *)(uintptr_t)d;
    return rt_result(r);
}

RT_ENTRY(cudaMallocAsync, (void **p, size_t n, cudaStream_t s), (p, n, s))
{
    return malloc_async(p, n, s, 0);
}

RT_ENTRY(cudaMallocAsync_ptsz, (void **p, size_t n, cudaStream_t s), (p, n, s))
{
    return malloc_async(p, n, s, 1);
}

static cudaError_t free_async(void *p, cudaStream_t s, int ptds)
{
    RT_ENTER(dev);
    (void)dev;
    if (!p)
        return rt_error(cudaErrorInvalidValue);
    /* A NULL stream handle to the core means "free now"; name stream 0
     * explicitly as the legacy or per-thread stream. */
    CUstream h = s ? (CUstream)s : ptds ? CU_STREAM_PER_THREAD : CU_STREAM_LEGACY;
    return rt_result(cudasim_mem_free((CUdeviceptr)(uintptr_t)p, h, ptds));
}

RT_ENTRY(cudaFreeAsync, (void *p, cudaStream_t s), (p, s))
{
    return free_async(p, s, 0);
}

RT_ENTRY(cudaFreeAsync_ptsz, (void *p, cudaStream_t s), (p, s))
{
    return free_async(p, s, 1);
}

RT_ENTRY(cudaMallocHost, (void **p, size_t n), (p, n))
{
    cudasim_guard("cudaMallocHost", SIM_GUARD_IMPLICIT);
    RT_ENTER(dev);
    (void)dev;
    return rt_result(cudasim_capture_unsafe() ?: cudasim_host_alloc(n, 0, p));
}

RT_ENTRY(cudaHostAlloc, (void **p, size_t n, unsigned int flags), (p, n, flags))
{
    cudasim_guard("cudaHostAlloc", SIM_GUARD_IMPLICIT);
    RT_ENTER(dev);
    (void)dev;
    return rt_result(cudasim_capture_unsafe() ?: cudasim_host_alloc(n, flags, p));
}

RT_ENTRY(cudaFreeHost, (void *p), (p))
{
    cudasim_guard("cudaFreeHost", SIM_GUARD_IMPLICIT);
    RT_ENTER(dev);
    (void)dev;
    return rt_result(cudasim_capture_unsafe() ?: cudasim_host_free(p));
}

RT_ENTRY(cudaHostRegister, (void *p, size_t n, unsigned int flags), (p, n, flags))
{
    cudasim_guard("cudaHostRegister", SIM_GUARD_IMPLICIT);
    RT_ENTER(dev);
    (void)dev;
    return rt_result(cudasim_host_register(p, n, flags));
}

RT_ENTRY(cudaHostUnregister, (void *p), (p))
{
    cudasim_guard("cudaHostUnregister", SIM_GUARD_IMPLICIT);
    RT_ENTER(dev);
    (void)dev;
    return rt_result(cudasim_host_unregister(p));
}

RT_ENTRY(cudaHostGetDevicePointer, (void **dptr, void *p, unsigned int flags), (dptr, p, flags))
{
    RT_ENTER(dev);
    (void)dev;
    if (!dptr || !p || flags)
        return rt_error(cudaErrorInvalidValue);
    struct sim_ptr q;
    cudasim_ptr_query((uintptr_t)p, &q);
    if (q.kind != SIM_PTR_PINNED)
        return rt_error(cudaErrorInvalidValue);
    *dptr = p; /* unified addressing */
    return cudaSuccess;
}

RT_ENTRY(cudaMemGetInfo, (size_t *free_bytes, size_t *total), (free_bytes, total))
{
    RT_ENTER(dev);
    if (!free_bytes || !total)
        return rt_error(cudaErrorInvalidValue);
    cudasim_mem_info(dev, free_bytes, total);
    return cudaSuccess;
}

RT_ENTRY(cudaPointerGetAttributes, (struct cudaPointerAttributes *a, const void *p), (a, p))
{
    RT_ENTER(dev);
    if (!a)
        return rt_error(cudaErrorInvalidValue);
    struct sim_ptr q;
    cudasim_ptr_query((uintptr_t)p, &q);
    memset(a, 0, sizeof *a);
    switch (q.kind) {
    case SIM_PTR_DEVICE:
        a->type = cudaMemoryTypeDevice;
        a->device = q.dev;
        a->devicePointer = (void *)p;
        break;
    case SIM_PTR_PINNED:
        a->type = cudaMemoryTypeHost;
        a->device = dev;
        a->devicePointer = (void *)p;
        a->hostPointer = (void *)p;
        break;
    case SIM_PTR_HOST:
    case SIM_PTR_UNMAPPED:
        a->type = cudaMemoryTypeUnregistered;
        a->device = -2;
        break;
    }
    return cudaSuccess;
}
