/* libcuda.so.1: memory, copies, memsets, pointer attributes. */
#include "drv.h"

#include <string.h>

DRV_ENTRY(cuMemAlloc_v2, (CUdeviceptr *p, size_t n), (p, n))
{
    cudasim_guard("cuMemAlloc_v2", SIM_GUARD_IMPLICIT);
    DRV_CTX_OR_RETURN(dev);
    return cudasim_fault(SIM_FAULT_cuMemAlloc) ?: cudasim_capture_unsafe() ?: cudasim_mem_alloc(dev, n, p);
}

DRV_ENTRY(cuMemFree_v2, (CUdeviceptr p), (p))
{
    cudasim_guard("cuMemFree_v2", SIM_GUARD_IMPLICIT);
    DRV_CTX_OR_RETURN(dev);
    (void)dev;
    return cudasim_capture_unsafe() ?: cudasim_mem_free(p, NULL, 0);
}

DRV_ENTRY(cuMemGetInfo_v2, (size_t *free_bytes, size_t *total), (free_bytes, total))
{
    DRV_CTX_OR_RETURN(dev);
    if (!free_bytes || !total)
        return CUDA_ERROR_INVALID_VALUE;
    cudasim_mem_info(dev, free_bytes, total);
    return CUDA_SUCCESS;
}

DRV_ENTRY(cuMemAllocHost_v2, (void **p, size_t n), (p, n))
{
    cudasim_guard("cuMemAllocHost_v2", SIM_GUARD_IMPLICIT);
    DRV_CTX_OR_RETURN(dev);
    (void)dev;
    if (n == 0)
        return CUDA_ERROR_INVALID_VALUE;
    return cudasim_capture_unsafe() ?: cudasim_host_alloc(n, 0, p);
}

DRV_ENTRY(cuMemHostAlloc, (void **p, size_t n, unsigned int flags), (p, n, flags))
{
    cudasim_guard("cuMemHostAlloc", SIM_GUARD_IMPLICIT);
    DRV_CTX_OR_RETURN(dev);
    (void)dev;
    if (n == 0)
        return CUDA_ERROR_INVALID_VALUE;
    return cudasim_fault(SIM_FAULT_cuMemHostAlloc) ?: cudasim_capture_unsafe() ?: cudasim_host_alloc(n, flags, p);
}

DRV_ENTRY(cuMemFreeHost, (void *p), (p))
{
    cudasim_guard("cuMemFreeHost", SIM_GUARD_IMPLICIT);
    DRV_CTX_OR_RETURN(dev);
    (void)dev;
    return p ? cudasim_capture_unsafe() ?: cudasim_host_free(p) : CUDA_ERROR_INVALID_VALUE;
}

DRV_ENTRY(cuMemHostRegister_v2, (void *p, size_t n, unsigned int flags), (p, n, flags))
{
    cudasim_guard("cuMemHostRegister_v2", SIM_GUARD_IMPLICIT);
    DRV_CTX_OR_RETURN(dev);
    (void)dev;
    return cudasim_host_register(p, n, flags);
}

DRV_ENTRY(cuMemHostUnregister, (void *p), (p))
{
    cudasim_guard("cuMemHostUnregister", SIM_GUARD_IMPLICIT);
    DRV_CTX_OR_RETURN(dev);
    (void)dev;
    return cudasim_host_unregister(p);
}

DRV_ENTRY(cuMemHostGetDevicePointer_v2, (CUdeviceptr *dptr, void *p, unsigned int flags),
          (dptr, p, flags))
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

/* Pointer attributes. cudasim answers CONTEXT, MEMORY_TYPE, DEVICE_POINTER,
 * HOST_POINTER, DEVICE_ORDINAL, RANGE_START_ADDR, RANGE_SIZE, IS_MANAGED and
 * MAPPED; any other attribute the driver documents is refused with
 * CUDA_ERROR_NOT_SUPPORTED (not simulated). */
static int simulated(CUpointer_attribute attr)
{
    switch (attr) {
    case CU_POINTER_ATTRIBUTE_CONTEXT:
    case CU_POINTER_ATTRIBUTE_MEMORY_TYPE:
    case CU_POINTER_ATTRIBUTE_DEVICE_POINTER:
    case CU_POINTER_ATTRIBUTE_HOST_POINTER:
    case CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL:
    case CU_POINTER_ATTRIBUTE_RANGE_START_ADDR:
    case CU_POINTER_ATTRIBUTE_RANGE_SIZE:
    case CU_POINTER_ATTRIBUTE_IS_MANAGED:
    case CU_POINTER_ATTRIBUTE_MAPPED:
        return 1;
    default:
        return 0;
    }
}

/* One simulated attribute of memory cudasim knows (q: device or pinned), as
 * cuPointerGetAttribute answers it: CUDA_ERROR_INVALID_VALUE where it does
 * not apply (no host pointer to device memory). */
static CUresult known_attribute(void *data, CUpointer_attribute attr, const struct sim_ptr *q,
                                CUdeviceptr ptr)
{
    int device = q->kind == SIM_PTR_DEVICE;
    switch (attr) {
    case CU_POINTER_ATTRIBUTE_CONTEXT:
        *(CUcontext *)data = cudasim_primary_ctx(device ? q->dev : 0);
        break;
    case CU_POINTER_ATTRIBUTE_MEMORY_TYPE:
        *(unsigned *)data = device ? CU_MEMORYTYPE_DEVICE : CU_MEMORYTYPE_HOST;
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
        *(int *)data = device ? q->dev : 0;
        break;
    case CU_POINTER_ATTRIBUTE_RANGE_START_ADDR:
        *(CUdeviceptr *)data = (CUdeviceptr)q->base;
        break;
    case CU_POINTER_ATTRIBUTE_RANGE_SIZE:
        *(size_t *)data = q->size;
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

static int is_known(const struct sim_ptr *q)
{
    return q->kind == SIM_PTR_DEVICE || q->kind == SIM_PTR_PINNED;
}

/* Memory the driver does not know (pageable host memory, an address in a
 * device's range that no allocation holds): an error for every attribute. */
DRV_ENTRY(cuPointerGetAttribute, (void *data, CUpointer_attribute attr, CUdeviceptr ptr),
          (data, attr, ptr))
{
    CUresult r = drv_init_check();
    if (r)
        return r;
    if (!data)
        return CUDA_ERROR_INVALID_VALUE;
    struct sim_ptr q;
    cudasim_ptr_query((uintptr_t)ptr, &q);
    if (!is_known(&q))
        return CUDA_ERROR_INVALID_VALUE;
    return known_attribute(data, attr, &q, ptr);
}

/* The attributes cuPointerGetAttributes takes: cuda.h's list for it, and
 * ACCESS_FLAGS, which the driver answers there too; any other
 * (P2P_TOKENS...) fails the call with CUDA_ERROR_INVALID_VALUE. */
static int plural_attribute(CUpointer_attribute attr)
{
    switch (attr) {
    case CU_POINTER_ATTRIBUTE_CONTEXT:
    case CU_POINTER_ATTRIBUTE_MEMORY_TYPE:
    case CU_POINTER_ATTRIBUTE_DEVICE_POINTER:
    case CU_POINTER_ATTRIBUTE_HOST_POINTER:
    case CU_POINTER_ATTRIBUTE_SYNC_MEMOPS:
    case CU_POINTER_ATTRIBUTE_BUFFER_ID:
    case CU_POINTER_ATTRIBUTE_IS_MANAGED:
    case CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL:
    case CU_POINTER_ATTRIBUTE_RANGE_START_ADDR:
    case CU_POINTER_ATTRIBUTE_RANGE_SIZE:
    case CU_POINTER_ATTRIBUTE_MAPPED:
    case CU_POINTER_ATTRIBUTE_IS_LEGACY_CUDA_IPC_CAPABLE:
    case CU_POINTER_ATTRIBUTE_ALLOWED_HANDLE_TYPES:
    case CU_POINTER_ATTRIBUTE_MEMPOOL_HANDLE:
    case CU_POINTER_ATTRIBUTE_IS_HW_DECOMPRESS_CAPABLE:
    case CU_POINTER_ATTRIBUTE_ACCESS_FLAGS:
        return 1;
    default:
        return 0;
    }
}

/* An attribute of memory the driver does not know, as the driver answers it
 * (cuda.h: "default NULL values"; the values as an H200's driver 580 gave
 * them): memory type 0, no context, no device pointer, the host pointer the
 * address itself, device ordinal -2, not managed, not mapped. The range's
 * start and size are left unwritten, as there. */
static void unknown_attribute(void *data, CUpointer_attribute attr, CUdeviceptr ptr)
{
    switch (attr) {
    case CU_POINTER_ATTRIBUTE_CONTEXT:
        *(CUcontext *)data = NULL;
        break;
    case CU_POINTER_ATTRIBUTE_MEMORY_TYPE:
        *(unsigned *)data = 0;
        break;
    case CU_POINTER_ATTRIBUTE_DEVICE_POINTER:
        *(CUdeviceptr *)data = 0;
        break;
    case CU_POINTER_ATTRIBUTE_HOST_POINTER:
        *(void **)data = (void *)(uintptr_t)ptr;
        break;
    case CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL:
        *(int *)data = -2;
        break;
    case CU_POINTER_ATTRIBUTE_IS_MANAGED:
    case CU_POINTER_ATTRIBUTE_MAPPED:
        *(int *)data = 0;
        break;
    default: /* RANGE_START_ADDR, RANGE_SIZE */
        break;
    }
}

/* Unlike cuPointerGetAttribute, no error for memory the driver does not
 * know: defaults instead (unknown_attribute). An attribute that does not
 * apply to known memory is NULL (the host pointer of device memory). */
DRV_ENTRY(cuPointerGetAttributes, (unsigned int n, CUpointer_attribute *attrs, void **data,
                                   CUdeviceptr ptr), (n, attrs, data, ptr))
{
    CUresult r = drv_init_check();
    if (r)
        return r;
    if (n == 0 || !attrs || !data)
        return CUDA_ERROR_INVALID_VALUE;
    for (unsigned i = 0; i < n; i++) {
        if (!data[i] || !plural_attribute(attrs[i]))
            return CUDA_ERROR_INVALID_VALUE;
        if (!simulated(attrs[i]))
            return CUDA_ERROR_NOT_SUPPORTED;
    }
    struct sim_ptr q;
    cudasim_ptr_query((uintptr_t)ptr, &q);
    for (unsigned i = 0; i < n; i++) {
        if (!is_known(&q))
            unknown_attribute(data[i], attrs[i], ptr);
        else if (known_attribute(data[i], attrs[i], &q, ptr) == CUDA_ERROR_INVALID_VALUE)
            *(void **)data[i] = NULL;
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

DRV_ENTRY(cuMemcpy, (CUdeviceptr dst, CUdeviceptr src, size_t n), (dst, src, n))
{
    return copy(U(dst), U(src), n, SIM_DEFAULT, NULL, 0, 1);
}
DRV_ENTRY(cuMemcpy_ptds, (CUdeviceptr dst, CUdeviceptr src, size_t n), (dst, src, n))
{
    return copy(U(dst), U(src), n, SIM_DEFAULT, NULL, 1, 1);
}
DRV_ENTRY(cuMemcpyAsync, (CUdeviceptr dst, CUdeviceptr src, size_t n, CUstream s), (dst, src, n, s))
{
    return copy(U(dst), U(src), n, SIM_DEFAULT, s, 0, 0);
}
DRV_ENTRY(cuMemcpyAsync_ptsz, (CUdeviceptr dst, CUdeviceptr src, size_t n, CUstream s),
          (dst, src, n, s))
{
    return copy(U(dst), U(src), n, SIM_DEFAULT, s, 1, 0);
}
DRV_ENTRY(cuMemcpyHtoD_v2, (CUdeviceptr dst, const void *src, size_t n), (dst, src, n))
{
    return copy(U(dst), U(src), n, SIM_H2D, NULL, 0, 1);
}
DRV_ENTRY(cuMemcpyHtoD_v2_ptds, (CUdeviceptr dst, const void *src, size_t n), (dst, src, n))
{
    return copy(U(dst), U(src), n, SIM_H2D, NULL, 1, 1);
}
DRV_ENTRY(cuMemcpyDtoH_v2, (void *dst, CUdeviceptr src, size_t n), (dst, src, n))
{
    return copy(U(dst), U(src), n, SIM_D2H, NULL, 0, 1);
}
DRV_ENTRY(cuMemcpyDtoH_v2_ptds, (void *dst, CUdeviceptr src, size_t n), (dst, src, n))
{
    return copy(U(dst), U(src), n, SIM_D2H, NULL, 1, 1);
}
DRV_ENTRY(cuMemcpyDtoD_v2, (CUdeviceptr dst, CUdeviceptr src, size_t n), (dst, src, n))
{
    return copy(U(dst), U(src), n, SIM_D2D, NULL, 0, 1);
}
DRV_ENTRY(cuMemcpyDtoD_v2_ptds, (CUdeviceptr dst, CUdeviceptr src, size_t n), (dst, src, n))
{
    return copy(U(dst), U(src), n, SIM_D2D, NULL, 1, 1);
}
DRV_ENTRY(cuMemcpyHtoDAsync_v2, (CUdeviceptr dst, const void *src, size_t n, CUstream s),
          (dst, src, n, s))
{
    return cudasim_fault(SIM_FAULT_cuMemcpyHtoDAsync) ?: copy(U(dst), U(src), n, SIM_H2D, s, 0, 0);
}
DRV_ENTRY(cuMemcpyHtoDAsync_v2_ptsz, (CUdeviceptr dst, const void *src, size_t n, CUstream s),
          (dst, src, n, s))
{
    return cudasim_fault(SIM_FAULT_cuMemcpyHtoDAsync) ?: copy(U(dst), U(src), n, SIM_H2D, s, 1, 0);
}
DRV_ENTRY(cuMemcpyDtoHAsync_v2, (void *dst, CUdeviceptr src, size_t n, CUstream s),
          (dst, src, n, s))
{
    return copy(U(dst), U(src), n, SIM_D2H, s, 0, 0);
}
DRV_ENTRY(cuMemcpyDtoHAsync_v2_ptsz, (void *dst, CUdeviceptr src, size_t n, CUstream s),
          (dst, src, n, s))
{
    return copy(U(dst), U(src), n, SIM_D2H, s, 1, 0);
}
DRV_ENTRY(cuMemcpyDtoDAsync_v2, (CUdeviceptr dst, CUdeviceptr src, size_t n, CUstream s),
          (dst, src, n, s))
{
    return copy(U(dst), U(src), n, SIM_D2D, s, 0, 0);
}
DRV_ENTRY(cuMemcpyDtoDAsync_v2_ptsz, (CUdeviceptr dst, CUdeviceptr src, size_t n, CUstream s),
          (dst, src, n, s))
{
    return copy(U(dst), U(src), n, SIM_D2D, s, 1, 0);
}

static CUresult set8(CUdeviceptr dst, unsigned char v, size_t n, CUstream s, int ptds, int sync)
{
    DRV_CTX_OR_RETURN(dev);
    (void)dev;
    return cudasim_memset(U(dst), v, n, s, ptds, sync);
}

DRV_ENTRY(cuMemsetD8_v2, (CUdeviceptr dst, unsigned char uc, size_t n), (dst, uc, n))
{
    return set8(dst, uc, n, NULL, 0, 1);
}
DRV_ENTRY(cuMemsetD8_v2_ptds, (CUdeviceptr dst, unsigned char uc, size_t n), (dst, uc, n))
{
    return set8(dst, uc, n, NULL, 1, 1);
}
DRV_ENTRY(cuMemsetD8Async, (CUdeviceptr dst, unsigned char uc, size_t n, CUstream s),
          (dst, uc, n, s))
{
    return set8(dst, uc, n, s, 0, 0);
}
DRV_ENTRY(cuMemsetD8Async_ptsz, (CUdeviceptr dst, unsigned char uc, size_t n, CUstream s),
          (dst, uc, n, s))
{
    return set8(dst, uc, n, s, 1, 0);
}
