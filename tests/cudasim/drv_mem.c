/* libcuda.so.1: memory, copies, memsets, pointer attributes. */
#include "drv.h"

#include <string.h>

CUresult cuMemAlloc_v2(CUdeviceptr *p, size_t n)
{
    cudasim_guard("cuMemAlloc_v2", SIM_GUARD_IMPLICIT);
    DRV_CTX_OR_RETURN(dev);
    return cudasim_fault(SIM_FAULT_cuMemAlloc) ?: cudasim_capture_unsafe() ?: cudasim_mem_alloc(dev, n, p);
}

CUresult cuMemFree_v2(CUdeviceptr p)
{
    cudasim_guard("cuMemFree_v2", SIM_GUARD_IMPLICIT);
    DRV_CTX_OR_RETURN(dev);
    (void)dev;
    return cudasim_capture_unsafe() ?: cudasim_mem_free(p, NULL, 0);
}

CUresult cuMemGetInfo_v2(size_t *free_bytes, size_t *total)
{
    DRV_CTX_OR_RETURN(dev);
    if (!free_bytes || !total)
        return CUDA_ERROR_INVALID_VALUE;
    cudasim_mem_info(dev, free_bytes, total);
    return CUDA_SUCCESS;
}

CUresult cuMemAllocHost_v2(void **p, size_t n)
{
    cudasim_guard("cuMemAllocHost_v2", SIM_GUARD_IMPLICIT);
    DRV_CTX_OR_RETURN(dev);
    (void)dev;
    if (n == 0)
        return CUDA_ERROR_INVALID_VALUE;
    return cudasim_capture_unsafe() ?: cudasim_host_alloc(n, 0, p);
}

CUresult cuMemHostAlloc(void **p, size_t n, unsigned int flags)
{
    cudasim_guard("cuMemHostAlloc", SIM_GUARD_IMPLICIT);
    DRV_CTX_OR_RETURN(dev);
    (void)dev;
    if (n == 0)
        return CUDA_ERROR_INVALID_VALUE;
    return cudasim_fault(SIM_FAULT_cuMemHostAlloc) ?: cudasim_capture_unsafe() ?: cudasim_host_alloc(n, flags, p);
}

CUresult cuMemFreeHost(void *p)
{
    cudasim_guard("cuMemFreeHost", SIM_GUARD_IMPLICIT);
    DRV_CTX_OR_RETURN(dev);
    (void)dev;
    return p ? cudasim_capture_unsafe() ?: cudasim_host_free(p) : CUDA_ERROR_INVALID_VALUE;
}

CUresult cuMemHostRegister_v2(void *p, size_t n, unsigned int flags)
{
    cudasim_guard("cuMemHostRegister_v2", SIM_GUARD_IMPLICIT);
    DRV_CTX_OR_RETURN(dev);
    (void)dev;
    return cudasim_host_register(p, n, flags);
}

CUresult cuMemHostUnregister(void *p)
{
    cudasim_guard("cuMemHostUnregister", SIM_GUARD_IMPLICIT);
    DRV_CTX_OR_RETURN(dev);
    (void)dev;
    return cudasim_host_unregister(p);
}

CUresult cuMemHostGetDevicePointer_v2(CUdeviceptr *dptr, void *p, unsigned int flags)
{
    DRV_CTX_OR_RETURN(dev);
    (void)dev;
    if (!dptr || !p || flags)
        return CUDA_ERROR_INVALID_VALUE;
    CUresult fault = cudasim_fault(SIM_FAULT_cuMemHostGetDevicePointer);
    if (fault)
        return fault;
    struct sim_ptr q;
    cudasim_ptr_query((uintptr_t)p, &q);
    if (q.kind != SIM_PTR_PINNED)
        return CUDA_ERROR_INVALID_VALUE;
    /* Unified addressing: a mapped host address is its own device address. */
    *dptr = (CUdeviceptr)(uintptr_t)p;
    return CUDA_SUCCESS;
}

CUresult cuPointerGetAttribute(void *data, CUpointer_attribute attr, CUdeviceptr ptr)
{
    CUresult r = drv_init_check();
    if (r)
        return r;
    if (!data)
        return CUDA_ERROR_INVALID_VALUE;
    struct sim_ptr q;
    cudasim_ptr_query((uintptr_t)ptr, &q);
    if (q.kind == SIM_PTR_HOST || q.kind == SIM_PTR_UNMAPPED)
        return CUDA_ERROR_INVALID_VALUE;
    int device = q.kind == SIM_PTR_DEVICE;
    switch (attr) {
    case CU_POINTER_ATTRIBUTE_CONTEXT:
        *(CUcontext *)data = cudasim_primary_ctx(device ? q.dev : 0);
        break;
    case CU_POINTER_ATTRIBUTE_MEMORY_TYPE:
        *(CUmemorytype *)data = device ? CU_MEMORYTYPE_DEVICE : CU_MEMORYTYPE_HOST;
        break;
    case CU_POINTER_ATTRIBUTE_DEVICE_POINTER:
        *(CUdeviceptr *)data = ptr;
        break;
    case CU_POINTER_ATTRIBUTE_HOST_POINTER:
        if (device)
            return CUDA_ERROR_INVALID_VALUE;
        *(void **)data = (void *)(uintptr_t)ptr;
        break;
    case CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL:
        *(int *)data = device ? q.dev : 0;
        break;
    case CU_POINTER_ATTRIBUTE_RANGE_START_ADDR:
        *(CUdeviceptr *)data = (CUdeviceptr)q.base;
        break;
    case CU_POINTER_ATTRIBUTE_RANGE_SIZE:
        *(size_t *)data = q.size;
        break;
    case CU_POINTER_ATTRIBUTE_IS_MANAGED:
        *(int *)data = 0;
        break;
    case CU_POINTER_ATTRIBUTE_MAPPED:
        *(int *)data = 1;
        break;
    default:
        return CUDA_ERROR_NOT_SUPPORTED;
    }
    return CUDA_SUCCESS;
}

/* Copies: one body each, two exports (stream 0 legacy / per-thread). */
static CUresult copy(uintptr_t dst, uintptr_t src, size_t n, enum sim_dir dir, CUstream s,
                     int ptds, int sync)
{
    DRV_CTX_OR_RETURN(dev);
    (void)dev;
    return cudasim_copy(dst, src, n, dir, s, ptds, sync);
}

#define U(p) ((uintptr_t)(p))

CUresult cuMemcpy(CUdeviceptr dst, CUdeviceptr src, size_t n)
{
    return copy(U(dst), U(src), n, SIM_DEFAULT, NULL, 0, 1);
}
CUresult cuMemcpy_ptds(CUdeviceptr dst, CUdeviceptr src, size_t n)
{
    return copy(U(dst), U(src), n, SIM_DEFAULT, NULL, 1, 1);
}
CUresult cuMemcpyAsync(CUdeviceptr dst, CUdeviceptr src, size_t n, CUstream s)
{
    return copy(U(dst), U(src), n, SIM_DEFAULT, s, 0, 0);
}
CUresult cuMemcpyAsync_ptsz(CUdeviceptr dst, CUdeviceptr src, size_t n, CUstream s)
{
    return copy(U(dst), U(src), n, SIM_DEFAULT, s, 1, 0);
}
CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void *src, size_t n)
{
    return copy(U(dst), U(src), n, SIM_H2D, NULL, 0, 1);
}
CUresult cuMemcpyHtoD_v2_ptds(CUdeviceptr dst, const void *src, size_t n)
{
    return copy(U(dst), U(src), n, SIM_H2D, NULL, 1, 1);
}
CUresult cuMemcpyDtoH_v2(void *dst, CUdeviceptr src, size_t n)
{
    return copy(U(dst), U(src), n, SIM_D2H, NULL, 0, 1);
}
CUresult cuMemcpyDtoH_v2_ptds(void *dst, CUdeviceptr src, size_t n)
{
    return copy(U(dst), U(src), n, SIM_D2H, NULL, 1, 1);
}
CUresult cuMemcpyDtoD_v2(CUdeviceptr dst, CUdeviceptr src, size_t n)
{
    return copy(U(dst), U(src), n, SIM_D2D, NULL, 0, 1);
}
CUresult cuMemcpyDtoD_v2_ptds(CUdeviceptr dst, CUdeviceptr src, size_t n)
{
    return copy(U(dst), U(src), n, SIM_D2D, NULL, 1, 1);
}
CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void *src, size_t n, CUstream s)
{
    return cudasim_fault(SIM_FAULT_cuMemcpyHtoDAsync) ?: copy(U(dst), U(src), n, SIM_H2D, s, 0, 0);
}
CUresult cuMemcpyHtoDAsync_v2_ptsz(CUdeviceptr dst, const void *src, size_t n, CUstream s)
{
    return cudasim_fault(SIM_FAULT_cuMemcpyHtoDAsync) ?: copy(U(dst), U(src), n, SIM_H2D, s, 1, 0);
}
CUresult cuMemcpyDtoHAsync_v2(void *dst, CUdeviceptr src, size_t n, CUstream s)
{
    return copy(U(dst), U(src), n, SIM_D2H, s, 0, 0);
}
CUresult cuMemcpyDtoHAsync_v2_ptsz(void *dst, CUdeviceptr src, size_t n, CUstream s)
{
    return copy(U(dst), U(src), n, SIM_D2H, s, 1, 0);
}
CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dst, CUdeviceptr src, size_t n, CUstream s)
{
    return copy(U(dst), U(src), n, SIM_D2D, s, 0, 0);
}
CUresult cuMemcpyDtoDAsync_v2_ptsz(CUdeviceptr dst, CUdeviceptr src, size_t n, CUstream s)
{
    return copy(U(dst), U(src), n, SIM_D2D, s, 1, 0);
}

static CUresult set8(CUdeviceptr dst, unsigned char v, size_t n, CUstream s, int ptds, int sync)
{
    DRV_CTX_OR_RETURN(dev);
    (void)dev;
    return cudasim_memset(U(dst), v, n, s, ptds, sync);
}

CUresult cuMemsetD8_v2(CUdeviceptr dst, unsigned char uc, size_t n)
{
    return set8(dst, uc, n, NULL, 0, 1);
}
CUresult cuMemsetD8_v2_ptds(CUdeviceptr dst, unsigned char uc, size_t n)
{
    return set8(dst, uc, n, NULL, 1, 1);
}
CUresult cuMemsetD8Async(CUdeviceptr dst, unsigned char uc, size_t n, CUstream s)
{
    return set8(dst, uc, n, s, 0, 0);
}
CUresult cuMemsetD8Async_ptsz(CUdeviceptr dst, unsigned char uc, size_t n, CUstream s)
{
    return set8(dst, uc, n, s, 1, 0);
}
