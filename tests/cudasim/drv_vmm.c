/* libcuda.so.1: the virtual-memory API (the model is sim_vmm.c). */
#include "drv.h"

/* A property the simulated devices can satisfy: pinned device memory of an
 * existing device, no export handle, no compression. */
static CUresult prop_device(const CUmemAllocationProp *prop, int *dev)
{
    if (!prop || prop->type != CU_MEM_ALLOCATION_TYPE_PINNED ||
        prop->location.type != CU_MEM_LOCATION_TYPE_DEVICE)
        return CUDA_ERROR_INVALID_VALUE;
    if (prop->requestedHandleTypes != CU_MEM_HANDLE_TYPE_NONE ||
        prop->allocFlags.compressionType != 0)
        return CUDA_ERROR_NOT_SUPPORTED;
    if (prop->location.id < 0 || prop->location.id >= cudasim_device_count())
        return CUDA_ERROR_INVALID_DEVICE;
    *dev = prop->location.id;
    return CUDA_SUCCESS;
}

DRV_ENTRY(cuMemGetAllocationGranularity, (size_t *granularity, const CUmemAllocationProp *prop,
                                          CUmemAllocationGranularity_flags option),
          (granularity, prop, option))
{
    DRV_CTX_OR_RETURN(cur);
    (void)cur;
    int dev;
    if (!granularity || (option != CU_MEM_ALLOC_GRANULARITY_MINIMUM &&
                         option != CU_MEM_ALLOC_GRANULARITY_RECOMMENDED))
        return CUDA_ERROR_INVALID_VALUE;
    CUresult r = prop_device(prop, &dev);
    if (r)
        return r;
    *granularity = cudasim_vmm_granularity();
    return CUDA_SUCCESS;
}

DRV_ENTRY(cuMemAddressReserve, (CUdeviceptr *ptr, size_t size, size_t alignment, CUdeviceptr addr,
                                unsigned long long flags), (ptr, size, alignment, addr, flags))
{
    DRV_CTX_OR_RETURN(dev);
    uintptr_t va;
    (void)addr; /* a hint: the driver may place the range elsewhere */
    if (!ptr || flags)
        return CUDA_ERROR_INVALID_VALUE;
    CUresult r = cudasim_vmm_reserve(dev, size, alignment, &va);
    if (r == CUDA_SUCCESS)
        *ptr = (CUdeviceptr)va;
    return r;
}

DRV_ENTRY(cuMemAddressFree, (CUdeviceptr ptr, size_t size), (ptr, size))
{
    DRV_CTX_OR_RETURN(dev);
    (void)dev;
    return cudasim_vmm_address_free((uintptr_t)ptr, size);
}

DRV_ENTRY(cuMemCreate, (CUmemGenericAllocationHandle *handle, size_t size,
                        const CUmemAllocationProp *prop, unsigned long long flags),
          (handle, size, prop, flags))
{
    DRV_CTX_OR_RETURN(cur);
    (void)cur;
    int dev;
    if (!handle || flags)
        return CUDA_ERROR_INVALID_VALUE;
    CUresult r = prop_device(prop, &dev);
    if (r)
        return r;
    uint64_t h;
    r = cudasim_vmm_create(dev, size, &h);
    if (r == CUDA_SUCCESS)
        *handle = (CUmemGenericAllocationHandle)h;
    return r;
}

DRV_ENTRY(cuMemRelease, (CUmemGenericAllocationHandle handle), (handle))
{
    DRV_CTX_OR_RETURN(dev);
    (void)dev;
    return cudasim_vmm_release((uint64_t)handle);
}

DRV_ENTRY(cuMemMap, (CUdeviceptr ptr, size_t size, size_t offset,
                     CUmemGenericAllocationHandle handle, unsigned long long flags),
          (ptr, size, offset, handle, flags))
{
    DRV_CTX_OR_RETURN(dev);
    (void)dev;
    if (flags)
        return CUDA_ERROR_INVALID_VALUE;
    return cudasim_vmm_map((uintptr_t)ptr, size, offset, (uint64_t)handle);
}

/* The device finishes what it was doing first: work still queued on the
 * range would otherwise touch pages that are gone. */
DRV_ENTRY(cuMemUnmap, (CUdeviceptr ptr, size_t size), (ptr, size))
{
    DRV_CTX_OR_RETURN(dev);
    CUresult r = cudasim_device_sync(dev);
    return r ? r : cudasim_vmm_unmap((uintptr_t)ptr, size);
}

DRV_ENTRY(cuMemSetAccess, (CUdeviceptr ptr, size_t size, const CUmemAccessDesc *desc,
                           size_t count), (ptr, size, desc, count))
{
    DRV_CTX_OR_RETURN(cur);
    (void)cur;
    if (!desc || count == 0)
        return CUDA_ERROR_INVALID_VALUE;
    for (size_t i = 0; i < count; i++) {
        if (desc[i].location.type != CU_MEM_LOCATION_TYPE_DEVICE)
            return CUDA_ERROR_INVALID_VALUE;
        if (desc[i].location.id < 0 || desc[i].location.id >= cudasim_device_count())
            return CUDA_ERROR_INVALID_DEVICE;
        if (desc[i].flags != CU_MEM_ACCESS_FLAGS_PROT_NONE &&
            desc[i].flags != CU_MEM_ACCESS_FLAGS_PROT_READ &&
            desc[i].flags != CU_MEM_ACCESS_FLAGS_PROT_READWRITE)
            return CUDA_ERROR_INVALID_VALUE;
    }
    for (size_t i = 0; i < count; i++) {
        /* cudasim cannot fault a write through a read-only mapping: it
         * refuses to make one rather than allow what the GPU would not. */
        if (desc[i].flags == CU_MEM_ACCESS_FLAGS_PROT_READ)
            return CUDA_ERROR_NOT_SUPPORTED;
        CUresult r = cudasim_vmm_set_access((uintptr_t)ptr, size, desc[i].location.id,
                                            desc[i].flags != CU_MEM_ACCESS_FLAGS_PROT_NONE);
        if (r)
            return r;
    }
    return CUDA_SUCCESS;
}
